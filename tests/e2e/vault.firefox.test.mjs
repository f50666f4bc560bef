// Firefox ESR with dist/firefox installed as a temporary add-on (geckodriver +
// selenium-webdriver): create the vault, store a conversation, read it in the vault page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { ROOT, sampleConversation } from './chromium.mjs';

const GECKO_ID = 'threadkeeper@threadkeeper.app';
const UUID = '5b0e2c7a-1f3d-4c5e-9a8b-7d6c5b4a3f21';
const BASE = `moz-extension://${UUID}`;
const PASSPHRASE = 'amber lantern over quiet hills';
const SECRET = 'Firefox-Narwhal-4410';
let driver;

function which(cmd) {
  return execSync(`command -v ${cmd}`, { encoding: 'utf8', shell: '/bin/bash', env: { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` } }).trim();
}

before(async () => {
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

after(async () => { await driver?.quit(); });

function send(msg) {
  return driver.executeAsyncScript((m, done) => { browser.runtime.sendMessage(m).then(done, (e) => done({ thrown: String(e) })); }, msg);
}

test('in Firefox, onboarding creates the vault and a stored conversation reads back in the vault page', async () => {
  await driver.get(`${BASE}/vault.html`);
  const pass = await driver.wait(until.elementLocated(By.id('new-passphrase')), 15000);
  await pass.sendKeys(PASSPHRASE);
  await driver.findElement(By.id('confirm-passphrase')).sendKeys(PASSPHRASE);
  await driver.findElement(By.id('create-vault')).click();
  await driver.wait(until.elementLocated(By.id('conversation-list')), 20000);
  assert.equal((await send({ type: 'vault.status' })).state, 'unlocked');

  const put = await send({ type: 'conversation.put', conversation: sampleConversation(SECRET, 'ff-1') });
  assert.equal(put.ok, true, JSON.stringify(put));
  await driver.navigate().refresh();
  const item = await driver.wait(until.elementLocated(By.xpath(`//button[contains(., 'Trip planning ${SECRET}')]`)), 15000);
  await item.click();
  const transcript = await driver.wait(until.elementLocated(By.id('transcript')), 15000);
  await driver.wait(until.elementTextContains(transcript, `Where should I go in spring? ${SECRET}`), 10000);

  // Lock, then unlock with the wrong and the right passphrase.
  await driver.findElement(By.id('lock')).click();
  const unlock = await driver.wait(until.elementLocated(By.id('unlock-passphrase')), 10000);
  await unlock.sendKeys('wrong passphrase here');
  await driver.findElement(By.id('unlock-button')).click();
  const error = await driver.wait(until.elementLocated(By.css('#unlock-error [role=alert]')), 15000);
  assert.match(await error.getText(), /Wrong passphrase/);
  await unlock.clear();
  await unlock.sendKeys(PASSPHRASE);
  await driver.findElement(By.id('unlock-button')).click();
  await driver.wait(until.elementLocated(By.xpath(`//button[contains(., 'Trip planning ${SECRET}')]`)), 15000);
});
