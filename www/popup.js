// The toolbar popup: the state of the vault first (new, locked, unlocked), then the
// search field and the conversations. Opened in a tab it behaves the same: it never
// closes or redirects itself.

import { el, show, send, siteName, formatDate, plural, openVaultPage, carryControls, pathLines } from './ui.js';
import { ADAPTERS } from '../extension/sites/index.js';
import { unlockedHint } from '../extension/session-hint.js';

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

/** A snippet with its matched ranges marked; text only ever goes in as text. */
function snippetNode(snippet, ranges) {
  const out = el('span', { class: 'snippet' });
  let at = 0;
  for (const [start, end] of ranges ?? []) {
    if (start < at || end > snippet.length || start >= end) continue;
    out.append(document.createTextNode(snippet.slice(at, start)), el('mark', {}, snippet.slice(start, end)));
    at = end;
  }
  out.append(document.createTextNode(snippet.slice(at)));
  return out;
}

/** Marks a result its words did not match: found by the meaning of the query only. */
function meaningBadge() {
  const badge = el('span', { class: 'by-meaning', title: 'The words you typed are not in this chat: it was found by their meaning' });
  badge.textContent = 'by meaning';
  return badge;
}

/** One result; `id` is the conversation's vault id (what conversation.get takes). */
function optionFor(c, i, id, hit) {
  return el('li', {
    role: 'option', id: `result-${i}`, 'aria-selected': i === 0 ? 'true' : 'false', 'data-id': id,
  },
  el('span', { class: `site site-${c.site}` }, siteName(c.site)),
  el('span', { class: 'title' }, c.title || 'Untitled'),
  el('span', { class: 'muted' }, formatDate(c.updatedAt)),
  hit ? snippetNode(hit.snippet, hit.ranges) : null,
  hit?.byMeaning ? meaningBadge() : null);
}

/** The vault's size in the header. */
function showCounts(status) {
  statusLine.textContent = `${plural(status.conversations, 'conversation', 'conversations')}, ${plural(status.messages, 'message', 'messages')}`;
  if (status.meaning) statusLine.textContent += ` · preparing search by meaning ${Math.floor((100 * status.meaning.done) / status.meaning.total)}%`;
}

