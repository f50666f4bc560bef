// Every site adapter, and the one for a hostname.
import chatgpt from './chatgpt.js';
import claude from './claude.js';
import gemini from './gemini.js';
import perplexity from './perplexity.js';

export const ADAPTERS = [chatgpt, claude, gemini, perplexity];

export function adapterFor(hostname) {
  return ADAPTERS.find((a) => a.hosts.includes(hostname)) ?? null;
}
