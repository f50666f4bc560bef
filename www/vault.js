// The vault page: first-run onboarding, unlock, the list of conversations and a
// transcript view. All captured text is shown through textContent.

import { el, show, send, siteName, formatDate, plural, carryControls, pathLines } from './ui.js';
import { ADAPTERS } from '../extension/sites/index.js';
import { exportArchive, importFile, describeImport, saveFile, datedName, fileLimits } from './files.js';
import { agentsPanel } from './agents.js';
import { syncPanel, joinForm } from './sync.js';

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const headerActions = document.getElementById('header-actions');

function errorLine(reply) {
  return el('p', { class: 'error', role: 'alert' }, reply.error?.message ?? 'Something went wrong.');
}

function passwordField(id, label, autocomplete) {
  return [
    el('label', { for: id }, label),
    el('input', { type: 'password', id, autocomplete, required: true }),
  ];
}

function renderOnboarding() {
  statusLine.textContent = 'Welcome';
  show(headerActions);
  const meter = el('meter', { id: 'strength-meter', min: '0', max: '4', value: '0', 'aria-label': 'Passphrase strength' });
  const hint = el('p', { id: 'strength-hint', class: 'muted', 'aria-live': 'polite' }, 'Use a few unrelated words: long beats clever.');
  const message = el('div', { id: 'onboarding-error' });
  const [passLabel, pass] = passwordField('new-passphrase', 'Passphrase', 'new-password');
  const [confirmLabel, confirm] = passwordField('confirm-passphrase', 'Type it again', 'new-password');
  let strengthRequest = 0;
  pass.addEventListener('input', async () => {
    const mine = ++strengthRequest;
    const reply = await send({ type: 'passphrase.strength', passphrase: pass.value });
    if (mine !== strengthRequest || !reply.ok) return;
    meter.value = reply.score;
    hint.textContent = reply.hint;
  });
  const button = el('button', { type: 'submit', id: 'create-vault', class: 'primary' }, 'Create my vault');
  const form = el('form', { id: 'onboarding', class: 'stack card', onsubmit: async (event) => {
    event.preventDefault();
    if (pass.value !== confirm.value) {
      show(message, errorLine({ error: { message: 'The two passphrases differ. Type the same one twice.' } }));
      confirm.select();
      return;
    }
    button.disabled = true;
    button.textContent = 'Creating…';
    const reply = await send({ type: 'vault.create', passphrase: pass.value });
    button.disabled = false;
    button.textContent = 'Create my vault';
    if (!reply.ok) return show(message, errorLine(reply));
    render();
  } },
  el('h1', {}, 'Set up your vault'),
  el('p', {}, 'Threadkeeper saves your AI chats on this computer, encrypted with a key only your passphrase opens. Nobody, including us, can recover it if you forget it.'),
  passLabel, pass, meter, hint, confirmLabel, confirm, button, message);
  show(main, form, joinForm(render));
  pass.focus();
}

function renderUnlock() {
  statusLine.textContent = 'Locked';
  show(headerActions);
  const message = el('div', { id: 'unlock-error' });
  const [label, pass] = passwordField('unlock-passphrase', 'Passphrase', 'current-password');
  const button = el('button', { type: 'submit', id: 'unlock-button', class: 'primary' }, 'Unlock');
  const form = el('form', { id: 'unlock-form', class: 'stack card', onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    const reply = await send({ type: 'vault.unlock', passphrase: pass.value });
    button.disabled = false;
    if (!reply.ok) {
      pass.select();
      return show(message, errorLine(reply));
    }
    render();
  } }, el('h1', {}, 'Unlock your vault'), label, pass, button, message);
  show(main, form);
  pass.focus();
}

function transcriptView(conversation) {
  const outcome = el('p', { id: 'carry-outcome', class: 'muted', 'aria-live': 'polite' });
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  return el('article', { id: 'transcript', 'aria-label': 'Transcript' },
    el('header', {},
      el('h2', {}, conversation.title || 'Untitled'),
      carryControls(() => conversation.id, report, ADAPTERS.map((a) => a.site)),
      transcriptFileActions(conversation, report),
      outcome,
      el('p', { class: 'muted' },
        `${siteName(conversation.site)} · ${plural(conversation.messages.length, 'message', 'messages')} · ${formatDate(conversation.updatedAt)}`),
      conversation.url ? el('p', { class: 'muted url' }, conversation.url) : null),
    conversation.messages.map((m) => el('section', { class: `message role-${m.role}`, 'data-role': m.role },
      el('h3', {}, m.role, m.streaming ? ' (unfinished)' : '', m.versions?.length ? ` · ${plural(m.versions.length, 'earlier version', 'earlier versions')}` : ''),
      el('div', { class: 'markdown' }, m.markdown))));
}

