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

// The filled profile is kept in bench/out (a second run skips the fill); the vault
// stays unlocked across runs through "stay unlocked on this device".
const profile = path.join(out, `popup-profile-${MESSAGES}`);
const filled = fs.existsSync(path.join(profile, '.filled'));
fs.mkdirSync(profile, { recursive: true });
const browser = await launch({ keep: profile });
const page = await browser.page('vault.html');
let fillSeconds = null;
if (!filled) {
  await send(page, { type: 'vault.wipe', confirm: 'erase everything' });
  await send(page, { type: 'vault.create', passphrase: 'benchmark passphrase', kdf: FAST_KDF });
  fillSeconds = await fillVault(page, byConversation);
  await send(page, { type: 'vault.stayUnlocked', enabled: true });
  fs.writeFileSync(path.join(profile, '.filled'), '');
}
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
  // In the popup and the worker, from their own User Timing marks (names only): what
  // the popup itself takes from its navigation start, without the harness's page
  // creation and typing, and where a cold worker's time goes.
  const marks = () => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]));
  const inPopup = await popup.evaluate(`(${marks})()`);
  const popupOrigin = await popup.evaluate('performance.timeOrigin');
  const worker = browser.context.serviceWorkers().at(-1);
  const inWorker = worker ? await worker.evaluate(`(${marks})()`) : {};
  const workerOrigin = worker ? await worker.evaluate('performance.timeOrigin') : popupOrigin;
  await popup.close();
  const at = (ms) => Math.round(ms);
  const shift = workerOrigin - popupOrigin; // the worker's clock from the popup's navigation start
  const worker_ms = cold ? { started: at(shift), ...Object.fromEntries(Object.entries(inWorker).map(([name, t]) => [name.replace(/^tk:/, ''), at(t + shift)])) } : undefined;
  return {
    query, cold, open_ms: at(opened), query_to_first_result_ms: at(typed), total_ms: at(opened + typed),
    in_popup_ms: { ready: at(inPopup['tk:ready']), query_to_results: at(inPopup['tk:results'] - inPopup['tk:query']), total: at(inPopup['tk:ready'] + inPopup['tk:results'] - inPopup['tk:query']) },
    worker_ms,
  };
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
const sorted = (cold, pick) => runs.filter((r) => r.cold === cold).map(pick).sort((a, b) => a - b);
const cold = sorted(true, (r) => r.total_ms);
const warm = sorted(false, (r) => r.total_ms);
const coldIn = sorted(true, (r) => r.in_popup_ms.total);
const warmIn = sorted(false, (r) => r.in_popup_ms.total);
// The harness's own floor: a new page and the navigation to an empty extension file.
const floor = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const blank = await browser.context.newPage();
  await blank.goto(`${browser.base}/manifest.json`);
  floor.push(Math.round(performance.now() - t0));
  await blank.close();
}
floor.sort((a, b) => a - b);
console.log(JSON.stringify({
  benchmark: 'popup-to-first-results',
  messages: status.messages,
  conversations: status.conversations,
  fill_seconds_through_background: +fillSeconds.toFixed(1),
  cold_worker_ms: { median: cold[Math.floor(cold.length / 2)], max: cold.at(-1) },
  warm_worker_ms: { median: warm[Math.floor(warm.length / 2)], max: warm.at(-1) },
  in_popup_cold_ms: { median: coldIn[Math.floor(coldIn.length / 2)], max: coldIn.at(-1) },
  in_popup_warm_ms: { median: warmIn[Math.floor(warmIn.length / 2)], max: warmIn.at(-1) },
  harness_floor_new_page_ms: { median: floor[2], max: floor.at(-1) },
  runs,
}, null, 2));
await browser.close();
