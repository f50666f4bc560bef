// "Change passphrase and re-encrypt everything" (issue 13, item 6), through the vault
// page in Chromium with the built extension: a new data key, every record sealed again,
// the old passphrase with an old copy of the meta record opens nothing saved now, and
// "stay unlocked" goes on working with the new key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, send, stopServiceWorker, sampleConversation, FAST_KDF } from './chromium.mjs';

const OLD = 'violet tractor sings at dawn';
const NEW = 'a brand new passphrase 2026';
const SECRET = 'Quetzal-Harbour-5519';
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The raw meta record `vault` of the extension's IndexedDB, or writes one back. */
function metaRecord(page, replacement) {
  return page.evaluate(async (value) => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('threadkeeper');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = db.transaction('meta', value ? 'readwrite' : 'readonly');
    const store = tx.objectStore('meta');
    const req = value ? store.put(new Uint8Array(value), 'vault') : store.get('vault');
    const result = await new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
    await new Promise((resolve) => { tx.oncomplete = resolve; });
    db.close();
    return value ? null : Array.from(result);
  }, replacement ?? null);
}

test('re-encrypting everything: new key, new names, the old passphrase and an old meta record open nothing', async () => {
  const page = await browser.page('vault.html');
  assert.equal((await send(page, { type: 'vault.create', passphrase: OLD, kdf: FAST_KDF })).ok, true);
  const long = sampleConversation(SECRET, 'long');
  long.messages = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', markdown: `turn ${i} ${SECRET}` }));
  for (const conv of [sampleConversation(SECRET, 'one'), sampleConversation(SECRET, 'two'), long]) {
    assert.equal((await send(page, { type: 'conversation.put', conversation: conv })).ok, true);
  }
  const before = await send(page, { type: 'conversation.list' });
  const oldKey = (await page.evaluate(() => chrome.storage.session.get('dataKey'))).dataKey;
  const oldMeta = await metaRecord(page);
  assert.equal((await send(page, { type: 'vault.stayUnlocked', enabled: true })).stayUnlocked, true);

  await page.reload();
  await page.locator('#security-panel summary').click();
  await page.locator('#old-passphrase').fill(OLD);
  await page.locator('#changed-passphrase').fill(NEW);
  await page.locator('#changed-confirm').fill(NEW);
  await page.locator('#reencrypt').check();
  assert.match(await page.locator('#reencrypt-explained').textContent(), /old passphrase opens nothing saved from now on/);
  await page.locator('#change-passphrase').click();
  const outcome = page.locator('#security-outcome', { hasText: 're-encrypted' });
  await outcome.waitFor({ timeout: 60000 });
  assert.match(await outcome.textContent(), /3 conversations, 44 messages/);

  // New key in the session, new names, the same conversations and words.
  const newKey = (await page.evaluate(() => chrome.storage.session.get('dataKey'))).dataKey;
  assert.ok(newKey && newKey !== oldKey, 'the session holds the new data key');
  const after = await send(page, { type: 'conversation.list' });
  assert.equal(after.conversations.length, 3);
  const oldIds = new Set(before.conversations.map((c) => c.id));
  assert.ok(after.conversations.every((c) => !oldIds.has(c.id)), 'every conversation is stored under a new name');
  const longId = after.conversations.find((c) => c.conversationId === 'long').id;
  const got = await send(page, { type: 'conversation.get', id: longId });
  assert.equal(got.conversation.messages[39].markdown, `turn 39 ${SECRET}`);
  const found = await send(page, { type: 'search', query: 'Quetzal' });
  assert.equal(found.total, 44);

  // "Stay unlocked" keeps the new key: a browser restart opens the vault without asking.
  await page.evaluate(() => chrome.storage.session.clear());
  await stopServiceWorker(page);
  assert.equal((await send(page, { type: 'vault.status' })).state, 'unlocked');
  assert.equal((await send(page, { type: 'conversation.get', id: longId })).ok, true);

  // The old passphrase no longer unlocks; the new one does.
  assert.equal((await send(page, { type: 'vault.lock' })).state, 'locked');
  assert.equal((await send(page, { type: 'vault.unlock', passphrase: OLD })).error.code, 'wrong_passphrase');
  assert.equal((await send(page, { type: 'vault.unlock', passphrase: NEW })).ok, true);

  // Someone who kept the old meta record and learns the old passphrase: it unwraps the
  // old key, which opens nothing that is stored now.
  assert.equal((await send(page, { type: 'vault.lock' })).state, 'locked');
  await metaRecord(page, oldMeta);
  await stopServiceWorker(page);
  assert.equal((await send(page, { type: 'vault.unlock', passphrase: OLD })).ok, true);
  const stale = await send(page, { type: 'conversation.list' });
  assert.deepEqual([stale.conversations.length, stale.damaged], [0, 3]);
  assert.equal((await send(page, { type: 'conversation.get', id: longId })).ok, false);
  await page.close();
});

test('a wrong current passphrase re-encrypts nothing and says so', async () => {
  const page = await browser.page('vault.html');
  await send(page, { type: 'vault.lock' });
  await page.evaluate(() => chrome.storage.session.clear());
  await stopServiceWorker(page);
  const reply = await send(page, { type: 'vault.reencrypt', oldPassphrase: 'not it at all', newPassphrase: 'whatever else 123' });
  assert.equal(reply.error.code, 'wrong_passphrase');
  assert.equal((await send(page, { type: 'vault.reencryptProgress' })).progress, null);
  await page.close();
});
