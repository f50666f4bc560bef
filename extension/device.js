// The protected store, and "stay unlocked on this device".
//
// The protected store is the extension origin's own IndexedDB database
// `threadkeeper-device`. Content scripts run in the page's origin: they can write
// storage.local, but they cannot open this database. So whatever weakens security when
// changed lives here, written only by the background: the device key and the wrapped
// data key (store `keys`), the settings (store `state`, see settings.js).
//
// "Stay unlocked on this device": the vault's data key wrapped by a device key, so the
// vault opens without the passphrase after the browser restarts. The device key is a
// WebCrypto AES-GCM key created non-extractable: its bytes are never visible to
// JavaScript, ours included. Both sit in this database. They protect against someone
// who copies only the extension's storage; they do not protect against anyone who can
// use this browser profile, or copy all of it (settings page says so).
import { ext } from './shim.js';
import { toBase64, fromBase64 } from './codec.js';

const DB = 'threadkeeper-device';
const KEYS = 'keys';
const STATE = 'state';
const SLOT = 'device';
const WRAPPED = 'wrapped';
// Where the wrapped key was kept before it moved here (read once, by the migration).
const OLD_LOCAL_KEY = 'deviceUnlock';
const AAD = 'threadkeeper device unlock v1';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 2);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS);
      if (!db.objectStoreNames.contains(STATE)) db.createObjectStore(STATE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Runs `fn(stores)` in one transaction over `names`; resolves to what `fn` returned, each request read as its result. */
async function transact(names, mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(names, mode);
      const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
      const out = fn(stores);
      tx.oncomplete = () => resolve(out && typeof out === 'object' && !(out instanceof IDBRequest)
        ? Object.fromEntries(Object.entries(out).map(([k, r]) => [k, r?.result]))
        : out?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// The keys of storage.local these values were kept under before they moved here. Read
// once, by the migration; never after it.
const OLD_SETTINGS = 'settings';
const MIGRATED = 'migratedFromLocal';

let migration = null;

/**
 * Once, on the first start after the update that moved these values here: copies the old
 * storage.local `settings` into the protected store (settings.js checks it on every read
 * like any stored value) and the old `deviceUnlock` if the device key it belongs to
 * exists (a wrapped key without one is dropped), marks the store migrated in the same
 * transaction, then removes the old keys. After that, storage.local is never read for
 * them. Every reader of the protected store awaits this.
 */
export function protectedReady() {
  migration ??= (async () => {
    if (await transact([STATE], 'readonly', (s) => s[STATE].get(MIGRATED))) return;
    const old = await ext.storage.local.get([OLD_SETTINGS, OLD_LOCAL_KEY]);
    await transact([KEYS, STATE], 'readwrite', (s) => {
      const settings = old[OLD_SETTINGS];
      if (settings && typeof settings === 'object' && !Array.isArray(settings)) s[STATE].put(settings, OLD_SETTINGS);
      const wrapped = old[OLD_LOCAL_KEY];
      if (isWrapped(wrapped)) {
        const req = s[KEYS].get(SLOT);
        req.onsuccess = () => {
          if (isDeviceKey(req.result)) s[KEYS].put({ v: 1, iv: wrapped.iv, wrapped: wrapped.wrapped }, WRAPPED);
        };
      }
      s[STATE].put(Date.now(), MIGRATED);
    });
    await ext.storage.local.remove([OLD_SETTINGS, OLD_LOCAL_KEY]);
  })().catch((err) => {
    migration = null; // tried again by the next reader
    throw err;
  });
  return migration;
}

/** One value of the protected `state` store, or undefined. */
export async function readProtected(name) {
  await protectedReady();
  return transact([STATE], 'readonly', (s) => s[STATE].get(name));
}

/** Writes values of the protected `state` store, all at once. Background only. */
export async function writeProtected(entries) {
  await protectedReady();
  await transact([STATE], 'readwrite', (s) => {
    for (const [name, value] of Object.entries(entries)) s[STATE].put(value, name);
  });
}

const isWrapped = (w) => w && typeof w === 'object' && w.v === 1 && typeof w.iv === 'string' && typeof w.wrapped === 'string';
const isDeviceKey = (k) => typeof CryptoKey !== 'undefined' && k instanceof CryptoKey && k.algorithm?.name === 'AES-GCM' && !k.extractable;

// Whether device unlock is on, as last read or written in this worker's life.
let enabledCache = null;

/** The device key and wrapped key, when both are there and well-formed; else null. */
async function readDevice() {
  await protectedReady();
  const { key, wrapped } = await transact([KEYS], 'readonly', (s) => ({ key: s[KEYS].get(SLOT), wrapped: s[KEYS].get(WRAPPED) }));
  return isDeviceKey(key) && isWrapped(wrapped) ? { key, wrapped } : null;
}

/** Wraps `dataKey` (bytes) under a fresh non-extractable device key. */
export async function enableDeviceUnlock(dataKey) {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(AAD) }, key, dataKey));
  enabledCache = null;
  await protectedReady();
  await transact([KEYS], 'readwrite', (s) => {
    s[KEYS].put(key, SLOT);
    s[KEYS].put({ v: 1, iv: toBase64(iv), wrapped: toBase64(wrapped) }, WRAPPED);
  });
  enabledCache = Promise.resolve(true);
}

/** The data key if this device may unlock by itself, else null. */
export async function deviceDataKey() {
  const device = await readDevice().catch(() => null);
  if (!device) return null;
  try {
    const { key, wrapped } = device;
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64(wrapped.iv), additionalData: new TextEncoder().encode(AAD) }, key, fromBase64(wrapped.wrapped));
    return new Uint8Array(plain);
  } catch {
    return null;
  }
}

export async function disableDeviceUnlock() {
  enabledCache = null; // a failed delete leaves the next reader to the store
  await protectedReady().catch(() => {});
  await transact([KEYS], 'readwrite', (s) => {
    s[KEYS].delete(SLOT);
    s[KEYS].delete(WRAPPED);
  }).then(() => { enabledCache = Promise.resolve(false); }, () => {});
}

/** On only when the device key really exists and the wrapped key is in the protected store. */
export function deviceUnlockEnabled() {
  enabledCache ??= readDevice().then(Boolean, () => false);
  return enabledCache;
}
