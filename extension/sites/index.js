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

export function adapterFor(hostname) {
  return ADAPTERS.find((a) => a.hosts.includes(hostname)) ?? null;
}
