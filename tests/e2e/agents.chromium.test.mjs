// Agents (issue 14), with every real part: Chromium running the built extension, the
// bridge installed in the test profile by its own `install` (the browser starts it
// through native messaging), and the official MCP TypeScript SDK client starting
// `dist/bridge/threadkeeper-bridge mcp` as an agent would.
//
// One difference from a person's browser: Chromium's prompt for the optional
// `nativeMessaging` permission cannot be answered in a headless test, so the test loads
// a copy of dist/chromium whose manifest lists it as granted (same key, same id). The
// page still asks through permissions.request, which then answers at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { launch, send, sampleConversation, waitFor, extensionWithNativeMessaging, EXTENSION, ROOT, FAST_KDF } from './chromium.mjs';

const BRIDGE = path.join(ROOT, 'dist/bridge/threadkeeper-bridge');
const PASSPHRASE = 'violet tractor sings at dawn';
const SECRET = 'Pelican-Lantern-2208';
const ID = 'dnkhjlpnghhlbdehmmjghobipbgbafcm';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-agents-'));
const runtime = path.join(scratch, 'run');
const profile = path.join(scratch, 'profile');
const extension = path.join(scratch, 'extension');
const env = { ...process.env, THREADKEEPER_RUNTIME_DIR: runtime };
let browser;
let page;
const requests = [];
const agents = [];

/** An MCP client named `name`, connected to a new `threadkeeper-bridge mcp`. */
async function agent(name) {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: BRIDGE, args: ['mcp'], env, stderr: 'pipe' }));
  agents.push(client);
  return client;
}
const text = (result) => result.content.map((c) => c.text).join('\n');
const tools = async (client) => (await client.listTools()).tools.map((t) => t.name).sort();

/** The vault page's answer to the agent waiting there. */
async function answer(client, button) {
  const question = page.locator(`.agent-question[data-client="${client}"]`);
  await question.waitFor({ timeout: 20000 });
  await question.locator(button).click();
}

