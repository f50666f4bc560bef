// Recall by meaning in Chromium at N stored messages (prints JSON; not a test):
// 1. a vault is filled through the background by the extension WITHOUT its model (a
//    vault from before issue 16), in a kept profile; the queries below are searched
//    with it too (the word leg alone, in the same worker setting);
// 2. the same profile is opened with the real extension: the worker embeds every
//    message once (the backfill), timed from the worker's own marks;
// 3. the shared 200 queries and the 32 paraphrases of planted.json are searched through
//    the background (`search`, its tookMs), fused, warm.
// Side by side: `--build NAME=DIR` (repeatable; default: this tree's dist/chromium)
// runs step 3 with each build in turn on the same profile (the first one also runs the
// backfill), `--rounds R` times alternating (default 1); every build must have the
// same manifest key (so the same extension id and IndexedDB).
// Run: make && node bench/meaning/chromium.mjs [messages] [--build before=DIR --build after=DIR] [--rounds R]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, send, EXTENSION, ROOT, FAST_KDF, waitFor } from '../../tests/e2e/chromium.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const args = process.argv.slice(2);
const option = (name) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]] : []));
const MESSAGES = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 100000);
const ROUNDS = Number(option('rounds')[0] ?? 1);
const BUILDS = option('build').map((b) => b.split('='));
if (!BUILDS.length) BUILDS.push(['this', EXTENSION]);
const PASSPHRASE = 'benchmark passphrase';
const byConversation = corpusConversations(MESSAGES);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-meaning-bench-'));
const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-no-model-'));
fs.cpSync(EXTENSION, bare, { recursive: true });
fs.rmSync(path.join(bare, 'meaning.tkem'));

// The queries: the shared 200 and the 32 paraphrases.
const out = path.join(ROOT, 'bench/out');
const queriesFile = path.join(out, 'queries.json');
if (!fs.existsSync(queriesFile)) {
  const corpus1k = path.join(out, 'corpus-1000.jsonl');
  if (!fs.existsSync(corpus1k)) execFileSync('node', [path.join(ROOT, 'bench/corpus/gen-corpus.mjs'), '--messages', '1000', '--out', corpus1k]);
  fs.writeFileSync(queriesFile, execFileSync('node', [path.join(ROOT, 'bench/corpus/gen-queries.mjs'), '--corpus', corpus1k]));
}
const planted = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/meaning/planted.json'), 'utf8')).conversations;
const queries = [...JSON.parse(fs.readFileSync(queriesFile, 'utf8')).queries.map((q) => q.q), ...planted.map((c) => c.paraphrase)];

/** Every query `rounds` times through `page`, warm: the times and how many found a hit by meaning. */
async function runQueries(page, rounds = 3) {
  await send(page, { type: 'search', query: 'warm up', limit: 20 });
  const took = [];
  let byMeaning = 0;
  for (let round = 0; round < rounds; round++) {
    for (const query of queries) {
      const reply = await send(page, { type: 'search', query, limit: 20 });
      if (!reply.ok) throw new Error(JSON.stringify(reply));
      took.push(reply.tookMs);
      if (round === 0) byMeaning += reply.results.some((r) => r.hits.some((h) => h.byMeaning)) ? 1 : 0;
    }
  }
  took.sort((a, b) => a - b);
  const at = (f) => +took[Math.min(took.length - 1, Math.floor(f * took.length))].toFixed(1);
  return { p50: at(0.5), p95: at(0.95), max: at(1), queries: took.length, queries_with_a_hit_by_meaning: byMeaning };
}

// 1. Filled without the model; the word leg alone timed with it.
let browser = await launch({ keep: profile, extension: bare });
let page = await browser.page('vault.html');
await send(page, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF });
const fillSeconds = await fillVault(page, byConversation);
const wordsOnly = await runQueries(page);
await browser.close();

// 2. Opened with the model (the first build): the backfill.
const copies = BUILDS.map(([name, dir]) => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), `tk-meaning-${name}-`));
  fs.cpSync(dir, copy, { recursive: true });
  return [name, copy];
});
browser = await launch({ keep: profile, extension: copies[0][1] });
page = await browser.page('vault.html');
const status = await send(page, { type: 'vault.status' });
if (status.state !== 'unlocked') await send(page, { type: 'vault.unlock', passphrase: PASSPHRASE });
const worker = browser.context.serviceWorkers().find((w) => w.url().startsWith(browser.base));
const marks = await waitFor(() => worker.evaluate(() => {
  const done = performance.getEntriesByName('tk:meaning-done')[0]?.startTime;
  if (done === undefined) return null;
  // The last start before it (a locked worker's start ends at once).
  const start = performance.getEntriesByName('tk:meaning-start').map((e) => e.startTime).filter((t) => t <= done).pop();
  return { start, done };
}), { timeout: 30 * 60000, interval: 1000, what: 'the backfill' });
const backfillSeconds = (marks.done - marks.start) / 1000;

// 3. Queries, fused, with each build in turn.
const fused = Object.fromEntries(copies.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, dir] of copies) {
    if (round > 0 || name !== copies[0][0]) {
      await browser.close();
      browser = await launch({ keep: profile, extension: dir });
      page = await browser.page('vault.html');
      if ((await send(page, { type: 'vault.status' })).state !== 'unlocked') await send(page, { type: 'vault.unlock', passphrase: PASSPHRASE });
    }
    fused[name].push(await runQueries(page));
  }
}
const after = await send(page, { type: 'vault.status' });
console.log(JSON.stringify({
  benchmark: 'meaning-chromium',
  messages: after.messages,
  conversations: after.conversations,
  fill_seconds_without_model: +fillSeconds.toFixed(1),
  backfill_seconds: +backfillSeconds.toFixed(1),
  embedded_per_second: Math.round(after.messages / backfillSeconds),
  query_ms_words_only_without_model: wordsOnly,
  query_ms_fused: Object.fromEntries(Object.entries(fused).map(([name, runs]) => [name, runs.length === 1 ? runs[0] : runs])),
  extension_bytes: Object.fromEntries(['chromium', 'firefox'].map((b) => [b, fs.statSync(path.join(ROOT, `dist/threadkeeper-${b}.zip`)).size])),
}, null, 2));
await browser.close();
fs.rmSync(profile, { recursive: true, force: true });
fs.rmSync(bare, { recursive: true, force: true });
for (const [, dir] of copies) fs.rmSync(dir, { recursive: true, force: true });
