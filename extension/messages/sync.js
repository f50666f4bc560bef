// Messages of sync (issue 15, see ../sync.js): setting it up on a vault, joining a
// folder from a new browser profile, syncing now, where it stands, leaving. Page tier.
//
// The folder's address must be http(s); a server on another origin than the loopback
// one must have been granted as an optional host permission (the page asks the person
// on their click, before sending sync.configure or sync.join).

import { ext } from '../shim.js';
import { Dav, SyncError, folderUrl, isLoopback, originPattern, syncOnce, syncStatus, scheduleSync, syncAlarm, clearReport, deviceLabel, leaveSync } from '../sync.js';
import { check, RequestError } from './check.js';

const { fields, none, optional } = check;
const MAX_FIELD = 2048;

const field = (name) => (v) => {
  if (typeof v !== 'string' || v.length === 0) throw new RequestError('invalid_input', `${name} is required.`);
  if (v.length > MAX_FIELD) throw new RequestError('invalid_input', `${name} is too long.`);
  return v;
};
/** The folder's address: http(s), no credentials in it; ends with `/`. */
const url = (v) => folderUrl(field('The server address')(v)).href;
const label = (v) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 100) : undefined);

/** A server on another origin than loopback needs the person's grant first. */
async function reachable(address) {
  const parsed = new URL(address);
  if (isLoopback(parsed)) return;
  const granted = await ext.permissions?.contains({ origins: [originPattern(parsed)] }).catch(() => false);
  if (!granted) {
    throw new RequestError('permission', `Threadkeeper may not reach ${parsed.host} yet: allow it when the browser asks (press Set up or Join again).`);
  }
}

/** Words for an object of the folder that is not where it should be. */
const notThere = () => new SyncError('sync_empty', 'No Threadkeeper vault is in this folder. Set sync up on your first device, then join with the same address.');

export default {
  'sync.status': {
    tier: 'page',
    check: none,
    async handler(_input, _sender, env) {
      return syncStatus(await env.vaultReady());
    },
  },
  /**
   * Sets sync up on this unlocked vault, with a folder that holds no vault yet (or, when
   * sync is set up already, changes the server's address or credentials).
   */
  'sync.configure': {
    tier: 'page',
    check: fields({ url, username: field('The user name'), password: field('The app password'), label: optional(label) }),
    async handler({ url: address, username, password, label: name }, _sender, env) {
      const vault = await env.vaultReady();
      if (!vault.isUnlocked()) throw new RequestError('locked', 'Unlock the vault first.');
      await reachable(address);
      const server = { url: address, username, password };
      const dav = new Dav(server);
      if (await vault.syncConfigured()) {
        // New credentials or address for the same folder: it must hold this vault.
        const meta = await dav.get('meta');
        if (!meta) throw notThere();
        const [device] = await vault.syncNames((await vault.syncStatus()).slot, 1);
        const own = await dav.get(device);
        if (!own || !(await vault.syncNoteDevice((await vault.syncStatus()).slot, own.bytes).catch(() => null))?.own) {
          throw new SyncError('sync_other_folder', 'This folder is not the one this vault syncs with. To move to another folder, leave sync first.');
        }
        await vault.syncSetServer(server);
        scheduleSync(0);
        return syncStatus(vault);
      }
      await dav.makeFolder();
      if (await dav.get('meta')) {
        throw new SyncError('sync_folder_used', 'This folder already holds a Threadkeeper vault. Join it from a browser profile without a vault, or choose another folder.');
      }
      const setup = await vault.syncSetup(name ?? deviceLabel());
      try {
        const meta = await dav.put(setup.meta.name, setup.meta.bytes, { create: true });
        if (!meta.ok) throw new SyncError('sync_folder_used', 'This folder already holds a Threadkeeper vault. Join it from a browser profile without a vault, or choose another folder.');
        await dav.putOnce(setup.device.name, setup.device.bytes);
        await vault.syncSetServer(server);
      } catch (err) {
        await vault.syncLeave().catch(() => {});
        throw err;
      }
      await clearReport();
      await syncAlarm(true);
      scheduleSync(0);
      return syncStatus(vault);
    },
  },
  /**
   * Joins a folder from a browser profile without a vault: the folder's passphrase
   * opens its key, the vault is made here, unlocked, and fills on the first sync.
   * Nothing is stored when the passphrase is wrong or the folder cannot be used.
   */
  'sync.join': {
    tier: 'page',
    check: fields({ url, username: field('The user name'), password: field('The app password'), passphrase: check.passphrase, label: optional(label) }),
    async handler({ url: address, username, password, passphrase, label: name }, _sender, env) {
      const vault = await env.vaultReady();
      if ((await vault.status()).state !== 'new') throw new RequestError('already_exists', 'This browser already has a vault. Join from a browser profile without one, or set sync up on this vault instead.');
      await reachable(address);
      const server = { url: address, username, password };
      const dav = new Dav(server);
      const meta = await dav.get('meta');
      if (!meta) throw notThere();
      let device = await vault.syncJoin(meta.bytes, passphrase, name ?? deviceLabel(), 0);
      try {
        // The first free slot: one already in the folder, or taken by another device
        // in the same moment (412), is passed.
        for (let slot = 0; ; slot++) {
          if (slot > 0) device = await vault.syncDeviceRecord(slot);
          if (await dav.get(device.name)) continue;
          if ((await dav.put(device.name, device.bytes, { create: true })).ok) {
            const back = await dav.get(device.name);
            if (back && back.bytes.length === device.bytes.length && back.bytes.every((b, i) => b === device.bytes[i])) break;
          }
          if (slot > 1000) throw new SyncError('sync_full', 'The sync folder has no free device slot.');
        }
        await vault.syncSetServer(server);
      } catch (err) {
        // Nothing of a join that could not finish stays: the profile is new again.
        await vault.wipe().catch(() => {});
        await env.forgetSession().catch(() => {});
        throw err;
      }
      await env.rememberSession(vault);
      await clearReport();
      await syncAlarm(true);
      scheduleSync(0);
      return syncStatus(vault);
    },
  },
  /**
   * Syncs now: `{pushed, pulled, compacted}` (conversations; objects deleted), or the
   * failure in words. `compact: true` compacts whatever the count (tests).
   */
  'sync.now': {
    tier: 'page',
    check: fields({ compact: check.yes }),
    async handler(input, _sender, env) {
      const vault = await env.vaultReady();
      if (!vault.isUnlocked()) throw new RequestError('locked', 'Unlock the vault first.');
      if (!(await vault.syncConfigured())) throw new RequestError('not_configured', 'Sync is not set up on this device.');
      return syncOnce(vault, { compact: input.compact });
    },
  },
  /**
   * Stops syncing here: every conversation stays; this device's record is removed from
   * the folder when it can be reached (`removedFromServer`).
   */
  'sync.leave': {
    tier: 'page',
    check: none,
    async handler(_input, _sender, env) {
      const vault = await env.vaultReady();
      if (!vault.isUnlocked()) throw new RequestError('locked', 'Unlock the vault first.');
      const removedFromServer = await leaveSync(vault);
      await syncAlarm(false);
      return { ...(await syncStatus(vault)), removedFromServer };
    },
  },
};
