// The background owns the vault: the only writer of IndexedDB and the only holder of
// keys. Chrome runs it as a service worker that may be stopped at any moment, so
// listeners are registered synchronously here and every handler awaits `vaultReady()`.

import init, { WasmVault, passphraseStrength, parseSiteUrl, restoreBlock, conversationMarkdown } from '../build/web/threadkeeper.js';
import { ADAPTERS } from './sites/index.js';
import { ext, restrictSessionStorage } from './shim.js';
import { toBase64, fromBase64 } from './codec.js';
import { senderTier } from './trust.js';
import { enableDeviceUnlock, deviceDataKey, disableDeviceUnlock, deviceUnlockEnabled } from './device.js';
import { check, RequestError } from './messages.js';
import { listenForStagedBatches, takeStaged } from './staging.js';
import { readSettings, writeSettings, captureAllowed, recordHealth, clearHealth, readHealth, refreshBadge, readPaths, recordPath } from './settings.js';

const DB_NAME = 'threadkeeper';
const SESSION_KEY = 'dataKey';

let vaultPromise = null;

// Vault operations run one after another: a capture reads, merges and writes a
// conversation across several awaits, and two interleaved captures of one chat would
// otherwise each merge into the same old state.
let queue = Promise.resolve();
function serially(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => {});
  return run;
}

/** Opens the vault once per worker life; a stopped worker comes back unlocked from storage.session. */
function vaultReady() {
  if (!vaultPromise) {
    vaultPromise = openVault().catch((err) => {
      vaultPromise = null; // try again on the next message (e.g. after the disk was freed)
      throw err;
    });
  }
  return vaultPromise;
}

async function openVault() {
  await init({ module_or_path: ext.runtime.getURL('threadkeeper_bg.wasm') });
  const vault = await WasmVault.open(DB_NAME);
  let saved = (await ext.storage.session.get(SESSION_KEY))[SESSION_KEY];
  const stayUnlocked = await deviceUnlockEnabled();
  if (saved && !stayUnlocked && (await idleTooLong())) {
    await forgetSession();
    saved = null;
  }
  const key = saved ? fromBase64(saved) : stayUnlocked ? await deviceDataKey() : null;
  if (key) {
    try {
      await vault.unlockWithKey(key);
      if (!saved) await rememberSession(vault);
      await vault.drainInbox();
    } catch {
      if (!vault.isUnlocked()) await ext.storage.session.remove(SESSION_KEY);
    }
  }
  return vault;
}

async function rememberSession(vault) {
  await restrictSessionStorage();
  await ext.storage.session.set({ [SESSION_KEY]: toBase64(vault.sessionKey()), [ACTIVE_KEY]: Date.now() });
}

async function forgetSession() {
  await ext.storage.session.remove([SESSION_KEY, ACTIVE_KEY]);
}

// Auto-lock: the time of the person's last use of Threadkeeper's pages is kept in
// storage.session; an alarm looks every minute and locks once the idle time they set
// has passed. A restarted worker does the same check before it unlocks itself.
const ACTIVE_KEY = 'lastActive';
const AUTO_LOCK_ALARM = 'auto-lock';

async function idleTooLong() {
  const minutes = (await readSettings()).autoLockMinutes;
  if (!minutes) return false;
  const last = (await ext.storage.session.get(ACTIVE_KEY))[ACTIVE_KEY] ?? 0;
  return Date.now() - last > minutes * 60000;
}

async function lockIfIdle() {
  if ((await deviceUnlockEnabled()) || !(await idleTooLong())) return;
  const vault = await vaultReady();
  if (!vault.isUnlocked()) return;
  vault.lock();
  await forgetSession();
}

ext.alarms?.onAlarm.addListener((alarm) => {
  if (alarm.name === AUTO_LOCK_ALARM) serially(lockIfIdle).catch(() => {});
});
ext.alarms?.create(AUTO_LOCK_ALARM, { periodInMinutes: 1 });