function slug(text) {
  return (text || 'conversation').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'conversation';
}

function transcriptFileActions(conversation, report) {
  const markdown = el('button', { class: 'save-markdown', onclick: async () => {
    const reply = await send({ type: 'conversation.markdown', id: conversation.id });
    if (!reply.ok) return report(reply.error.message, true);
    saveFile(reply.markdown, `${slug(conversation.title)}.md`, 'text/markdown');
  } }, 'Save as Markdown');
  const json = el('button', { class: 'save-json', onclick: () => {
    saveFile(JSON.stringify(conversation, null, 2), `${slug(conversation.title)}.json`, 'application/json');
  } }, 'Save as JSON');
  const remove = el('button', { class: 'delete', onclick: async () => {
    if (remove.dataset.armed !== 'true') {
      remove.dataset.armed = 'true';
      remove.textContent = 'Delete for good?';
      return report('Press again to delete this conversation from the vault. This cannot be undone.', true);
    }
    const reply = await send({ type: 'conversation.delete', id: conversation.id });
    if (!reply.ok) return report(reply.error.message, true);
    history.replaceState(null, '', '#');
    render();
  } }, 'Delete');
  return el('div', { class: 'row file-actions' }, markdown, json, remove);
}

/** Export the vault to an encrypted file; import an archive or an official export. */
function filesPanel() {
  const outcome = el('p', { id: 'files-outcome', 'aria-live': 'polite' });
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  const exportPass = el('input', { type: 'password', id: 'export-passphrase', autocomplete: 'new-password' });
  const exportConfirm = el('input', { type: 'password', id: 'export-confirm', autocomplete: 'new-password' });
  const exportProgress = el('progress', { id: 'export-progress', max: '1', value: '0', hidden: true });
  const exportButton = el('button', { id: 'export-button', class: 'primary', onclick: async () => {
    const { minPassphraseChars } = await fileLimits(); // vault::MIN_PASSPHRASE_CHARS
    if (exportPass.value.length < minPassphraseChars) return report(`Choose a passphrase of at least ${minPassphraseChars} characters for the file.`, true);
    if (exportPass.value !== exportConfirm.value) return report('The two passphrases differ. Type the same one twice.', true);
    exportButton.disabled = true;
    exportProgress.hidden = false;
    try {
      const result = await exportArchive(exportPass.value, (p) => { exportProgress.value = p; });
      saveFile(result.blob, datedName('threadkeeper', 'tkarchive'));
      const left = result.skipped ? ` ${result.skipped} damaged ${result.skipped === 1 ? 'conversation could' : 'conversations could'} not be read and ${result.skipped === 1 ? 'was' : 'were'} left out; the others are safe.` : '';
      report(`Saved ${result.conversations} conversations, ${result.messages} messages, encrypted with the file's passphrase.${left}`, false);
    } catch (err) {
      report(err.message, true);
    } finally {
      exportButton.disabled = false;
    }
  } }, 'Export encrypted file');
  const file = el('input', { type: 'file', id: 'import-file', accept: '.tkarchive,.json,.zip,application/json,application/zip' });
  const importPass = el('input', { type: 'password', id: 'import-passphrase', autocomplete: 'off', placeholder: 'only for Threadkeeper files' });
  const importProgress = el('progress', { id: 'import-progress', max: '1', value: '0', hidden: true });
  const importButton = el('button', { id: 'import-button', class: 'primary', onclick: async () => {
    const chosen = file.files?.[0];
    if (!chosen) return report('Choose a file first.', true);
    importButton.disabled = true;
    importProgress.hidden = false;
    importProgress.value = 0;
    try {
      const result = await importFile(chosen, importPass.value, (p) => { importProgress.value = p; });
      report(describeImport(result), false);
      renderListOnly();
    } catch (err) {
      report(err.message, true);
    } finally {
      importButton.disabled = false;
    }
  } }, 'Import');
  return el('details', { id: 'files-panel', class: 'panel' },
    el('summary', {}, 'Export and import'),
    el('div', { class: 'stack' },
      el('h3', {}, 'Export everything'),
      el('p', { class: 'muted' }, 'One encrypted file with every conversation, to move to another browser or keep as a backup. Its passphrase may differ from the vault\'s.'),
      el('label', { for: 'export-passphrase' }, 'Passphrase for the file'), exportPass,
      el('label', { for: 'export-confirm' }, 'Type it again'), exportConfirm,
      exportButton, exportProgress,
      el('h3', {}, 'Import'),
      el('p', { class: 'muted' }, 'A Threadkeeper file, or the conversations.json (or .zip) from ChatGPT\'s or Claude\'s data export. Nothing is changed unless the whole file reads correctly.'),
      file,
      el('label', { for: 'import-passphrase' }, 'Passphrase of the file'), importPass,
      importButton, importProgress),
    outcome);
}

