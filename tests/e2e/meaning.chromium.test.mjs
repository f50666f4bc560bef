// Recall by meaning in real Chromium with dist/chromium loaded (issue 16): a chat is
// found by a query that shares none of its words, marked "by meaning" in the popup;
// a query with its words finds it unmarked; the model comes from the extension's own
// files, never the network; no vector is stored in plain in IndexedDB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, send, rawDatabaseText, stopServiceWorker, EXTENSION, FAST_KDF } from './chromium.mjs';

const CHATS = [
  ['iso', 'Exercising my ISOs', 'I exercised incentive stock options this year and my accountant warned me about the alternative minimum tax.'],
  ['bread', 'Sourdough starter', 'My starter smells like acetone and the loaf came out flat. How often should I feed it?'],
  ['plant', 'Yellow leaves', 'The leaves of my monstera are turning yellow and the soil stays wet for a week after watering.'],
  ['car', 'Strange noise', 'There is a grinding sound from the front wheel when I brake, louder on cold mornings.'],
  ['trip', 'Kyoto itinerary', 'Plan four days in Kyoto with temples in the morning and a ryokan with an onsen.'],
];

let browser, ext;

async function putChats(page) {
  for (const [id, title, text] of CHATS) {
    const reply = await send(page, { type: 'conversation.put', conversation: {
      site: 'chatgpt', conversationId: id, title, url: `https://chatgpt.com/c/${id}`, messages: [{ role: 'user', markdown: text }],
    } });
    assert.equal(reply.ok, true, JSON.stringify(reply));
  }
}
const network = [];

before(async () => {
  browser = await launch();
  // Any request to the network is recorded and refused: the extension makes none here.
  await browser.context.route(/^(https?|wss?):/, (route) => {
    network.push(route.request().url());
    return route.abort();
  });
  ext = await browser.page('vault.html');
  assert.equal((await send(ext, { type: 'vault.create', passphrase: 'meaning test passphrase', kdf: FAST_KDF })).ok, true);
  await putChats(ext);
});
after(async () => { await browser?.close(); });

async function firstResult(query) {
  const popup = await browser.page('popup.html');
  await popup.locator('input[type=search]').fill(query);
  const option = popup.locator('[role=listbox] [role=option]').first();
  await option.locator('.title').waitFor();
  return { popup, option };
}

test('a query that shares no word with a chat finds it, marked "by meaning"', async () => {
  const { popup, option } = await firstResult('indoor plant drowning');
  await option.filter({ hasText: 'Yellow leaves' }).waitFor();
  assert.equal(await option.locator('.by-meaning').textContent(), 'by meaning');
  await popup.close();
});

test('a query with the chat\'s own words finds it without the badge', async () => {
  const { popup, option } = await firstResult('monstera');
  await option.filter({ hasText: 'Yellow leaves' }).waitFor();
  assert.equal(await option.locator('.by-meaning').count(), 0);
  await popup.close();
});

test('a made-up word finds nothing, by words or by meaning', async () => {
  const popup = await browser.page('popup.html');
  await popup.locator('input[type=search]').fill('xylophonequartz');
  await popup.locator('[role=listbox] .empty', { hasText: 'No results for' }).waitFor();
  await popup.close();
});

test('the model is read from the extension\'s own files, never from the network', async () => {
  // A cold worker loads it again, from the package.
  await stopServiceWorker(ext);
  const reply = await send(ext, { type: 'search', query: 'paying less levy on employee equity', limit: 5 });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.equal(reply.results[0].title, 'Exercising my ISOs');
  assert.equal(reply.results[0].hits[0].byMeaning, true);
  assert.deepEqual(network, []);

  // The same extension without the file finds nothing by meaning, and asks no one for it.
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-no-model-'));
  fs.cpSync(EXTENSION, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'meaning.tkem'));
  const bare = await launch({ extension: copy });
  try {
    const asked = [];
    await bare.context.route(/^(https?|wss?):/, (route) => {
      asked.push(route.request().url());
      return route.abort();
    });
    const page = await bare.page('vault.html');
    assert.equal((await send(page, { type: 'vault.create', passphrase: 'meaning test passphrase', kdf: FAST_KDF })).ok, true);
    await putChats(page);
    const none = await send(page, { type: 'search', query: 'paying less levy on employee equity', limit: 5 });
    assert.deepEqual(none.results, []);
    assert.equal((await send(page, { type: 'search', query: 'monstera', limit: 5 })).results[0].title, 'Yellow leaves');
    assert.deepEqual(asked, []);
  } finally {
    await bare.close();
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test('the vectors are stored sealed: no vector byte in plain in IndexedDB', async () => {
  const raw = await rawDatabaseText(ext);
  assert.match(raw.text, /\/v\.0=/, 'a vector chunk is stored');
  assert.doesNotMatch(raw.text, /TKVE/, 'its plaintext format never appears');
});
