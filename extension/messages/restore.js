// Messages that put saved context back into a chat: the restore block (a page may ask
// for any conversation's, a tab only for its own), and carrying it to a chat tab.

import { parseSiteUrl } from '../../build/web/threadkeeper.js';
import { ADAPTERS } from '../sites/index.js';
import { ext } from '../shim.js';
import { check, RequestError } from './check.js';
import { senderPage, conversationOf, blockFor } from './tab.js';

const { fields, none, optional } = check;

// Blocks waiting for a tab opened by "Continue in", by tab id, bound to the site the
// person chose. Kept in storage.session (a stopped worker must not lose them); they
// expire after a minute, go only to a page of that site, and are dropped at lock.
const CARRY_TTL_MS = 60000;
const CARRY_PREFIX = 'carry:';
async function rememberCarry(tabId, site, text) {
  await ext.storage.session.set({ [`${CARRY_PREFIX}${tabId}`]: { text, site, at: Date.now() } });
}
async function takeCarry(tabId, site, vault) {
  const key = `${CARRY_PREFIX}${tabId}`;
  const entry = (await ext.storage.session.get(key))[key];
  if (!entry) return null;
  await ext.storage.session.remove(key);
  const fresh = Date.now() - entry.at < CARRY_TTL_MS;
  return fresh && entry.site === site && vault.isUnlocked() ? entry.text : null;
}

/** Drops every block waiting for a tab: plaintext does not outlive the lock. */
export async function forgetCarries() {
  const all = await ext.storage.session.get(null);
  const keys = Object.keys(all).filter((k) => k.startsWith(CARRY_PREFIX));
  if (keys.length) await ext.storage.session.remove(keys);
}

/** The AI-site tab the person used last (the popup may itself be open in a tab). */
async function lastSiteTab() {
  const tabs = await ext.tabs.query({});
  const sites = tabs.filter((t) => t.url && parseSiteUrl(t.url));
  sites.sort((a, b) => (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0) || (b.active ? 1 : 0) - (a.active ? 1 : 0));
  return sites[0] ?? null;
}

export default {
  /** Any conversation's block, for the extension's own pages. */
  'restore.block': {
    tier: 'page',
    check: fields({ id: check.id, budgetTokens: check.budget }),
    async handler({ id, budgetTokens }, _sender, env) {
      const vault = await env.vaultReady();
      return { text: await blockFor(vault, id, budgetTokens) };
    },
  },
  /** Only ever the block of the conversation in the sender's own tab (the chip). */
  'restore.own': {
    tier: 'content',
    check: fields({ id: optional(check.id) }),
    async handler(input, sender, env) {
      const page = await senderPage(env, sender);
      const vault = await env.vaultReady();
      const id = vault.conversationKey(page.site, conversationOf(page));
      if (input.id !== undefined && input.id !== id) throw new RequestError('forbidden', 'A tab may only restore its own conversation.');
      return { text: await blockFor(vault, id) };
    },
  },
  /** How many messages are saved for the conversation in the sender's tab (0 while locked). */
  'restore.count': {
    tier: 'content',
    check: none,
    async handler(_input, sender, env) {
      const page = await senderPage(env, sender);
      const vault = await env.vaultReady();
      if (!page.conversationId || !vault.isUnlocked()) return { count: 0 };
      const id = vault.conversationKey(page.site, page.conversationId);
      try {
        return { count: (await vault.getConversation(id)).messages.length };
      } catch (err) {
        if (err?.code === 'not_found') return { count: 0 };
        throw err;
      }
    },
  },
  /** Inserts a conversation's block into the AI-site tab used last. */
  'carry.insert': {
    tier: 'page',
    check: fields({ id: check.id }),
    async handler({ id }, _sender, env) {
      const vault = await env.vaultReady();
      const text = await blockFor(vault, id);
      const tab = await lastSiteTab();
      if (!tab) throw new RequestError('no_chat_tab', 'Open a chat on a supported AI site first, then insert.');
      const result = await ext.tabs.sendMessage(tab.id, { type: 'insert.block', text }, { frameId: 0 }).catch(() => null);
      if (!result?.ok) {
        throw new RequestError('insert_failed', result?.copied
          ? 'The chat did not take the text, so it was copied: paste it with Ctrl+V.'
          : 'The chat did not take the text. Reload the chat tab and try again.');
      }
      await ext.tabs.update(tab.id, { active: true });
      return { tabId: tab.id, site: parseSiteUrl(tab.url).site };
    },
  },
  /** Opens a new chat on `site`; the block waits there for the tab's content script. */
  'carry.continue': {
    tier: 'page',
    check: fields({ site: check.newChatSite, id: check.id }),
    async handler({ site, id }, _sender, env) {
      const vault = await env.vaultReady();
      const adapter = ADAPTERS.find((a) => a.site === site);
      const text = await blockFor(vault, id);
      const tab = await ext.tabs.create({ url: adapter.newChat, active: true });
      await rememberCarry(tab.id, site, text);
      return { tabId: tab.id };
    },
  },
  /** A tab opened by "Continue in" takes the block waiting for it. */
  'carry.pending': {
    tier: 'content',
    check: none,
    async handler(_input, sender, env) {
      const page = await senderPage(env, sender);
      return { text: await takeCarry(sender.tab.id, page.site, await env.vaultReady()) };
    },
  },
};
