// Agents in Firefox ESR: dist/firefox installed as a temporary add-on, the bridge's
// manifest written by its own `install --browser firefox` into a HOME of the test's
// (~/.mozilla/native-messaging-hosts), the optional `nativeMessaging` permission asked
// by the vault page on the click (Firefox's prompt answered by its test preference),
// and the official MCP SDK client as the agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ROOT, sampleConversation, FAST_KDF } from './chromium.mjs';

const GECKO_ID = 'threadkeeper@threadkeeper.app';
const UUID = '7c1d3e8b-2a4f-4d6e-8b9c-0e1f2a3b4c5d';
const BASE = `moz-extension://${UUID}`;
const BRIDGE = path.join(ROOT, 'dist/bridge/threadkeeper-bridge');
const SECRET = 'Firefox-Ibis-6021';
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-ff-agents-'));
const env = { ...process.env, HOME: home, THREADKEEPER_RUNTIME_DIR: path.join(home, 'run') };
let driver;
let agent;

function which(cmd) {
  return execSync(`command -v ${cmd}`, { encoding: 'utf8', shell: '/bin/bash', env: { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` } }).trim();
}

function send(msg) {
  return driver.executeAsyncScript((m, done) => { browser.runtime.sendMessage(m).then(done, (e) => done({ thrown: String(e) })); }, msg);
}

before(async () => {
  execFileSync(BRIDGE, ['install', '--browser', 'firefox'], { env });
  const options = new firefox.Options()
    .addArguments('-headless')
    .setBinary(process.env.FIREFOX ?? '/usr/bin/firefox-esr')
    .setPreference('extensions.webextensions.uuids', JSON.stringify({ [GECKO_ID]: UUID }))
    .setPreference('extensions.webextOptionalPermissionPrompts', false)
    .setPreference('datareporting.policy.dataSubmissionEnabled', false)
    .setPreference('app.update.enabled', false);
  const service = new firefox.ServiceBuilder(which('geckodriver')).addArguments('--allow-system-access').setEnvironment(env);
  driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build();
  await driver.installAddon(path.join(ROOT, 'dist/firefox'), true);
});

after(async () => {
  await agent?.close().catch(() => {});
  await driver?.quit();
  fs.rmSync(home, { recursive: true, force: true });
});

test('in Firefox, agents turned on from the vault page answer an allowed MCP client from the vault', async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(home, '.mozilla/native-messaging-hosts/app.threadkeeper.bridge.json'), 'utf8'));
  assert.deepEqual(manifest.allowed_extensions, [GECKO_ID]);
  await driver.get(`${BASE}/vault.html`);
  await driver.wait(until.elementLocated(By.id('new-passphrase')), 15000);
  assert.equal((await send({ type: 'vault.create', passphrase: 'amber lantern over quiet hills', kdf: FAST_KDF })).ok, true);
  assert.equal((await send({ type: 'conversation.put', conversation: sampleConversation(SECRET, 'ff-agents') })).ok, true);
  const before = await send({ type: 'agents.status' });
  assert.equal(before.permission, false, 'nativeMessaging is optional: not granted until asked');
  await driver.navigate().refresh();
  await driver.wait(until.elementLocated(By.css('#agents-panel summary')), 15000).click();
  await driver.findElement(By.id('agents-enabled')).click();
  const state = await driver.findElement(By.id('agents-state'));
  await driver.wait(until.elementTextContains(state, 'agents you allow can search'), 20000);

  agent = new Client({ name: 'Firefox Agent', version: '1.0.0' });
  await agent.connect(new StdioClientTransport({ command: BRIDGE, args: ['mcp'], env, stderr: 'pipe' }));
  const pending = agent.callTool({ name: 'search_chats', arguments: { query: 'Ibis' } });
  const allow = await driver.wait(until.elementLocated(By.css('.agent-question[data-client="Firefox Agent"] .allow-always')), 20000);
  await allow.click();
  const found = await pending;
  assert.ok(!found.isError, found.content[0].text);
  assert.match(found.content[0].text, new RegExp(`Trip planning ${SECRET}`));
});
