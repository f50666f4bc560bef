// Settings read from the protected store (extension/settings.js): every value checked,
// and a malformed one never throws and never reads weaker than the person's choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';

globalThis.chrome ??= { runtime: { id: 'ourid', getURL: (p) => `chrome-extension://ourid/${p}` } };
const { saneSettings, DEFAULT_SETTINGS } = await import('../../extension/settings.js');
const { ADAPTERS } = await import('../../extension/sites/index.js');
const { RESTORE_BUDGET } = await import('../../extension/messages/limits.js');
const ALL = ADAPTERS.map((a) => a.site).sort();

test('absent or not an object: the defaults', () => {
  for (const raw of [undefined, null, 0, 'x', [], [1, 2], true]) assert.deepEqual(saneSettings(raw), { ...DEFAULT_SETTINGS });
  assert.deepEqual(saneSettings({}), { paused: false, disabledSites: [], autoLockMinutes: 15 });
});

test('the person\'s own values are kept', () => {
  const own = { paused: true, disabledSites: ['claude', 'chatgpt'], autoLockMinutes: 0, restoreBudget: 8000 };
  assert.deepEqual(saneSettings(own), { paused: true, disabledSites: ['chatgpt', 'claude'], autoLockMinutes: 0, restoreBudget: 8000 });
  assert.equal(saneSettings({ autoLockMinutes: 1440 }).autoLockMinutes, 1440);
});

test('a malformed auto-lock is the default 15, never 0 (never)', () => {
  for (const m of [null, '0', '', false, -1, 1.5, NaN, Infinity, 1441, 10 ** 9, {}, [0]]) {
    assert.equal(saneSettings({ autoLockMinutes: m }).autoLockMinutes, 15, JSON.stringify(m));
  }
});

test('a malformed pause is paused; malformed site switches are every site off', () => {
  for (const p of [null, 0, 1, 'false', {}]) assert.equal(saneSettings({ paused: p }).paused, true, JSON.stringify(p));
  for (const d of [1, null, 'claude', {}, { length: 1, 0: 'claude' }, true]) assert.deepEqual(saneSettings({ disabledSites: d }).disabledSites, ALL, JSON.stringify(d));
  // In a list, what names no site matches nothing and is dropped; known names are kept.
  assert.deepEqual(saneSettings({ disabledSites: ['gemini', 7, null, 'nowhere', 'gemini', { site: 'x' }] }).disabledSites, ['gemini']);
});

test('the restore budget is a whole number within RESTORE_BUDGET, else the core\'s default', () => {
  assert.equal(saneSettings({ restoreBudget: 10 ** 9 }).restoreBudget, RESTORE_BUDGET.max);
  assert.equal(saneSettings({ restoreBudget: 1 }).restoreBudget, RESTORE_BUDGET.min);
  for (const b of ['6000', 1.5, null, NaN]) assert.equal('restoreBudget' in saneSettings({ restoreBudget: b }), false);
});

test('what a page would plant reads as the defaults or safer', () => {
  const planted = saneSettings({ autoLockMinutes: 0.0001, paused: 'no', disabledSites: 1, restoreBudget: '1e9', extra: { deviceUnlock: true } });
  assert.deepEqual(planted, { paused: true, disabledSites: ALL, autoLockMinutes: 15 });
});
