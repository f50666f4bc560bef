// The foundation in real Chromium with dist/chromium loaded: onboarding, encrypted
// storage in IndexedDB, a service worker that comes back unlocked, lock and unlock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, send, stopServiceWorker, rawDatabaseText, sampleConversation, ROOT } from './chromium.mjs';

const PASSPHRASE = 'violet tractor sings at dawn';
const SECRET = 'Xylophone-Quokka-7731';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a new vault: the popup sends people to onboarding, which creates the vault', async () => {
  const popup = await browser.page('popup.html');
  await popup.getByRole('button', { name: 'Set up Threadkeeper' }).waitFor();
  assert.equal((await send(popup, { type: 'vault.status' })).state, 'new');

  const vault = await browser.page('vault.html');
  await vault.locator('#new-passphrase').fill('short');
  await vault.locator('#confirm-passphrase').fill('short');
  await vault.locator('#create-vault').click();
  await vault.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();

  await vault.locator('#new-passphrase').fill(PASSPHRASE);
  await vault.locator('#strength-hint').filter({ hasText: /Good|Strong/ }).waitFor();
  await vault.locator('#confirm-passphrase').fill(PASSPHRASE + 'x');
  await vault.locator('#create-vault').click();
  await vault.getByRole('alert').filter({ hasText: 'differ' }).waitFor();
  assert.equal((await send(vault, { type: 'vault.status' })).state, 'new');

  await vault.locator('#confirm-passphrase').fill(PASSPHRASE);
  await vault.locator('#create-vault').click();
  await vault.locator('#conversation-list').waitFor();
  const status = await send(vault, { type: 'vault.status' });
  assert.deepEqual(status, { ok: true, state: 'unlocked', conversations: 0, messages: 0, queued: 0 });
  await popup.close();
  await vault.close();
});

test('a conversation stored through the background shows in the vault page, and its text is not in IndexedDB', async () => {
  const page = await browser.page('vault.html');
  const put = await send(page, { type: 'conversation.put', conversation: sampleConversation(SECRET) });
  assert.equal(put.ok, true, JSON.stringify(put));
  assert.match(put.id, /^[0-9a-f]{32}$/);

  await page.reload();
  const item = page.locator('#conversation-list button', { hasText: `Trip planning ${SECRET}` });
  await item.click();
  const transcript = page.locator('#transcript');
  await transcript.getByText(`Where should I go in spring? ${SECRET}`).waitFor();
  await transcript.getByText('Kyoto in early April').waitFor();
  assert.deepEqual(await transcript.locator('.message').evaluateAll((ns) => ns.map((n) => n.dataset.role)), ['user', 'assistant']);

  const list = await send(page, { type: 'conversation.list' });
  assert.equal(list.conversations.length, 1);
  assert.equal(list.conversations[0].messageCount, 2);
  assert.equal(list.conversations[0].site, 'chatgpt');
  const got = await send(page, { type: 'conversation.get', id: put.id });
  assert.equal(got.conversation.id, put.id);
  assert.equal(got.conversation.messages[0].markdown, `Where should I go in spring? ${SECRET}`);

  const raw = await rawDatabaseText(page);
  assert.deepEqual([...raw.stores].sort(), ['conversations', 'inbox', 'index', 'messages', 'meta']);
  assert.ok(raw.records >= 4, `expected meta, conversation and message records, saw ${raw.records}`);
  for (const needle of [SECRET, 'Kyoto', 'Trip planning', 'e2e-1', 'chatgpt.com', 'gpt-5-2']) {
    assert.ok(!raw.text.includes(needle), `"${needle}" is readable in IndexedDB`);
  }
  await page.close();
});

test('after the service worker is stopped, the vault is still unlocked and readable', async () => {
  const page = await browser.page('vault.html');
  const before = browser.context.serviceWorkers()[0];
  await before.evaluate(() => { globalThis.__tkMarker = 'old worker'; });
  await stopServiceWorker(page);
  const status = await send(page, { type: 'vault.status' });
  assert.equal(status.state, 'unlocked');
  const list = await send(page, { type: 'conversation.list' });
  assert.equal(list.ok, true);
  assert.equal(list.conversations[0].title, `Trip planning ${SECRET}`);
  const now = browser.context.serviceWorkers().at(-1);
  assert.equal(await now.evaluate(() => globalThis.__tkMarker ?? 'fresh worker'), 'fresh worker');
  // The key lives only in session storage, and not as the passphrase.
  const session = await page.evaluate(() => chrome.storage.session.get(null));
  assert.deepEqual(Object.keys(session).sort(), ['dataKey', 'lastActive', 'unlockedHint']);
  assert.equal(session.unlockedHint, true); // a hint for the popup, nothing more
  const local = await page.evaluate(() => chrome.storage.local.get(null));
  assert.ok(!JSON.stringify(local).includes(PASSPHRASE));
  await page.close();
});

