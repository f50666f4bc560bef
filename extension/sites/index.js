// Every site adapter, and the one for a hostname.
import chatgpt from './chatgpt.js';
import claude from './claude.js';
import gemini from './gemini.js';

export const ADAPTERS = [chatgpt, claude, gemini];

export function adapterFor(hostname) {
  return ADAPTERS.find((a) => a.hosts.includes(hostname)) ?? null;
}
