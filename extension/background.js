// The background owns the vault: the only writer of IndexedDB and the only holder of
// keys. Chrome runs it as a service worker that may be stopped at any moment, so
// listeners are registered synchronously here and every handler awaits `vaultReady()`.

import init, { WasmVault, passphraseStrength } from '../build/web/threadkeeper.js';
import { ext, restrictSessionStorage } from './shim.js';
import { toBase64, fromBase64 } from './codec.js';
import { senderTier } from './trust.js';
import { check, RequestError } from './messages.js';

const DB_NAME = 'threadkeeper';
const SESSION_KEY = 'dataKey';

let vaultPromise = null;

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
  const saved = (await ext.storage.session.get(SESSION_KEY))[SESSION_KEY];
  if (saved) {
    try {
      await vault.unlockWithKey(fromBase64(saved));
    } catch {
      await ext.storage.session.remove(SESSION_KEY);
    }
  }
  return vault;
}

async function rememberSession(vault) {
  await restrictSessionStorage();
  await ext.storage.session.set({ [SESSION_KEY]: toBase64(vault.sessionKey()) });
}

async function forgetSession() {
  await ext.storage.session.remove(SESSION_KEY);
}

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
    return vault.status();
  },
  async 'vault.lock'() {
    const vault = await vaultReady();
    vault.lock();
    await forgetSession();
    return vault.status();
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
  async 'conversation.list'() {
    const vault = await vaultReady();
    return vault.listConversations();
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

const handlersByTier = { page: pageHandlers };

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
  return { ok: true, ...(await handlers[msg.type](msg, sender)) };
}

ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  handle(msg, sender).then(sendResponse, (err) => sendResponse(failure(err)));
  return true; // the answer comes asynchronously
});

// Start opening the vault right away so the first message is answered quickly.
vaultReady().catch(() => {});