const pageHandlers = {
  async 'vault.status'() {
    const vault = await vaultReady();
    return vault.status();
  },
  async 'vault.create'(msg) {
    const vault = await vaultReady();
    await vault.create(check.passphrase(msg.passphrase), check.kdf(msg.kdf));
    await rememberSession(vault);
    return vault.status();
  },
  async 'vault.unlock'(msg) {
    const vault = await vaultReady();
    await vault.unlock(check.passphrase(msg.passphrase));
    await rememberSession(vault);
    const inbox = await vault.drainInbox();
    return { ...(await vault.status()), inbox };
  },
  /** Locks now; also ends "stay unlocked on this device" (a lock should last). */
  async 'vault.lock'() {
    const vault = await vaultReady();
    vault.lock();
    await forgetSession();
    await disableDeviceUnlock();
    return vault.status();
  },
  async 'vault.stayUnlocked'(msg) {
    const vault = await vaultReady();
    if (msg.enabled === true) await enableDeviceUnlock(vault.sessionKey());
    else await disableDeviceUnlock();
    return { stayUnlocked: await deviceUnlockEnabled() };
  },
  async 'vault.changePassphrase'(msg) {
    const vault = await vaultReady();
    await vault.changePassphrase(check.passphrase(msg.oldPassphrase), check.passphrase(msg.newPassphrase), check.kdf(msg.kdf));
    await rememberSession(vault);
    return {};
  },
  async 'passphrase.strength'(msg) {
    await vaultReady();
    return passphraseStrength(check.passphrase(msg.passphrase));
  },
  async search(msg) {
    const vault = await vaultReady();
    const query = typeof msg.query === 'string' ? msg.query.slice(0, 10000) : '';
    const limit = Number.isInteger(msg.limit) ? Math.min(100, Math.max(1, msg.limit)) : 20;
    const started = performance.now();
    const found = await vault.search(query, limit);
    const tookMs = performance.now() - started;
    const hint = found.rebuilt ? 'The search index was rebuilt from your saved chats (it was missing or damaged).' : found.hint;
    return { total: found.total, tookMs, results: found.results, ...(hint ? { hint } : {}), rebuilt: found.rebuilt };
  },
  /** Every conversation, or with `limit` (1-50) only the most recent, from one record. */
  async 'conversation.list'(msg) {
    const vault = await vaultReady();
    if (msg.limit === undefined) return vault.listConversations();
    if (!Number.isInteger(msg.limit) || msg.limit < 1 || msg.limit > 50) throw new RequestError('invalid_input', 'Ask for 1 to 50 recent conversations.');
    return vault.recentConversations(msg.limit);
  },
  async 'conversation.get'(msg) {
    const vault = await vaultReady();
    return { conversation: await vault.getConversation(check.id(msg.id)) };
  },
  async 'conversation.put'(msg) {
    const vault = await vaultReady();
    return { id: await vault.putConversation(check.conversation(msg.conversation)) };
  },
  async 'conversation.delete'(msg) {
    const vault = await vaultReady();
    await vault.deleteConversation(check.id(msg.id));
    return {};
  },
};

Object.assign(pageHandlers, {
  async 'settings.get'() {
    return { settings: await readSettings(), health: await readHealth(), paths: await readPaths(), stayUnlocked: await deviceUnlockEnabled() };
  },
  async 'settings.set'(msg) {
    const settings = await writeSettings({ paused: msg.paused, site: check.site(msg.site), enabled: msg.enabled, restoreBudget: msg.restoreBudget, autoLockMinutes: msg.autoLockMinutes });
    await refreshBadge();
    return { settings };
  },
});

async function blockFor(vault, id, budgetTokens) {
  const conversation = await vault.getConversation(check.id(id));
  const budget = Number.isInteger(budgetTokens) ? budgetTokens : (await readSettings()).restoreBudget;
  return restoreBlock(conversation, { budgetTokens: Math.min(100000, Math.max(200, budget)) }).text;
}

// Blocks waiting for a tab opened by "Continue in", by tab id. Kept in storage.session
// (a stopped worker must not lose them); they expire after a minute.
const CARRY_TTL_MS = 60000;
async function rememberCarry(tabId, text) {
  await ext.storage.session.set({ [`carry:${tabId}`]: { text, at: Date.now() } });
}
async function takeCarry(tabId) {
  const key = `carry:${tabId}`;
  const entry = (await ext.storage.session.get(key))[key];
  if (!entry) return null;
  await ext.storage.session.remove(key);
  return Date.now() - entry.at < CARRY_TTL_MS ? entry.text : null;
}

/** The AI-site tab the person used last (the popup may itself be open in a tab). */
async function lastSiteTab() {
  const tabs = await ext.tabs.query({});
  const sites = tabs.filter((t) => t.url && parseSiteUrl(t.url));
  sites.sort((a, b) => (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0) || (b.active ? 1 : 0) - (a.active ? 1 : 0));
  return sites[0] ?? null;
}

const EXPORT_BATCH = 500;

