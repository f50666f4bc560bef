// The registry of messages (extension/messages/): every type has a tier, a check and a
// handler; the router runs only registered types, each only from its own tier; no
// handler lives elsewhere; and the values the JS takes from the core agree with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const read = (p) => fs.readFileSync(path.join(root, p), 'utf8');
const core = createRequire(import.meta.url)('../../dist/node/threadkeeper.js');

globalThis.chrome = { runtime: { id: 'ourid', getURL: (p) => `chrome-extension://ourid/${p}` } };
const { MESSAGES, TIERS, route, failure } = await import('../../extension/messages/index.js');
const { useLimits, RESTORE_BUDGET } = await import('../../extension/messages/limits.js');
useLimits(core.coreLimits());

// DESIGN's tiers: a content script may capture its tab and restore its own conversation.
const CONTENT = ['capture', 'capture.thread', 'capture.health', 'capture.settings', 'restore.count', 'restore.own', 'carry.pending'];

const page = { id: 'ourid', url: 'chrome-extension://ourid/vault.html' };
const content = { id: 'ourid', url: 'https://chatgpt.com/c/abc', tab: { id: 7, url: 'https://chatgpt.com/c/abc' }, frameId: 0 };
const stranger = { id: 'ourid', url: 'https://evil.example/' };

function fakeEnv(vault = {}) {
  const calls = [];
  return {
    calls,
    coreReady: async () => {},
    vaultReady: async () => vault,
    rememberSession: async () => {},
    forgetSession: async () => {},
    serially: (task) => task(),
    touched: async (tier, type) => { calls.push([tier, type]); },
  };
}

const code = async (promise) => {
  try {
    await promise;
  } catch (err) {
    return failure(err).error.code;
  }
  return 'ok';
};

test('every registered message has a tier, a check and a handler', () => {
  assert.ok(Object.keys(MESSAGES).length >= 30);
  for (const [type, entry] of Object.entries(MESSAGES)) {
    assert.ok(TIERS.includes(entry.tier), `${type}: tier`);
    assert.equal(typeof entry.check, 'function', `${type}: check`);
    assert.equal(typeof entry.handler, 'function', `${type}: handler`);
  }
});

test('the tiers are DESIGN\'s: the content tier has capture and its own restore, pages everything else', () => {
  const contentTypes = Object.keys(MESSAGES).filter((t) => MESSAGES[t].tier === 'content').sort();
  assert.deepEqual(contentTypes, [...CONTENT].sort());
  for (const [type, entry] of Object.entries(MESSAGES)) {
    if (!CONTENT.includes(type)) assert.equal(entry.tier, 'page', type);
  }
  // The two restores are two messages with two names.
  assert.equal(MESSAGES['restore.block'].tier, 'page');
  assert.equal(MESSAGES['restore.own'].tier, 'content');
});

test('the router runs only registered types, each only from its own tier', async () => {
  const env = fakeEnv({ status: () => ({ state: 'locked' }) });
  assert.deepEqual(await route({ type: 'vault.status' }, page, env), { ok: true, state: 'locked' });
  assert.deepEqual(env.calls, [['page', 'vault.status']]);
  assert.equal(await code(route({ type: 'vault.exportEverythingInPlain' }, page, env)), 'unknown_request');
  assert.equal(await code(route({ type: 'toString' }, page, env)), 'unknown_request');
  assert.equal(await code(route({ type: '__proto__' }, page, env)), 'unknown_request');
  assert.equal(await code(route(null, page, env)), 'unknown_request');
  // A type of the other tier is unknown to the sender.
  assert.equal(await code(route({ type: 'conversation.list' }, content, env)), 'unknown_request');
  assert.equal(await code(route({ type: 'restore.block', id: 'x' }, content, env)), 'unknown_request');
  assert.equal(await code(route({ type: 'capture', snapshot: { messages: [] } }, page, env)), 'unknown_request');
  assert.equal(await code(route({ type: 'restore.own' }, page, env)), 'unknown_request');
  assert.equal(await code(route({ type: 'vault.status' }, stranger, env)), 'forbidden');
});

test('the check runs before the handler, which gets only what the check let through', async () => {
  let got = null;
  const env = fakeEnv({ getConversation: async (id) => { got = id; return { id }; } });
  assert.equal(await code(route({ type: 'conversation.get', id: { $gt: '' } }, page, env)), 'invalid_input');
  assert.equal(got, null);
  assert.deepEqual(await route({ type: 'conversation.get', id: 'abc', extra: 1 }, page, env), { ok: true, conversation: { id: 'abc' } });
  assert.equal(got, 'abc');
  assert.equal(await code(route({ type: 'vault.wipe', confirm: 'yes' }, page, env)), 'invalid_input');
  assert.equal(await code(route({ type: 'capture', snapshot: { messages: [{ role: 'robot', markdown: 'x' }] } }, content, env)), 'invalid_input');
  assert.equal(await code(route({ type: 'carry.continue', site: 'nowhere', id: 'a' }, page, env)), 'invalid_input');
  assert.equal(await code(route({ type: 'conversation.list', limit: core.coreLimits().recentLen + 1 }, page, env)), 'invalid_input');
});

test('a search query is cut where the core\'s query parser stops', async () => {
  let seen = null;
  const env = fakeEnv({ search: async (query, limit) => { seen = { query, limit }; return { total: 0, results: [], rebuilt: false }; } });
  await route({ type: 'search', query: 'a'.repeat(20000), limit: 1000 }, page, env);
  assert.equal(seen.query.length, core.coreLimits().maxQueryChars);
  assert.equal(seen.limit, 100);
});

