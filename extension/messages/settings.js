// Messages about settings and what capture reports (site health, capture paths). Page tier.

import { readSettings, writeSettings, readHealth, refreshBadge, readPaths, restoreBudgetOf } from '../settings.js';
import { deviceUnlockEnabled } from '../device.js';
import { check } from './check.js';

/** The settings as pages see them: the restore budget filled in from the core's default. */
const shown = (settings) => ({ ...settings, restoreBudget: restoreBudgetOf(settings) });

export default {
  'settings.get': {
    tier: 'page',
    check: check.none,
    async handler() {
      return { settings: shown(await readSettings()), health: await readHealth(), paths: await readPaths(), stayUnlocked: await deviceUnlockEnabled() };
    },
  },
  'settings.set': {
    tier: 'page',
    check: check.settings,
    async handler(changes) {
      const settings = await writeSettings(changes);
      await refreshBadge();
      return { settings: shown(settings) };
    },
  },
};
