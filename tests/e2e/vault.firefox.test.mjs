// Firefox ESR with dist/firefox installed as a temporary add-on (geckodriver +
// selenium-webdriver): create the vault, store a conversation, read it in the vault page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import { threadReplies, uid } from '../fixtures/live/make.mjs';
import os from 'node:os';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { ROOT, sampleConversation, FAST_KDF } from './chromium.mjs';

const GECKO_ID = 'threadkeeper@threadkeeper.app';
const UUID = '5b0e2c7a-1f3d-4c5e-9a8b-7d6c5b4a3f21';
const BASE = `moz-extension://${UUID}`;
const PASSPHRASE = 'amber lantern over quiet hills';
const SECRET = 'Firefox-Narwhal-4410';
let driver, server;
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-ff-downloads-'));
const sitePages = new Map(); // pathname -> html, served at https://chatgpt.com (127.0.0.1:443)
let siteData = null; // the site's own conversation endpoints (tests/fixtures/live/make.mjs)
const siteRequests = [];

/** A local HTTPS server standing in for chatgpt.com, with a throwaway self-signed cert. */
async function startSiteServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-cert-'));
  execSync(`openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=chatgpt.com -addext subjectAltName=DNS:chatgpt.com -keyout ${dir}/key.pem -out ${dir}/cert.pem`, { stdio: 'ignore' });
  server = https.createServer({ key: fs.readFileSync(`${dir}/key.pem`), cert: fs.readFileSync(`${dir}/cert.pem`) }, (req, res) => {
    const url = new URL(req.url, 'https://chatgpt.com');
    const html = sitePages.get(url.pathname);
    if (!html && siteData) {
      siteRequests.push({ path: url.pathname, authorization: req.headers.authorization });
      const answer = url.pathname === '/api/auth/session' ? { status: 200, body: JSON.stringify({ accessToken: 'ff-token' }) } : siteData.reply(url.href, req.method);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      return res.end(answer.body);
    }
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise((resolve, reject) => server.listen(443, '127.0.0.1', resolve).on('error', reject));
  fs.rmSync(dir, { recursive: true, force: true });
}

function which(cmd) {
  return execSync(`command -v ${cmd}`, { encoding: 'utf8', shell: '/bin/bash', env: { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` } }).trim();
}

before(async () => {
  await startSiteServer();
  const options = new firefox.Options()
    .addArguments('-headless')
    .setBinary(process.env.FIREFOX ?? '/usr/bin/firefox-esr')
    .setPreference('extensions.webextensions.uuids', JSON.stringify({ [GECKO_ID]: UUID }))
    .setPreference('datareporting.policy.dataSubmissionEnabled', false)
    .setPreference('app.update.enabled', false)
    .setPreference('network.dns.forceResolve', '127.0.0.1')
    // Saved files go straight to a folder the test reads.
    .setPreference('browser.download.folderList', 2)
    .setPreference('browser.download.dir', downloads)
    .setPreference('browser.download.useDownloadDir', true)
    .setPreference('browser.download.always_ask_before_handling_new_types', false)
    .setPreference('browser.helperApps.neverAsk.saveToDisk', 'application/octet-stream')
    .setAcceptInsecureCerts(true);
  const service = new firefox.ServiceBuilder(which('geckodriver')).addArguments('--allow-system-access');
  driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build();
  await driver.installAddon(path.join(ROOT, 'dist/firefox'), true);
});

after(async () => {
  await driver?.quit();
  server?.close();
  fs.rmSync(downloads, { recursive: true, force: true });
});

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

test('in Firefox, a ChatGPT conversation is captured from the page and shows in the vault', async () => {
  const turn = (role, id, text) => `<article data-turn="${role}"><div data-message-author-role="${role}" data-message-id="${id}"><div class="${role === 'user' ? 'whitespace-pre-wrap' : 'markdown'}">${text}</div></div></article>`;
  sitePages.set('/c/firefox-capture', `<!doctype html><html><head><meta charset="utf-8"><title>Gecko notes - ChatGPT</title></head><body><main>${turn('user', 'f1', 'Does capture work in Firefox-Axolotl-3390?')}${turn('assistant', 'f2', '<p>Yes, with <code>content scripts</code>.</p>')}</main></body></html>`);
  await driver.get('https://chatgpt.com/c/firefox-capture');
  await driver.wait(until.elementLocated(By.css('[data-message-author-role="assistant"]')), 10000);
  await driver.sleep(2500); // the engine sends once the page has settled
  await driver.get(`${BASE}/vault.html`);
  const deadline = Date.now() + 20000;
  let hit;
  while (!hit && Date.now() < deadline) {
    const list = await send({ type: 'conversation.list' });
    hit = list.conversations?.find((c) => c.conversationId === 'firefox-capture' && c.messageCount === 2);
    if (!hit) await driver.sleep(300);
  }
  assert.ok(hit, 'the conversation was not captured');
  assert.equal(hit.title, 'Gecko notes');
  const got = await send({ type: 'conversation.get', id: hit.id });
  assert.deepEqual(got.conversation.messages.map((m) => [m.role, m.markdown]), [
    ['user', 'Does capture work in Firefox-Axolotl-3390?'],
    ['assistant', 'Yes, with `content scripts`.'],
  ]);
});

test('in Firefox, a 40-turn conversation whose page shows 2 turns is stored whole from the site\'s own data', async () => {
  const id = '0f0f0f0f-1111-4222-8333-444444444444';
  siteData = threadReplies('chatgpt', id, 40, { chatgptShape: 'mapping' });
  const shown = siteData.messages.slice(-2).map((m) => `<article><div data-message-author-role="${m.role}" data-message-id="${uid(m.index + 1, 'c')}"><div class="${m.role === 'user' ? 'whitespace-pre-wrap' : 'markdown'}">${m.text}</div></div></article>`).join('');
  sitePages.set(`/c/${id}`, `<!doctype html><html><head><meta charset="utf-8"><title>Long thread - ChatGPT</title></head><body><main>${shown}</main></body></html>`);
  await driver.get(`https://chatgpt.com/c/${id}`);
  await driver.sleep(2500);
  await driver.get(`${BASE}/vault.html`);
  const deadline = Date.now() + 20000;
  let hit;
  while (!hit && Date.now() < deadline) {
    const list = await send({ type: 'conversation.list' });
    hit = list.conversations?.find((c) => c.conversationId === id && c.messageCount >= 40);
    if (!hit) await driver.sleep(300);
  }
  assert.ok(hit, `not stored whole; requests: ${JSON.stringify(siteRequests.map((r) => r.path))}`);
  const got = await send({ type: 'conversation.get', id: hit.id });
  assert.deepEqual(got.conversation.messages.map((m) => m.markdown), siteData.messages.map((m) => m.text));
  assert.ok(siteRequests.some((r) => r.path.startsWith('/backend-api/') && r.authorization === 'Bearer ff-token'));
  siteData = null;
});

test('in Firefox, the vault exports to an encrypted file, and after erasing, the file imports back', async () => {
  await driver.get(`${BASE}/vault.html`);
  const before = (await send({ type: 'conversation.list' })).conversations;
  assert.ok(before.length >= 1);
  await driver.wait(until.elementLocated(By.css('#files-panel summary')), 15000).click();
  await driver.findElement(By.id('export-passphrase')).sendKeys('file passphrase for Firefox');
  await driver.findElement(By.id('export-confirm')).sendKeys('file passphrase for Firefox');
  await driver.findElement(By.id('export-button')).click();
  const outcome = await driver.findElement(By.id('files-outcome'));
  await driver.wait(until.elementTextContains(outcome, 'Saved'), 30000);
  let file;
  const deadline = Date.now() + 20000;
  while (!file && Date.now() < deadline) {
    file = fs.readdirSync(downloads).find((f) => /^threadkeeper-\d{4}-\d{2}-\d{2}\.tkarchive$/.test(f));
    if (!file) await driver.sleep(200);
  }
  assert.ok(file, `no archive in ${fs.readdirSync(downloads)}`);
  const bytes = fs.readFileSync(path.join(downloads, file));
  assert.ok(!bytes.includes(Buffer.from(SECRET)), 'the archive holds no plaintext');

  assert.equal((await send({ type: 'vault.wipe', confirm: 'erase everything' })).ok, true);
  assert.equal((await send({ type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
  assert.equal((await send({ type: 'conversation.list' })).conversations.length, 0);
  await driver.navigate().refresh();
  await driver.wait(until.elementLocated(By.css('#files-panel summary')), 15000).click();
  await driver.findElement(By.id('import-file')).sendKeys(path.join(downloads, file));
  await driver.findElement(By.id('import-passphrase')).sendKeys('file passphrase for Firefox');
  await driver.findElement(By.id('import-button')).click();
  const report = await driver.findElement(By.id('files-outcome'));
  await driver.wait(until.elementTextContains(report, 'Added'), 30000);
  assert.match(await report.getText(), new RegExp(`^Added ${before.length} conversations?, `));
  const after = (await send({ type: 'conversation.list' })).conversations;
  assert.deepEqual(after.map((c) => [c.conversationId, c.messageCount]).sort(), before.map((c) => [c.conversationId, c.messageCount]).sort());
  const found = await send({ type: 'search', query: SECRET, limit: 5 });
  assert.ok(found.total >= 1, 'the imported messages are found');
});
