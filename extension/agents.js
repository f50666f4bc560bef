// Agents (issue 14): local AI apps (any MCP client: Claude Desktop, Claude Code,
// Cursor...) search and read the vault through the native bridge (bridge/, its
// protocol in bridge/PROTOCOL.md), with the person's consent, like a password
// manager's. The bridge holds no key and stores nothing: every answer is computed here,
// from the unlocked vault, in the background's serial queue.
//
// What is kept where:
// - the switch and each client's decision and scope: the protected store (extension
//   IndexedDB, device.js), which content scripts cannot write; a client is known by
//   the name it gives in MCP `initialize` (its `clientInfo`);
// - the log (time, client, tool, what it asked, outcome): storage.session, memory only,
//   trusted contexts only, gone when the browser closes; at most LOG_LEN entries;
// - requests waiting for the person's answer: this worker's memory (the open native
//   port keeps the worker alive).

import { ext } from './shim.js';
import { readProtected, writeProtected } from './device.js';
import { blockFor } from './messages/tab.js';
import { ADAPTERS } from './sites/index.js';

export const BRIDGE_HOST = 'app.threadkeeper.bridge';
const STATE_SLOT = 'agents';
const LOG_KEY = 'agentsLog';
const LOG_LEN = 200;
/** How long a call waits for the person to allow its client. */
const ASK_TIMEOUT_MS = 120000;
/** At most RATE_MAX calls a client in RATE_WINDOW_MS; more are refused and logged. */
const RATE_WINDOW_MS = 10000;
const RATE_MAX = 50;
const MAX_CLIENT_NAME = 100;
/** Reconnection after the bridge went away: the first soon, then slower. */
const RETRY_MS = [1000, 5000, 30000, 60000];
/** Notes saved by `remember` are conversations of this site. */
export const NOTE_SITE = 'agent';
export const AGENT_SITES = [...ADAPTERS.map((a) => a.site), NOTE_SITE];

let env = null;
let port = null;
let bridgeError = null;
let retries = 0;
let retryTimer = null;
/** Clients waiting for the person: name -> {since, tool, waiters: [resolve]}. */
const asking = new Map();
/** Recent call times per client, for the rate limit. */
const calls = new Map();

class AgentError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The switch and the clients, read with a type check and safe defaults. */
export async function readAgents() {
  const stored = await readProtected(STATE_SLOT).catch(() => undefined);
  const state = { enabled: false, clients: {} };
  if (!stored || typeof stored !== 'object') return state;
  state.enabled = stored.enabled === true;
  for (const [name, c] of Object.entries(stored.clients ?? {})) {
    if (!c || typeof c !== 'object' || !['always', 'deny'].includes(c.allowed)) continue;
    const sites = Array.isArray(c.sites) ? c.sites.filter((s) => AGENT_SITES.includes(s)) : null;
    state.clients[name] = { allowed: c.allowed, sites, remember: c.remember === true, lastSeen: Number.isFinite(c.lastSeen) ? c.lastSeen : 0 };
  }
  return state;
}

async function saveAgents(state) {
  await writeProtected({ [STATE_SLOT]: state });
}

/** The client's name as shown to the person: what it says, trimmed and bounded. */
function clientName(client) {
  const name = typeof client?.name === 'string' ? client.name.trim().slice(0, MAX_CLIENT_NAME) : '';
  return name || 'an unnamed agent';
}

export async function readLog() {
  const log = (await ext.storage.session.get(LOG_KEY))[LOG_KEY];
  return Array.isArray(log) ? log : [];
}

// Entries are added one after another: calls answered at once would otherwise read the
// same log and each write it back with only its own entry added.
let logged = Promise.resolve();
function addLog(entry) {
  const at = Date.now();
  logged = logged.catch(() => {}).then(async () => {
    const log = await readLog();
    log.push({ at, ...entry });
    await ext.storage.session.set({ [LOG_KEY]: log.slice(-LOG_LEN) });
  });
  return logged;
}

/** What a call asked, for the log: the query, the conversation or the note's title. */
function asked(tool, args) {
  const what = args?.query ?? args?.conversation ?? args?.title ?? '';
  return typeof what === 'string' ? what.slice(0, 200) : '';
}

function overLimit(name) {
  const now = Date.now();
  const recent = (calls.get(name) ?? []).filter((t) => now - t < RATE_WINDOW_MS);
  recent.push(now);
  calls.set(name, recent);
  return recent.length > RATE_MAX;
}

