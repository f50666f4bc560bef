// Import batches through the service worker's own message channel (Chromium).
//
// An import sends its conversations as megabytes of JSON text per batch. Runtime
// messaging serialises every message as JSON (the text escaped again, then parsed again
// in the worker); a service worker's `message` event carries a structured clone, several
// times cheaper. So the vault page posts each batch here first ("staged"), then asks for
// it to be imported with a runtime message like any other request, whose answer and
// errors come back the usual way. Only the extension's own pages can post to its
// service worker (same origin); the sender is checked again here all the same.

import { ext } from './shim.js';
import { senderTier } from './trust.js';
import { check, RequestError } from './messages/check.js';

const MAX_STAGED = 4; // the page keeps at most two batches in flight
const WAIT_MS = 5000; // for a batch whose request overtook it
const staged = new Map(); // id -> JSON batches
const waiting = new Map(); // id -> callback

/** Starts taking staged batches (call at the top level: a worker's listeners must be). */
export function listenForStagedBatches(scope) {
  scope.addEventListener('message', (event) => {
    if (senderTier({ id: ext.runtime.id, url: event.source?.url }) !== 'page') return;
    const data = event.data;
    if (!data || data.type !== 'import.stage') return;
    let id, json;
    try {
      id = check.stageId(data.id);
      json = check.jsonBatches(data.json);
    } catch {
      return; // a malformed batch is never imported: its request fails below
    }
    const waiter = waiting.get(id);
    if (waiter) {
      waiting.delete(id);
      waiter(json);
      return;
    }
    if (staged.size >= MAX_STAGED) staged.delete(staged.keys().next().value); // a leftover
    staged.set(id, json);
  });
}

/** The batch staged under `id`, waiting briefly for it (the two channels may race). */
export function takeStaged(id) {
  const json = staged.get(id);
  if (json) {
    staged.delete(id);
    return Promise.resolve(json);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new RequestError('interrupted', 'Part of the import did not reach Threadkeeper. Import the file again: what was already added stays, and nothing is added twice.'));
    }, WAIT_MS);
    waiting.set(id, (batch) => {
      clearTimeout(timer);
      resolve(batch);
    });
  });
}
