// Recall by meaning in Firefox ESR with dist/firefox installed as a temporary add-on
// (geckodriver + selenium-webdriver; issue 16): the background (an event page here, not
// a service worker) reads the model from the add-on's own files; a chat is found by a
// query that shares none of its words, marked "by meaning" in the popup and `byMeaning`
// in the search reply; a query with its words finds it unmarked; no vector is stored
// in plain in IndexedDB. Without dist/firefox/meaning.tkem these fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { ROOT, FAST_KDF } from './chromium.mjs';

const GECKO_ID = 'threadkeeper@threadkeeper.app';
const UUID = '3e9a1c5d-7b2f-4a6e-8c0d-1f2e3a4b5c6d';
const BASE = `moz-extension://${UUID}`;
const ADDON = path.join(ROOT, 'dist/firefox');

// The same chats as the Chromium test (tests/e2e/meaning.chromium.test.mjs).
const CHATS = [
  ['iso', 'Exercising my ISOs', 'I exercised incentive stock options this year and my accountant warned me about the alternative minimum tax.'],
  ['bread', 'Sourdough starter', 'My starter smells like acetone and the loaf came out flat. How often should I feed it?'],
  ['plant', 'Yellow leaves', 'The leaves of my monstera are turning yellow and the soil stays wet for a week after watering.'],
  ['car', 'Strange noise', 'There is a grinding sound from the front wheel when I brake, louder on cold mornings.'],
  ['trip', 'Kyoto itinerary', 'Plan four days in Kyoto with temples in the morning and a ryokan with an onsen.'],
];

let driver;

function which(cmd) {
  return execSync(`command -v ${cmd}`, { encoding: 'utf8', shell: '/bin/bash', env: { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` } }).trim();
}

function send(msg) {
  return driver.executeAsyncScript((m, done) => { browser.runtime.sendMessage(m).then(done, (e) => done({ thrown: String(e) })); }, msg);
}

before(async () => {
  assert.ok(fs.existsSync(path.join(ADDON, 'meaning.tkem')), 'the add-on carries its model (run make)');
  const options = new firefox.Options()
    .addArguments('-headless')
    .setBinary(process.env.FIREFOX ?? '/usr/bin/firefox-esr')
    .setPreference('extensions.webextensions.uuids', JSON.stringify({ [GECKO_ID]: UUID }))
    .setPreference('datareporting.policy.dataSubmissionEnabled', false)
    .setPreference('app.update.enabled', false)
    // Nothing may come from the network: every host name resolves to a closed port.
    .setPreference('network.dns.forceResolve', '127.0.0.1');
  const service = new firefox.ServiceBuilder(which('geckodriver')).addArguments('--allow-system-access');
  driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build();
  await driver.installAddon(ADDON, true);
  await driver.get(`${BASE}/vault.html`);
  await driver.wait(until.elementLocated(By.id('new-passphrase')), 15000);
  const created = await send({ type: 'vault.create', passphrase: 'meaning test passphrase', kdf: FAST_KDF });
  assert.equal(created.ok, true, JSON.stringify(created));
  for (const [id, title, text] of CHATS) {
    const reply = await send({ type: 'conversation.put', conversation: {
      site: 'chatgpt', conversationId: id, title, url: `https://chatgpt.com/c/${id}`, messages: [{ role: 'user', markdown: text }],
    } });
    assert.equal(reply.ok, true, JSON.stringify(reply));
  }
});

after(async () => { await driver?.quit(); });

/** Types `query` into the popup (opened as a tab) and returns its first result once its title is `title`. */
async function firstResult(query, title) {
  await driver.get(`${BASE}/popup.html`);
  const input = await driver.wait(until.elementLocated(By.css('input[type=search]')), 15000);
  await input.sendKeys(query);
  return driver.wait(async () => {
    try {
      const [first] = await driver.findElements(By.css('[role=listbox] [role=option]'));
      const shown = first && await first.findElements(By.css('.title'));
      return shown?.length && (await shown[0].getText()) === title ? first : null;
    } catch {
      return null; // the list was drawn again while it was read
    }
  }, 15000, `the first result for "${query}" is not "${title}"`);
}

test('in Firefox, a query that shares no word with a chat finds it, marked "by meaning"', async () => {
  const option = await firstResult('indoor plant drowning', 'Yellow leaves');
  const badge = await option.findElements(By.css('.by-meaning'));
  assert.equal(badge.length, 1);
  assert.equal(await badge[0].getText(), 'by meaning');
});

test('in Firefox, a query with the chat\'s own words finds it without the badge', async () => {
  const option = await firstResult('monstera', 'Yellow leaves');
  assert.equal((await option.findElements(By.css('.by-meaning'))).length, 0);
});

test('in Firefox, the search reply marks a hit found only by meaning', async () => {
  await driver.get(`${BASE}/vault.html`);
  const reply = await send({ type: 'search', query: 'paying less levy on employee equity', limit: 5 });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.equal(reply.results[0]?.title, 'Exercising my ISOs', JSON.stringify(reply));
  assert.equal(reply.results[0].hits[0].byMeaning, true);
  const words = await send({ type: 'search', query: 'acetone', limit: 5 });
  assert.deepEqual(words.results.map((r) => [r.title, r.hits[0].byMeaning ?? false]), [['Sourdough starter', false]]);
});

test('in Firefox, the vectors are stored sealed: no vector byte in plain in IndexedDB', async () => {
  await driver.get(`${BASE}/vault.html`);
  const raw = await driver.executeAsyncScript((done) => {
    const req = indexedDB.open('threadkeeper');
    req.onerror = () => done({ error: String(req.error) });
    req.onsuccess = async () => {
      const db = req.result;
      const parts = [];
      for (const name of db.objectStoreNames) {
        const store = db.transaction(name).objectStore(name);
        const all = (r) => new Promise((resolve) => { r.onsuccess = () => resolve(r.result); });
        const [keys, values] = await Promise.all([all(store.getAllKeys()), all(store.getAll())]);
        keys.forEach((k, i) => {
          const v = values[i];
          const bytes = v instanceof Uint8Array ? v : new TextEncoder().encode(JSON.stringify(v));
          parts.push(`${name}/${k}=` + Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
        });
      }
      db.close();
      done({ text: parts.join('\n') });
    };
  });
  assert.equal(raw.error, undefined, raw.error);
  assert.match(raw.text, /\/v\.0=/, 'a vector chunk is stored');
  assert.doesNotMatch(raw.text, /TKVE/, 'its plaintext format never appears');
  for (const [, , text] of CHATS) assert.ok(!raw.text.includes(text.slice(0, 24)), 'no chat text in plain either');
});
