// Settings and site health. The background is the only writer.
//
// The settings (pause, site switches, auto-lock minutes, restore budget) change what is
// captured and when the vault locks, so they live in the protected store (device.js: the
// extension origin's IndexedDB, which content scripts cannot open), kept in this
// worker's memory once read and replaced on each of its own writes: a capture costs no
// database read. storage.local, which content scripts can write, holds no security
// state: site health, capture paths, and `settingsChanged`, a signal that only makes
// content scripts ask again (`capture.settings`), answered from the protected copy.

import { ext } from './shim.js';
import { limits, clampBudget } from './messages/limits.js';
import { readProtected, writeProtected } from './device.js';
import { ADAPTERS } from './sites/index.js';

// Without `restoreBudget`: its default is the core's (restore::DEFAULT_BUDGET_TOKENS),
// filled in by `restoreBudgetOf` once the wasm module is up.
export const DEFAULT_SETTINGS = Object.freeze({ paused: false, disabledSites: [], autoLockMinutes: 15 });
const MAX_AUTO_LOCK_MINUTES = 24 * 60; // as messages/check.js allows
const SITES = new Set(ADAPTERS.map((a) => a.site));
const SLOT = 'settings';
const CHANGED = 'settingsChanged';

/**
 * The settings from a stored value, each checked, with a safe reading of anything
 * malformed: never an exception, never weaker than what the person chose.
 * - absent: the default;
 * - `autoLockMinutes` not a whole number within 0..MAX_AUTO_LOCK_MINUTES: 15 (0, never,
 *   only when stored as exactly 0);
 * - `paused` present but not a boolean: paused;
 * - `disabledSites` present but not an array: every site off (which sites the person
 *   switched off cannot be known, and capturing a site they excluded cannot be undone,
 *   while a switch wrongly off shows in the popup and is one click away); an array
 *   keeps its known site names, and anything else in it (which matches no site) is
 *   dropped;
 * - `restoreBudget` not a whole number: the core's default; else within RESTORE_BUDGET.
 */
export function saneSettings(raw) {
  const s = raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {};
  const out = { ...DEFAULT_SETTINGS };
  if (s.paused !== undefined) out.paused = s.paused !== false;
  if (s.disabledSites !== undefined) {
    out.disabledSites = Array.isArray(s.disabledSites)
      ? [...new Set(s.disabledSites.filter((v) => typeof v === 'string' && SITES.has(v)))].sort()
      : [...SITES].sort();
  }
  if (s.autoLockMinutes !== undefined) {
    const m = s.autoLockMinutes;
    out.autoLockMinutes = Number.isInteger(m) && m >= 0 && m <= MAX_AUTO_LOCK_MINUTES ? m : DEFAULT_SETTINGS.autoLockMinutes;
  }
  if (Number.isInteger(s.restoreBudget)) out.restoreBudget = clampBudget(s.restoreBudget);
  return out;
}

// The settings as last read or written in this worker's life.
let cached = null;

const copy = (s) => ({ ...s, disabledSites: [...s.disabledSites] });

export async function readSettings() {
  cached ??= readProtected(SLOT).then(saneSettings, (err) => {
    cached = null;
    throw err;
  });
  return copy(await cached);
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
  const stored = saneSettings(next);
  cached = null; // a failed write leaves the next read to the store
  await writeProtected({ [SLOT]: stored });
  cached = Promise.resolve(stored);
  // Not authoritative: content scripts only ask the background again.
  await ext.storage.local.set({ [CHANGED]: Date.now() }).catch(() => {});
  return copy(stored);
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
