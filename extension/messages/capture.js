// Messages of the content scripts' capture: what the page shows (`capture`), the site's
// own data (`capture.thread`), the page's health and whether capture is on. Content tier:
// each speaks only for the conversation in the sender's own tab.

import { captureAllowed, readSettings, recordHealth, clearHealth, refreshBadge, recordPath } from '../settings.js';
import { check, RequestError } from './check.js';
import { senderPage, conversationOf } from './tab.js';

const { fields, none } = check;

// Errors of the Rust thread reader that say how a site's data could not be read.
const THREAD_FAILURES = new Set(['too_large', 'shape_changed', 'other_conversation', 'no_turns']);

export default {
  capture: {
    tier: 'content',
    check: fields({ snapshot: check.snapshot }),
    async handler({ snapshot }, sender, env) {
      const page = await senderPage(env, sender);
      conversationOf(page);
      // A content script may only speak for the conversation in its own tab.
      if ((snapshot.site !== undefined && snapshot.site !== page.site) ||
          (snapshot.conversationId !== undefined && snapshot.conversationId !== page.conversationId)) {
        throw new RequestError('forbidden', 'A capture may only be for the conversation in its own tab.');
      }
      if (!captureAllowed(await readSettings(), page.site)) return { skipped: true };
      const vault = await env.vaultReady();
      let outcome;
      try {
        outcome = await vault.capture({ ...snapshot, site: page.site, conversationId: page.conversationId, url: page.url });
      } catch (err) {
        // Saving failed (a full disk, a browser error): say so; the tab keeps the capture and retries.
        if (err?.code === 'storage') {
          await recordHealth(page.site, 'save_failed', Date.now(), err.message);
          await refreshBadge();
        }
        throw err;
      }
      if (await clearHealth(page.site, 'save_failed')) await refreshBadge();
      await recordPath(page.site, 'page', Date.now());
      return { added: outcome.added, updated: outcome.updated, queued: outcome.queued };
    },
  },
  /**
   * The thread path: the site's replies for the conversation in the sender's own tab,
   * parsed and merged in Rust. Answers `{more}` while the site has further pages, then
   * what the merge did. A failure is recorded by kind in the site's path health.
   */
  'capture.thread': {
    tier: 'content',
    check: check.thread,
    async handler(thread, sender, env) {
      const page = await senderPage(env, sender);
      conversationOf(page);
      const failed = (kind, status) => recordPath(page.site, 'thread', Date.now(), kind, status);
      // Read for one conversation, while the tab moved to another: nothing is stored.
      if (thread.conversationId !== page.conversationId) {
        await failed('moved');
        throw new RequestError('forbidden', 'A tab may only send the conversation open in it.');
      }
      if (!captureAllowed(await readSettings(), page.site)) return { skipped: true };
      if (thread.failure) {
        await failed(thread.failure, thread.status);
        return {};
      }
      const vault = await env.vaultReady();
      let outcome;
      try {
        outcome = await vault.captureThread(page.site, page.conversationId, page.url, thread.replies);
      } catch (err) {
        if (THREAD_FAILURES.has(err?.code)) await failed(err.code);
        throw err;
      }
      if (typeof outcome.more === 'string') return { more: outcome.more };
      await recordPath(page.site, 'thread', Date.now());
      return { added: outcome.added, updated: outcome.updated, queued: outcome.queued };
    },
  },
  'capture.health': {
    tier: 'content',
    check: fields({ status: check.health }),
    async handler({ status }, sender, env) {
      const page = await senderPage(env, sender);
      await recordHealth(page.site, status, Date.now());
      await refreshBadge();
      return {};
    },
  },
  /** Whether capture is on for the sender's site (the pause and the site's switch). */
  'capture.settings': {
    tier: 'content',
    check: none,
    async handler(_input, sender, env) {
      const page = await senderPage(env, sender);
      return { enabled: captureAllowed(await readSettings(), page.site) };
    },
  },
};