let renderListOnly = () => {};

async function openTranscript(id, pane) {
  const reply = await send({ type: 'conversation.get', id });
  if (!reply.ok) return show(pane, errorLine(reply));
  show(pane, transcriptView(reply.conversation));
  for (const item of document.querySelectorAll('#conversation-list [data-id]')) {
    item.setAttribute('aria-current', item.dataset.id === id ? 'true' : 'false');
  }
}

async function renderVault(status) {
  statusLine.textContent = `${plural(status.conversations, 'conversation', 'conversations')}, ${plural(status.messages, 'message', 'messages')}`;
  show(headerActions, el('button', { id: 'lock', onclick: async () => { await send({ type: 'vault.lock' }); render(); } }, 'Lock'));
  const list = el('ul', { id: 'conversation-list', 'aria-label': 'Conversations' });
  const pane = el('div', { id: 'transcript-pane' }, el('p', { class: 'muted' }, 'Choose a conversation to read it.'));
  const notices = el('div', { id: 'notices' });
  show(main, notices, filesPanel(), securityPanel(), agentsPanel(), syncPanel(), el('div', { class: 'columns' }, el('nav', {}, list), pane));
  showHealth(notices);
  renderListOnly = () => fillList(list, pane);
  await fillList(list, pane);
}

/** The month heading a conversation's date falls under ("November 2026"). */
function monthOf(ms) {
  return new Date(ms || 0).toLocaleDateString(undefined, { year: 'numeric', month: 'long' });
}

let siteFilter = '';

async function fillList(list, pane) {
  const reply = await send({ type: 'conversation.list' });
  if (!reply.ok) return show(list, errorLine(reply));
  const sites = [...new Set(reply.conversations.map((c) => c.site))].sort();
  const filter = el('select', { id: 'site-filter', 'aria-label': 'Show conversations from' },
    el('option', { value: '' }, 'All sites'), sites.map((s) => el('option', { value: s }, siteName(s))));
  filter.value = sites.includes(siteFilter) ? siteFilter : '';
  filter.addEventListener('change', () => { siteFilter = filter.value; fillList(list, pane); });
  const items = [el('li', { class: 'filter' }, filter)];
  let month = null;
  for (const c of reply.conversations.filter((c) => !filter.value || c.site === filter.value)) {
    if (monthOf(c.updatedAt) !== month) {
      month = monthOf(c.updatedAt);
      items.push(el('li', { class: 'month', role: 'presentation' }, month));
    }
    items.push(el('li', { 'data-id': c.id, 'data-site': c.site },
      el('button', { class: 'conversation', onclick: () => { history.replaceState(null, '', `#${c.id}`); openTranscript(c.id, pane); } },
        el('span', { class: 'title' }, c.title || 'Untitled'),
        el('span', { class: 'muted' }, `${siteName(c.site)} · ${plural(c.messageCount, 'message', 'messages')} · ${formatDate(c.updatedAt)}`))));
  }
  if (reply.damaged > 0) {
    items.unshift(el('li', { class: 'error' }, `${plural(reply.damaged, 'record', 'records')} could not be opened (damaged or changed). The others are safe.`));
  }
  show(list, reply.conversations.length ? items : el('li', { class: 'muted' }, 'Nothing saved yet.'));
  const wanted = location.hash.slice(1);
  if (wanted && reply.conversations.some((c) => c.id === wanted)) openTranscript(wanted, pane);
}