Object.assign(pageHandlers, {
  /** Every conversation's id, for an export that then fetches them in batches. */
  async 'export.ids'() {
    const vault = await vaultReady();
    const list = await vault.listConversations();
    return { ids: list.conversations.map((c) => c.id) };
  },
  /** A batch of conversations as one JSON array: text crosses to the page far faster than objects. */
  async 'export.get'(msg) {
    const vault = await vaultReady();
    if (!Array.isArray(msg.ids) || msg.ids.length > EXPORT_BATCH) throw new RequestError('invalid_input', `Ask for at most ${EXPORT_BATCH} conversations at a time.`);
    return { json: await vault.exportJson(msg.ids.map(check.id)) };
  },
  /**
   * One batch of conversations read (and already fully verified) from a file, as JSON
   * arrays: in the message, or staged through the service worker's channel (staging.js).
   */
  async 'import.batch'(msg) {
    const vault = await vaultReady();
    const json = msg.staged === undefined ? check.jsonBatches(msg.json) : await takeStaged(check.stageId(msg.staged));
    return { report: await vault.importJson(json) };
  },
  /** After the last batch: the search index takes in the whole import at once. */
  async 'import.finish'() {
    const vault = await vaultReady();
    await vault.finishImport();
    return {};
  },
  async 'conversation.markdown'(msg) {
    const vault = await vaultReady();
    const conversation = await vault.getConversation(check.id(msg.id));
    return { markdown: conversationMarkdown(conversation), title: conversation.title };
  },
  /** Erases everything; the page asks the person to type the confirmation. */
  async 'vault.wipe'(msg) {
    if (msg.confirm !== 'erase everything') throw new RequestError('invalid_input', 'Type "erase everything" to confirm.');
    const vault = await vaultReady();
    await vault.wipe();
    await forgetSession();
    await disableDeviceUnlock();
    return vault.status();
  },
  async 'restore.block'(msg) {
    const vault = await vaultReady();
    return { text: await blockFor(vault, msg.id, msg.budgetTokens) };
  },
  async 'carry.insert'(msg) {
    const vault = await vaultReady();
    const text = await blockFor(vault, msg.id);
    const tab = await lastSiteTab();
    if (!tab) throw new RequestError('no_chat_tab', 'Open a chat on a supported AI site first, then insert.');
    const result = await ext.tabs.sendMessage(tab.id, { type: 'insert.block', text }, { frameId: 0 }).catch(() => null);
    if (!result?.ok) {
      throw new RequestError('insert_failed', result?.copied
        ? 'The chat did not take the text, so it was copied: paste it with Ctrl+V.'
        : 'The chat did not take the text. Reload the chat tab and try again.');
    }
    await ext.tabs.update(tab.id, { active: true });
    return { tabId: tab.id, site: parseSiteUrl(tab.url).site };
  },
  async 'carry.continue'(msg) {
    const vault = await vaultReady();
    const adapter = ADAPTERS.find((a) => a.site === msg.site);
    if (!adapter) throw new RequestError('invalid_input', 'Threadkeeper cannot open that site.');
    const text = await blockFor(vault, msg.id);
    const tab = await ext.tabs.create({ url: adapter.newChat, active: true });
    await rememberCarry(tab.id, text);
    return { tabId: tab.id };
  },
});

/**
 * The site and conversation of a content script's tab, from the address the browser
 * reports. The tab's address follows single-page navigation (pushState), the frame's
 * `sender.url` may not; both must be on the same site.
 */
async function senderPage(sender) {
  await vaultReady();
  const frameSite = parseSiteUrl(sender.url);
  const tabUrl = sender.tab?.url;
  const page = tabUrl ? parseSiteUrl(tabUrl) : frameSite;
  if (page && frameSite && page.site !== frameSite.site) throw new RequestError('forbidden', 'The tab and the page disagree.');
  if (!page) throw new RequestError('forbidden', 'This page is not an AI site Threadkeeper knows.');
  return page;
}

// Errors of the Rust thread reader that say how a site's data could not be read.
const THREAD_FAILURES = new Set(['too_large', 'shape_changed', 'other_conversation', 'no_turns']);

