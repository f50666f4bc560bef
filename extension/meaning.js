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

let env = null;
let running = false;
let progress = null;

/** The model's bytes from the extension's own files (null if they cannot be read). */
export async function modelBytes() {
  try {
    const response = await fetch(ext.runtime.getURL('meaning.tkem'));
    return response.ok ? new Uint8Array(await response.arrayBuffer()) : null;
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

/** At worker start and at each unlock: embed what waits for its vector. */
export function startMeaning(backgroundEnv) {
  env = backgroundEnv;
  env.vaultReady().then(backfill, () => {});
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && changes.dataKey?.newValue && !changes.dataKey.oldValue) backfill();
  });
}