before(async () => {
  const built = JSON.parse(fs.readFileSync(path.join(EXTENSION, 'manifest.json'), 'utf8'));
  assert.deepEqual(built.optional_permissions, ['nativeMessaging'], 'the built extension asks for it only when agents are turned on');
  assert.ok(!built.permissions.includes('nativeMessaging'));
  extensionWithNativeMessaging(extension);
  fs.mkdirSync(profile);
  execFileSync(BRIDGE, ['install', '--browser', 'chromium', '--profile', profile], { env });
  browser = await launch({ keep: profile, extension, env });
  assert.equal(browser.extensionId, ID, 'the manifest key gives the id the bridge serves');
  browser.context.on('request', (r) => requests.push(r.url()));
  page = await browser.page('vault.html');
  assert.equal((await send(page, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
  assert.equal((await send(page, { type: 'conversation.put', conversation: sampleConversation(SECRET, 'agents-1') })).ok, true);
});

after(async () => {
  for (const client of agents) await client.close().catch(() => {});
  await browser?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('the bridge is installed for this extension only, and agents are off by default', async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(profile, 'NativeMessagingHosts/app.threadkeeper.bridge.json'), 'utf8'));
  assert.deepEqual(manifest.allowed_origins, [`chrome-extension://${ID}/`]);
  assert.equal(manifest.path, fs.realpathSync(BRIDGE));
  const off = await agent('Early Agent');
  assert.deepEqual(await tools(off), ['get_context', 'list_recent', 'search_chats']);
  const refused = await off.callTool({ name: 'search_chats', arguments: { query: 'Pelican' } });
  assert.equal(refused.isError, true);
  assert.match(text(refused), /not reachable: open your browser with Threadkeeper, and turn on Agents/);
});

test('turned on, a new agent waits for the person; allowed, it searches, reads a block and lists', async () => {
  await page.reload();
  await page.locator('#agents-panel summary').click();
  await page.locator('#agents-enabled').check();
  await page.locator('#agents-state', { hasText: 'agents you allow can search' }).waitFor({ timeout: 20000 });
  const stat = fs.statSync(runtime);
  assert.equal(stat.mode & 0o777, 0o700, 'the socket folder is the user\'s alone');
  assert.equal(fs.statSync(path.join(runtime, 'bridge.sock')).mode & 0o777, 0o600);

  const claude = await agent('Claude Code');
  const pending = claude.callTool({ name: 'search_chats', arguments: { query: 'Pelican' } });
  await answer('Claude Code', '.allow-always');
  const found = await pending;
  assert.ok(!found.isError, text(found));
  const [conversation] = (await send(page, { type: 'conversation.list' })).conversations;
  assert.match(text(found), new RegExp(`Trip planning ${SECRET}`));
  assert.match(text(found), new RegExp(conversation.id));
  assert.match(text(found), /https:\/\/chatgpt\.com\/c\/agents-1/);

  const block = await claude.callTool({ name: 'get_context', arguments: { conversation: conversation.id } });
  assert.ok(!block.isError, text(block));
  assert.match(text(block), /Kyoto in early April/);
  assert.match(text(block), new RegExp(SECRET));
  const recent = await claude.callTool({ name: 'list_recent', arguments: {} });
  assert.match(text(recent), new RegExp(conversation.id));

  // The log in the vault page: time, agent, tool, what it asked.
  const row = page.locator('#agents-log tr', { hasText: 'search_chats' }).first();
  await row.waitFor();
  assert.match(await row.textContent(), /Claude Code.*search_chats.*Pelican.*answered/);
});

test('through the page messages: a waiting agent shows in agents.status, agents.decide {allow: true} lets it in', async () => {
  const named = await agent('Contract Agent');
  const pending = named.callTool({ name: 'list_recent', arguments: { limit: 5 } });
  await waitFor(async () => (await send(page, { type: 'agents.status' })).clients.some((c) => c.name === 'Contract Agent' && c.allowed === false), { what: 'the waiting agent' });
  assert.equal((await send(page, { type: 'agents.decide', client: 'Contract Agent', allow: true })).ok, true);
  const listed = await pending;
  assert.ok(!listed.isError, text(listed));
  assert.match(text(listed), new RegExp(`Trip planning ${SECRET}`));
  const status = await send(page, { type: 'agents.status' });
  assert.equal(status.enabled, true);
  const entry = status.clients.find((c) => c.name === 'Contract Agent');
  assert.equal(entry.allowed, true);
  assert.deepEqual(entry.scope, { sites: null, remember: false });
  assert.ok(entry.lastSeen > 0);
  assert.ok(status.log.some((e) => e.client === 'Contract Agent' && e.tool === 'list_recent'));
});

test('remember is refused until the person allows it, then the note is found like any chat', async () => {
  const claude = await agent('Claude Code');
  assert.deepEqual(await tools(claude), ['get_context', 'list_recent', 'search_chats']);
  const refused = await claude.callTool({ name: 'remember', arguments: { title: 'Deploy notes', text: 'The staging key rotates on Fridays (Marmot-7).' } });
  assert.equal(refused.isError, true);
  assert.match(text(refused), /may only read/);
  await page.locator('.agent-client[data-client="Claude Code"] .may-remember').check();
  await page.locator('#agents-outcome', { hasText: 'Saved.' }).waitFor();
  assert.deepEqual(await tools(claude), ['get_context', 'list_recent', 'remember', 'search_chats']);
  const saved = await claude.callTool({ name: 'remember', arguments: { title: 'Deploy notes', text: 'The staging key rotates on Fridays (Marmot-7).' } });
  assert.ok(!saved.isError, text(saved));
  const search = await send(page, { type: 'search', query: 'Marmot' });
  assert.equal(search.total, 1);
  assert.equal(search.results[0].title, 'Deploy notes');
  const note = await send(page, { type: 'conversation.get', id: search.results[0].conversationId });
  assert.equal(note.conversation.model, 'Claude Code', 'attributed to the agent');
  assert.equal(note.conversation.messages[0].provenance.source, 'agent:Claude Code');
});

test('a denied agent gets nothing, and a locked vault says so', async () => {
  const intruder = await agent('Intruder');
  const pending = intruder.callTool({ name: 'search_chats', arguments: { query: 'Pelican' } });
  await answer('Intruder', '.deny');
  const denied = await pending;
  assert.equal(denied.isError, true);
  assert.match(text(denied), /denied Intruder access/);
  assert.doesNotMatch(text(denied), new RegExp(SECRET));
  const again = await intruder.callTool({ name: 'list_recent', arguments: {} });
  assert.match(text(again), /denied Intruder access/);

  assert.equal((await send(page, { type: 'vault.lock' })).state, 'locked');
  const claude = await agent('Claude Code');
  const locked = await claude.callTool({ name: 'search_chats', arguments: { query: 'Pelican' } });
  assert.equal(locked.isError, true);
  assert.match(text(locked), /Threadkeeper is locked: unlock it in your browser/);
  assert.equal((await send(page, { type: 'vault.unlock', passphrase: PASSPHRASE })).ok, true);
});

test('a flood is limited and logged; revoking makes the agent ask again', async () => {
  const claude = await agent('Claude Code');
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 70 }, () => claude.callTool({ name: 'list_recent', arguments: {} })));
  const limited = replies.filter((r) => r.isError && /Too many requests from Claude Code/.test(text(r)));
  assert.ok(limited.length >= 20, `${limited.length} of 70 limited`);
  // Every answered call is in the log, none lost to calls answered at once.
  const logged = (await send(page, { type: 'agents.status' })).log.filter((e) => e.at >= started && e.outcome === 'answered');
  assert.equal(logged.length, replies.filter((r) => !r.isError).length);
  await page.reload();
  await page.locator('#agents-log tr', { hasText: 'rate-limited' }).first().waitFor();
  await new Promise((r) => setTimeout(r, 10500)); // the window passes

  await page.locator('.agent-client[data-client="Claude Code"] .revoke').click();
  await page.locator('#agents-outcome', { hasText: 'must ask again' }).waitFor();
  const pending = claude.callTool({ name: 'list_recent', arguments: {} });
  await answer('Claude Code', '.allow-once');
  assert.ok(!(await pending).isError);
});

