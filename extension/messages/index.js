// The one registry of the messages the background accepts, and the router that runs them.
//
// Each message type has a tier (who may send it: 'page', the extension's own pages;
// 'content', our content script in the top frame of an AI site's tab; see trust.js),
// a check (the payload's validation: it returns what the handler may use, or throws)
// and a handler (given that checked input, the sender and the background's `env`).
// Handlers are grouped by area in this folder; no message is handled anywhere else.
//
// Replies are flat: `{ok: true, ...reply}` or `{ok: false, error: {code, message}}`.
//
// Two messages travel outside runtime messaging and so outside this registry: an
// import batch posted to the service worker (`import.stage`, page tier, checked with
// check.stageId and check.jsonBatches in staging.js, then imported by `import.batch`
// here), and `insert.block`, which the background sends to a tab (content/main.js).

import { senderTier } from '../trust.js';
import { RequestError } from './check.js';
import vault from './vault.js';
import conversations from './conversations.js';
import restore from './restore.js';
import capture from './capture.js';
import settings from './settings.js';
import agents from './agents.js';
import sync from './sync.js';

export const TIERS = Object.freeze(['page', 'content']);

function registry(...areas) {
  const all = {};
  for (const area of areas) {
    for (const [type, entry] of Object.entries(area)) {
      if (Object.hasOwn(all, type)) throw new Error(`message ${type} is registered twice`);
      all[type] = Object.freeze({ ...entry });
    }
  }
  return Object.freeze(all);
}

export const MESSAGES = registry(vault, conversations, restore, capture, settings, agents, sync);

/** Errors cross as `{code, message}`; anything unexpected is named without details. */
export function failure(err) {
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    return { ok: false, error: { code: err.code, message: err.message } };
  }
  return { ok: false, error: { code: 'internal', message: 'Something went wrong inside Threadkeeper. Try again.' } };
}

/**
 * Runs one message: the sender's tier from what the browser reports, the type looked
 * up (a type of another tier is unknown to this sender), the check, then the handler
 * in the background's serial queue (beside it for `beside: true`). `env` is the background's: `coreReady`,
 * `vaultReady`, `rememberSession`, `forgetSession`, `serially`, `touched`.
 */
export async function route(msg, sender, env) {
  const tier = senderTier(sender);
  if (!tier) throw new RequestError('forbidden', 'This sender may not talk to Threadkeeper.');
  const type = msg && typeof msg.type === 'string' ? msg.type : null;
  const entry = type !== null && Object.hasOwn(MESSAGES, type) ? MESSAGES[type] : null;
  if (!entry || entry.tier !== tier) throw new RequestError('unknown_request', 'Threadkeeper does not know this request.');
  await env.coreReady(); // the checks read the core's limits
  const run = async () => {
    const input = entry.check(msg);
    performance.mark(`tk:run:${type}`); // names only (bench/search/popup.mjs)
    const reply = await entry.handler(input, sender, env);
    performance.mark(`tk:done:${type}`);
    await env.touched(tier, type);
    return reply;
  };
  // `beside: true`: a handler that touches no vault state answers beside the queue
  // (the progress of a long task that holds the queue).
  return { ok: true, ...(await (entry.beside ? run() : env.serially(run))) };
}
