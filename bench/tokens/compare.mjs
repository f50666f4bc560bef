// How far Threadkeeper's token estimator (src/restore.rs `estimate_tokens`, through
// dist/node) is from real tokenizers, on real text. Prints JSON.
//
//   node bench/tokens/compare.mjs [--corpus bench/out/c1k.jsonl]
//
// Texts: the message texts of the real fixtures (tests/fixtures/real/**/*.json),
// the shared synthetic corpus (generated when missing), and restore blocks built from
// the corpus's conversations at several budgets (the text the estimator budgets).
// Tokenizers: gpt-tokenizer's o200k_base (GPT-4o and later) and cl100k_base (GPT-4),
// with their ranks bundled in the npm package, so it runs offline.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { encode as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { encode as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const FIXTURES = path.resolve(ROOT, 'tests/fixtures');
const CORPUS = path.resolve(ROOT, 'bench/corpus');
const require = createRequire(import.meta.url);
const core = require(path.join(ROOT, 'dist/node'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

/** Message texts of an official export or backend JSON, whatever its shape. */
function messageTexts(value, key = '', out = []) {
  if (typeof value === 'string') {
    if ((key === 'text' || key === 'parts' || key === 'content' || key === 'markdown') && value.trim().length >= 20) out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) messageTexts(v, key, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) messageTexts(v, k, out);
  }
  return out;
}

function fixtureTexts() {
  const dir = path.join(FIXTURES, 'real');
  const files = execFileSync('find', [dir, '-name', '*.json'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).sort();
  return files.flatMap((f) => messageTexts(JSON.parse(fs.readFileSync(f, 'utf8'))));
}

function corpusRows(file) {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    execFileSync('node', [path.join(CORPUS, 'gen-corpus.mjs'), '--messages', '1000', '--out', file], { stdio: 'ignore' });
  }
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => typeof r.text === 'string');
}

function blocks(rows) {
  const byConv = new Map();
  for (const r of rows) {
    if (!byConv.has(r.cid)) byConv.set(r.cid, { site: 'chatgpt', conversationId: `c${r.cid}`, title: r.title, url: `https://chatgpt.com/c/c${r.cid}`, createdAt: r.ts, updatedAt: r.ts, messages: [] });
    const c = byConv.get(r.cid);
    c.updatedAt = r.ts;
    c.messages.push({ role: r.role, markdown: r.text });
  }
  const convs = [...byConv.values()];
  // One long conversation too: every message of the corpus in one thread.
  convs.push({ ...convs[0], conversationId: 'all', messages: convs.flatMap((c) => c.messages) });
  const out = [];
  for (const budgetTokens of [500, 2000, 6000]) {
    for (const conv of convs) out.push({ budgetTokens, ...core.restoreBlock(conv, { budgetTokens }) });
  }
  return out;
}

const pct = (x) => Math.round(x * 1000) / 10;
function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

/** Error of the estimate against one tokenizer over a set of texts. */
function measure(texts, encode) {
  let est = 0, real = 0;
  const errors = [];
  for (const t of texts) {
    const e = core.estimateTokens(t);
    const r = encode(t).length;
    est += e; real += r;
    if (r >= 20) errors.push((e - r) / r);
  }
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  const signed = [...errors].sort((a, b) => a - b);
  return {
    texts: texts.length,
    realTokens: real,
    estimatedTokens: est,
    totalErrorPct: pct((est - real) / real),
    meanAbsErrorPct: pct(abs.reduce((a, b) => a + b, 0) / (abs.length || 1)),
    p50AbsErrorPct: pct(quantile(abs, 0.5) ?? 0),
    p95AbsErrorPct: pct(quantile(abs, 0.95) ?? 0),
    worstUnderPct: pct(signed[0] ?? 0),
    worstOverPct: pct(signed[signed.length - 1] ?? 0),
  };
}

const rows = corpusRows(path.resolve(ROOT, arg('--corpus', 'bench/out/c1k.jsonl')));
const sets = {
  fixtures: fixtureTexts(),
  corpus: rows.map((r) => r.text),
};
const built = blocks(rows);
sets.restoreBlocks = built.map((b) => b.text);

const result = { tokenizer: 'gpt-tokenizer ' + require('gpt-tokenizer/package.json').version, note: 'per-text errors over texts of 20+ real tokens', sets: {} };
for (const [name, texts] of Object.entries(sets)) {
  result.sets[name] = { o200k_base: measure(texts, o200k), cl100k_base: measure(texts, cl100k) };
}
// The budget as the model sees it: real o200k tokens of each block over its budget.
const over = built.map((b) => o200k(b.text).length / b.budgetTokens).sort((a, b) => a - b);
result.blocksAgainstBudget = {
  blocks: built.length,
  estimateOverBudget: built.filter((b) => b.tokens > b.budgetTokens).length,
  realO200kToBudgetP50Pct: pct(quantile(over, 0.5)),
  realO200kToBudgetMaxPct: pct(over[over.length - 1]),
};
console.log(JSON.stringify(result, null, 2));
