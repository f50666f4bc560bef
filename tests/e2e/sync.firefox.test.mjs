// Sync between browsers: a vault set up in Chromium (dist/chromium) and joined in
// Firefox ESR (dist/firefox as a temporary add-on), through Apache httpd with mod_dav
// started on 127.0.0.1 by the test. Both write; both end with the same vault.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { ROOT, launch, send as sendChromium, sampleConversation, FAST_KDF } from './chromium.mjs';
import { startApache, filesOf, USER, PASS } from './webdav.mjs';

const GECKO_ID = 'threadkeeper@threadkeeper.app';
const UUID = '5a0f9c1e-3b7d-4e2a-9c8b-1d2e3f4a5b6c';
const BASE = `moz-extension://${UUID}`;
const PASSPHRASE = 'copper heron wanders slowly';
let server, driver, chromium, page;

function which(cmd) {
  return execSync(`command -v ${cmd}`, { encoding: 'utf8', shell: '/bin/bash', env: { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` } }).trim();
}

function sendFirefox(msg) {
  return driver.executeAsyncScript((m, done) => { browser.runtime.sendMessage(m).then(done, (e) => done({ thrown: String(e) })); }, msg);
}

const ok = (reply) => {
  assert.equal(reply?.ok, true, JSON.stringify(reply));
  return reply;
};

/** Every conversation of a browser, by vault id, as `conversation.get` gives it. */
async function everything(send) {
  const out = {};
  for (const c of ok(await send({ type: 'conversation.list' })).conversations) out[c.id] = ok(await send({ type: 'conversation.get', id: c.id })).conversation;
  return out;
}

before(async () => {
  server = await startApache();
  chromium = await launch();
  page = await chromium.page('vault.html');
  const options = new firefox.Options()
    .addArguments('-headless')
    .setBinary(process.env.FIREFOX ?? '/usr/bin/firefox-esr')
    .setPreference('extensions.webextensions.uuids', JSON.stringify({ [GECKO_ID]: UUID }))
    .setPreference('datareporting.policy.dataSubmissionEnabled', false)
    .setPreference('app.update.enabled', false);
  const service = new firefox.ServiceBuilder(which('geckodriver')).addArguments('--allow-system-access');
  driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build();
  await driver.installAddon(path.join(ROOT, 'dist/firefox'), true);
});

after(async () => {
  await driver?.quit();
  await chromium?.close();
  await server?.close();
});

test('a vault set up in Chromium is joined in Firefox; both write, both converge', async () => {
  const chrome = (msg) => sendChromium(page, msg);
  ok(await chrome({ type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
  ok(await chrome({ type: 'conversation.put', conversation: sampleConversation('From-Chromium-81', 'cross-1') }));
  ok(await chrome({ type: 'sync.configure', url: server.url, username: USER, password: PASS }));
  ok(await chrome({ type: 'sync.now' }));

  await driver.get(`${BASE}/vault.html`);
  await driver.wait(until.elementLocated(By.id('join-url')), 15000);
  ok(await sendFirefox({ type: 'sync.join', url: server.url, username: USER, password: PASS, passphrase: PASSPHRASE }));
  ok(await sendFirefox({ type: 'sync.now' }));
  const found = ok(await sendFirefox({ type: 'search', query: 'From-Chromium-81', limit: 5 }));
  assert.equal(found.results.length, 1);
  ok(await sendFirefox({ type: 'conversation.put', conversation: sampleConversation('From-Firefox-82', 'cross-2') }));
  const fromFirefox = ok(await sendFirefox({ type: 'sync.now' }));
  assert.ok(fromFirefox.pushed >= 1);
  ok(await chrome({ type: 'sync.now' }));
  const a = await everything(chrome);
  assert.equal(Object.keys(a).length, 2);
  assert.deepEqual(await everything(sendFirefox), a);
  const status = ok(await sendFirefox({ type: 'sync.status' }));
  assert.equal(status.configured, true);
  assert.equal(status.error, undefined);
  assert.ok(status.devices.some((d) => /Firefox/.test(d.label) && d.own));
  assert.ok(status.devices.some((d) => /Chrom/.test(d.label) && !d.own));
  for (const f of filesOf(server.dir)) {
    for (const s of ['From-Chromium-81', 'From-Firefox-82', 'Trip planning']) assert.equal(f.bytes.includes(Buffer.from(s)), false);
  }
});