/** One line per site whose capture is degraded, naming the site and since when. */
async function showHealth(into) {
  const reply = await send({ type: 'settings.get' });
  if (!reply.ok) return;
  const lines = Object.entries(reply.health).map(([site, h]) => el('p', { class: 'error health', role: 'status', 'data-site': site },
    h.status === 'no_turns'
      ? `${siteName(site)}: no messages could be read on a conversation page since ${formatDate(h.at)}. The site may have changed; capture resumes by itself when it works again.`
      : h.status === 'save_failed'
        ? `${siteName(site)}: captured messages could not be saved since ${formatDate(h.at)} (${h.detail ?? 'storage error'}). The tab keeps them and tries again.`
        : `${siteName(site)}: Threadkeeper could not tell who wrote which message since ${formatDate(h.at)}. Capture resumes by itself when it works again.`));
  // Per site, which way of capturing worked and when; a failed read of the site's data.
  const paths = Object.entries(reply.paths ?? {}).flatMap(([site, entry]) => pathLines(site, entry).map((line) =>
    el('p', { class: line.bad ? 'error capture-path' : 'muted capture-path', 'data-site': site, 'data-path': line.text.includes('from the page') ? 'page' : 'thread' }, line.text)));
  show(into, [...lines, ...paths]);
}

/** Waits for `pending` (a re-encryption), showing its progress in `bar` meanwhile. */
async function withProgress(pending, bar) {
  bar.hidden = false;
  bar.value = 0;
  const weights = { opening: [0, 0.45], indexing: [0.45, 0.15], sealing: [0.6, 0.3], writing: [0.9, 0.1] };
  const timer = setInterval(async () => {
    const reply = await send({ type: 'vault.reencryptProgress' });
    const p = reply.ok ? reply.progress : null;
    if (p && weights[p.phase]) bar.value = weights[p.phase][0] + weights[p.phase][1] * p.at;
  }, 200);
  try {
    return await pending;
  } finally {
    clearInterval(timer);
    bar.value = 1;
    bar.hidden = true;
  }
}

