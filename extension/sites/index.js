// Every site adapter, and the one for a hostname.
import chatgpt from './chatgpt.js';
import claude from './claude.js';

export const ADAPTERS = [chatgpt, claude];

export function adapterFor(hostname) {
  return ADAPTERS.find((a) => a.hosts.includes(hostname)) ?? null;
}
