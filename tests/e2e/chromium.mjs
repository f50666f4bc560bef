// Launching Debian's Chromium with dist/chromium loaded, through playwright-core.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const EXTENSION = path.join(ROOT, 'dist/chromium');

export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`,
    ],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL(worker.url()).host;
  const base = `chrome-extension://${extensionId}`;
  return {
    context,
    extensionId,
    base,
    async page(file) {
      const page = await context.newPage();
      await page.goto(`${base}/${file}`);
      return page;
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Sends a message to the background from an extension page, as the popup does. */
export function send(page, msg) {
  return page.evaluate((m) => chrome.runtime.sendMessage(m), msg);
}

/** Stops every service worker, as Chrome does after 30 s idle; the next message restarts it. */
export async function stopServiceWorker(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

/** Every record of every object store of the extension's IndexedDB, as raw text. */
export function rawDatabaseText(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('threadkeeper');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const parts = [];
    for (const name of db.objectStoreNames) {
      const tx = db.transaction(name);
      const store = tx.objectStore(name);
      const [keys, values] = await Promise.all([store.getAllKeys(), store.getAll()].map((req) => new Promise((resolve) => { req.onsuccess = () => resolve(req.result); })));
      keys.forEach((k, i) => {
        const v = values[i];
        const bytes = v instanceof Uint8Array ? v : new TextEncoder().encode(JSON.stringify(v));
        parts.push(`${name}/${k}=` + new TextDecoder('utf-8', { fatal: false }).decode(bytes) + ' ' + Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
      });
    }
    db.close();
    return { stores: Array.from(db.objectStoreNames), text: parts.join('\n'), records: parts.length };
  });
}

/** A conversation as a capture would store it; `secret` is text that must never be stored in plain. */
export function sampleConversation(secret, id = 'e2e-1') {
  return {
    site: 'chatgpt',
    conversationId: id,
    title: `Trip planning ${secret}`,
    url: `https://chatgpt.com/c/${id}`,
    model: 'gpt-5-2',
    createdAt: Date.parse('2026-11-20T10:00:00Z'),
    updatedAt: Date.parse('2026-11-20T10:05:00Z'),
    messages: [
      { role: 'user', markdown: `Where should I go in spring? ${secret}` },
      { role: 'assistant', markdown: 'Kyoto in early April, for the cherry blossoms.\n\n```js\nconsole.log("hanami")\n```' },
    ],
  };
}
