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

// The sites as people write them: the core's `restore::site_name` (private there; the
// node test tests/node/messages.test.mjs compares both through a restore block).
export const SITE_NAMES = {
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

// Why reading a site's own data failed, in words (settings.js `recordPath`).
const THREAD_FAILURE_WORDS = {
  refused: 'the site refused the request',
  unreachable: 'the site could not be reached',
  too_large: 'the conversation was too large to read at once',
  signed_out: 'you seem to be signed out of the site',
  shape_changed: 'the site changed the shape of its data',
  other_conversation: 'the site answered with another conversation',
  no_turns: 'the site gave no messages',
  moved: 'the tab moved to another conversation while it was read',
};

/**
 * One sentence per capture path of `site` (`paths[site]` from settings.get): which
 * worked and when, and what failed, by kind. Never any content.
 */
export function pathLines(site, entry = {}) {
  const lines = [];
  const { page, thread } = entry;
  if (thread?.failure) {
    const why = THREAD_FAILURE_WORDS[thread.failure] ?? 'an unknown problem';
    const status = thread.status ? ` (HTTP ${thread.status})` : '';
    lines.push({ bad: true, text: `${siteName(site)}: whole conversations could not be read from the site since ${formatDate(thread.failedAt)}: ${why}${status}. The messages the page shows are still saved.` });
  } else if (thread?.okAt) {
    lines.push({ bad: false, text: `${siteName(site)}: whole conversations read from the site, last at ${formatDate(thread.okAt)}.` });
  }
  if (page?.okAt) lines.push({ bad: false, text: `${siteName(site)}: messages read from the page, last at ${formatDate(page.okAt)}.` });
  return lines;
}
