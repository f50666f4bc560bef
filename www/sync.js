// The vault page's Sync panel: the folder's address, user name and app password, "Set
// up" (this vault) or, on a browser without a vault, "Join" (with the vault's
// passphrase: see renderJoin in vault.js's onboarding), "Sync now", where it stands,
// compaction (when the last snapshot was made, how many change files wait), the devices
// (names and last seen), "Leave sync". A server on another origin than this computer is asked for as
// an optional host permission on the person's click. Text only through textContent.

import { el, show, send, formatDate, plural } from './ui.js';
import { ext } from '../extension/shim.js';

const POLL_MS = 3000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Asks the browser for the server's origin unless it is this computer (needs the
 * person's click). Gives null when allowed, else the words of why not.
 */
export async function allowServer(address) {
  let url;
  try {
    url = new URL(address);
  } catch {
    return 'The server address is not a web address (it starts with https://).';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'The server address must start with https://.';
  if (LOOPBACK.has(url.hostname)) return null;
  const granted = await ext.permissions.request({ origins: [`${url.protocol}//${url.hostname}/*`] }).catch(() => false);
  return granted ? null : `The browser did not allow Threadkeeper to reach ${url.host}, so sync is not set up.`;
}

function serverFields(prefix) {
  const url = el('input', { type: 'url', id: `${prefix}-url`, placeholder: 'https://cloud.example.com/remote.php/dav/files/you/Threadkeeper/', autocomplete: 'url', required: true });
  const user = el('input', { type: 'text', id: `${prefix}-username`, autocomplete: 'username', required: true });
  const pass = el('input', { type: 'password', id: `${prefix}-password`, autocomplete: 'current-password', required: true });
  return {
    url, user, pass,
    nodes: [
      el('label', { for: `${prefix}-url` }, 'WebDAV folder address'), url,
      el('label', { for: `${prefix}-username` }, 'User name'), user,
      el('label', { for: `${prefix}-password` }, 'App password'), pass,
    ],
  };
}

function stateLine(s) {
  if (!s.configured) return 'Sync is off: this vault stays on this computer only.';
  const when = s.lastSync ? `last synced ${formatDate(s.lastSync)}` : 'not synced yet';
  const moved = s.lastSync ? ` (${plural(s.pushed, 'conversation', 'conversations')} sent, ${plural(s.pulled, 'conversation', 'conversations')} received)` : '';
  const waiting = s.waiting ? `; ${plural(s.waiting, 'change waits', 'changes wait')} to be sent` : '';
  return `Syncing with ${s.url ?? 'your folder'} as ${s.label ?? 'this device'}: ${when}${moved}${waiting}.`;
}

function compactionLine(s) {
  const c = s.compaction;
  if (!s.configured || !c) return '';
  const made = c.snapshotAt ? `the last snapshot was made ${formatDate(c.snapshotAt)}` : 'no snapshot yet';
  return `Compaction: ${made}; ${plural(c.changeFiles, 'change file waits', 'change files wait')} (a snapshot replaces them past ${c.after}).`;
}

function deviceItem(d) {
  const seen = d.lastSeen ? ` · last seen ${formatDate(d.lastSeen)}` : '';
  return el('li', { class: 'sync-device' }, d.label, d.own ? ' (this browser)' : '', seen, ` · ${plural(d.head, 'change', 'changes')} sent`);
}

/** The panel of an unlocked vault. */
export function syncPanel() {
  const outcome = el('p', { id: 'sync-outcome', 'aria-live': 'polite' });
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  const state = el('p', { id: 'sync-state', class: 'muted' });
  const compaction = el('p', { id: 'sync-compaction', class: 'muted' });
  const error = el('p', { id: 'sync-error', class: 'error', role: 'alert', hidden: true });
  const devices = el('ul', { id: 'sync-devices' });
  const fields = serverFields('sync');
  const setUp = el('button', { id: 'sync-setup', class: 'primary', onclick: async () => {
    if (!fields.url.value || !fields.user.value || !fields.pass.value) return report('Fill in the address, the user name and the app password.', true);
    setUp.disabled = true;
    try {
      const refused = await allowServer(fields.url.value);
      if (refused) return report(refused, true);
      const reply = await send({ type: 'sync.configure', url: fields.url.value, username: fields.user.value, password: fields.pass.value });
      if (!reply.ok) return report(reply.error.message, true);
      fields.pass.value = '';
      report('Sync is set up. Your conversations are being sent, encrypted.', false);
      refresh();
    } finally {
      setUp.disabled = false;
    }
  } }, 'Set up sync');
  const form = el('div', { id: 'sync-form', class: 'stack' }, fields.nodes, setUp);
  const now = el('button', { id: 'sync-now', onclick: async () => {
    now.disabled = true;
    const reply = await send({ type: 'sync.now' });
    now.disabled = false;
    report(reply.ok ? `Synced: ${plural(reply.pushed, 'conversation', 'conversations')} sent, ${plural(reply.pulled, 'conversation', 'conversations')} received.` : reply.error.message, !reply.ok);
    refresh();
  } }, 'Sync now');
  const leave = el('button', { id: 'sync-leave', class: 'danger', onclick: async () => {
    if (leave.dataset.armed !== 'true') {
      leave.dataset.armed = 'true';
      leave.textContent = 'Leave sync?';
      return report('Press again to stop syncing on this browser. Every conversation stays here; this browser is removed from the folder\'s device list.', true);
    }
    delete leave.dataset.armed;
    leave.textContent = 'Leave sync';
    const reply = await send({ type: 'sync.leave' });
    const folder = reply.removedFromServer ? ' It is no longer listed in the sync folder.' : ' The sync folder could not be reached: it still lists this browser until you remove it there.';
    report(reply.ok ? `Sync is off on this browser. Your conversations are still here.${folder}` : reply.error.message, !reply.ok);
    refresh();
  } }, 'Leave sync');
  const actions = el('div', { id: 'sync-actions', class: 'row' }, now, leave);
  const panel = el('details', { id: 'sync-panel', class: 'panel', open: location.hash === '#sync' },
    el('summary', {}, 'Sync'),
    el('div', { class: 'stack' },
      el('p', { class: 'muted', id: 'sync-explained' }, 'Keep this vault in step with your other browsers through a WebDAV folder you own (Nextcloud, ownCloud, a NAS, rclone). Everything is encrypted here before it leaves: the server sees only opaque files, never a title, a message or a key. Another browser joins with the folder\'s address, the app password and your vault\'s passphrase.'),
      state, compaction, error, form, actions, el('h3', {}, 'Devices'), devices),
    outcome);
  async function refresh() {
    if (!panel.isConnected && refreshed) return;
    refreshed = true;
    const s = await send({ type: 'sync.status' });
    if (!s.ok) return report(s.error.message, true);
    state.textContent = stateLine(s);
    compaction.textContent = compactionLine(s);
    compaction.hidden = !compaction.textContent;
    error.hidden = !s.error;
    error.textContent = s.error ? `The last sync failed: ${s.error}` : '';
    form.hidden = s.configured;
    actions.hidden = !s.configured;
    show(devices, s.configured && s.devices.length
      ? s.devices.map(deviceItem)
      : el('li', { class: 'muted' }, s.configured ? 'Known after the first sync.' : 'None.'));
  }
  let refreshed = false;
  refresh();
  const timer = setInterval(() => (panel.isConnected ? refresh() : clearInterval(timer)), POLL_MS);
  return panel;
}

/** Joining from a browser without a vault: part of the first-run page. */
export function joinForm(onJoined) {
  const outcome = el('p', { id: 'join-outcome', 'aria-live': 'polite' });
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  const fields = serverFields('join');
  const passphrase = el('input', { type: 'password', id: 'join-passphrase', autocomplete: 'current-password', required: true });
  const button = el('button', { type: 'submit', id: 'join-button', class: 'primary' }, 'Join');
  return el('form', { id: 'join-form', class: 'stack card', onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const refused = await allowServer(fields.url.value);
      if (refused) return report(refused, true);
      report('Joining…', false);
      const reply = await send({ type: 'sync.join', url: fields.url.value, username: fields.user.value, password: fields.pass.value, passphrase: passphrase.value });
      if (!reply.ok) {
        passphrase.select();
        return report(reply.error.message, true);
      }
      onJoined();
    } finally {
      button.disabled = false;
    }
  } },
  el('h2', {}, 'Or join a vault you sync'),
  el('p', { class: 'muted' }, 'Already use Threadkeeper with sync in another browser? Enter the same folder and your vault\'s passphrase: the vault comes here, encrypted as it is there.'),
  fields.nodes,
  el('label', { for: 'join-passphrase' }, 'Your vault\'s passphrase'), passphrase,
  button, outcome);
}