const contentHandlers = {
  async capture(msg, sender) {
    const page = await senderPage(sender);
    const snapshot = check.snapshot(msg.snapshot);
    if (!page.conversationId) throw new RequestError('not_a_conversation', 'This page is not a conversation.');
    // A content script may only speak for the conversation in its own tab.
    if ((snapshot.site !== undefined && snapshot.site !== page.site) ||
        (snapshot.conversationId !== undefined && snapshot.conversationId !== page.conversationId)) {
      throw new RequestError('forbidden', 'A capture may only be for the conversation in its own tab.');
    }
    if (!captureAllowed(await readSettings(), page.site)) return { skipped: true };
    const vault = await vaultReady();
    let outcome;
    try {
      outcome = await vault.capture({ ...snapshot, site: page.site, conversationId: page.conversationId, url: page.url });
    } catch (err) {
      // Saving failed (a full disk, a browser error): say so; the tab keeps the capture and retries.
      if (err?.code === 'storage') {
        await recordHealth(page.site, 'save_failed', Date.now(), err.message);
        await refreshBadge();
      }
      throw err;
    }
    if (await clearHealth(page.site, 'save_failed')) await refreshBadge();
    await recordPath(page.site, 'page', Date.now());
    return { added: outcome.added, updated: outcome.updated, queued: outcome.queued };
  },
  /**
   * The thread path: the site's replies for the conversation in the sender's own tab,
   * parsed and merged in Rust. Answers `{more}` while the site has further pages, then
   * what the merge did. A failure is recorded by kind in the site's path health.
   */
  async 'capture.thread'(msg, sender) {
    const page = await senderPage(sender);
    const thread = check.thread(msg);
    if (!page.conversationId) throw new RequestError('not_a_conversation', 'This page is not a conversation.');
    const failed = (kind, status) => recordPath(page.site, 'thread', Date.now(), kind, status);
    // Read for one conversation, while the tab moved to another: nothing is stored.
    if (thread.conversationId !== page.conversationId) {
      await failed('moved');
      throw new RequestError('forbidden', 'A tab may only send the conversation open in it.');
    }
    if (!captureAllowed(await readSettings(), page.site)) return { skipped: true };
    if (thread.failure) {
      await failed(thread.failure, thread.status);
      return {};
    }
    const vault = await vaultReady();
    let outcome;
    try {
      outcome = await vault.captureThread(page.site, page.conversationId, page.url, thread.replies);
    } catch (err) {
      if (THREAD_FAILURES.has(err?.code)) await failed(err.code);
      throw err;
    }
    if (typeof outcome.more === 'string') return { more: outcome.more };
    await recordPath(page.site, 'thread', Date.now());
    return { added: outcome.added, updated: outcome.updated, queued: outcome.queued };
  },
  async 'capture.health'(msg, sender) {
    const page = await senderPage(sender);
    const status = check.health(msg.status);
    await recordHealth(page.site, status, Date.now());
    await refreshBadge();
    return {};
  },
  async 'restore.count'(_msg, sender) {
    const page = await senderPage(sender);
    const vault = await vaultReady();
    if (!page.conversationId || !vault.isUnlocked()) return { count: 0 };
    const id = vault.conversationKey(page.site, page.conversationId);
    try {
      return { count: (await vault.getConversation(id)).messages.length };
    } catch (err) {
      if (err?.code === 'not_found') return { count: 0 };
      throw err;
    }
  },
  /** Only ever the block of the conversation in the sender's own tab. */
  async 'restore.block'(msg, sender) {
    const page = await senderPage(sender);
    const vault = await vaultReady();
    if (!page.conversationId) throw new RequestError('not_a_conversation', 'This page is not a conversation.');
    const id = vault.conversationKey(page.site, page.conversationId);
    if (msg.id !== undefined && msg.id !== id) throw new RequestError('forbidden', 'A tab may only restore its own conversation.');
    return { text: await blockFor(vault, id) };
  },
  async 'carry.pending'(_msg, sender) {
    return { text: await takeCarry(sender.tab.id) };
  },
  async 'capture.settings'(_msg, sender) {
    const page = await senderPage(sender);
    return { enabled: captureAllowed(await readSettings(), page.site) };
  },
};

const handlersByTier = { page: pageHandlers, content: contentHandlers };

/** Errors cross as `{code, message}`; anything unexpected is named without details. */
function failure(err) {
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    return { ok: false, error: { code: err.code, message: err.message } };
  }
  return { ok: false, error: { code: 'internal', message: 'Something went wrong inside Threadkeeper. Try again.' } };
}

async function handle(msg, sender) {
  const tier = senderTier(sender);
  const handlers = tier && handlersByTier[tier];

  if (!handlers) throw new RequestError('forbidden', 'This sender may not talk to Threadkeeper.');
  if (!msg || typeof msg.type !== 'string' || !Object.hasOwn(handlers, msg.type)) {
    throw new RequestError('unknown_request', 'Threadkeeper does not know this request.');
  }
  return { ok: true, ...(await serially(async () => {
    const reply = await handlers[msg.type](msg, sender);
    // The person is using Threadkeeper: push the auto-lock back (only while unlocked).
    if (tier === 'page' && msg.type !== 'vault.status' && vaultPromise && (await vaultPromise).isUnlocked()) {
      await ext.storage.session.set({ [ACTIVE_KEY]: Date.now() });
    }
    return reply;
  })) };
}

ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  handle(msg, sender).then(sendResponse, (err) => sendResponse(failure(err)));
  return true; // the answer comes asynchronously
});

// Chromium runs this as a service worker, whose own channel carries import batches.
if (typeof ServiceWorkerGlobalScope !== 'undefined' && self instanceof ServiceWorkerGlobalScope) listenForStagedBatches(self);

// Start opening the vault right away so the first message is answered quickly.
vaultReady().catch(() => {});
refreshBadge().catch(() => {});
