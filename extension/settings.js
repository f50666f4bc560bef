// Settings and site health, kept in storage.local (nothing secret: switches, site
// names and times). The background is the only writer.

import { ext } from './shim.js';
import { limits } from './messages/limits.js';

// Without `restoreBudget`: its default is the core's (restore::DEFAULT_BUDGET_TOKENS),
// filled in by `restoreBudgetOf` once the wasm module is up.
export const DEFAULT_SETTINGS = Object.freeze({ paused: false, disabledSites: [], autoLockMinutes: 15 });

export async function readSettings() {
  const { settings } = await ext.storage.local.get('settings');
  return { ...DEFAULT_SETTINGS, ...(settings ?? {}) };
}

/** The restore budget the person chose, or the core's default. */
export function restoreBudgetOf(settings) {
  return settings.restoreBudget ?? limits().defaultBudgetTokens;
}

/** Applies changes already checked by `check.settings` (messages/check.js). */
export async function writeSettings(changes) {
  const current = await readSettings();
  const next = { ...current };
  if (typeof changes.paused === 'boolean') next.paused = changes.paused;
  if (Number.isInteger(changes.autoLockMinutes)) next.autoLockMinutes = changes.autoLockMinutes;
  if (Number.isInteger(changes.restoreBudget)) next.restoreBudget = changes.restoreBudget;
  if (changes.site && typeof changes.enabled === 'boolean') {
    const off = new Set(current.disabledSites);
    if (changes.enabled) off.delete(changes.site);
    else off.add(changes.site);
    next.disabledSites = [...off].sort();
  }
  await ext.storage.local.set({ settings: next });
  return next;
}

export function captureAllowed(settings, site) {
  return !settings.paused && !settings.disabledSites.includes(site);
}

/** Records a site's health; returns the whole map. Only changes are written. */
export async function recordHealth(site, status, at, detail) {
  const { health = {} } = await ext.storage.local.get('health');
  const before = health[site];
  if (status === 'ok') {
    if (!before) return health;
    delete health[site];
  } else {
    if (before?.status === status) return health;
    health[site] = detail ? { status, at, detail } : { status, at };
  }
  await ext.storage.local.set({ health });
  return health;
}

/** Clears a site's health entry if it has `status`; true when something changed. */
export async function clearHealth(site, status) {
  const { health = {} } = await ext.storage.local.get('health');
  if (health[site]?.status !== status) return false;
  delete health[site];
  await ext.storage.local.set({ health });
  return true;
}

export async function readHealth() {
  const { health = {} } = await ext.storage.local.get('health');
  return health;
}

/**
 * The toolbar badge: "!" when a site's capture is degraded (nothing is being saved),
 * "off" when paused. A failed read of a site's own data is not a badge: the page is
 * still read and saved; the popup and vault page say so in words (`paths`).
 */
export async function refreshBadge() {
  if (!ext.action?.setBadgeText) return;
  const [settings, health] = await Promise.all([readSettings(), readHealth()]);
  const degraded = Object.keys(health).length > 0;
  const text = degraded ? '!' : settings.paused ? 'off' : '';
  await ext.action.setBadgeText({ text });
  if (text) await ext.action.setBadgeBackgroundColor({ color: degraded ? '#c0392b' : '#6b7280' });
  await ext.action.setTitle({
    title: degraded ? `Threadkeeper: capture needs attention on ${Object.keys(health).join(', ')}` : settings.paused ? 'Threadkeeper: capture paused' : 'Threadkeeper',
  });
}

/**
 * Which capture path worked per site, and when (`threads` in storage.local): `page`
 * (reading what the page shows) and `thread` (the site's own data); a failed thread
 * read keeps its kind (`refused`, `unreachable`, `too_large`, `signed_out`,
 * `shape_changed`, `other_conversation`, `no_turns`, `moved`) and, for a refusal, the
 * HTTP status. No content, no address, no token.
 */
export async function readPaths() {
  const { paths = {} } = await ext.storage.local.get('paths');
  return paths;
}

const OK_EVERY_MS = 60 * 1000;

// When each site's path was last noted as working, in this worker's life: a capture
// every second then costs no storage read.
const notedOk = new Map();

/** Records one path's outcome for `site`; `failure` absent means it worked. */
export async function recordPath(site, path, at, failure, status) {
  const key = `${site}/${path}`;
  if (!failure && at - (notedOk.get(key) ?? -Infinity) < OK_EVERY_MS) return false;
  if (failure) notedOk.delete(key);
  else notedOk.set(key, at);
  const paths = await readPaths();
  const entry = { ...(paths[site]?.[path] ?? {}) };
  if (failure) {
    if (entry.failure === failure && entry.status === status) return false;
    entry.failure = failure;
    entry.failedAt = at;
    if (status) entry.status = status;
    else delete entry.status;
  } else {
    // A working path is noted at most once a minute (captures come every second).
    if (!entry.failure && entry.okAt && at - entry.okAt < OK_EVERY_MS) return false;
    delete entry.failure;
    delete entry.failedAt;
    delete entry.status;
    entry.okAt = at;
  }
  paths[site] = { ...(paths[site] ?? {}), [path]: entry };
  await ext.storage.local.set({ paths });
  return true;
}
