// Fills a vault in Chromium through the background with the shared corpus (one
// conversation per 20 messages), as the browser benchmarks need (not a test).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { send, ROOT } from '../tests/e2e/chromium.mjs';

/** The corpus of `messages` messages (generated once into bench/out), by conversation. */
export function corpusConversations(messages) {
  const out = path.join(ROOT, 'bench/out');
  fs.mkdirSync(out, { recursive: true });
  const corpus = path.join(out, `corpus-${messages}.jsonl`);
  if (!fs.existsSync(corpus)) {
    execFileSync('node', [path.join(ROOT, 'bench/corpus/gen-corpus.mjs'), '--messages', String(messages), '--out', corpus], { stdio: 'inherit' });
  }
  const rows = fs.readFileSync(corpus, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const byConversation = new Map();
  for (const r of rows) {
    if (!byConversation.has(r.cid)) byConversation.set(r.cid, []);
    byConversation.get(r.cid).push(r);
  }
  return byConversation;
}

/** Stores every conversation of `byConversation` through `page` (an extension page); seconds taken. */
export async function fillVault(page, byConversation) {
  const start = performance.now();
  for (const [cid, msgs] of byConversation) {
    const reply = await send(page, { type: 'conversation.put', conversation: {
      site: 'chatgpt', conversationId: String(cid), title: msgs[0].title, url: `https://chatgpt.com/c/${cid}`,
      createdAt: msgs[0].ts, updatedAt: msgs.at(-1).ts, messages: msgs.map((m) => ({ role: m.role, markdown: m.text })),
    } });
    if (!reply.ok) throw new Error(JSON.stringify(reply));
  }
  return (performance.now() - start) / 1000;
}
