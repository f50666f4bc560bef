// Messages about the vault itself: its state, passphrase, locking and erasing. Page tier.

import { passphraseStrength } from '../../build/web/threadkeeper.js';
import { enableDeviceUnlock, disableDeviceUnlock, deviceUnlockEnabled } from '../device.js';
import { scheduleSync } from '../sync.js';
import { meaningProgress } from '../meaning.js';
import { check } from './check.js';

const { fields, none } = check;

/** How far a running re-encryption is: `{phase, at}` (0 to 1), or null. */
let reencrypting = null;

export default {
  'vault.status': {
    tier: 'page',
    check: none,
    async handler(_input, _sender, env) {
      const vault = await env.vaultReady();
      const meaning = meaningProgress();
      return meaning ? { ...(await vault.status()), meaning } : vault.status();
    },
  },
  'vault.create': {
    tier: 'page',
    check: fields({ passphrase: check.passphrase, kdf: check.kdf }),
    async handler({ passphrase, kdf }, _sender, env) {
      const vault = await env.vaultReady();
      await vault.create(passphrase, kdf);
      await env.rememberSession(vault);
      return vault.status();
    },
  },
  'vault.unlock': {
    tier: 'page',
    check: fields({ passphrase: check.passphrase }),
    async handler({ passphrase }, _sender, env) {
      const vault = await env.vaultReady();
      await vault.unlock(passphrase);
      await env.rememberSession(vault);
      const inbox = await vault.drainInbox();
      return { ...(await vault.status()), inbox };
    },
  },
  /** Locks now; also ends "stay unlocked on this device" (a lock should last). */
  'vault.lock': {
    tier: 'page',
    check: none,
    async handler(_input, _sender, env) {
      const vault = await env.vaultReady();
      vault.lock();
      await env.forgetSession();
      await disableDeviceUnlock();
      return vault.status();
    },
  },
  'vault.stayUnlocked': {
    tier: 'page',
    check: fields({ enabled: check.yes }),
    async handler({ enabled }, _sender, env) {
      const vault = await env.vaultReady();
      if (enabled) await enableDeviceUnlock(vault.sessionKey());
      else await disableDeviceUnlock();
      return { stayUnlocked: await deviceUnlockEnabled() };
    },
  },
  'vault.changePassphrase': {
    tier: 'page',
    check: fields({ oldPassphrase: check.passphrase, newPassphrase: check.passphrase, kdf: check.kdf }),
    async handler({ oldPassphrase, newPassphrase, kdf }, _sender, env) {
      const vault = await env.vaultReady();
      await vault.changePassphrase(oldPassphrase, newPassphrase, kdf);
      await env.rememberSession(vault);
      // With sync set up, the folder's copy of the wrapped key is replaced on the next
      // sync (now; or later when the server cannot be reached).
      if (await vault.syncConfigured()) scheduleSync(0);
      return {};
    },
  },
  /**
   * A new passphrase and a new data key: every record sealed again (see the core's
   * rekey facet). Every other message waits in the queue meanwhile; the page
   * polls `vault.reencryptProgress`, which answers beside the queue.
   */
  'vault.reencrypt': {
    tier: 'page',
    check: fields({ oldPassphrase: check.passphrase, newPassphrase: check.passphrase, kdf: check.kdf }),
    async handler({ oldPassphrase, newPassphrase, kdf }, _sender, env) {
      const vault = await env.vaultReady();
      reencrypting = { phase: 'opening', at: 0 };
      try {
        const report = await vault.reencrypt(oldPassphrase, newPassphrase, kdf, (phase, at) => { reencrypting = { phase, at }; });
        await env.rememberSession(vault);
        // The key kept for "stay unlocked" is the old one: keep the new one instead.
        if (await deviceUnlockEnabled()) await enableDeviceUnlock(vault.sessionKey());
        return report;
      } finally {
        reencrypting = null;
      }
    },
  },
  'vault.reencryptProgress': {
    tier: 'page',
    beside: true,
    check: none,
    async handler() {
      return { progress: reencrypting };
    },
  },
  'passphrase.strength': {
    tier: 'page',
    check: fields({ passphrase: check.passphrase }),
    async handler({ passphrase }, _sender, env) {
      await env.vaultReady();
      return passphraseStrength(passphrase);
    },
  },
  /** Erases everything; the page asks the person to type the confirmation. */
  'vault.wipe': {
    tier: 'page',
    check: fields({ confirm: check.wipeConfirm }),
    async handler(_input, _sender, env) {
      const vault = await env.vaultReady();
      await vault.wipe();
      await env.forgetSession();
      await disableDeviceUnlock();
      return vault.status();
    },
  },
};
