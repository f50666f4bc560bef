// What the content tier's handlers share: the site and conversation of the sender's
// tab, and a conversation's restore block.

import { parseSiteUrl, restoreBlock } from '../../build/web/threadkeeper.js';
import { readSettings, restoreBudgetOf } from '../settings.js';
import { RequestError } from './check.js';
import { clampBudget } from './limits.js';

/**
 * The site and conversation of a content script's tab, from the address the browser
 * reports. The tab's address follows single-page navigation (pushState), the frame's
 * `sender.url` may not; both must be on the same site.
 */
export async function senderPage(env, sender) {
  await env.vaultReady();
  const frameSite = parseSiteUrl(sender.url);
  const tabUrl = sender.tab?.url;
  const page = tabUrl ? parseSiteUrl(tabUrl) : frameSite;
  if (page && frameSite && page.site !== frameSite.site) throw new RequestError('forbidden', 'The tab and the page disagree.');
  if (!page) throw new RequestError('forbidden', 'This page is not an AI site Threadkeeper knows.');
  return page;
}

/** The page's conversation, or a refusal when the page is not one. */
export function conversationOf(page) {
  if (!page.conversationId) throw new RequestError('not_a_conversation', 'This page is not a conversation.');
  return page.conversationId;
}

/** The restore block of conversation `id`, within `budgetTokens` or else the person's setting. */
export async function blockFor(vault, id, budgetTokens) {
  const conversation = await vault.getConversation(id);
  const budget = budgetTokens ?? restoreBudgetOf(await readSettings());
  return restoreBlock(conversation, { budgetTokens: clampBudget(budget) }).text;
}
