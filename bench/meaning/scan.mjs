#!/usr/bin/env node
// The meaning leg's scan in wasm (node), builds side by side in one process (prints
// JSON; not a test). Each build's dist/node gets the same index of N messages with
// meaning on; then, query by query and build by build in turn (so a busy machine
// slows them alike), `searchByMeaning(q, 1)` (the query's vector and a scan of every
// vector, one hit made) and `search(q, 20)` (fused) are timed, 5 rounds.
//   node bench/meaning/scan.mjs [--messages 100000] --core before=DIR --core after=DIR
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]] : []));
const N = Number(option('messages')[0] ?? 100000);
const cores = option('core').map((c) => c.split('='));
if (!cores.length) cores.push(['this', path.join(root, 'dist/node')]);

const out = path.join(root, 'bench/out');
fs.mkdirSync(out, { recursive: true });
const corpus = path.join(out, `corpus-${N}.jsonl`);
if (!fs.existsSync(corpus)) execFileSync('node', [path.join(root, 'bench/corpus/gen-corpus.mjs'), '--messages', String(N), '--out', corpus], { stdio: ['ignore', 2, 2] });
const queriesFile = path.join(out, 'queries.json');
if (!fs.existsSync(queriesFile)) {
  const corpus1k = path.join(out, 'corpus-1000.jsonl');
  if (!fs.existsSync(corpus1k)) execFileSync('node', [path.join(root, 'bench/corpus/gen-corpus.mjs'), '--messages', '1000', '--out', corpus1k]);
  fs.writeFileSync(queriesFile, execFileSync('node', [path.join(root, 'bench/corpus/gen-queries.mjs'), '--corpus', corpus1k]));
}
const planted = JSON.parse(fs.readFileSync(path.join(root, 'bench/meaning/planted.json'), 'utf8')).conversations;
const queries = [...JSON.parse(fs.readFileSync(queriesFile, 'utf8')).queries.map((q) => q.q), ...planted.map((c) => c.paraphrase)];

const rows = fs.readFileSync(corpus, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const indexes = cores.map(([name, dir]) => {
  const { SearchIndex } = createRequire(import.meta.url)(path.join(path.resolve(dir), 'threadkeeper.js'));
  const index = new SearchIndex({ meaning: true });
  for (const r of rows) index.add({ id: String(r.id), conversationId: `c${r.cid}`, title: r.title, text: r.text, site: 'chatgpt', role: r.role, ts: r.ts });
  return { name, index, scan: [], fused: [], found: [] };
});

const time = (f) => {
  const t = performance.now();
  const r = f();
  return [performance.now() - t, r];
};
for (let round = 0; round < 5; round++) {
  for (const q of queries) {
    for (const x of indexes) {
      const [scan, r] = time(() => x.index.searchByMeaning(q, 1));
      x.scan.push(scan);
      x.fused.push(time(() => x.index.search(q, 20))[0]);
      if (round === 0) x.found.push(r.hits[0]?.id ?? null);
    }
  }
}
const stats = (t) => {
  t.sort((a, b) => a - b);
  const at = (f) => +t[Math.min(t.length - 1, Math.floor(f * t.length))].toFixed(3);
  return { min: at(0), p50: at(0.5), p95: at(0.95) };
};
console.log(JSON.stringify({
  bench: 'meaning-scan',
  messages: rows.length,
  queries: queries.length,
  rounds: 5,
  same_nearest_as_the_first_build: indexes.map((x) => x.found.every((id, i) => id === indexes[0].found[i])),
  ms: Object.fromEntries(indexes.map((x) => [x.name, { meaning_leg_one_hit: stats(x.scan), fused_top_20: stats(x.fused) }])),
}, null, 2));
