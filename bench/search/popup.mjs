// Popup to first results in Chromium with 100k stored messages (prints JSON; not a
// test). The vault is filled through the background with the shared corpus (one
// conversation per 20 messages), then for several queries: the service worker is
// stopped (cold, as Chrome leaves it after 30 s idle), the popup opens, the query is
// typed, and the time until the first result shows is measured; then the same warm.
//
// Several builds side by side in one run (the machine is shared: figures of different
// runs do not compare): `--build NAME=DIR` (an unpacked extension folder, e.g. a copy of
// dist/chromium made before a change; default `this=dist/chromium`), repeated, and
// `--rounds N` (each round runs every build in turn, alternating the order). Each build
// has its own filled profile in bench/out (an extension's storage belongs to its
// folder's path); `--refill` fills them again (after a change of the stored format).
// Builds kept with bench/search/keep-build.mjs share one extension id: `--seed NAME=FROM`
// starts NAME's profile as a copy of FROM's filled one (same stored format only).
// Run: make && node bench/search/popup.mjs [messages] [--build NAME=DIR]... [--rounds N] [--refill] [--seed NAME=FROM]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch as launchChromium, send, stopServiceWorker, ROOT, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const values = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const MESSAGES = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 100000);
const ROUNDS = Number(values('--rounds')[0] ?? 1);
const builds = (values('--build').length ? values('--build') : ['this=dist/chromium']).map((b) => {
  const [name, dir] = b.split('=');
  return { name, dir: path.resolve(ROOT, dir) };
});
const seeds = Object.fromEntries(values('--seed').map((s) => s.split('=')));
const out = path.join(ROOT, 'bench/out');
const byConversation = corpusConversations(MESSAGES);

/** Chromium with the unpacked extension `dir` in the kept profile `profile`. */
const launch = (dir, profile) => launchChromium({ keep: profile, extension: dir });

