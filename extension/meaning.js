// Recall by meaning in the worker (issue 16). The model (meaning.tkem, built into the
// extension by `make` from a registry package) is read from the extension's own files,
// never from the network, and handed to the core once per worker life. A vault indexed
// before the model is embedded once, in steps of the serial queue (captures go on in
// between), resumed after an unlock or a restarted worker; `meaningProgress()` says how
// far it is for the popup.

import { loadMeaningModel } from '../build/web/threadkeeper.js';
import { ext } from './shim.js';

/** Messages embedded per step of the backfill (one queue task each). */
const STEP = 2048;
/** How long after the worker's start or an unlock the backfill waits before its first step. */
const START_DELAY_MS = 3000;

let env = null;
let running = false;
let progress = null;

/** The model's bytes from the extension's own files (null if they cannot be read). */
export async function modelBytes() {
  try {
    const response = await fetch(ext.runtime.getURL('meaning.tkem'));
    const bytes = response.ok ? new Uint8Array(await response.arrayBuffer()) : null;
    performance.mark('tk:model-read'); // names only (bench/search/popup.mjs)
    return bytes;
  } catch {
    return null;
  }
}

/** Hands the model to the vault (without it, search is by words only, as before). */
export function useModel(vault, bytes) {
  if (!bytes) return;
  try {
    loadMeaningModel(bytes);
    vault.useMeaningModel();
    performance.mark('tk:model-ready');
  } catch {
    // A damaged model file: search by words still works.
  }
}

/** `{done, total}` while a backfill is under way, else null. */
export function meaningProgress() {
  return progress && progress.done < progress.total ? progress : null;
}

export async function backfill() {
  if (running || !env) return;
  running = true;
  // Names only: bench/meaning/chromium.mjs times the backfill from these.
  performance.mark('tk:meaning-start');
  try {
    for (;;) {
      const step = await env.serially(async () => {
        const vault = await env.vaultReady();
        return vault.isUnlocked() ? vault.embedStep(STEP) : null;
      });
      progress = step;
      if (!step) break;
      if (step.done >= step.total) {
        performance.mark('tk:meaning-done');
        break;
      }
    }
  } catch {
    progress = null; // tried again at the next unlock or worker start
  } finally {
    running = false;
  }
}

/**
 * At worker start and at each unlock: embed what waits for its vector. Not at once: its
 * first step reads every vector chunk to find what waits (6.8 MB at 100k), and a worker
 * started or a vault unlocked by the popup has a query to answer first.
 */
export function startMeaning(backgroundEnv) {
  env = backgroundEnv;
  const later = () => setTimeout(backfill, START_DELAY_MS);
  env.vaultReady().then(later, () => {});
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && changes.dataKey?.newValue && !changes.dataKey.oldValue) later();
  });
}