/** The search field and the recent conversations (the counts come with the vault's status). */
function renderUnlocked() {
  statusLine.textContent = '';
  const search = el('input', { type: 'search', id: 'search', 'aria-label': 'Search your chats', placeholder: 'Search your chats', autocomplete: 'off', 'aria-controls': 'results', 'aria-autocomplete': 'list', role: 'combobox', 'aria-expanded': 'true' });
  const results = el('ul', { id: 'results', role: 'listbox', 'aria-label': 'Conversations' });
  const info = el('p', { id: 'search-info', class: 'muted', 'aria-live': 'polite' });
  const outcome = el('p', { id: 'carry-outcome', class: 'muted', 'aria-live': 'polite' });
  const options = () => [...results.querySelectorAll('[role=option]')];
  const selected = () => results.querySelector('[role=option][aria-selected=true]');
  const selectedId = () => selected()?.dataset.id ?? null;
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  const select = (option) => {
    for (const o of options()) o.setAttribute('aria-selected', o === option ? 'true' : 'false');
    if (option) {
      search.setAttribute('aria-activedescendant', option.id);
      option.scrollIntoView({ block: 'nearest' });
    }
  };
  const carry = carryControls(selectedId, report, ADAPTERS.map((a) => a.site));
  show(main,
    search, info, results, carry, outcome,
    el('p', { class: 'muted keys' }, '↑↓ choose · Enter open · Ctrl+Enter insert into chat · Alt+C copy · Alt+N continue in…'),
    el('footer', { class: 'row' },
      el('button', { id: 'open-vault', onclick: () => openVaultPage() }, 'Open vault'),
      el('button', { id: 'lock', onclick: async () => { await send({ type: 'vault.lock' }); render(); } }, 'Lock')));
  results.addEventListener('click', (event) => {
    const option = event.target.closest('[role=option]');
    if (option) select(option);
  });
  results.addEventListener('dblclick', (event) => {
    const option = event.target.closest('[role=option]');
    if (option) openVaultPage(`#${option.dataset.id}`);
  });
  search.addEventListener('keydown', (event) => {
    const all = options();
    const index = all.indexOf(selected());
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = all[Math.max(0, Math.min(all.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)))];
      if (next) select(next);
    } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      carry.querySelector('.insert').click();
    } else if (event.key === 'Enter' && selected()) {
      event.preventDefault();
      openVaultPage(`#${selectedId()}`);
    } else if (event.altKey && event.key.toLowerCase() === 'c') {
      event.preventDefault();
      carry.querySelector('.copy').click();
    } else if (event.altKey && event.key.toLowerCase() === 'n') {
      event.preventDefault();
      carry.querySelector('select').focus();
    }
  });

  let recent = null;
  let asked = 0;
  const showRecent = async () => {
    const mine = asked;
    recent ??= await send({ type: 'conversation.list', limit: 20 });
    // The person may have typed while the list loaded: their results win.
    if (mine !== asked || search.value.trim() !== '') return;
    if (!recent.ok) return show(results, errorLine(recent));
    info.textContent = '';
    if (recent.conversations.length === 0) {
      return show(results, el('li', { class: 'muted empty' }, 'Nothing saved yet. Chats you have on AI sites will appear here.'));
    }
    show(results, recent.conversations.slice(0, 20).map((c, i) => optionFor(c, i, c.id)));
    select(options()[0]);
  };
  const run = async () => {
    const query = search.value;
    const mine = ++asked;
    if (query.trim() === '') return showRecent();
    performance.mark('tk:query'); // names only: bench/search/popup.mjs reads these
    const reply = await send({ type: 'search', query, limit: 20 });
    if (mine !== asked) return; // a newer query is on its way
    if (!reply.ok) {
      info.textContent = reply.error.message;
      return show(results);
    }
    info.textContent = reply.hint ?? (reply.total === 0 ? '' : `${plural(reply.total, 'match', 'matches')} · ${reply.tookMs < 1 ? '<1' : Math.round(reply.tookMs)} ms`);
    if (reply.results.length === 0) {
      return show(results, el('li', { class: 'muted empty' }, `No results for “${query.trim().slice(0, 80)}”.`));
    }
    show(results, reply.results.map((r, i) => optionFor(r, i, r.conversationId, r.hits?.[0])));
    select(options()[0]);
    performance.mark('tk:results');
  };
  search.addEventListener('input', run);
  search.focus();
  performance.mark('tk:ready');
  showRecent();
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
    const thread = reply.paths?.[a.site]?.thread;
    return el('label', { class: 'site-switch' }, box, siteName(a.site),
      problem ? el('span', { class: 'error', title: 'Threadkeeper could not read this site\'s chats' }, ' · needs attention') : null,
      !problem && thread?.failure ? el('span', { class: 'muted thread-failure', title: pathLines(a.site, { thread })[0].text }, ' · page only') : null);
  });
  const degraded = Object.keys(health);
  const pageOnly = ADAPTERS.map((a) => a.site).filter((site) => !health[site] && reply.paths?.[site]?.thread?.failure);
  return el('details', { id: 'capture-settings', open: degraded.length > 0 || settings.paused },
    el('summary', {}, settings.paused ? 'Capture is paused' : 'Capture',
      degraded.length ? el('span', { class: 'error' }, ` · ${degraded.map(siteName).join(', ')} needs attention`) : null,
      pageOnly.length ? el('span', { class: 'muted', id: 'page-only' }, ` · ${pageOnly.map(siteName).join(', ')}: what the page shows only`) : null),
    el('label', {}, pause, 'Pause all capture'),
    el('div', { class: 'sites' }, sites));
}

async function render() {
  performance.mark('tk:popup-script'); // names only: bench/search/popup.mjs reads these
  // The first message starts a stopped worker, which then loads the core and opens the
  // vault (100 ms or more); meanwhile, when the session says the vault is unlocked, the
  // search field shows at once and what the person types waits in the worker's queue.
  // The worker's answer decides: a vault found locked replaces the field.
  const asked = send({ type: 'vault.status' });
  const early = await unlockedHint();
  // The worker loads what every search reads first (queued after the popup's first
  // messages), while the person types.
  if (early) {
    renderUnlocked();
    send({ type: 'search', warm: true });
  }
  const status = await asked;
  if (!status.ok) {
    statusLine.textContent = '';
    return show(main, errorLine(status));
  }
  if (status.state === 'new') return renderNew();
  if (status.state === 'locked') renderLocked();
  else if (!early) renderUnlocked();
  if (status.state === 'unlocked') showCounts(status);
  const controls = captureControls();
  if (status.state === 'unlocked' && !early) send({ type: 'search', warm: true });
  const ready = await controls;
  if (ready) main.append(ready);
}

render();
