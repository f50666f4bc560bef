// Small DOM helpers shared by the popup and the vault page. Text only ever goes in
// through textContent and attributes through setAttribute: captured text can never
// become markup.

import { ext } from '../extension/shim.js';

/** Builds an element: el('button', {class: 'x', onclick: fn}, 'text', childNode). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces a node's children. */
export function show(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

/** Sends a message to the background; resolves to the flat reply `{ok, ...}`. */
export async function send(msg) {
  try {
    const reply = await ext.runtime.sendMessage(msg);
    return reply ?? { ok: false, error: { code: 'no_answer', message: 'Threadkeeper did not answer. Try again.' } };
  } catch {
    return { ok: false, error: { code: 'no_answer', message: 'Threadkeeper is not running. Reload the extension.' } };
  }
}

const SITE_NAMES = {
  chatgpt: 'ChatGPT', claude: 'Claude', gemini: 'Gemini', perplexity: 'Perplexity',
  grok: 'Grok', deepseek: 'DeepSeek', copilot: 'Copilot', mistral: 'Mistral',
};

export function siteName(site) {
  return SITE_NAMES[site] ?? String(site);
}

export function formatDate(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

export function openVaultPage(hash = '') {
  return ext.tabs.create({ url: ext.runtime.getURL(`vault.html${hash}`) });
}

/**
 * The carry actions for a conversation: insert its context into the chat tab used last,
 * open a new chat on another site with it, or copy it. `getId` gives the conversation's
 * vault id (or null when nothing is chosen); `report` shows the outcome in the page.
 */
export function carryControls(getId, report, sites) {
  const act = async (msg, done) => {
    const id = getId();
    if (!id) return report('Choose a conversation first.', true);
    const reply = await send({ ...msg, id });
    if (!reply.ok) return report(reply.error.message, true);
    report(done(reply), false);
  };
  const insert = el('button', { class: 'insert', title: 'Put this context into the chat you used last (Ctrl+I)',
    onclick: () => act({ type: 'carry.insert' }, (r) => `Inserted into ${siteName(r.site)}. Review it, then send.`) }, 'Insert into chat');
  const copy = el('button', { class: 'copy', title: 'Copy the context block (Ctrl+C)', onclick: async () => {
    const id = getId();
    if (!id) return report('Choose a conversation first.', true);
    const reply = await send({ type: 'restore.block', id });
    if (!reply.ok) return report(reply.error.message, true);
    await navigator.clipboard.writeText(reply.text).then(() => report('Context copied.', false), () => report('The clipboard is not available here.', true));
  } }, 'Copy context');
  const target = el('select', { class: 'continue-site', 'aria-label': 'Continue in' },
    el('option', { value: '' }, 'Continue in…'),
    sites.map((s) => el('option', { value: s }, siteName(s))));
  target.addEventListener('change', () => {
    const site = target.value;
    target.value = '';
    if (site) act({ type: 'carry.continue', site }, () => `Opening ${siteName(site)} with this context…`);
  });
  return el('div', { class: 'carry row' }, insert, copy, target);
}
