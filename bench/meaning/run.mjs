#!/usr/bin/env node
// Recall by meaning, evaluated (issue 16). Prints one JSON object (also written to
// bench/out/meaning-results.json). Not a test.
//   node bench/meaning/run.mjs [--messages 10000] [--weight W (default: the core's, 0.1)]
//                              [--core DIR (another build's dist/node, to compare)]
//
// Corpus: the shared synthetic corpus (bench/corpus, seed chat-v1) of --messages
// messages, with the 32 hand-written conversations of planted.json placed among its
// conversations at even intervals (ids p0..p31). Query sets, each ranked at the
// conversation level (a conversation's place is that of its best message; top 10):
// - paraphrase: each planted conversation's paraphrase query (written to avoid its
//   words; the words that still occur are listed under `overlap`), relevant: it;
// - exact: each planted conversation's exact-word query, relevant: it;
// - generated: the shared 200 queries (bench/corpus/gen-queries.mjs), no labels: the
//   reference is BM25's own top 10, so BM25 scores 1 and the figure says how much the
//   fusion moves the word leg's ranking.
// Legs: BM25 alone (`new SearchIndex()`), vectors alone (`searchByMeaning`), fused
// (`new SearchIndex({meaning: true})`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const out = path.join(root, 'bench/out');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg('messages', '10000'));
fs.mkdirSync(out, { recursive: true });
const core = path.resolve(arg('core', path.join(root, 'dist/node')));
const { SearchIndex } = createRequire(import.meta.url)(path.join(core, 'threadkeeper.js'));