test('settings changes are checked once: the restore budget within RESTORE_BUDGET', () => {
  const { check } = MESSAGES['settings.set'];
  assert.equal(check({ restoreBudget: 10 }).restoreBudget, RESTORE_BUDGET.min);
  assert.equal(check({ restoreBudget: 10 ** 9 }).restoreBudget, RESTORE_BUDGET.max);
  assert.equal(check({ restoreBudget: 'many' }).restoreBudget, undefined);
  assert.equal(check({ autoLockMinutes: -5 }).autoLockMinutes, 0);
  assert.equal(MESSAGES['restore.block'].check({ id: 'a', budgetTokens: 1 }).budgetTokens, RESTORE_BUDGET.min);
  assert.ok(RESTORE_BUDGET.min < core.coreLimits().defaultBudgetTokens && core.coreLimits().defaultBudgetTokens < RESTORE_BUDGET.max);
});

test('no handler exists outside the registry', () => {
  const background = read('extension/background.js');
  assert.doesNotMatch(background, /handlers|handle\(/i, 'background.js keeps no handler table');
  const quote = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const type of Object.keys(MESSAGES)) {
    // `'type'(`, `'type': ` or `type(msg` would be a handler defined in the background.
    const defined = new RegExp(`(['"\`]${quote(type)}['"\`]\\s*[(:])|(^|\\s)${quote(type)}\\s*\\(\\s*(msg|_msg|input)`, 'm');
    assert.doesNotMatch(background, defined, `background.js defines ${type}`);
  }
  assert.match(background, /route\(msg, sender, env\)/);
});

test('every message the pages and content scripts send is registered in their tier', () => {
  const sentIn = (dir) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.js'))
    .flatMap((f) => [...read(`${dir}/${f}`).matchAll(/send\(\{\s*type:\s*'([^']+)'/g)].map((m) => [m[1], `${dir}/${f}`]));
  const fromPages = sentIn('www');
  const fromContent = sentIn('extension/content');
  assert.ok(fromPages.length > 10 && fromContent.length >= 4);
  for (const [type, file] of fromPages) assert.equal(MESSAGES[type]?.tier, 'page', `${type} from ${file}`);
  for (const [type, file] of fromContent) assert.equal(MESSAGES[type]?.tier, 'content', `${type} from ${file}`);
});

test('the limits the JS reads from the core are the core\'s', () => {
  const limits = core.coreLimits();
  assert.deepEqual(limits.roles, ['user', 'assistant', 'system', 'tool']);
  assert.deepEqual(limits.archiveMagic, [0x89, 0x54, 0x4b, 0x41, 0x52, 0x0d, 0x0a, 0x1a]);
  // A real archive starts with that magic.
  const file = core.sealArchive?.([], 'a long export passphrase', { mKiB: 19456, t: 2, p: 1 });
  if (file) assert.deepEqual([...file.slice(0, 8)], limits.archiveMagic);
  assert.equal(limits.minPassphraseChars, 8);
  assert.equal(limits.maxSnapshotMessages, 5000);
  assert.equal(limits.maxIdBytes, 512);
  assert.equal(limits.recentLen, 50);
  assert.equal(limits.maxThreadBytes, 32 * 1024 * 1024);
  assert.equal(limits.maxPassphraseBytes, 4096);
  assert.equal(limits.defaultBudgetTokens, 6000);
  // And none is written again in the JS.
  assert.doesNotMatch(read('extension/messages/check.js'), /'assistant'|5000|4096|, 512\)/);
  assert.doesNotMatch(read('www/files.js'), /0x89/);
  assert.doesNotMatch(read('www/vault.js'), /length < 8\b|at least 8\b/);
  assert.doesNotMatch(read('extension/settings.js'), /6000|Math\.max\(500/);
  assert.doesNotMatch(read('extension/background.js'), /10000\)|Math\.max\(200/);
});

test('the site names of the pages are the core\'s (restore::site_name, through a restore block)', async () => {
  const { SITE_NAMES } = await import('../../www/ui.js');
  for (const [site, name] of Object.entries(SITE_NAMES)) {
    const conversation = { site, conversationId: 'x', title: 't', messages: [{ role: 'user', markdown: 'hello' }] };
    const block = core.restoreBlock(conversation, {}).text;
    assert.match(block, new RegExp(`^Site: ${name}$`, 'm'), site);
  }
});

test('what the background sends to a tab is what the content script accepts', () => {
  const sentToTabs = [...read('extension/messages/restore.js').matchAll(/tabs\.sendMessage\([^,]+,\s*\{\s*type:\s*'([^']+)'/g)].map((m) => m[1]);
  const main = read('extension/content/main.js');
  const accepted = main.slice(main.indexOf('const FROM_BACKGROUND'), main.indexOf('async function main'));
  const acceptedTypes = [...accepted.matchAll(/^ {2}'([^']+)': \{/gm)].map((m) => m[1]);
  assert.deepEqual(sentToTabs, ['insert.block']);
  assert.deepEqual(acceptedTypes, sentToTabs);
  for (const type of acceptedTypes) assert.ok(!Object.hasOwn(MESSAGES, type), `${type} is not a message to the background`);
});

test('the service worker\'s own channel takes only staged import batches, from pages, with the registry\'s checks', () => {
  const staging = read('extension/staging.js');
  assert.deepEqual([...staging.matchAll(/type !== '([^']+)'/g)].map((m) => m[1]), ['import.stage']);
  assert.match(staging, /senderTier\([^)]*\) !== 'page'\) return;/);
  assert.match(staging, /check\.stageId\(data\.id\)/);
  assert.match(staging, /check\.jsonBatches\(data\.json\)/);
  assert.equal(MESSAGES['import.batch'].tier, 'page');
});
