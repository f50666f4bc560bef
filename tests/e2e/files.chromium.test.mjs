// Export and import in real Chromium with dist/chromium loaded: the vault page writes an
// encrypted archive, the vault is erased, and the archive is read back; bad files leave
// every stored record byte for byte as it was; official exports import.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, send, rawDatabaseText, stopServiceWorker, FIXTURES, FAST_KDF } from './chromium.mjs';

const PASSPHRASE = 'files test vault passphrase';
const FILE_PASSPHRASE = 'a different file passphrase';
const CONVERSATIONS = 500;
const PER = 20;
let browser, vault, archivePath;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-files-'));

before(async () => {
  browser = await launch();
  vault = await browser.page('vault.html');
  assert.equal((await send(vault, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
});
after(async () => {
  await browser?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

function conversation(i) {
  return {
    site: ['chatgpt', 'claude', 'gemini', 'perplexity'][i % 4],
    conversationId: `conv-${i}`,
    title: `Conversation ${i} about ${['tea', 'rust', 'kyoto', 'math'][i % 4]}`,
    url: `https://example.invalid/${i}`,
    createdAt: 1_700_000_000_000 + i,
    updatedAt: 1_700_000_100_000 + i,
    messages: Array.from({ length: PER }, (_, j) => ({ role: j % 2 ? 'assistant' : 'user', markdown: `Message ${j} of ${i}: ${'text '.repeat(20)}\n\n\`\`\`js\nconsole.log(${i * PER + j})\n\`\`\`` })),
  };
}

async function everything(page) {
  const { ids } = await send(page, { type: 'export.ids' });
  const all = [];
  for (let i = 0; i < ids.length; i += 100) all.push(...JSON.parse((await send(page, { type: 'export.get', ids: ids.slice(i, i + 100) })).json));
  return all.map(({ id: _id, ...c }) => c).sort((a, b) => a.conversationId.localeCompare(b.conversationId));
}

async function openPanel(page, id) {
  const panel = page.locator(`#${id}`);
  await panel.waitFor();
  if (!(await panel.evaluate((d) => d.open))) await panel.locator('summary').click();
}

async function importThrough(page, file, passphrase) {
  await openPanel(page, 'files-panel');
  await page.locator('#import-file').setInputFiles(file);
  await page.locator('#import-passphrase').fill(passphrase);
  await page.locator('#import-button').click();
  await page.locator('#import-button:not([disabled])').waitFor();
  await page.waitForFunction(() => document.querySelector('#files-outcome')?.textContent.trim().length > 0, null, { timeout: 120000 });
  return page.locator('#files-outcome');
}

test('export, erase and import of 10,000 messages gives back exactly the same conversations', async () => {
  for (let i = 0; i < CONVERSATIONS; i++) {
    const reply = await send(vault, { type: 'conversation.put', conversation: conversation(i) });
    assert.equal(reply.ok, true);
  }
  const before = await everything(vault);
  assert.equal(before.length, CONVERSATIONS);
  await vault.reload();
  await openPanel(vault, 'files-panel');
  await vault.locator('#export-passphrase').fill(FILE_PASSPHRASE);
  await vault.locator('#export-confirm').fill(FILE_PASSPHRASE);
  const download = vault.waitForEvent('download', { timeout: 120000 });
  await vault.locator('#export-button').click();
  const file = await download;
  assert.match(file.suggestedFilename(), /^threadkeeper-\d{4}-\d{2}-\d{2}\.tkarchive$/);
  archivePath = path.join(scratch, file.suggestedFilename());
  await file.saveAs(archivePath);
  await vault.locator('#files-outcome', { hasText: `Saved ${CONVERSATIONS} conversations, ${CONVERSATIONS * PER} messages` }).waitFor();
  const bytes = fs.readFileSync(archivePath);
  assert.ok(!bytes.includes(Buffer.from('Conversation 1 about')), 'the archive holds plaintext');

  await openPanel(vault, 'security-panel');
  await vault.locator('#wipe-confirm').fill('erase everything');
  await vault.locator('#wipe').click();
  await vault.locator('#onboarding').waitFor();
  assert.equal((await send(vault, { type: 'vault.status' })).state, 'new');
  assert.equal((await send(vault, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
  await vault.reload();

  const outcome = await importThrough(vault, archivePath, FILE_PASSPHRASE);
  assert.equal((await outcome.textContent()).trim(), `Added ${CONVERSATIONS} conversations, ${CONVERSATIONS * PER} messages.`);
  assert.deepEqual(await everything(vault), before);
  const again = await importThrough(vault, archivePath, FILE_PASSPHRASE);
  assert.match(await again.textContent(), new RegExp(`Added 0 conversations, 0 messages; ${CONVERSATIONS} were already here`));
  assert.equal((await send(vault, { type: 'vault.status' })).messages, CONVERSATIONS * PER);
});

test('a wrong passphrase, a cut, changed, foreign or newer file is refused and the vault stays byte for byte the same', async () => {
  const good = fs.readFileSync(archivePath);
  const variants = {
    'wrong passphrase': [good, 'not the file passphrase', /wrong passphrase/i],
    truncated: [good.subarray(0, good.length - 1000), FILE_PASSPHRASE, /cut short|truncated|incomplete|ends early/i],
    tampered: [Buffer.from(good).fill(0x41, 5000, 5001), FILE_PASSPHRASE, /changed or is damaged|damaged/i],
    foreign: [Buffer.from('PK\u0003\u0004 not really a zip at all'), FILE_PASSPHRASE, /not|recognis|know/i],
    newer: [Buffer.concat([good.subarray(0, 8), Buffer.from([9]), good.subarray(9)]), FILE_PASSPHRASE, /newer version/i],
  };
  const before = await rawDatabaseText(vault);
  for (const [name, [bytes, passphrase, message]] of Object.entries(variants)) {
    const file = path.join(scratch, `${name.replace(/ /g, '-')}.tkarchive`);
    fs.writeFileSync(file, bytes);
    await vault.reload();
    const outcome = await importThrough(vault, file, passphrase);
    assert.match(await outcome.getAttribute('class'), /error/, name);
    assert.match(await outcome.textContent(), message, name);
    const after = await rawDatabaseText(vault);
    assert.equal(after.text, before.text, `${name} changed the stored records`);
  }
});

test('the official ChatGPT and Claude exports import their conversations', async () => {
  await vault.reload();
  const chatgpt = await importThrough(vault, path.join(FIXTURES, 'chatgpt/export-conversations-2023.json'), '');
  assert.match(await chatgpt.textContent(), /^Added 2 conversations, 42 messages/);
  await vault.reload();
  const claude = await importThrough(vault, path.join(FIXTURES, 'claude/export-conversations-2024.json'), '');
  assert.match(await claude.textContent(), /^Added 1 conversation, 20 messages/);
  const list = await send(vault, { type: 'conversation.list' });
  assert.ok(list.conversations.some((c) => c.site === 'claude' && c.messageCount === 20));
});

test('a worker stopped in the middle of an import loses nothing: the next search rebuilds the index and finds every message', async () => {
  assert.equal((await send(vault, { type: 'vault.wipe', confirm: 'erase everything' })).ok, true);
  assert.equal((await send(vault, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
  const batch = (tag) => [JSON.stringify(Array.from({ length: 20 }, (_, i) => ({
    site: 'claude', conversationId: `${tag}-${i}`, title: `Batch ${tag} ${i}`, url: `https://claude.ai/chat/${tag}-${i}`, createdAt: 1, updatedAt: 2,
    messages: [{ role: 'user', markdown: `word${tag} question ${i}` }, { role: 'assistant', markdown: `word${tag} answer ${i}` }],
  })))];
  assert.equal((await send(vault, { type: 'import.batch', json: batch('alpha') })).ok, true);
  // Chrome stops the worker (as after 30 s idle, or a crash) before the import ends:
  // the first batch's search index was only in its memory.
  await stopServiceWorker(vault);
  const second = await send(vault, { type: 'import.batch', json: batch('beta') });
  assert.equal(second.ok, true, JSON.stringify(second));
  assert.equal((await send(vault, { type: 'import.finish' })).ok, true);
  const alpha = await send(vault, { type: 'search', query: 'wordalpha', limit: 50 });
  assert.equal(alpha.rebuilt, true, 'the index must be rebuilt, and the person told');
  assert.equal(alpha.total, 40);
  const beta = await send(vault, { type: 'search', query: 'wordbeta', limit: 50 });
  assert.equal(beta.total, 40);
  assert.equal(beta.rebuilt, false);
  assert.equal((await send(vault, { type: 'vault.status' })).messages, 80);
});

test('import batches staged through the service worker\'s own channel are imported; one that never arrived or was malformed fails clearly', async () => {
  const batch = (tag) => [JSON.stringify([{
    site: 'claude', conversationId: `staged-${tag}`, title: `Staged ${tag}`, url: `https://claude.ai/chat/staged-${tag}`, createdAt: 1, updatedAt: 2,
    messages: [{ role: 'user', markdown: `stagedword ${tag} question` }, { role: 'assistant', markdown: `stagedword ${tag} answer` }],
  }])];
  // The page posts the batch to the worker, then asks for it by id (as www/files.js does).
  const stageAndImport = (stage, ask) => vault.evaluate(async ({ stage, ask }) => {
    const worker = (await navigator.serviceWorker.getRegistration()).active;
    if (stage) worker.postMessage(stage);
    return chrome.runtime.sendMessage({ type: 'import.batch', staged: ask });
  }, { stage, ask });
  const id = (n) => String(n).padStart(32, 'a');
  const ok = await stageAndImport({ type: 'import.stage', id: id(1), json: batch('one') }, id(1));
  assert.equal(ok.ok, true, JSON.stringify(ok));
  assert.equal(ok.report.addedConversations, 1);
  assert.equal(ok.report.addedMessages, 2);
  // Asked for again, or never staged: refused after a short wait, nothing added.
  const again = await stageAndImport(null, id(1));
  assert.deepEqual([again.ok, again.error.code], [false, 'interrupted']);
  assert.match(again.error.message, /Import the file again/);
  // A malformed batch (not JSON text) is not taken, so its request fails the same way.
  const bad = await stageAndImport({ type: 'import.stage', id: id(2), json: [{ not: 'text' }] }, id(2));
  assert.deepEqual([bad.ok, bad.error.code], [false, 'interrupted']);
  const badId = await vault.evaluate(() => chrome.runtime.sendMessage({ type: 'import.batch', staged: '../x' }));
  assert.deepEqual([badId.ok, badId.error.code], [false, 'invalid_input']);
  assert.equal((await send(vault, { type: 'import.finish' })).ok, true);
  const found = await send(vault, { type: 'search', query: 'stagedword', limit: 10 });
  assert.equal(found.total, 2);
});

test('one damaged conversation never blocks an export: the others are saved and the page says how many were left out', async () => {
  const blockKeys = () => vault.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('threadkeeper');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const keys = req.result.transaction('messages').objectStore('messages').getAllKeys();
      keys.onsuccess = () => { resolve(keys.result.map(String)); req.result.close(); };
    };
  }));
  const before = new Set(await blockKeys());
  assert.equal((await send(vault, { type: 'conversation.put', conversation: { ...conversation(9001), conversationId: 'to-be-damaged' } })).ok, true);
  const mine = (await blockKeys()).filter((k) => !before.has(k));
  assert.ok(mine.length > 0, 'the conversation wrote its message blocks');
  // A bit flipped on the disk in one block of that conversation.
  await vault.evaluate((key) => new Promise((resolve, reject) => {
    const req = indexedDB.open('threadkeeper');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const store = req.result.transaction('messages', 'readwrite').objectStore('messages');
      const get = store.get(key);
      get.onsuccess = () => {
        const bytes = new Uint8Array(get.result);
        bytes[bytes.length - 3] ^= 1;
        store.put(bytes, key).onsuccess = () => { req.result.close(); resolve(); };
      };
    };
  }), mine[0]);
  await stopServiceWorker(vault); // nothing cached: the export reads the disk
  const total = (await send(vault, { type: 'export.ids' })).ids.length;
  await vault.reload();
  await openPanel(vault, 'files-panel');
  await vault.locator('#export-passphrase').fill(FILE_PASSPHRASE);
  await vault.locator('#export-confirm').fill(FILE_PASSPHRASE);
  const download = vault.waitForEvent('download', { timeout: 120000 });
  await vault.locator('#export-button').click();
  await download;
  const outcome = await vault.locator('#files-outcome', { hasText: 'Saved' }).textContent();
  assert.match(outcome, new RegExp(`Saved ${total - 1} conversations`));
  assert.match(outcome, /1 damaged conversation could not be read and was left out; the others are safe\./);
});
