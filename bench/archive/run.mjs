// Export and import of 100k messages in Chromium through the vault page (prints JSON;
// not a test). The vault is filled through the background (5,000 conversations of 20
// messages from the shared corpus generator's shape), then the vault page exports an
// encrypted archive, the vault is erased, and the page imports the file back.
// Run: make && node bench/archive/run.mjs [messages]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, send, FAST_KDF } from '../../tests/e2e/chromium.mjs';

const MESSAGES = Number(process.argv[2] ?? 100000);
const PER = 20;
const PASS = 'benchmark file passphrase';
const words = 'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'.split(' ');
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sentence = (n) => Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(' ');

const browser = await launch();
const vault = await browser.page('vault.html');
await send(vault, { type: 'vault.create', passphrase: 'benchmark vault passphrase', kdf: FAST_KDF });
const fillStart = performance.now();
for (let i = 0; i < MESSAGES / PER; i++) {
  const conversation = {
    site: 'chatgpt', conversationId: `bench-${i}`, title: sentence(5), url: `https://chatgpt.com/c/bench-${i}`, createdAt: 1.7e12 + i, updatedAt: 1.7e12 + i,
    messages: Array.from({ length: PER }, (_, j) => ({ role: j % 2 ? 'assistant' : 'user', markdown: sentence(j % 2 ? 140 : 25) })),
  };
  const reply = await send(vault, { type: 'conversation.put', conversation });
  if (!reply.ok) throw new Error(JSON.stringify(reply));
}
const fillSeconds = (performance.now() - fillStart) / 1000;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-bench-'));
await vault.reload();
await vault.locator('#files-panel summary').click();
await vault.locator('#export-passphrase').fill(PASS);
await vault.locator('#export-confirm').fill(PASS);
const exportStart = performance.now();
const downloading = vault.waitForEvent('download', { timeout: 600000 });
await vault.locator('#export-button').click();
const download = await downloading;
const file = path.join(scratch, download.suggestedFilename());
await download.saveAs(file);
const exportSeconds = (performance.now() - exportStart) / 1000;

await vault.locator('#security-panel summary').click();
await vault.locator('#wipe-confirm').fill('erase everything');
await vault.locator('#wipe').click();
await vault.locator('#onboarding').waitFor();
await send(vault, { type: 'vault.create', passphrase: 'benchmark vault passphrase', kdf: FAST_KDF });
await vault.reload();
await vault.locator('#files-panel summary').click();
await vault.locator('#import-file').setInputFiles(file);
await vault.locator('#import-passphrase').fill(PASS);
const importStart = performance.now();
await vault.locator('#import-button').click();
await vault.waitForFunction(() => /Added|error/i.test(document.querySelector('#files-outcome')?.textContent ?? ''), null, { timeout: 600000 });
const importSeconds = (performance.now() - importStart) / 1000;
const outcome = await vault.locator('#files-outcome').textContent();
const status = await send(vault, { type: 'vault.status' });

console.log(JSON.stringify({
  benchmark: 'archive',
  messages: MESSAGES,
  conversations: MESSAGES / PER,
  archive_mib: +(fs.statSync(file).size / 1048576).toFixed(1),
  fill_seconds_through_background: +fillSeconds.toFixed(1),
  export_seconds: +exportSeconds.toFixed(2),
  import_seconds: +importSeconds.toFixed(2),
  import_report: outcome.trim(),
  messages_after_import: status.messages,
  note: 'export and import each include one Argon2id derivation (m=64 MiB, t=3); import reads the file twice (verify, then merge) and ends by writing the search index',
  goals: { export_seconds: 5, import_seconds: 5 },
}, null, 2));
fs.rmSync(scratch, { recursive: true, force: true });
await browser.close();
