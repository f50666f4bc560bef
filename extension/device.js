// "Stay unlocked on this device": the vault's data key wrapped by a device key, so the
// vault opens without the passphrase after the browser restarts.
//
// The device key is a WebCrypto AES-GCM key created non-extractable and kept in its own
// IndexedDB database: its bytes are never visible to JavaScript, ours included. The
// wrapped data key sits in storage.local. Together they protect against someone who
// copies only the extension's storage; they do not protect against anyone who can use
// this browser profile, or copy all of it (settings page says so).
import { ext } from './shim.js';
import { toBase64, fromBase64 } from './codec.js';

const DB = 'threadkeeper-device';
const STORE = 'keys';
const SLOT = 'device';
const LOCAL_KEY = 'deviceUnlock';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Wraps `dataKey` (bytes) under a fresh non-extractable device key. */
export async function enableDeviceUnlock(dataKey) {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode('threadkeeper device unlock v1') }, key, dataKey));
  await withStore('readwrite', (store) => store.put(key, SLOT));
  await ext.storage.local.set({ [LOCAL_KEY]: { v: 1, iv: toBase64(iv), wrapped: toBase64(wrapped) } });
}

/** The data key if this device may unlock by itself, else null. */
export async function deviceDataKey() {
  const saved = (await ext.storage.local.get(LOCAL_KEY))[LOCAL_KEY];
  if (!saved || saved.v !== 1) return null;
  const key = await withStore('readonly', (store) => store.get(SLOT)).catch(() => null);
  if (!key) return null;
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64(saved.iv), additionalData: new TextEncoder().encode('threadkeeper device unlock v1') }, key, fromBase64(saved.wrapped));
    return new Uint8Array(plain);
  } catch {
    return null;
  }
}

export async function disableDeviceUnlock() {
  await ext.storage.local.remove(LOCAL_KEY);
  await withStore('readwrite', (store) => store.delete(SLOT)).catch(() => {});
}

export async function deviceUnlockEnabled() {
  return Boolean((await ext.storage.local.get(LOCAL_KEY))[LOCAL_KEY]);
}
