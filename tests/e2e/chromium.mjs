// Launching Debian's Chromium with dist/chromium loaded, through playwright-core.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const EXTENSION = path.join(ROOT, 'dist/chromium');

/**
 * Chromium with the extension in a new profile, or in `keep` (a profile kept between
 * runs); `extension` another build to load, `env` the browser's environment.
 */
export async function launch({ keep, extension = EXTENSION, env } = {}) {
  const profile = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tk-chromium-'));
  // A kept profile would otherwise run the service worker and code it cached from the
  // build it last ran (Chromium keeps an unpacked extension's worker script); the
  // vault's data (IndexedDB) stays.
  if (keep) for (const dir of ['Service Worker', 'Code Cache']) fs.rmSync(path.join(profile, 'Default', dir), { recursive: true, force: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--disable-extensions-except=${extension}`, `--load-extension=${extension}`,
    ],
    ...(env ? { env } : {}),
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
      if (!keep) fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A copy of dist/chromium in `dir` whose manifest has `nativeMessaging` granted: the
 * browser's prompt for the optional permission cannot be answered headless (same key,
 * so the same id). Returns the copy's path.
 */
export function extensionWithNativeMessaging(dir) {
  fs.cpSync(EXTENSION, dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  if (!manifest.optional_permissions?.includes('nativeMessaging')) throw new Error('the build must ask for nativeMessaging as an optional permission');
  manifest.permissions.push('nativeMessaging');
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
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

export const FIXTURES = path.join(ROOT, 'tests/fixtures/real');
export const FAST_KDF = { mKiB: 19456, t: 2, p: 1 };

/** Wraps a saved page fragment into a document with a title, as the live site would serve it. */
export function pageHtml(fragment, title = 'Threadkeeper fixture') {
  if (/<html[\s>]/i.test(fragment)) return fragment;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${fragment}</body></html>`;
}

/** Serves `body` at every address under `origin` (the real match patterns then run). */
export async function serve(context, origin, handler) {
  await context.route(`${origin}/**`, (route) => {
    const result = handler(new URL(route.request().url()));
    if (!result) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: result });
  });
}

export async function waitFor(fn, { timeout = 15000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 500)}`);
}

/** The stored conversation of a site's conversation id, once it holds `count` messages. */
export async function storedConversation(page, conversationId, count) {
  return waitFor(async () => {
    const list = await send(page, { type: 'conversation.list' });
    const hit = list.conversations?.find((c) => c.conversationId === conversationId && (count === undefined || c.messageCount >= count));
    if (!hit) return null;
    return (await send(page, { type: 'conversation.get', id: hit.id })).conversation;
  }, { what: `conversation ${conversationId} with ${count} messages` });
}

/**
 * Runs `expression` inside our content script's isolated world of `page` (through the
 * DevTools protocol), as a compromised or confused content script would.
 */
export async function evaluateInContentScript(page, expression) {
  const cdp = await page.context().newCDPSession(page);
  const contexts = [];
  cdp.on('Runtime.executionContextCreated', ({ context }) => contexts.push(context));
  await cdp.send('Runtime.enable');
  const ours = await waitFor(() => contexts.find((c) => c.name === 'Threadkeeper' && c.auxData?.type === 'isolated'), { what: 'the content script world' });
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, contextId: ours.id, awaitPromise: true, returnByValue: true });
  await cdp.detach();
  if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
  return result.value;
}