/** Waits for the person's answer about `name` (the vault page shows the question). */
function ask(name, tool) {
  let entry = asking.get(name);
  const first = !entry;
  if (first) {
    entry = { since: Date.now(), tool, waiters: [] };
    asking.set(name, entry);
  }
  const answer = new Promise((resolve) => {
    entry.waiters.push(resolve);
    setTimeout(() => resolve('timeout'), ASK_TIMEOUT_MS);
  });
  if (first) showQuestion().catch(() => {});
  return answer;
}

/** Brings the vault page's Agents panel forward, where the question waits. */
async function showQuestion() {
  const url = ext.runtime.getURL('vault.html');
  const open = (await ext.tabs.query({})).find((t) => t.url?.startsWith(url));
  if (open) await ext.tabs.update(open.id, { active: true, url: `${url}#agents` });
  else await ext.tabs.create({ url: `${url}#agents` });
}

/** The person's answer about a waiting client: `once`, `always` or `deny`. */
export async function decide(name, allow, scope = {}) {
  const state = await readAgents();
  if (allow === 'always' || allow === 'deny') {
    const before = state.clients[name];
    state.clients[name] = {
      allowed: allow,
      sites: scope.sites === undefined ? before?.sites ?? null : scope.sites,
      remember: scope.remember === undefined ? before?.remember ?? false : scope.remember,
      lastSeen: before?.lastSeen ?? Date.now(),
    };
    await saveAgents(state);
  }
  const entry = asking.get(name);
  asking.delete(name);
  for (const resolve of entry?.waiters ?? []) resolve(allow);
  return state;
}

/** Forgets a client: its next call asks the person again. */
export async function revoke(name) {
  const state = await readAgents();
  delete state.clients[name];
  await saveAgents(state);
}

export function waiting() {
  return [...asking.entries()].map(([client, e]) => ({ client, tool: e.tool, since: e.since }));
}

export function bridgeState() {
  return { connected: port !== null, error: bridgeError };
}

const day = (ms) => (ms ? new Date(ms).toISOString().slice(0, 10) : '');
const inScope = (scope, site) => scope.sites === null || scope.sites.includes(site);

/** One tool's answer, from the unlocked vault (see bridge/PROTOCOL.md for the shapes). */
async function run(tool, args, scope, name) {
  const vault = await env.vaultReady();
  if (!vault.isUnlocked()) throw new AgentError('locked', 'Threadkeeper is locked: unlock it in your browser.');
  if (tool === 'search_chats') {
    if (args.site && !inScope(scope, args.site)) return { total: 0, hits: [] };
    const found = await vault.search(args.site ? `${args.query} site:${args.site}` : args.query, args.limit ?? 10);
    if (found.meaningLoading) env.serially(() => vault.warmMeaning()).catch(() => {}); // as the popup's search
    const results = found.results.filter((r) => inScope(scope, r.site));
    return {
      total: results.length === found.results.length ? found.total : results.length,
      hits: results.map((r) => ({
        conversation: r.conversationId, site: r.site, title: r.title, date: day(r.updatedAt), url: r.url,
        role: r.hits[0]?.role ?? '', snippet: r.hits[0]?.snippet ?? '',
      })),
    };
  }
  if (tool === 'get_context') {
    const notHere = () => new AgentError('not_found', 'No saved conversation has this id (search_chats or list_recent give the ids).');
    const conversation = await vault.getConversation(args.conversation).catch((err) => {
      throw err?.code === 'not_found' || err?.code === 'invalid_input' ? notHere() : err;
    });
    if (!inScope(scope, conversation.site)) throw notHere();
    const block = await blockFor(vault, args.conversation, args.budget_tokens);
    return { conversation: args.conversation, title: conversation.title, site: conversation.site, url: conversation.url, block };
  }
  if (tool === 'list_recent') {
    const recent = await vault.recentConversations(50);
    const list = recent.conversations.filter((c) => inScope(scope, c.site) && (!args.site || c.site === args.site));
    return {
      conversations: list.slice(0, args.limit ?? 10).map((c) => ({
        conversation: c.id, site: c.site, title: c.title, date: day(c.updatedAt), url: c.url, messages: c.messageCount,
      })),
    };
  }
  if (tool === 'remember') {
    if (!scope.remember) throw new AgentError('denied', `${name} may only read. The person can let it save notes in Threadkeeper's vault page (Agents).`);
    const now = Date.now();
    const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
    const saved = await vault.putConversation({
      site: NOTE_SITE, conversationId: `note-${id}`, title: args.title, url: '', model: name, createdAt: now, updatedAt: now,
      messages: [{ role: 'user', markdown: args.text, provenance: { source: `agent:${name}`, model: name, firstSeen: now, lastSeen: now } }],
    });
    return { conversation: saved, title: args.title };
  }
  throw new AgentError('bad_request', 'Threadkeeper does not know this tool.');
}

