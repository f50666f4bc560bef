// Popup to first results in Chromium with 100k stored messages (prints JSON; not a
// test). The vault is filled through the background with the shared corpus (one
// conversation per 20 messages), then for several queries: the service worker is
// stopped (cold, as Chrome leaves it after 30 s idle), the popup opens, the query is
// typed, and the time until the first result shows is measured; then the same warm.
// Run: make && node bench/search/popup.mjs [messages]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, send, stopServiceWorker, ROOT, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const MESSAGES = Number(process.argv[2] ?? 100000);
const out = path.join(ROOT, 'bench/out');
const byConversation = corpusConversations(MESSAGES);

const browser = await launch();
const page = await browser.page('vault.html');
await send(page, { type: 'vault.create', passphrase: 'benchmark passphrase', kdf: FAST_KDF });
const fillSeconds = await fillVault(page, byConversation);
const status = await send(page, { type: 'vault.status' });

async function popupToFirstResult(query, cold) {
  if (cold) await stopServiceWorker(page);
  const t0 = performance.now();
  const popup = await browser.context.newPage();
  await popup.goto(`${browser.base}/popup.html`);
  const search = popup.locator('input[type=search]');
  await search.waitFor();
  const opened = performance.now() - t0;
  const t1 = performance.now();
  await search.fill(query);
  await popup.locator('[role=option] .snippet, [role=listbox] .empty').first().waitFor({ timeout: 300000 });
  const typed = performance.now() - t1;
  await popup.close();
  return { query, cold, open_ms: Math.round(opened), query_to_first_result_ms: Math.round(typed), total_ms: Math.round(opened + typed) };
}

// Queries of the shared query set (every term is present at every corpus size).
const queryFile = path.join(out, 'queries.json');
if (!fs.existsSync(queryFile)) {
  const smallest = path.join(out, 'corpus-1000.jsonl');
  if (!fs.existsSync(smallest)) execFileSync('node', [path.join(ROOT, 'bench/corpus/gen-corpus.mjs'), '--messages', '1000', '--out', smallest], { stdio: 'inherit' });
  fs.writeFileSync(queryFile, execFileSync('node', [path.join(ROOT, 'bench/corpus/gen-queries.mjs'), '--corpus', smallest]));
}
const set = JSON.parse(fs.readFileSync(queryFile, 'utf8'));
const list = Array.isArray(set) ? set : set.queries;
const text = (q) => (typeof q === 'string' ? q : q.q ?? q.query ?? q.text);
const queries = [0, 75, 120, 150, 180].map((i) => text(list[i % list.length]));
const runs = [];
for (const q of queries) runs.push(await popupToFirstResult(q, true), await popupToFirstResult(q, false));
const cold = runs.filter((r) => r.cold).map((r) => r.total_ms).sort((a, b) => a - b);
const warm = runs.filter((r) => !r.cold).map((r) => r.total_ms).sort((a, b) => a - b);
console.log(JSON.stringify({
  benchmark: 'popup-to-first-results',
  messages: status.messages,
  conversations: status.conversations,
  fill_seconds_through_background: +fillSeconds.toFixed(1),
  cold_worker_ms: { median: cold[Math.floor(cold.length / 2)], max: cold.at(-1) },
  warm_worker_ms: { median: warm[Math.floor(warm.length / 2)], max: warm.at(-1) },
  runs,
}, null, 2));
await browser.close();
