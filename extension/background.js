// The background owns the vault: the only writer of IndexedDB and the only holder of
// keys. Chrome runs it as a service worker that may be stopped at any moment, so
// listeners are registered synchronously here and every message's code awaits
// `vaultReady()`. The messages themselves (type, tier, check, code) are all in the
// registry, messages/index.js; this file keeps the vault's life: opening, the session
// key, auto-lock, and the serial queue the router runs each message in.

import init, { WasmVault } from '../build/web/threadkeeper.js';
import { ext, restrictSessionStorage } from './shim.js';
import { toBase64, fromBase64 } from './codec.js';
import { deviceDataKey, deviceUnlockEnabled } from './device.js';
import { route, failure } from './messages/index.js';
import { forgetCarries } from './messages/restore.js';
import { listenForStagedBatches } from './staging.js';
import { readSettings, refreshBadge, DEFAULT_SETTINGS } from './settings.js';
import { startAgents } from './agents.js';
import { startSync } from './sync.js';
import { UNLOCKED_HINT } from './session-hint.js';
import { modelBytes, useModel, startMeaning } from './meaning.js';

// User Timing marks (names only, no data) let bench/search/popup.mjs tell where a cold
// worker's time goes: the script evaluated, the core ready, the vault open.
performance.mark('tk:worker-script');

const DB_NAME = 'threadkeeper';
const SESSION_KEY = 'dataKey';

let corePromise = null;
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

/** The wasm core, loaded once per worker life. */
function coreReady() {
  corePromise ??= init({ module_or_path: ext.runtime.getURL('threadkeeper_bg.wasm') }).then((core) => {
    performance.mark('tk:core-ready');
    return core;
  }, (err) => {
    corePromise = null;
    throw err;
  });
  return corePromise;
}

async function openVault() {
  // The session key and the "stay unlocked" switch are read while the core compiles.
  const [vault, session, stayUnlocked, model] = await Promise.all([
    coreReady().then(() => WasmVault.open(DB_NAME)).then((vault) => {
      performance.mark('tk:store-open'); // names only (bench/search/popup.mjs)
      return vault;
    }),
    ext.storage.session.get(SESSION_KEY),
    deviceUnlockEnabled(),
    modelBytes(),
  ]);
  useModel(vault, model); // recall by meaning (meaning.js)
  let saved = session[SESSION_KEY];
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
      if (!vault.isUnlocked()) await ext.storage.session.remove([SESSION_KEY, UNLOCKED_HINT]);
    }
  }
  performance.mark('tk:vault-open');
  return vault;
}

async function rememberSession(vault) {
  await restrictSessionStorage();
  await ext.storage.session.set({ [SESSION_KEY]: toBase64(vault.sessionKey()), [ACTIVE_KEY]: Date.now(), [UNLOCKED_HINT]: true });
}

/** Every lock: the session key goes, and so do blocks still waiting for a tab. */
async function forgetSession() {
  await ext.storage.session.remove([SESSION_KEY, ACTIVE_KEY, UNLOCKED_HINT]);
  await forgetCarries();
}

// Auto-lock: the time of the person's last use of Threadkeeper's pages is kept in
// storage.session; an alarm looks every minute and locks once the idle time they set
// has passed. A restarted worker does the same check before it unlocks itself. The idle
// time and "stay unlocked" come from the protected store (device.js), which content
// scripts cannot write.
const ACTIVE_KEY = 'lastActive';
const AUTO_LOCK_ALARM = 'auto-lock';

async function idleTooLong() {
  // Settings that cannot be read lock after the default time, never "never".
  const minutes = await readSettings().then((s) => s.autoLockMinutes, () => DEFAULT_SETTINGS.autoLockMinutes);
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

// Every message is in the registry (messages/index.js); this is what their code may
// use of the vault's life here.
const env = Object.freeze({
  coreReady,
  vaultReady,
  rememberSession,
  forgetSession,
  serially,
  /** The person is using Threadkeeper: push the auto-lock back (only while unlocked). */
  async touched(tier, type) {
    if (tier === 'page' && type !== 'vault.status' && vaultPromise && (await vaultPromise).isUnlocked()) {
      await ext.storage.session.set({ [ACTIVE_KEY]: Date.now() });
    }
  },
});

ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  route(msg, sender, env).then(sendResponse, (err) => sendResponse(failure(err)));
  return true; // the answer comes asynchronously
});

// Chromium runs this as a service worker, whose own channel carries import batches.
if (typeof ServiceWorkerGlobalScope !== 'undefined' && self instanceof ServiceWorkerGlobalScope) listenForStagedBatches(self);

// Start opening the vault right away so the first message is answered quickly.
vaultReady().catch(() => {});
refreshBadge().catch(() => {});

// Agents: connected to the native bridge while the person has them on (agents.js). A
// listener for the browser's start wakes this worker then, so an agent can reach the
// vault without the popup being opened first.
startAgents(env);
ext.runtime.onStartup.addListener(() => {});

// Sync: after writes, on unlock and on an alarm, while set up and unlocked (sync.js).
startSync(env);

// Recall by meaning: a vault from before the model is embedded once (meaning.js).
startMeaning(env);
