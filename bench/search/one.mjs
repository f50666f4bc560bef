// One library in one process: build, heap, serialized size, load, query latencies
// and hit counts. Prints one JSON object. Run through run.mjs.
//   node --expose-gc --max-old-space-size=8192 bench/search/one.mjs --lib threadkeeper --corpus c.jsonl --queries q.json
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const lib = arg('lib');
const corpus = fs.readFileSync(arg('corpus'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const { queries } = JSON.parse(fs.readFileSync(arg('queries'), 'utf8'));
const SITES = ['chatgpt', 'claude', 'gemini', 'perplexity'];
const gc = () => { global.gc(); global.gc(); };

// The wasm memory is not exported by wasm-bindgen's node glue: catch it.
let wasmMemory = null;
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const inst = new Instance(module, imports);
  if (inst.exports.memory) wasmMemory = inst.exports.memory;
  return inst;
};

// Word queries are whole words (a space typed after them); prefix queries are as typed.
const adapters = {
  threadkeeper() {
    const { SearchIndex } = require('../../dist/node/threadkeeper.js');
    let ix = new SearchIndex();
    return {
      add: (m) => ix.add({ id: String(m.id), conversationId: String(m.cid), title: m.title, text: m.text, site: SITES[m.cid % 4], role: m.role, ts: m.ts }),
      finish: () => ix.search('warm', 1),
      // Every search counts all hits (`total`), whatever the limit.
      search: (q, kind, limit) => {
        const r = ix.search(kind === 'prefix' ? q : q + ' ', limit);
        return r.total;
      },
      save: () => ix.toBytes(),
      size: (b) => b.length,
      load: (b) => { ix.free(); ix = SearchIndex.fromBytes(b); },
      extraHeap: () => (wasmMemory ? wasmMemory.buffer.byteLength : 0),
    };
  },
  flexsearch() {
    const { Index } = require('flexsearch');
    const opts = { tokenize: 'forward' };
    let ix = new Index(opts);
    return {
      add: (m) => ix.add(m.id, m.title + '\n' + m.text),
      finish: () => {},
      search: (q, kind, limit) => ix.search(q, { limit }).length,
      save: () => { const parts = []; ix.export((key, data) => { parts.push([key, data]); }); return parts; },
      size: (parts) => parts.reduce((n, [k, d]) => n + k.length + (d ? d.length : 0), 0),
      load: (parts) => { ix = new Index(opts); for (const [k, d] of parts) ix.import(k, d); },
      extraHeap: () => 0,
    };
  },
  minisearch() {
    const MiniSearch = require('minisearch');
    const opts = { fields: ['title', 'text'], idField: 'id' };
    let ix = new MiniSearch(opts);
    return {
      add: (m) => ix.add({ id: m.id, title: m.title, text: m.text }),
      finish: () => {},
      search: (q, kind) => {
        const r = ix.search(q, { combineWith: 'AND', prefix: kind === 'prefix' ? (term, i, terms) => i === terms.length - 1 : false });
        return r.length; // MiniSearch always scores every match
      },
      save: () => JSON.stringify(ix),
      size: (s) => s.length,
      load: (s) => { ix = MiniSearch.loadJSON(s, opts); },
      extraHeap: () => 0,
    };
  },
};

const a = adapters[lib]();
gc();
const base = process.memoryUsage();
const extraBase = a.extraHeap();
let t = performance.now();
for (const m of corpus) a.add(m);
a.finish();
const buildMs = performance.now() - t;
gc();
const after = process.memoryUsage();
// V8 counts the wasm memory in `external`, so heap = JS heap + external (wasmMB is
// the part of external that is Threadkeeper's linear memory).
const heapMB = (after.heapUsed - base.heapUsed + after.external - base.external) / 2 ** 20;
const wasmMB = (a.extraHeap() - extraBase) / 2 ** 20;
const rssMB = (after.rss - base.rss) / 2 ** 20;

const kinds = {};
const counts = {};
for (const { q, kind } of queries) {
  a.search(q, kind, 10); // warm
  const times = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    a.search(q, kind, 10);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  (kinds[kind] ??= []).push(times[2]);
  counts[q] = a.search(q, kind, 1e9);
}
const pct = (v, p) => v[Math.min(v.length - 1, Math.floor(v.length * p))];
const latency = {};
for (const [kind, v] of Object.entries(kinds)) {
  v.sort((x, y) => x - y);
  latency[kind] = { n: v.length, p50: +pct(v, 0.5).toFixed(4), p95: +pct(v, 0.95).toFixed(4), max: +v[v.length - 1].toFixed(4) };
}

t = performance.now();
const saved = a.save();
const saveMs = performance.now() - t;
const bytes = a.size(saved);
gc();
t = performance.now();
a.load(saved);
const loadMs = performance.now() - t;
const sameAfterLoad = queries.slice(0, 40).every(({ q, kind }) => a.search(q, kind, 1e9) === counts[q]);

console.log(JSON.stringify({
  lib, messages: corpus.length,
  buildS: +(buildMs / 1000).toFixed(2), heapMB: +heapMB.toFixed(1), wasmMB: +wasmMB.toFixed(1), rssMB: +rssMB.toFixed(1),
  serializedMB: +(bytes / 2 ** 20).toFixed(1), saveMs: Math.round(saveMs), loadMs: Math.round(loadMs), sameAfterLoad,
  latency, counts,
}));
