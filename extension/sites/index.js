// Every site adapter, and the one for a hostname.
import chatgpt from './chatgpt.js';
import claude from './claude.js';
import gemini from './gemini.js';
import perplexity from './perplexity.js';
import grok from './grok.js';
import deepseek from './deepseek.js';
import copilot from './copilot.js';
import mistral from './mistral.js';

export const ADAPTERS = [chatgpt, claude, gemini, perplexity, grok, deepseek, copilot, mistral];

/** The adapter of a hostname: one of its `hosts`, or a shared host in its `scopes`. */
export function adapterFor(hostname) {
  return ADAPTERS.find((a) => a.hosts.includes(hostname) || Object.hasOwn(a.scopes ?? {}, hostname)) ?? null;
}

/**
 * The adapter of a page address (a URL or its text): by host, and on a host shared with
 * other things (x.com) only under the adapter's `scopes` path.
 */
export function adapterForUrl(url) {
  const u = typeof url === 'string' ? new URL(url) : url;
  const adapter = adapterFor(u.hostname);
  const scope = adapter?.scopes?.[u.hostname];
  return adapter && (!scope || scope.test(u.pathname)) ? adapter : null;
}
