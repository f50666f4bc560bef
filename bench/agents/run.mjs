// An agent's tool call to its answer, through the whole path: the official MCP SDK
// client -> `threadkeeper-bridge mcp` -> socket -> `threadkeeper-bridge native` (started
// by Chromium) -> the extension's background -> the vault, and back. 100k stored
// messages (the shared corpus), warm; 200 `search_chats` calls with the shared queries,
// then 50 `get_context`. Prints JSON (not a test). Run: make && node bench/agents/run.mjs [messages]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { launch, send, extensionWithNativeMessaging, ROOT, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { corpusConversations, fillVault } from '../fill.mjs';

const MESSAGES = Number(process.argv[2] ?? 100000);
const BRIDGE = path.join(ROOT, 'dist/bridge/threadkeeper-bridge');
const out = path.join(ROOT, 'bench/out');
const scratch = path.join(out, `agents-${MESSAGES}`);
const profile = path.join(scratch, 'profile');
const runtime = path.join(scratch, 'run');
const env = { ...process.env, THREADKEEPER_RUNTIME_DIR: runtime };
const byConversation = corpusConversations(MESSAGES);
const filled = fs.existsSync(path.join(scratch, '.filled'));
fs.mkdirSync(profile, { recursive: true });
fs.rmSync(path.join(scratch, 'extension'), { recursive: true, force: true });
const extension = extensionWithNativeMessaging(path.join(scratch, 'extension'));
execFileSync(BRIDGE, ['install', '--browser', 'chromium', '--profile', profile], { env });
const browser = await launch({ keep: profile, extension, env });
const page = await browser.page('vault.html');
let fillSeconds = null;
if (!filled) {
  await send(page, { type: 'vault.wipe', confirm: 'erase everything' });
  await send(page, { type: 'vault.create', passphrase: 'benchmark passphrase', kdf: FAST_KDF });
  fillSeconds = await fillVault(page, byConversation);
  await send(page, { type: 'vault.stayUnlocked', enabled: true });
  fs.writeFileSync(path.join(scratch, '.filled'), '');
}
const enabled = await send(page, { type: 'agents.enable', enabled: true });
if (!enabled.ok) throw new Error(JSON.stringify(enabled));
await send(page, { type: 'agents.decide', client: 'bench-agent', allow: 'always' });
const status = await send(page, { type: 'vault.status' });
for (let i = 0; i < 100 && !(await send(page, { type: 'agents.status' })).bridge.connected; i++) await new Promise((r) => setTimeout(r, 100));

const client = new Client({ name: 'bench-agent', version: '1.0.0' });
await client.connect(new StdioClientTransport({ command: BRIDGE, args: ['mcp'], env }));
const set = JSON.parse(fs.readFileSync(path.join(out, 'queries.json'), 'utf8'));
const list = (Array.isArray(set) ? set : set.queries).map((q) => (typeof q === 'string' ? q : q.q ?? q.query ?? q.text));
// The extension answers a client at most 50 calls in 10 s (agents.js): the calls are
// paced under it; only each call's own time is measured.
let windowStart = performance.now();
let inWindow = 0;
const timed = async (name, args) => {
  if (++inWindow > 45) {
    await new Promise((r) => setTimeout(r, Math.max(0, 10500 - (performance.now() - windowStart))));
    windowStart = performance.now();
    inWindow = 1;
  }
  const t0 = performance.now();
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(result.content[0].text);
  return [performance.now() - t0, result];
};
await timed('search_chats', { query: list[0] }); // warm: the index in memory
const search = [];
const ids = [];
for (let i = 0; i < 200; i++) {
  const [ms, result] = await timed('search_chats', { query: list[i % list.length] });
  search.push(ms);
  const id = /conversation: (\S+)/.exec(result.content[0].text)?.[1];
  if (id) ids.push(id);
}
const context = [];
for (const id of ids.slice(0, 50)) context.push((await timed('get_context', { conversation: id }))[0]);
const pct = (xs, p) => +[...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))].toFixed(1);
console.log(JSON.stringify({
  benchmark: 'agent-tool-call-to-answer',
  messages: status.messages,
  conversations: status.conversations,
  fill_seconds_through_background: fillSeconds === null ? null : +fillSeconds.toFixed(1),
  search_chats_ms: { calls: search.length, p50: pct(search, 0.5), p95: pct(search, 0.95), max: pct(search, 1) },
  get_context_ms: { calls: context.length, p50: context.length ? pct(context, 0.5) : null, p95: context.length ? pct(context, 0.95) : null },
  bridge_binary_bytes: fs.statSync(BRIDGE).size,
}, null, 2));
await client.close();
await browser.close();