/** Passphrase change, restore budget, wipe. */
function securityPanel() {
  const outcome = el('p', { id: 'security-outcome', 'aria-live': 'polite' });
  const report = (text, bad) => { outcome.textContent = text; outcome.className = bad ? 'error' : 'muted'; };
  const [oldLabel, oldPass] = passwordField('old-passphrase', 'Current passphrase', 'current-password');
  const [newLabel, newPass] = passwordField('changed-passphrase', 'New passphrase', 'new-password');
  const [againLabel, again] = passwordField('changed-confirm', 'Type it again', 'new-password');
  const rekey = el('input', { type: 'checkbox', id: 'reencrypt' });
  const rekeyProgress = el('progress', { id: 'reencrypt-progress', max: '1', value: '0', hidden: true });
  const change = el('button', { id: 'change-passphrase', onclick: async () => {
    if (newPass.value !== again.value) return report('The two new passphrases differ.', true);
    change.disabled = true;
    const message = { oldPassphrase: oldPass.value, newPassphrase: newPass.value };
    const reply = rekey.checked
      ? await withProgress(send({ type: 'vault.reencrypt', ...message }), rekeyProgress)
      : await send({ type: 'vault.changePassphrase', ...message });
    change.disabled = false;
    if (!reply.ok) return report(reply.error.message, true);
    for (const input of [oldPass, newPass, again]) input.value = '';
    if (!rekey.checked) return report('Passphrase changed. Your conversations did not need to be re-encrypted.', false);
    const skipped = reply.skipped ? ` ${reply.skipped} damaged record${reply.skipped === 1 ? '' : 's'} could not be read with the old key and ${reply.skipped === 1 ? 'was' : 'were'} left out.` : '';
    await render();
    const outcomeNow = document.getElementById('security-outcome');
    if (outcomeNow) {
      outcomeNow.textContent = `Passphrase changed and everything re-encrypted with a new key: ${reply.conversations} conversations, ${reply.messages} messages.${skipped}`;
      outcomeNow.className = reply.skipped ? 'error' : 'muted';
      outcomeNow.closest('details')?.setAttribute('open', '');
    }
  } }, 'Change passphrase');
  const autoLock = el('select', { id: 'auto-lock' },
    [[1, '1 minute'], [5, '5 minutes'], [15, '15 minutes'], [30, '30 minutes'], [60, '1 hour'], [240, '4 hours'], [0, 'Only when the browser closes']]
      .map(([value, label]) => el('option', { value }, label)));
  send({ type: 'settings.get' }).then((r) => { if (r.ok) autoLock.value = String(r.settings.autoLockMinutes); });
  autoLock.addEventListener('change', async () => {
    const reply = await send({ type: 'settings.set', autoLockMinutes: Number(autoLock.value) });
    report(reply.ok ? 'Saved.' : reply.error.message, !reply.ok);
  });
  const stay = el('input', { type: 'checkbox', id: 'stay-unlocked' });
  send({ type: 'settings.get' }).then((r) => { if (r.ok) stay.checked = r.stayUnlocked; });
  stay.addEventListener('change', async () => {
    const reply = await send({ type: 'vault.stayUnlocked', enabled: stay.checked });
    if (!reply.ok) return report(reply.error.message, true);
    stay.checked = reply.stayUnlocked;
    report(reply.stayUnlocked ? 'This browser will open the vault without asking, until you lock it.' : 'The vault locks again when the browser closes.', false);
  });
  const confirm = el('input', { type: 'text', id: 'wipe-confirm', autocomplete: 'off', placeholder: 'erase everything' });
  const wipe = el('button', { id: 'wipe', class: 'danger', onclick: async () => {
    const reply = await send({ type: 'vault.wipe', confirm: confirm.value.trim() });
    if (!reply.ok) return report(reply.error.message, true);
    render();
  } }, 'Erase the vault');
  return el('details', { id: 'security-panel', class: 'panel' },
    el('summary', {}, 'Security'),
    el('div', { class: 'stack' },
      el('label', { for: 'auto-lock' }, 'Lock after this long without using Threadkeeper'), autoLock,
      el('p', { class: 'muted' }, 'The vault also locks when the browser closes: the key is kept in memory only.'),
      el('label', {}, stay, 'Stay unlocked on this device'),
      el('p', { class: 'muted', id: 'stay-unlocked-explained' }, 'Keeps the vault open across browser restarts and idle time, until you press Lock. The key is then kept on this computer\'s disk, in this browser profile, beside what unlocks it: anyone who can use this browser profile, or who copies it (a backup, a lost laptop, malicious software), can open your vault without the passphrase. It only spares you typing the passphrase on a computer nobody else can reach. Leave it off on shared or portable computers.'),
      el('h3', {}, 'Change passphrase'), oldLabel, oldPass, newLabel, newPass, againLabel, again,
      el('label', {}, rekey, 'Also re-encrypt everything with a new key'),
      el('p', { class: 'muted', id: 'reencrypt-explained' }, 'Without it, only the key that unlocks your vault is wrapped again: quick, but a copy of this browser profile taken before the change still opens everything, including what you save later, with the old passphrase. With it, every conversation is sealed again under a new random key and the old passphrase opens nothing saved from now on; it takes a few seconds per 100,000 messages, and capture waits meanwhile. Copies and exports made before still open with the old passphrase.'),
      change, rekeyProgress,
      el('h3', {}, 'Erase the vault'),
      el('p', { class: 'muted' }, 'Deletes every conversation and the keys from this browser. Export first if you want to keep them. Type "erase everything" to confirm.'),
      confirm, wipe),
    outcome);
}

async function render() {
  const status = await send({ type: 'vault.status' });
  if (!status.ok) {
    statusLine.textContent = '';
    show(headerActions);
    return show(main, errorLine(status));
  }
  if (status.state === 'new') return renderOnboarding();
  if (status.state === 'locked') return renderUnlock();
  return renderVault(status);
}

render();

// Locked anywhere else (the popup, the idle timer, another tab): nothing of the vault
// stays on this page. Every lock drops the session key the worker keeps.
(globalThis.browser ?? globalThis.chrome).storage.onChanged.addListener((changes, area) => {
  if (area === 'session' && changes.dataKey && changes.dataKey.newValue === undefined) {
    show(main);
    render();
  }
});
