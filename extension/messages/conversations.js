// Messages about saved conversations: search, list, read, write, delete, and the
// batches of an export or an import. Page tier.

import { conversationMarkdown } from '../../build/web/threadkeeper.js';
import { takeStaged } from '../staging.js';
import { backfill } from '../meaning.js';
import { check } from './check.js';

const { fields, none } = check;

export default {
  search: {
    tier: 'page',
    check: fields({ query: check.query, limit: check.searchLimit, warm: (v) => v === true }),
    async handler({ query, limit, warm }, _sender, env) {
      const vault = await env.vaultReady();
      const started = performance.now();
      if (warm) {
        // `warm: true` (the popup, once its first messages are answered): load what every
        // search reads first, so the first query reads only its own terms; finds nothing.
        performance.mark('tk:warm'); // names only (bench/search/popup.mjs)
        await vault.warmSearch();
        performance.mark('tk:warmed');
        return { total: 0, tookMs: performance.now() - started, results: [], rebuilt: false };
      }
      const found = await vault.search(query, limit);
      const tookMs = performance.now() - started;
      // A cold worker answered by the words alone: recall by meaning's vectors load
      // next in the queue (after this answer), so the next query is fused.
      if (found.meaningLoading) env.serially(() => vault.warmMeaning()).catch(() => {});
      const hint = found.rebuilt ? 'The search index was rebuilt from your saved chats (it was missing or damaged).' : found.hint;
      return { total: found.total, tookMs, results: found.results, ...(hint ? { hint } : {}), rebuilt: found.rebuilt };
    },
  },
  /** Every conversation, or with `limit` (1-50) only the most recent, from one record. */
  'conversation.list': {
    tier: 'page',
    check: fields({ limit: check.recentLimit }),
    async handler({ limit }, _sender, env) {
      const vault = await env.vaultReady();
      return limit === undefined ? vault.listConversations() : vault.recentConversations(limit);
    },
  },
  'conversation.get': {
    tier: 'page',
    check: fields({ id: check.id }),
    async handler({ id }, _sender, env) {
      const vault = await env.vaultReady();
      return { conversation: await vault.getConversation(id) };
    },
  },
  'conversation.put': {
    tier: 'page',
    check: fields({ conversation: check.conversation }),
    async handler({ conversation }, _sender, env) {
      const vault = await env.vaultReady();
      return { id: await vault.putConversation(conversation) };
    },
  },
  'conversation.delete': {
    tier: 'page',
    check: fields({ id: check.id }),
    async handler({ id }, _sender, env) {
      const vault = await env.vaultReady();
      await vault.deleteConversation(id);
      return {};
    },
  },
  'conversation.markdown': {
    tier: 'page',
    check: fields({ id: check.id }),
    async handler({ id }, _sender, env) {
      const vault = await env.vaultReady();
      const conversation = await vault.getConversation(id);
      return { markdown: conversationMarkdown(conversation), title: conversation.title };
    },
  },
  /** Every conversation's id, for an export that then fetches them in batches. */
  'export.ids': {
    tier: 'page',
    check: none,
    async handler(_input, _sender, env) {
      const vault = await env.vaultReady();
      const list = await vault.listConversations();
      return { ids: list.conversations.map((c) => c.id) };
    },
  },
  /**
   * A batch of conversations as one JSON array (text crosses to the page far faster than
   * objects); `skipped` counts those that could not be read (damaged), left out so that
   * one bad record never blocks the export of the rest.
   */
  'export.get': {
    tier: 'page',
    check: fields({ ids: check.exportIds }),
    async handler({ ids }, _sender, env) {
      const vault = await env.vaultReady();
      const { json, skipped } = await vault.exportJsonReport(ids);
      return { json, skipped };
    },
  },
  /**
   * One batch of conversations read (and already fully verified) from a file, as JSON
   * arrays: in the message, or staged through the service worker's channel (staging.js).
   */
  'import.batch': {
    tier: 'page',
    check: check.importBatch,
    async handler({ json, staged }, _sender, env) {
      const vault = await env.vaultReady();
      return { report: await vault.importJson(staged === undefined ? json : await takeStaged(staged)) };
    },
  },
  /** After the last batch: the search index takes in the whole import at once. */
  'import.finish': {
    tier: 'page',
    check: none,
    async handler(_input, _sender, env) {
      const vault = await env.vaultReady();
      await vault.finishImport();
      backfill(); // the import's messages wait for their vectors: embedded in steps after it
      return {};
    },
  },
};
