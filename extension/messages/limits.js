// Limits on data that the core (Rust) already has, read from it once the wasm is up
// (`coreLimits()`, src/wasm/limits.rs), so that none is written again here; and the few
// rules that exist only in the extension, each written once.

import { coreLimits } from '../../build/web/threadkeeper.js';

let core = null;

/**
 * The core's limits: `{roles, maxSnapshotMessages, maxIdBytes, recentLen, minPassphraseChars,
 * maxPassphraseBytes, maxQueryChars, defaultBudgetTokens, archiveMagic, maxThreadBytes}`.
 * Only after the wasm module is initialised (the router awaits it before any check).
 */
export function limits() {
  core ??= Object.freeze(coreLimits());
  return core;
}

/** For node tests, which run the checks without the web build's wasm. */
export function useLimits(values) {
  core = Object.freeze({ ...values });
}

// Only the extension's: the restore budget a person or a page may ask for, in tokens
// (the default is the core's `restore::DEFAULT_BUDGET_TOKENS`).
export const RESTORE_BUDGET = Object.freeze({ min: 500, max: 100000 });

/** A budget within RESTORE_BUDGET. */
export function clampBudget(tokens) {
  return Math.min(RESTORE_BUDGET.max, Math.max(RESTORE_BUDGET.min, tokens));
}