/** Answers one `call` frame of the bridge. */
async function answer(call) {
  const name = clientName(call.client);
  const args = call.args && typeof call.args === 'object' && !Array.isArray(call.args) ? call.args : {};
  const tool = String(call.tool);
  try {
    const state = await readAgents();
    if (!state.enabled) throw new AgentError('disabled', 'Agents are turned off in Threadkeeper. The person can turn them on in its vault page (Agents).');
    const known = state.clients[name];
    if (tool === 'tools') return reply(call.id, { result: { remember: known?.allowed === 'always' && known.remember } });
    if (overLimit(name)) {
      if ((calls.get(name) ?? []).length === RATE_MAX + 1) await addLog({ client: name, tool, query: asked(tool, args), outcome: 'rate-limited' });
      throw new AgentError('limit', `Too many requests from ${name}: Threadkeeper answers at most ${RATE_MAX} every ${RATE_WINDOW_MS / 1000} seconds. Wait a moment.`);
    }
    if (known?.allowed === 'deny') throw new AgentError('denied', `The person denied ${name} access to Threadkeeper.`);
    if (known?.allowed !== 'always') {
      const decision = await ask(name, tool);
      if (decision === 'timeout') throw new AgentError('denied', `Threadkeeper asked the person to allow ${name} and got no answer; try again once they have allowed it in the browser.`);
      if (decision === 'deny') throw new AgentError('denied', `The person denied ${name} access to Threadkeeper.`);
    }
    const now = await readAgents();
    const scope = now.clients[name] ?? { sites: null, remember: false };
    if (now.clients[name]) {
      now.clients[name].lastSeen = Date.now();
      await saveAgents(now);
    }
    const result = await env.serially(() => run(tool, args, scope, name));
    await addLog({ client: name, tool, query: asked(tool, args), outcome: 'answered' });
    reply(call.id, { result });
  } catch (err) {
    const code = typeof err?.code === 'string' ? err.code : 'internal';
    const message = typeof err?.message === 'string' && err.code ? err.message : 'Threadkeeper could not answer; try again.';
    if (code !== 'limit' && tool !== 'tools') await addLog({ client: name, tool, query: asked(tool, args), outcome: code }).catch(() => {});
    reply(call.id, { error: { code, message } });
  }
}

function reply(id, body) {
  try {
    port?.postMessage({ v: 1, kind: 'reply', id, ok: !body.error, ...body });
  } catch {
    // The bridge went away; the agent hears so from it.
  }
}

function onFrame(msg) {
  if (!msg || typeof msg !== 'object' || msg.v !== 1 || msg.kind !== 'call' || !Number.isSafeInteger(msg.id)) return;
  answer(msg);
}

/** Connects to the bridge when agents are on and the browser lets us; else lets go. */
export async function connectBridge() {
  clearTimeout(retryTimer);
  const state = await readAgents();
  const allowed = await ext.permissions?.contains({ permissions: ['nativeMessaging'] }).catch(() => false);
  if (!state.enabled || !allowed) {
    port?.disconnect();
    port = null;
    bridgeError = state.enabled && !allowed ? 'The browser has not allowed Threadkeeper to talk to its bridge.' : null;
    return;
  }
  if (port) return;
  try {
    port = ext.runtime.connectNative(BRIDGE_HOST);
  } catch (err) {
    port = null;
    bridgeError = String(err?.message ?? err);
    return;
  }
  bridgeError = null;
  port.onMessage.addListener((msg) => {
    retries = 0;
    onFrame(msg);
  });
  port.onDisconnect.addListener((p) => {
    const why = ext.runtime.lastError?.message ?? p?.error?.message ?? null;
    port = null;
    bridgeError = why && /not found|no such native application/i.test(why)
      ? 'The bridge is not installed: run `make install-bridge` (or `threadkeeper-bridge install`) and try again.'
      : why ?? 'The bridge stopped; Threadkeeper starts it again in a moment.';
    retryTimer = setTimeout(() => connectBridge().catch(() => {}), RETRY_MS[Math.min(retries++, RETRY_MS.length - 1)]);
  });
}

/** At worker start: remembers the background's `env` and connects when agents are on. */
export function startAgents(backgroundEnv) {
  env = backgroundEnv;
  connectBridge().catch(() => {});
  // Granted later (the page asks on the person's click): connect then.
  ext.permissions?.onAdded?.addListener(() => connectBridge().catch(() => {}));
}