test('after lock a wrong passphrase shows a clear error and the right one unlocks', async () => {
  // A transcript open in the vault page is cleared when the vault is locked elsewhere.
  const open = await browser.page('vault.html');
  await open.locator('#conversation-list button', { hasText: `Trip planning ${SECRET}` }).click();
  await open.locator('#transcript').getByText('Kyoto in early April').waitFor();
  const popup = await browser.page('popup.html');
  await popup.locator('#lock').click();
  await popup.locator('#unlock-passphrase').waitFor();
  assert.equal((await send(popup, { type: 'vault.status' })).state, 'locked');
  const locked = await send(popup, { type: 'conversation.list' });
  assert.deepEqual(locked.error.code, 'locked');
  assert.deepEqual(await popup.evaluate(() => chrome.storage.session.get(null)), {});
  await open.locator('#unlock-passphrase').waitFor();
  assert.equal(await open.locator('#transcript').count(), 0, 'no transcript stays on the locked vault page');
  assert.ok(!(await open.content()).includes(SECRET), 'no text of the vault stays in the page');
  await open.close();

  await popup.locator('#unlock-passphrase').fill('not my passphrase');
  await popup.getByRole('button', { name: 'Unlock' }).click();
  await popup.getByRole('alert').filter({ hasText: 'Wrong passphrase' }).waitFor();

  await stopServiceWorker(popup);
  const vault = await browser.page('vault.html');
  await vault.locator('#unlock-passphrase').fill(PASSPHRASE);
  await vault.locator('#unlock-button').click();
  await vault.locator('#conversation-list button', { hasText: `Trip planning ${SECRET}` }).waitFor();
  await popup.close();
  await vault.close();
});

test('after the idle time the person set, a restarted worker comes back locked', async () => {
  const page = await browser.page('vault.html');
  assert.equal((await send(page, { type: 'settings.set', autoLockMinutes: 1 })).ok, true);
  assert.equal((await send(page, { type: 'vault.status' })).state, 'unlocked');
  await page.evaluate(() => chrome.storage.session.set({ lastActive: Date.now() - 2 * 60000 }));
  await stopServiceWorker(page);
  assert.equal((await send(page, { type: 'vault.status' })).state, 'locked');
  assert.deepEqual(await page.evaluate(() => chrome.storage.session.get(null)), {});
  assert.equal((await send(page, { type: 'vault.unlock', passphrase: PASSPHRASE })).ok, true);
  assert.equal((await send(page, { type: 'settings.set', autoLockMinutes: 15 })).ok, true);
  await page.close();
});

test('"stay unlocked on this device" survives a browser restart until the person locks', async () => {
  const page = await browser.page('vault.html');
  await page.locator('#security-panel summary').click();
  await page.locator('#stay-unlocked').check();
  await page.locator('#security-outcome', { hasText: 'without asking' }).waitFor();
  // The settings and SECURITY.md say the same: a copy of the profile opens the vault.
  const said = await page.locator('#stay-unlocked-explained').textContent();
  assert.match(said, /anyone who can use this browser profile, or who copies it .* can open your vault without the passphrase/);
  const security = fs.readFileSync(path.join(ROOT, 'SECURITY.md'), 'utf8');
  assert.match(security.replace(/\s+/g, ' '), /Anyone who can use this browser profile, or who copies it .* can open the vault without the passphrase/);
  const sessionKey = (await page.evaluate(() => chrome.storage.session.get('dataKey'))).dataKey;
  const local = JSON.stringify(await page.evaluate(() => chrome.storage.local.get(null)));
  assert.ok(!local.includes('deviceUnlock') && !local.includes(sessionKey), 'the wrapped key is not in storage.local (a page could write there), and the data key is nowhere in plain');
  // A browser restart: session storage is gone and the worker starts again.
  await page.evaluate(() => chrome.storage.session.clear());
  await stopServiceWorker(page);
  assert.equal((await send(page, { type: 'vault.status' })).state, 'unlocked');
  assert.equal((await send(page, { type: 'conversation.list' })).conversations[0].title, `Trip planning ${SECRET}`);
  // Locking ends it: after the next restart the passphrase is needed again.
  assert.equal((await send(page, { type: 'vault.lock' })).state, 'locked');
  await page.evaluate(() => chrome.storage.session.clear());
  await stopServiceWorker(page);
  assert.equal((await send(page, { type: 'vault.status' })).state, 'locked');
  assert.ok(!JSON.stringify(await page.evaluate(() => chrome.storage.local.get(null))).includes('deviceUnlock'));
  assert.equal((await send(page, { type: 'vault.unlock', passphrase: PASSPHRASE })).ok, true);
  await page.close();
});

test('messages from other senders and unknown requests are refused', async () => {
  const page = await browser.page('vault.html');
  const unknown = await send(page, { type: 'vault.exportEverythingInPlain' });
  assert.equal(unknown.error.code, 'unknown_request');
  const malformed = await send(page, { type: 'conversation.get', id: { $gt: '' } });
  assert.equal(malformed.error.code, 'invalid_input');
  // A web page cannot reach the extension at all: no externally_connectable.
  const web = await browser.context.newPage();
  await web.route('https://example.com/**', (r) => r.fulfill({ contentType: 'text/html', body: '<title>web</title>' }));
  await web.goto('https://example.com/');
  const reach = await web.evaluate((_id) => {
    try {
      return typeof chrome?.runtime?.sendMessage === 'function' ? 'api-present' : 'no-api';
    } catch { return 'no-api'; }
  }, browser.extensionId);
  assert.equal(reach, 'no-api');
  await web.close();
  await page.close();
});
