#!/usr/bin/env node
// Search benchmark: Threadkeeper's SearchIndex (dist/node) against FlexSearch 0.8
// (`forward`) and MiniSearch 7.2 on the shared corpus, one node process per library
// and size. Prints one JSON object (also written to bench/out/search-results.json).
//   node bench/search/run.mjs [--sizes 10000,100000] [--libs threadkeeper,flexsearch,minisearch]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const shared = path.resolve(root, 'bench/corpus');
const out = path.join(root, 'bench/out');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const libs = arg('libs', 'threadkeeper,flexsearch,minisearch').split(',');
fs.mkdirSync(out, { recursive: true });

if (!fs.existsSync(path.join(root, 'dist/node/threadkeeper.js'))) {
  throw new Error('dist/node is missing: build it first (make dist/node/threadkeeper.js)');
}
const corpusFile = (n) => {
  const file = path.join(out, `corpus-${n % 1000 === 0 ? n / 1000 + 'k' : n}.jsonl`);
  if (!fs.existsSync(file)) {
    execFileSync('node', [path.join(shared, 'gen-corpus.mjs'), '--messages', String(n), '--out', file], { stdio: ['ignore', 2, 2] });
  }
  return file;
};

// The shared query set, plus CJK words for the hit-count check (ranks 40..1000 of the
// zh and ja vocabularies, every 40th), which the shared set holds only two of.
const queriesFile = path.join(out, 'queries.json');
if (!fs.existsSync(queriesFile)) {
  fs.writeFileSync(queriesFile, execFileSync('node', [path.join(shared, 'gen-queries.mjs'), '--corpus', corpusFile(1000)]));
}
const vocab = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(shared, 'vocab.json.gz'))).toString('utf8')).langs;
const cjkWords = ['zh', 'ja'].flatMap((l) => vocab[l].filter((_, i) => i >= 40 && i <= 1000 && i % 40 === 0).map(([w]) => w));
const base = JSON.parse(fs.readFileSync(queriesFile, 'utf8'));
const allQueries = { ...base, queries: [...base.queries, ...cjkWords.map((q) => ({ q, kind: 'cjk-extra' }))] };
const benchQueries = path.join(out, 'queries-bench.json');
fs.writeFileSync(benchQueries, JSON.stringify(allQueries));

// Every hit counted? A plain scan of each message's words (lowercased, accents
// removed, split on what is not a letter or digit, title included): a word query
// matches a message holding all its words, a prefix query one holding a word that
// starts with the last word and all the others.
const fold = (s) => s.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
const words = (s) => fold(s).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
function scanCounts(messages, queries) {
  const qs = queries.filter(({ kind }) => kind.startsWith('term') && !kind.includes('cjk') || kind === 'prefix')
    .map(({ q, kind }) => ({ q, whole: words(q), prefix: kind === 'prefix' ? words(q).pop() : null, n: 0 }));
  for (const m of messages) {
    const set = new Set(words(m));
    let prefixes = null;
    for (const x of qs) {
      if (!x.whole.every((w, i) => (x.prefix !== null && i === x.whole.length - 1) || set.has(w))) continue;
      if (x.prefix !== null) {
        if (!prefixes) { prefixes = new Set(); for (const w of set) for (let i = 1; i <= w.length; i++) prefixes.add(w.slice(0, i)); }
        if (!prefixes.has(x.prefix)) continue;
      }
      x.n++;
    }
  }
  return Object.fromEntries(qs.map((x) => [x.q, x.n]));
}

const results = [];
for (const n of sizes) {
  const corpus = corpusFile(n);
  // What a plain substring scan finds for each CJK query (title and text).
  const msgs = fs.readFileSync(corpus, 'utf8').trim().split('\n').map((l) => { const m = JSON.parse(l); return (m.title + '\n' + m.text).toLowerCase(); });
  const cjk = allQueries.queries.filter((q) => q.kind === 'term1-cjk' || q.kind === 'cjk-extra').map(({ q }) => ({ q, scan: msgs.filter((m) => m.includes(q)).length }));
  const scan = scanCounts(msgs, base.queries);
  const row = { messages: n, libs: {}, cjk };
  for (const lib of libs) {
    process.stderr.write(`${lib} at ${n} messages...\n`);
    const json = execFileSync('node', ['--expose-gc', '--max-old-space-size=12000', path.join(here, 'one.mjs'), '--lib', lib, '--corpus', corpus, '--queries', benchQueries], { maxBuffer: 1 << 28 });
    const r = JSON.parse(json);
    for (const c of cjk) c[lib] = r.counts[c.q];
    r.cjkEqualToScan = `${cjk.filter((c) => c[lib] === c.scan).length}/${cjk.length}`;
    delete r.latency['cjk-extra'];
    const counts = r.counts;
    delete r.counts;
    r.hitCounts = Object.fromEntries(Object.entries(counts).filter(([q]) => base.queries.some((b) => b.q === q)));
    r.hitsEqualToScan = `${Object.keys(scan).filter((q) => scan[q] === counts[q]).length}/${Object.keys(scan).length}`;
    row.libs[lib] = r;
  }
  row.scanCounts = scan;
  results.push(row);
}

const report = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, results };
fs.writeFileSync(path.join(out, 'search-results.json'), JSON.stringify(report, null, 1));
console.log(JSON.stringify(report));
