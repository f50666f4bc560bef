// "The vault was unlocked when the worker last said so": a hint the toolbar popup reads
// straight from storage.session (no worker needed) to show the search box while a
// stopped worker starts. It holds no key and no content, only `true`; it is set with the
// session key and removed with it, and the popup still asks the worker for the vault's
// real state and follows that answer (bench/search/popup.mjs, README "Where the popup's
// time goes").

import { ext } from './shim.js';

export const UNLOCKED_HINT = 'unlockedHint';

/** True when the session says unlocked; false when it does not or cannot be read. */
export async function unlockedHint() {
  try {
    return (await ext.storage.session.get(UNLOCKED_HINT))[UNLOCKED_HINT] === true;
  } catch {
    return false;
  }
}
