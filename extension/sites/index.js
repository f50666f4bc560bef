// Every site adapter, and the one for a hostname.
import chatgpt from './chatgpt.js';

export const ADAPTERS = [chatgpt];

export function adapterFor(hostname) {
  return ADAPTERS.find((a) => a.hosts.includes(hostname)) ?? null;
}
