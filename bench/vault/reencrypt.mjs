// "Re-encrypt everything" in Chromium at 100k stored messages (prints JSON; not a
// test): the vault is filled through the background with the shared corpus, then the
// `vault.reencrypt` message is timed from the vault page, against the plain
// passphrase change (which re-wraps the key only) in the same run.
// Run: make && node bench/vault/reencrypt.mjs [messages]
import { launch, send, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const MESSAGES = Number(process.argv[2] ?? 100000);
const byConversation = corpusConversations(MESSAGES);
const browser = await launch();
const page = await browser.page('vault.html');
const passphrases = ['benchmark passphrase', 'second benchmark passphrase', 'third benchmark passphrase'];
await send(page, { type: 'vault.create', passphrase: passphrases[0], kdf: FAST_KDF });
const fillSeconds = await fillVault(page, byConversation);
const status = await send(page, { type: 'vault.status' });
const watcher = await browser.page('vault.html');

async function timed(msg) {
  const t0 = performance.now();
  const reply = await send(page, msg);
  if (!reply.ok) throw new Error(JSON.stringify(reply));
  return { ms: Math.round(performance.now() - t0), reply };
}
const rewrap = await timed({ type: 'vault.changePassphrase', oldPassphrase: passphrases[0], newPassphrase: passphrases[1], kdf: FAST_KDF });
const runs = [];
for (let i = 0; i < 2; i++) {
  const from = passphrases[1 + i];
  const to = passphrases[2 - i];
  // Where the time goes: the phase the worker reports, polled from a second page.
  const phases = {};
  const t0 = performance.now();
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const p = (await send(watcher, { type: 'vault.reencryptProgress' })).progress;
      if (p && phases[p.phase] === undefined) phases[p.phase] = Math.round(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const { ms, reply } = await timed({ type: 'vault.reencrypt', oldPassphrase: from, newPassphrase: to, kdf: FAST_KDF });
  polling = false;
  await poll;
  runs.push({ ms, phase_started_at_ms: phases, conversations: reply.conversations, messages: reply.messages, skipped: reply.skipped });
}
const found = await send(page, { type: 'search', query: byConversation.values().next().value[0].text.split(/\s+/)[0] });
console.log(JSON.stringify({
  benchmark: 'reencrypt-everything',
  messages: status.messages,
  conversations: status.conversations,
  fill_seconds_through_background: +fillSeconds.toFixed(1),
  kdf: FAST_KDF,
  change_passphrase_only_ms: rewrap.ms,
  reencrypt_ms: runs.map((r) => r.ms),
  runs,
  search_after_total: found.total,
}, null, 2));
await browser.close();