const corpusFile = (n) => {
  const file = path.join(out, `corpus-${n % 1000 === 0 ? n / 1000 + 'k' : n}.jsonl`);
  if (!fs.existsSync(file)) {
    execFileSync('node', [path.join(root, 'bench/corpus/gen-corpus.mjs'), '--messages', String(n), '--out', file], { stdio: ['ignore', 2, 2] });
  }
  return file;
};
const rows = fs.readFileSync(corpusFile(N), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const planted = JSON.parse(fs.readFileSync(path.join(here, 'planted.json'), 'utf8')).conversations;
const queriesFile = path.join(out, 'queries.json');
if (!fs.existsSync(queriesFile)) {
  fs.writeFileSync(queriesFile, execFileSync('node', [path.join(root, 'bench/corpus/gen-queries.mjs'), '--corpus', corpusFile(1000)]));
}
const generated = JSON.parse(fs.readFileSync(queriesFile, 'utf8')).queries.map((q) => q.q);

// Messages in corpus order, a planted conversation after every N/32 messages.
const docs = [];
const every = Math.floor(rows.length / planted.length);
let p = 0;
rows.forEach((r, i) => {
  docs.push({ id: String(r.id), conversationId: `c${r.cid}`, title: r.title, text: r.text, site: 'chatgpt', role: r.role, ts: r.ts });
  if ((i + 1) % every === 0 && p < planted.length) {
    const c = planted[p];
    c.messages.forEach((text, k) => docs.push({
      id: `p${p}-${k}`, conversationId: `p${p}`, title: c.title, text, site: 'chatgpt', role: k % 2 ? 'assistant' : 'user', ts: r.ts,
    }));
    p++;
  }
});

function build(options) {
  const index = new SearchIndex(options);
  const t = performance.now();
  for (const d of docs) index.add(d);
  return { index, seconds: (performance.now() - t) / 1000 };
}
const words = build();
const both = build({ meaning: true });

const conversations = (result) => [...new Set(result.hits.map((h) => h.conversationId))].slice(0, 10);
const legs = {
  bm25: (q) => words.index.search(q, 100),
  vectors: (q) => both.index.searchByMeaning(q, 100),
  fused: (q) => both.index.search(q, 100),
};
const dcg = (list, relevant) => list.reduce((s, c, i) => s + (relevant.has(c) ? 1 / Math.log2(i + 2) : 0), 0);
const ideal = (n) => dcg([...Array(Math.min(n, 10)).keys()].map(String), new Set([...Array(n).keys()].map(String)));
function evaluate(set, which = legs) {
  const scores = {};
  for (const [leg, run] of Object.entries(which)) {
    let recall = 0, ndcg = 0;
    for (const { q, relevant } of set) {
      const rel = typeof relevant === 'function' ? relevant() : relevant;
      if (rel.size === 0) continue;
      const top = conversations(run(q));
      recall += top.filter((c) => rel.has(c)).length / Math.min(rel.size, 10);
      ndcg += dcg(top, rel) / ideal(rel.size);
    }
    const n = set.filter(({ relevant }) => (typeof relevant === 'function' ? relevant() : relevant).size > 0).length;
    scores[leg] = { recallAt10: +(recall / n).toFixed(4), ndcgAt10: +(ndcg / n).toFixed(4), queries: n };
  }
  return scores;
}

const fold = (s) => s.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
const tokens = (s) => fold(s).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
const overlap = planted.map((c, i) => {
  const held = new Set(tokens([c.title, ...c.messages].join(' ')));
  return { id: `p${i}`, words: tokens(c.paraphrase).filter((w) => held.has(w)) };
}).filter((o) => o.words.length);

const paraphrase = planted.map((c, i) => ({ q: c.paraphrase, relevant: new Set([`p${i}`]) }));
const exact = planted.map((c, i) => ({ q: c.exact, relevant: new Set([`p${i}`]) }));
const bm25Top = new Map(generated.map((q) => [q, new Set(conversations(legs.bm25(q)))]));
const gen = generated.map((q) => ({ q, relevant: () => bm25Top.get(q) }));

function timing(run, queries) {
  const times = [];
  for (let round = 0; round < 3; round++) {
    for (const q of queries) {
      const t = performance.now();
      run(q);
      times.push(performance.now() - t);
    }
  }
  times.sort((a, b) => a - b);
  const at = (f) => +times[Math.min(times.length - 1, Math.floor(f * times.length))].toFixed(3);
  return { p50: at(0.5), p95: at(0.95), max: at(1) };
}
const allQueries = [...paraphrase, ...exact].map((x) => x.q).concat(generated);

if (arg('weight')) both.index.meaningWeight = Number(arg('weight'));
const result = {
  bench: 'meaning',
  corpus: { messages: docs.length, planted: planted.length, generator: 'bench/corpus seed chat-v1' },
  model: 'potion-base-2M (int8, 64 dims)',
  paraphrase: evaluate(paraphrase),
  exact: evaluate(exact),
  generated: evaluate(gen),
  overlap,
  indexSeconds: { bm25: +words.seconds.toFixed(2), fused: +both.seconds.toFixed(2) },
  embedPerSecond: Math.round(docs.length / Math.max(both.seconds - words.seconds, 1e-9)),
  vectorBytes: both.index.vectorBytes,
  meaningWeight: arg('weight', "the core's (src/search/meaning/fuse.rs)"),
  core: path.relative(root, core) || core,
  // vectors: the meaning leg alone (the query's vector, the scan, 100 hits).
  queryMs: { bm25: timing(legs.bm25, allQueries), vectors: timing(legs.vectors, allQueries), fused: timing(legs.fused, allQueries) },
};
// Last: it changes the index's weight.
// The fusion's weight of the meaning leg (the words weigh 1), swept.
const weights = [0.5, 0.2, 0.1, 0.05, 0.02, 0.01];
const sweep = weights.map((w) => {
  both.index.meaningWeight = w;
  const row = { meaningWeight: w };
  for (const [name, set] of [['paraphrase', paraphrase], ['exact', exact], ['generated', gen]]) {
    const fused = evaluate(set, { fused: legs.fused }).fused;
    row[name] = { recallAt10: fused.recallAt10, ndcgAt10: fused.ndcgAt10 };
  }
  return row;
});

result.sweep = sweep;
result.paraphrase.fusedOverBm25Recall = result.paraphrase.bm25.recallAt10
  ? +(result.paraphrase.fused.recallAt10 / result.paraphrase.bm25.recallAt10).toFixed(2) : null;
fs.writeFileSync(path.join(out, 'meaning-results.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
