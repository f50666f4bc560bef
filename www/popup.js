// The toolbar popup: the state of the vault first (new, locked, unlocked), then the
// search field and the conversations. Opened in a tab it behaves the same: it never
// closes or redirects itself.

import { el, show, send, siteName, formatDate, plural, openVaultPage, carryControls } from './ui.js';
import { ADAPTERS } from '../extension/sites/index.js';

const main = document.getElementById('main');
const statusLine = document.getElementById('status');

function errorLine(reply) {
  return el('p', { class: 'error', role: 'alert' }, reply.error?.message ?? 'Something went wrong.');
}

function renderNew() {
  statusLine.textContent = 'not set up';
  show(main,
    el('p', {}, 'Threadkeeper keeps your AI chats encrypted on this computer. Set a passphrase to start.'),
    el('button', { id: 'setup', class: 'primary', onclick: () => openVaultPage() }, 'Set up Threadkeeper'));
}

function renderLocked(problem) {
  statusLine.textContent = 'locked';
  const input = el('input', { type: 'password', id: 'unlock-passphrase', autocomplete: 'current-password', 'aria-label': 'Passphrase', placeholder: 'Passphrase', required: true });
  const message = el('div', { id: 'unlock-error' }, problem ? errorLine(problem) : null);
  const form = el('form', { id: 'unlock-form', class: 'stack', onsubmit: async (event) => {
    event.preventDefault();
    form.querySelector('button').disabled = true;
    const reply = await send({ type: 'vault.unlock', passphrase: input.value });
    form.querySelector('button').disabled = false;
    if (reply.ok) return render();
    input.select();
    show(message, errorLine(reply));
  } },
  el('label', { for: 'unlock-passphrase' }, 'Unlock your vault'),
  input,
  el('button', { type: 'submit', class: 'primary' }, 'Unlock'),
  message);
  show(main, form);
  input.focus();
}

async function renderUnlocked(status) {
  statusLine.textContent = `${plural(status.conversations, 'conversation', 'conversations')}, ${plural(status.messages, 'message', 'messages')}`;
  const search = el('input', { type: 'search', id: 'search', 'aria-label': 'Search your chats', placeholder: 'Search your chats', autocomplete: 'off', 'aria-controls': 'results' });
  const results = el('ul', { id: 'results', role: 'listbox', 'aria-label': 'Conversations' });
  const outcome = el('p', { id: 'carry-outcome', class: 'muted', 'aria-live': 'polite' });
  const selectedId = () => results.querySelector('[role=option][aria-selected=true]')?.dataset.id ?? null;
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  show(main,
    search,
    results,
    carryControls(selectedId, report, ADAPTERS.map((a) => a.site)),
    outcome,
    el('footer', { class: 'row' },
      el('button', { id: 'open-vault', onclick: () => openVaultPage() }, 'Open vault'),
      el('button', { id: 'lock', onclick: async () => { await send({ type: 'vault.lock' }); render(); } }, 'Lock')));
  search.focus();
  const list = await send({ type: 'conversation.list' });
  if (!list.ok) return show(results, errorLine(list));
  if (list.conversations.length === 0) {
    return show(results, el('li', { class: 'muted empty' }, 'Nothing saved yet. Chats you have on AI sites will appear here.'));
  }
  const select = (option) => {
    for (const o of results.querySelectorAll('[role=option]')) {
      o.setAttribute('aria-selected', o === option ? 'true' : 'false');
      o.tabIndex = o === option ? 0 : -1;
    }
  };
  show(results, list.conversations.slice(0, 20).map((c, i) => el('li', {
    role: 'option', tabindex: i === 0 ? '0' : '-1', 'aria-selected': i === 0 ? 'true' : 'false',
    'data-id': c.id, onclick: (event) => select(event.currentTarget), ondblclick: () => openVaultPage(`#${c.id}`),
  },
  el('span', { class: 'site' }, siteName(c.site)),
  el('span', { class: 'title' }, c.title || 'Untitled'),
  el('span', { class: 'muted' }, formatDate(c.updatedAt)))));
}

/** Capture switches: a global pause and one switch per site, applied at once. */
async function captureControls() {
  const reply = await send({ type: 'settings.get' });
  if (!reply.ok) return null;
  const { settings, health } = reply;
  const pause = el('input', { type: 'checkbox', id: 'pause-capture', checked: settings.paused });
  pause.addEventListener('change', () => send({ type: 'settings.set', paused: pause.checked }));
  const sites = ADAPTERS.map((a) => {
    const box = el('input', { type: 'checkbox', 'data-site': a.site, checked: !settings.disabledSites.includes(a.site) });
    box.addEventListener('change', () => send({ type: 'settings.set', site: a.site, enabled: box.checked }));
    const problem = health[a.site];
    return el('label', { class: 'site-switch' }, box, siteName(a.site),
      problem ? el('span', { class: 'error', title: 'Threadkeeper could not read this site\'s chats' }, ' · needs attention') : null);
  });
  const degraded = Object.keys(health);
  return el('details', { id: 'capture-settings', open: degraded.length > 0 || settings.paused },
    el('summary', {}, settings.paused ? 'Capture is paused' : 'Capture', degraded.length ? el('span', { class: 'error' }, ` · ${degraded.map(siteName).join(', ')} needs attention`) : null),
    el('label', {}, pause, 'Pause all capture'),
    el('div', { class: 'sites' }, sites));
}

async function render() {
  const status = await send({ type: 'vault.status' });
  if (!status.ok) {
    statusLine.textContent = '';
    return show(main, errorLine(status));
  }
  if (status.state === 'new') return renderNew();
  if (status.state === 'locked') renderLocked();
  else await renderUnlocked(status);
  const controls = await captureControls();
  if (controls) main.append(controls);
}

render();
