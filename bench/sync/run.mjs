// Sync's first run at scale (prints JSON; not a test): a vault of N messages (the shared
// corpus, 20 a conversation) in one Chromium profile is set up to sync with Apache
// mod_dav on 127.0.0.1 and pushes everything; a second profile joins and pulls it all;
// then one new turn on the first goes to the second.
// Run: make && node bench/sync/run.mjs [messages]
// Side by side: `node bench/sync/run.mjs 100000 --build before=DIR --build after=DIR
// [--rounds N]` (DIRs: copies of dist/chromium, same key so the same extension id)
// fills one profile once, then for each build in turn (alternating, N rounds) copies it,
// sets sync up with a new Apache and times the first upload and a join: prints those
// figures only. After the join, the time until recall by meaning's backfill has
// embedded what it brought (builds that embed in the join's writes: null).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, send, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { startApache, filesOf, USER, PASS } from '../../tests/e2e/webdav.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const MESSAGES = Number(process.argv[2] ?? 100000);
const arg = (name) => process.argv.flatMap((a, i) => (a === name ? [process.argv[i + 1]] : []));
const BUILDS = arg('--build').map((b) => b.split('='));
const ROUNDS = Number(arg('--rounds')[0] ?? 1);
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

/**
 * The worker's User Timing measures of the sync steps (seal, put, confirm of a push;
 * get, apply of a pull): {step: {count, seconds}}.
 */
async function stepsOf(browser) {
  const worker = browser.context.serviceWorkers()[0];
  const steps = await worker.evaluate(() => {
    const out = {};
    for (const m of performance.getEntriesByType('measure')) {
      if (!m.name.startsWith('tk:sync:')) continue;
      const k = m.name.slice(8);
      out[k] ??= { count: 0, seconds: 0 };
      out[k].count++;
      out[k].seconds += m.duration / 1000;
    }
    return out;
  });
  for (const v of Object.values(steps)) v.seconds = +v.seconds.toFixed(2);
  return steps;
}

/** The worker's clock (performance.now()), to time what it marks from a moment here. */
const workerNow = (browser) => browser.context.serviceWorkers()[0].evaluate(() => performance.now());

/**
 * Seconds from `since` (the worker's clock) until recall by meaning's backfill has
 * embedded what the join brought (its `tk:meaning-done` mark after the last segment
 * applied); null for a build that embeds in the join's own writes (it marks no apply).
 */
async function backfillAfterJoin(browser, since) {
  const worker = browser.context.serviceWorkers()[0];
  const deadline = Date.now() + 15 * 60000;
  for (;;) {
    const seconds = await worker.evaluate((from) => {
      const applies = performance.getEntriesByName('tk:sync:apply');
      if (!applies.length) return -1;
      const last = Math.max(...applies.map((m) => m.startTime + m.duration));
      const done = performance.getEntriesByName('tk:meaning-done').find((m) => m.startTime >= last);
      return done ? (done.startTime - from) / 1000 : null;
    }, since);
    if (seconds !== null) return seconds < 0 ? null : +seconds.toFixed(2);
    if (Date.now() > deadline) throw new Error('the backfill after the join did not end');
    await new Promise((r) => setTimeout(r, 500));
  }
}

if (BUILDS.length) {
  const filled = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-sync-bench-'));
  const filler = await launch({ keep: filled, extension: BUILDS[0][1] });
  const page = await filler.page('vault.html');
  ok(await send(page, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
  const fillSeconds = await fillVault(page, corpusConversations(MESSAGES));
  await filler.close();
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, dir] of round % 2 ? [...BUILDS].reverse() : BUILDS) {
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-sync-bench-'));
      fs.cpSync(filled, profile, { recursive: true });
      const server = await startApache();
      const a = await launch({ keep: profile, extension: dir });
      const ap = await a.page('vault.html');
      ok(await send(ap, { type: 'vault.unlock', passphrase: PASSPHRASE }));
      const [, push] = await timed(async () => {
        ok(await send(ap, { type: 'sync.configure', url: server.url, username: USER, password: PASS }));
        return ok(await send(ap, { type: 'sync.now' }));
      });
      const steps = await stepsOf(a);
      const b = await launch({ extension: dir });
      const bp = await b.page('vault.html');
      const since = await workerNow(b);
      const [, join] = await timed(async () => {
        ok(await send(bp, { type: 'sync.join', url: server.url, username: USER, password: PASS, passphrase: PASSPHRASE }));
        return ok(await send(bp, { type: 'sync.now' }));
      });
      const here = ok(await send(bp, { type: 'vault.status' })).messages;
      const joinSteps = await stepsOf(b);
      const embedded = await backfillAfterJoin(b, since);
      results.push({ build: name, round, setup_to_all_on_server_seconds: +push.toFixed(2), push_steps_in_the_worker: steps, join_to_all_here_seconds: +join.toFixed(2), join_steps_in_the_worker: joinSteps, join_to_all_embedded_seconds: embedded, messages_on_the_new_device: here, server_files: filesOf(server.dir).length });
      await a.close();
      await b.close();
      await server.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }
  fs.rmSync(filled, { recursive: true, force: true });
  console.log(JSON.stringify({ benchmark: 'sync side by side', messages: MESSAGES, fill_seconds_through_background: +fillSeconds.toFixed(1), results }, null, 2));
  process.exit(0);
}

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
// Where the push's time went: the worker's User Timing measures of each step.
const pushSteps = await stepsOf(first);
const files = filesOf(server.dir);
const serverMiB = files.reduce((n, f) => n + f.bytes.length, 0) / 1048576;

const second = await launch();
const b = await second.page('vault.html');
const since = await workerNow(second);
const [, pullSeconds] = await timed(async () => {
  ok(await send(b, { type: 'sync.join', url: server.url, username: USER, password: PASS, passphrase: PASSPHRASE }));
  return ok(await send(b, { type: 'sync.now' }));
});
const status = ok(await send(b, { type: 'vault.status' }));
const joinSteps = await stepsOf(second);
// Recall by meaning's backfill embeds what the join brought, after it.
const embeddedSeconds = await backfillAfterJoin(second, since);
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
  push_steps_in_the_worker: pushSteps,
  server_files: files.length,
  server_mib: +serverMiB.toFixed(1),
  join_to_all_here_seconds: +pullSeconds.toFixed(2),
  join_steps_in_the_worker: joinSteps,
  join_to_all_embedded_seconds: embeddedSeconds,
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
