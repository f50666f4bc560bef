// Sync's first run at scale (prints JSON; not a test): a vault of N messages (the shared
// corpus, 20 a conversation) in one Chromium profile is set up to sync with Apache
// mod_dav on 127.0.0.1 and pushes everything; a second profile joins and pulls it all;
// then one new turn on the first goes to the second.
// Run: make && node bench/sync/run.mjs [messages]
import { launch, send, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { startApache, filesOf, USER, PASS } from '../../tests/e2e/webdav.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const MESSAGES = Number(process.argv[2] ?? 100000);
const PASSPHRASE = 'benchmark vault passphrase';
const ok = (r) => {
  if (!r?.ok) throw new Error(JSON.stringify(r));
  return r;
};
const timed = async (fn) => {
  const start = performance.now();
  const out = await fn();
  return [out, (performance.now() - start) / 1000];
};

const server = await startApache();
const first = await launch();
const a = await first.page('vault.html');
ok(await send(a, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
const corpus = corpusConversations(MESSAGES);
const fillSeconds = await fillVault(a, corpus);
// Set up starts a sync in the background queue; `sync.now` waits behind it, so the time
// to its answer is the time until everything is on the server.
const [, pushSeconds] = await timed(async () => {
  ok(await send(a, { type: 'sync.configure', url: server.url, username: USER, password: PASS }));
  return ok(await send(a, { type: 'sync.now' }));
});
const files = filesOf(server.dir);
const serverMiB = files.reduce((n, f) => n + f.bytes.length, 0) / 1048576;

const second = await launch();
const b = await second.page('vault.html');
const [, pullSeconds] = await timed(async () => {
  ok(await send(b, { type: 'sync.join', url: server.url, username: USER, password: PASS, passphrase: PASSPHRASE }));
  return ok(await send(b, { type: 'sync.now' }));
});
const status = ok(await send(b, { type: 'vault.status' }));
const [again, noChangeSeconds] = await timed(async () => ok(await send(b, { type: 'sync.now' })));

// One new turn in one conversation on the first device: its sync (pull, then push of one
// segment) and the second device's sync until the turn is there.
const [cid, msgs] = corpus.entries().next().value;
const TURN = 'A new turn, Periwinkle-Turn-8812';
ok(await send(a, { type: 'conversation.put', conversation: {
  site: 'chatgpt', conversationId: String(cid), title: msgs[0].title, url: `https://chatgpt.com/c/${cid}`,
  createdAt: msgs[0].ts, updatedAt: Date.now(),
  messages: [...msgs.map((m) => ({ role: m.role, markdown: m.text })), { role: 'user', markdown: TURN }],
} }));
const [, turnPushSeconds] = await timed(async () => ok(await send(a, { type: 'sync.now' })));
const [turnPulled, turnPullSeconds] = await timed(async () => ok(await send(b, { type: 'sync.now' })));
const found = ok(await send(b, { type: 'search', query: 'Periwinkle-Turn-8812', limit: 5 }));
if (found.results.length !== 1) throw new Error('the new turn is not on the second device');

console.log(JSON.stringify({
  benchmark: 'sync',
  messages: MESSAGES,
  fill_seconds_through_background: +fillSeconds.toFixed(1),
  setup_to_all_on_server_seconds: +pushSeconds.toFixed(2),
  server_files: files.length,
  server_mib: +serverMiB.toFixed(1),
  join_to_all_here_seconds: +pullSeconds.toFixed(2),
  messages_on_the_new_device: status.messages,
  sync_with_nothing_new_seconds: +noChangeSeconds.toFixed(3),
  nothing_new_moved: again,
  one_new_turn_first_device_sync_seconds: +turnPushSeconds.toFixed(3),
  one_new_turn_second_device_sync_seconds: +turnPullSeconds.toFixed(3),
  one_new_turn_pulled: turnPulled.pulled,
  note: 'segments of at most 4 MiB of plaintext, pushed one after another; join includes one Argon2id derivation at the benchmark KDF (m=19 MiB, t=2)',
}, null, 2));
await first.close();
await second.close();
await server.close();