async function popupToFirstResult(browser, page, query, cold) {
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
  // The worker's marks in order: the popup's warm-up is a `search` message too, so the
  // query's run:/done:search are the pair that does not hold tk:warm.
  const workerMarks = () => performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]);
  const inPopup = await popup.evaluate(`(${marks})()`);
  const popupOrigin = await popup.evaluate('performance.timeOrigin');
  const worker = browser.context.serviceWorkers().at(-1);
  const listed = worker ? await worker.evaluate(`(${workerMarks})()`) : [];
  const inWorker = Object.fromEntries(listed);
  const warmAt = inWorker['tk:warm'];
  const runs = listed.filter(([n]) => n === 'tk:run:search').map(([, t]) => t);
  const dones = listed.filter(([n]) => n === 'tk:done:search').map(([, t]) => t);
  const pair = runs.map((t, i) => [t, dones[i]]).find(([a, b]) => !(warmAt >= a && warmAt <= b));
  if (pair) [inWorker['tk:run:search'], inWorker['tk:done:search']] = pair;
  const workerOrigin = worker ? await worker.evaluate('performance.timeOrigin') : popupOrigin;
  await popup.close();
  const at = (ms) => Math.round(ms);
  const shift = workerOrigin - popupOrigin; // the worker's clock from the popup's navigation start
  const worker_ms = cold ? { started: at(shift), ...Object.fromEntries(Object.entries(inWorker).map(([name, t]) => [name.replace(/^tk:/, ''), at(t + shift)])) } : undefined;
  return {
    query, cold, open_ms: at(opened), query_to_first_result_ms: at(typed), total_ms: at(opened + typed),
    in_popup_ms: { script: at(inPopup['tk:popup-script']), ready: at(inPopup['tk:ready']), query_to_results: at(inPopup['tk:results'] - inPopup['tk:query']), total: at(inPopup['tk:ready'] + inPopup['tk:results'] - inPopup['tk:query']) },
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

/** One build's pass: the profile filled if needed, every query cold then warm, the harness floor. */
async function pass({ name, dir }, refill) {
  // The filled profile is kept in bench/out (a second run skips the fill); the vault
  // stays unlocked across runs through "stay unlocked on this device".
  const profileOf = (n) => path.join(out, n === 'this' ? `popup-profile-${MESSAGES}` : `popup-profile-${MESSAGES}-${n}`);
  const profile = profileOf(name);
  if (refill) fs.rmSync(profile, { recursive: true, force: true });
  if (seeds[name] && !fs.existsSync(path.join(profile, '.filled'))) {
    fs.rmSync(profile, { recursive: true, force: true });
    fs.cpSync(profileOf(seeds[name]), profile, { recursive: true });
  }
  const filled = fs.existsSync(path.join(profile, '.filled'));
  fs.mkdirSync(profile, { recursive: true });
  // launch() drops the worker script Chromium kept in the profile (it would run that
  // copy rather than the build's after a rebuild, or in a seeded profile).
  const browser = await launch(dir, profile);
  const page = await browser.context.newPage();
  await page.goto(`${browser.base}/vault.html`);
  let fillSeconds = null;
  if (!filled) {
    await send(page, { type: 'vault.wipe', confirm: 'erase everything' });
    await send(page, { type: 'vault.create', passphrase: 'benchmark passphrase', kdf: FAST_KDF });
    fillSeconds = +(await fillVault(page, byConversation)).toFixed(1);
    await send(page, { type: 'vault.stayUnlocked', enabled: true });
    fs.writeFileSync(path.join(profile, '.filled'), '');
  }
  const status = await send(page, { type: 'vault.status' });
  const runs = [];
  for (const q of queries) runs.push(await popupToFirstResult(browser, page, q, true), await popupToFirstResult(browser, page, q, false));
  // The harness's own floor: a new page and the navigation to an empty extension file.
  const floor = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const blank = await browser.context.newPage();
    await blank.goto(`${browser.base}/manifest.json`);
    floor.push(Math.round(performance.now() - t0));
    await blank.close();
  }
  await browser.close();
  return { build: name, messages: status.messages, conversations: status.conversations, fill_seconds_through_background: fillSeconds, runs, floor };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const passes = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...builds].reverse() : builds;
  for (const b of order) passes.push({ round, ...(await pass(b, flag('--refill') && round === 0)) });
}
const summary = (ps) => {
  const runs = ps.flatMap((p) => p.runs);
  const pick = (cold, f) => runs.filter((r) => r.cold === cold).map(f);
  const coldWorker = runs.filter((r) => r.cold).map((r) => r.worker_ms);
  const workerSpan = (from, to) => spread(coldWorker.filter((w) => w[from] !== undefined && w[to] !== undefined).map((w) => w[to] - w[from]));
  return {
    messages: ps[0].messages,
    conversations: ps[0].conversations,
    fill_seconds_through_background: ps.find((p) => p.fill_seconds_through_background !== null)?.fill_seconds_through_background ?? null,
    cold_worker_ms: spread(pick(true, (r) => r.total_ms)),
    warm_worker_ms: spread(pick(false, (r) => r.total_ms)),
    in_popup_cold_ms: spread(pick(true, (r) => r.in_popup_ms.total)),
    in_popup_warm_ms: spread(pick(false, (r) => r.in_popup_ms.total)),
    in_popup_cold_script_ms: spread(pick(true, (r) => r.in_popup_ms.script).filter(Number.isFinite)),
    in_popup_cold_ready_ms: spread(pick(true, (r) => r.in_popup_ms.ready)),
    in_popup_cold_query_ms: spread(pick(true, (r) => r.in_popup_ms.query_to_results)),
    in_popup_warm_ready_ms: spread(pick(false, (r) => r.in_popup_ms.ready)),
    in_popup_warm_query_ms: spread(pick(false, (r) => r.in_popup_ms.query_to_results)),
    cold_worker_timeline_ms: {
      worker_script_after_popup_start: spread(coldWorker.map((w) => w['worker-script'])),
      core_ready_after_script: workerSpan('worker-script', 'core-ready'),
      vault_open_after_core: workerSpan('core-ready', 'vault-open'),
      search_in_worker: workerSpan('run:search', 'done:search'),
      warm_up_in_worker: workerSpan('warm', 'warmed'),
      search_message_after_warm_up_ended: workerSpan('warmed', 'run:search'),
    },
    harness_floor_new_page_ms: spread(ps.flatMap((p) => p.floor)),
  };
};
console.log(JSON.stringify({
  benchmark: 'popup-to-first-results',
  rounds: ROUNDS,
  builds: Object.fromEntries(builds.map((b) => [b.name, summary(passes.filter((p) => p.build === b.name))])),
  passes,
}, null, 2));