test('the bridge killed mid-request: the agent hears why, the extension goes on and reconnects', async () => {
  const waiter = await agent('Slow Agent');
  const pending = waiter.callTool({ name: 'list_recent', arguments: {} });
  await page.locator('.agent-question[data-client="Slow Agent"]').waitFor({ timeout: 20000 });
  const relay = execFileSync('pgrep', ['-f', `threadkeeper-bridge chrome-extension://${ID}/`]).toString().trim().split('\n')[0];
  process.kill(Number(relay), 'SIGKILL');
  const lost = await pending;
  assert.equal(lost.isError, true);
  assert.match(text(lost), /connection to the browser was lost|not reachable/);
  assert.equal((await send(page, { type: 'vault.status' })).state, 'unlocked');
  // The background starts the bridge again by itself.
  await waitFor(async () => (await send(page, { type: 'agents.status' })).bridge.connected, { timeout: 20000, what: 'the bridge back' });
  const claude = await agent('Claude Code');
  const pendingClaude = claude.callTool({ name: 'list_recent', arguments: {} });
  await answer('Claude Code', '.allow-always');
  assert.ok(!(await pendingClaude).isError);
});

test('what the bridge leaves on disk holds no plaintext, and no request left the browser', async () => {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(runtime);
  assert.deepEqual(files.map((f) => path.relative(runtime, f)), ['bridge.sock']);
  const manifestDir = path.join(profile, 'NativeMessagingHosts');
  for (const f of fs.readdirSync(manifestDir)) {
    const bytes = fs.readFileSync(path.join(manifestDir, f), 'utf8');
    assert.doesNotMatch(bytes, new RegExp(`${SECRET}|Pelican|Marmot`));
  }
  const outside = requests.filter((u) => !u.startsWith('chrome-extension://'));
  assert.deepEqual(outside, []);
});
