// Prints the side-by-side summary of a bench/search/popup.mjs result (JSON on stdin or a file).
import fs from 'node:fs';

const r = JSON.parse(fs.readFileSync(process.argv[2] ?? 0, 'utf8'));
const f = (s) => (s && s.median !== undefined ? `${s.median} (${s.min}-${s.max})` : '-');
const rows = [
  ['in-popup cold', (b) => b.in_popup_cold_ms],
  ['  popup script runs', (b) => b.in_popup_cold_script_ms],
  ['  ready', (b) => b.in_popup_cold_ready_ms],
  ['  query to results', (b) => b.in_popup_cold_query_ms],
  ['in-popup warm', (b) => b.in_popup_warm_ms],
  ['  ready', (b) => b.in_popup_warm_ready_ms],
  ['  query to results', (b) => b.in_popup_warm_query_ms],
  ['harness cold', (b) => b.cold_worker_ms],
  ['harness warm', (b) => b.warm_worker_ms],
  ['worker script after popup start', (b) => b.cold_worker_timeline_ms.worker_script_after_popup_start],
  ['core ready after script', (b) => b.cold_worker_timeline_ms.core_ready_after_script],
  ['vault open after core', (b) => b.cold_worker_timeline_ms.vault_open_after_core],
  ['cold search in worker', (b) => b.cold_worker_timeline_ms.search_in_worker],
  ['warm-up in worker', (b) => b.cold_worker_timeline_ms.warm_up_in_worker],
  ['search message after warm-up ended', (b) => b.cold_worker_timeline_ms.search_message_after_warm_up_ended],
  ['harness floor', (b) => b.harness_floor_new_page_ms],
];
const names = Object.keys(r.builds);
console.log(`| ms, median (min-max) | ${names.join(' | ')} |`);
console.log(`|---|${names.map(() => '---').join('|')}|`);
for (const [label, pick] of rows) console.log(`| ${label} | ${names.map((n) => f(pick(r.builds[n]))).join(' | ')} |`);
