// The vault page's Agents panel: turning agents on (the browser asks for the native
// messaging permission on that click), the question for an agent that waits, each
// agent's scope and revoking it, and the log of what agents asked. Text only through
// textContent (ui.js): an agent's name and queries are not markup.

import { el, show, send, siteName, formatDate } from './ui.js';
import { ext } from '../extension/shim.js';

const POLL_MS = 1500;

const label = (site) => (site === 'agent' ? 'Notes from agents' : siteName(site));

function bridgeLine(s) {
  if (!s.enabled) return 'Agents are off: no local app can reach your vault.';
  if (s.bridge.connected) return 'On: agents you allow can search and read your vault while it is unlocked.';
  return `On, but the bridge is not connected: ${s.bridge.error ?? 'starting…'}`;
}

function question(w, report) {
  const decide = (allow, remember) => async () => {
    const reply = await send({ type: 'agents.decide', client: w.client, allow, ...(remember === undefined ? {} : { remember }) });
    report(reply.ok ? `${w.client}: ${allow === 'deny' ? 'denied' : 'allowed'}.` : reply.error.message, !reply.ok);
  };
  return el('li', { class: 'agent-question', 'data-client': w.client },
    el('p', {}, el('strong', {}, w.client), ` wants to use your vault (${w.tool}).`),
    el('div', { class: 'row' },
      el('button', { class: 'allow-once', onclick: decide('once') }, 'Allow once'),
      el('button', { class: 'allow-always', onclick: decide('always', false) }, 'Always allow (read only)'),
      el('button', { class: 'allow-remember', onclick: decide('always', true) }, 'Always allow, and let it save notes'),
      el('button', { class: 'deny danger', onclick: decide('deny') }, 'Deny')));
}

function clientRow(c, sites, report) {
  const decision = c.decision;
  const scopeSites = c.scope.sites ?? sites;
  const boxes = sites.map((site) => {
    const box = el('input', { type: 'checkbox', 'data-site': site, checked: scopeSites.includes(site) });
    box.addEventListener('change', async () => {
      const chosen = [...row.querySelectorAll('input[data-site]')].filter((b) => b.checked).map((b) => b.dataset.site);
      const reply = await send({ type: 'agents.decide', client: c.name, allow: decision, sites: chosen.length === sites.length ? null : chosen });
      report(reply.ok ? 'Saved.' : reply.error.message, !reply.ok);
    });
    return el('label', {}, box, label(site));
  });
  const remember = el('input', { type: 'checkbox', class: 'may-remember', checked: c.scope.remember });
  remember.addEventListener('change', async () => {
    const reply = await send({ type: 'agents.decide', client: c.name, allow: decision, remember: remember.checked });
    report(reply.ok ? 'Saved.' : reply.error.message, !reply.ok);
  });
  const row = el('li', { class: 'agent-client', 'data-client': c.name },
    el('p', {}, el('strong', {}, c.name), ` · ${c.allowed ? 'allowed' : 'denied'}`, c.lastSeen ? ` · last seen ${formatDate(c.lastSeen)}` : ''),
    c.allowed ? el('div', { class: 'sites' }, ...boxes) : null,
    c.allowed ? el('label', {}, remember, 'May save notes (remember)') : null,
    el('button', { class: 'revoke', onclick: async () => {
      const reply = await send({ type: 'agents.revoke', client: c.name });
      report(reply.ok ? `${c.name} must ask again.` : reply.error.message, !reply.ok);
    } }, 'Revoke'));
  return row;
}

function logTable(log) {
  if (log.length === 0) return el('p', { class: 'muted' }, 'No agent has asked anything in this browser session.');
  return el('table', { id: 'agents-log' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Agent'), el('th', {}, 'Tool'), el('th', {}, 'Asked'), el('th', {}, 'Outcome'))),
    el('tbody', {}, log.map((e) => el('tr', {},
      el('td', {}, formatDate(e.at)), el('td', {}, e.client), el('td', {}, e.tool), el('td', {}, e.query), el('td', {}, e.outcome)))));
}

/** The panel; it reads the state again every POLL_MS while it is on the page. */
export function agentsPanel() {
  const outcome = el('p', { id: 'agents-outcome', 'aria-live': 'polite' });
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  const enabled = el('input', { type: 'checkbox', id: 'agents-enabled' });
  const state = el('p', { id: 'agents-state', class: 'muted' });
  const questions = el('ul', { id: 'agents-questions' });
  const clients = el('ul', { id: 'agents-clients' });
  const log = el('div', { id: 'agents-log-box' });
  enabled.addEventListener('change', async () => {
    if (enabled.checked) {
      // The browser asks the person here (it needs this click): agents cannot start otherwise.
      const granted = await ext.permissions.request({ permissions: ['nativeMessaging'] }).catch(() => false);
      if (!granted) {
        enabled.checked = false;
        return report('The browser did not allow Threadkeeper to talk to its bridge, so agents stay off.', true);
      }
    }
    const reply = await send({ type: 'agents.enable', enabled: enabled.checked });
    if (!reply.ok) {
      enabled.checked = !enabled.checked;
      return report(reply.error.message, true);
    }
    report(enabled.checked ? 'Agents are on.' : 'Agents are off.', false);
    refresh();
  });
  const panel = el('details', { id: 'agents-panel', class: 'panel', open: location.hash === '#agents' },
    el('summary', {}, 'Agents'),
    el('div', { class: 'stack' },
      el('p', { class: 'muted', id: 'agents-explained' }, 'Local AI apps (Claude Desktop, Claude Code, Cursor, any MCP client) can search your saved chats and read one as context, through Threadkeeper\'s bridge on this computer. Each app asks you first; nothing leaves this computer, the bridge holds no key, and a locked vault answers nothing. Set up: run `make install-bridge`, then add the server the command prints to your app.'),
      el('label', {}, enabled, 'Let local agents use my vault'),
      state, questions, el('h3', {}, 'Agents'), clients, el('h3', {}, 'What agents asked (this browser session)'), log),
    outcome);
  async function refresh() {
    if (!panel.isConnected) return;
    const s = await send({ type: 'agents.status' });
    if (!s.ok) return report(s.error.message, true);
    enabled.checked = s.enabled;
    state.textContent = bridgeLine(s);
    show(questions, s.waiting.map((w) => question(w, (t, b) => { report(t, b); refresh(); })));
    if (s.waiting.length) panel.open = true;
    const focused = clients.contains(document.activeElement);
    const decided = s.clients.filter((c) => c.decision !== 'waiting');
    if (!focused) show(clients, decided.length ? decided.map((c) => clientRow(c, s.sites, (t, b) => { report(t, b); refresh(); })) : el('li', { class: 'muted' }, 'No agent has asked yet.'));
    show(log, logTable(s.log));
  }
  refresh();
  const timer = setInterval(() => (panel.isConnected ? refresh() : clearInterval(timer)), POLL_MS);
  return panel;
}
