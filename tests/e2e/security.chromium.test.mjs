// Attacks and faults in real Chromium with dist/chromium loaded: hostile captured text,
// page scripts reaching for the vault, a service worker killed mid-capture, a full disk,
// plaintext on disk, and network use by the extension itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, send, serve, pageHtml, waitFor, storedConversation, rawDatabaseText, stopServiceWorker, evaluateInContentScript, FAST_KDF } from './chromium.mjs';

const PASSPHRASE = 'security test passphrase';
let browser, ext;
const pages = new Map();
const ownRequests = []; // requests made by the extension's own contexts

before(async () => {
  browser = await launch();
  browser.context.on('request', (request) => {
    const frameUrl = (() => { try { return request.frame().url(); } catch { return ''; } })();
    if (request.serviceWorker() || frameUrl.startsWith('chrome-extension://')) ownRequests.push(request.url());
  });
  await serve(browser.context, 'https://chatgpt.com', (url) => pages.get(url.pathname));
  await serve(browser.context, 'https://claude.ai', () => pageHtml('<main></main>', 'A chat - Claude'));
  ext = await browser.page('vault.html');
  assert.equal((await send(ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
});
after(async () => { await browser?.close(); });

function turn(role, id, html) {
  return `<article data-turn="${role}"><div data-message-author-role="${role}" data-message-id="${id}"><div class="${role === 'user' ? 'whitespace-pre-wrap' : 'markdown'}">${html}</div></div></article>`;
}
const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// Each payload, if it ever ran in one of our pages, would set window.__xss.
const PAYLOADS = [
  '<script>window.__xss=1</script>', '<img src=x onerror="window.__xss=2">', '<svg onload="window.__xss=3">', '<svg><script>window.__xss=4</script></svg>',
  '<iframe src="javascript:parent.__xss=5"></iframe>', '<a href="javascript:window.__xss=6">click</a>', '<body onload="window.__xss=7">', '<input autofocus onfocus="window.__xss=8">',
  '<details open ontoggle="window.__xss=9">', '<video><source onerror="window.__xss=10"></video>', '<audio src=x onerror="window.__xss=11">', '<marquee onstart="window.__xss=12">',
  '<object data="javascript:window.__xss=13">', '<embed src="javascript:window.__xss=14">', '<form action="javascript:window.__xss=15"><button>go</button></form>', '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=16">',
  '<noscript><p title="</noscript><img src=x onerror=window.__xss=17>">', '<svg><style><img src=x onerror="window.__xss=18"></style></svg>', '<math><style><img src=x onerror="window.__xss=19"></style></math>', '"><img src=x onerror=window.__xss=20>',
  "'><svg/onload=window.__xss=21>", '<img src="x" onerror="&#119;indow.__xss=22">', '<IMG SRC=x OnErRoR=window.__xss=23>', '<img src=x onerror=eval(atob("d2luZG93Ll9feHNzPTI0"))>',
  '<svg><animate onbegin="window.__xss=25" attributeName=x dur=1s>', '<svg><a xlink:href="javascript:window.__xss=26"><text x=20 y=20>x</text></a></svg>', '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=27">', '<link rel=import href="data:text/html,<script>parent.__xss=28</script>">',
  '<base href="javascript:window.__xss=29//">', '<template><img src=x onerror="window.__xss=30"></template>', '<div style="background:url(javascript:window.__xss=31)">', '<table background="javascript:window.__xss=32">',
  '<isindex action="javascript:window.__xss=33" type=submit>', '<keygen autofocus onfocus="window.__xss=34">', '<textarea autofocus onfocus="window.__xss=35">', '<select autofocus onfocus="window.__xss=36">',
  '<img srcset="x" onerror="window.__xss=37">', '<picture><source srcset=x><img src=x onerror="window.__xss=38"></picture>', '<style>@import "javascript:window.__xss=39";</style>', '<x onclick="window.__xss=40">click me</x>',
  '<svg><foreignObject><img src=x onerror="window.__xss=41"></foreignObject></svg>', '<img src=`x` onerror=window.__xss=42>', '<iframe srcdoc="<script>parent.__xss=43</script>">', '<script src="data:text/javascript,window.__xss=44"></script>',
  '<a href="  javascript:window.__xss=45">x</a>', '<a href="jav&#x09;ascript:window.__xss=46">x</a>', '{{constructor.constructor("window.__xss=47")()}}', '${window.__xss=48}',
  '<svg><set attributeName=onmouseover to="window.__xss=49">', '<div id="x" tabindex=1 onfocusin="window.__xss=50">',
];

test('fifty XSS payloads captured from a page run nowhere in Threadkeeper and become no markup', async () => {
  assert.equal(PAYLOADS.length, 50);
  const body = PAYLOADS.map((p, i) => turn(i % 2 ? 'assistant' : 'user', `x${i}`, i % 2 ? `<p>${escape(p)}</p><pre><code>${escape(p)}</code></pre>` : escape(p))).join('');
  pages.set('/c/xss-attack', pageHtml(`<main>${body}</main>`, `${escape('<img src=x onerror="window.__xss=99">')} Title - ChatGPT`));
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/c/xss-attack');
  const conv = await storedConversation(ext, 'xss-attack', 50);
  assert.equal(conv.messages[0].markdown, PAYLOADS[0]);
  assert.ok(conv.title.includes('onerror'));
  const list = await send(ext, { type: 'conversation.list' });
  const id = list.conversations.find((c) => c.conversationId === 'xss-attack').id;

  const vault = await browser.page(`vault.html#${id}`);
  await vault.locator('#transcript .message').nth(49).waitFor();
  const popup = await browser.page('popup.html');
  await popup.locator('[role=option]').first().waitFor();
  await new Promise((r) => setTimeout(r, 500));
  for (const page of [vault, popup]) {
    assert.equal(await page.evaluate(() => window.__xss ?? null), null, `a payload ran in ${page.url()}`);
    const foreign = await page.evaluate(() => document.querySelectorAll('main img, main svg, main script, main iframe, main object, main embed, main video, main audio, main math, main marquee, main x, main template, main a[href^="javascript"]').length);
    assert.equal(foreign, 0, `captured text became markup in ${page.url()}`);
  }
  const shown = await vault.locator('#transcript .markdown').evaluateAll((ns) => ns.map((n) => n.childElementCount));
  assert.ok(shown.every((c) => c === 0), 'a transcript message holds elements');
  assert.ok((await vault.locator('#transcript').textContent()).includes('<svg onload="window.__xss=3">'));
  await vault.close();
  await popup.close();
  await tab.close();
});

test('the page\'s own scripts cannot reach the vault or trigger a restore', async () => {
  pages.set('/c/own-secrets', pageHtml(`<main>${turn('user', 's1', 'Secret-Walrus-8812 plan')}${turn('assistant', 's2', 'Noted')}</main>`));
  const first = await browser.context.newPage();
  await first.goto('https://chatgpt.com/c/own-secrets');
  await storedConversation(ext, 'own-secrets', 2);
  await first.close();
  // The site "forgets": the same address now shows an empty chat with a composer.
  pages.set('/c/own-secrets', pageHtml(`<main></main><form><textarea id="prompt-textarea"></textarea><button type="submit">Send</button></form>`));
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/c/own-secrets');
  await tab.locator('[data-threadkeeper-chip]').waitFor();
  const seen = await tab.evaluate(async () => {
    const out = {};
    out.runtime = typeof globalThis.chrome?.runtime?.sendMessage;
    out.shadow = document.querySelector('[data-threadkeeper-chip]').shadowRoot === null;
    window.postMessage({ type: 'restore.own' }, '*');
    window.postMessage({ type: 'insert.block', text: 'x' }, '*');
    document.dispatchEvent(new CustomEvent('threadkeeper:restore', { bubbles: true }));
    const host = document.querySelector('[data-threadkeeper-chip]');
    host.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true }));
    host.click();
    await new Promise((r) => setTimeout(r, 1500));
    out.composer = document.querySelector('#prompt-textarea').value;
    out.leaked = document.documentElement.outerHTML.includes('Secret-Walrus-8812');
    return out;
  });
  assert.deepEqual(seen, { runtime: 'undefined', shadow: true, composer: '', leaked: false });
  await tab.close();
});

test('with the service worker stopped at random moments during 100 captures, every turn is kept and every record opens', async () => {
  pages.set('/c/crashy', pageHtml(`<main id="t"></main><script>
    let n = 0;
    const timer = setInterval(() => {
      const role = n % 2 ? 'assistant' : 'user';
      document.getElementById('t').insertAdjacentHTML('beforeend', '<article data-turn="' + role + '"><div data-message-author-role="' + role + '" data-message-id="c' + n + '"><div class="' + (role === 'user' ? 'whitespace-pre-wrap' : 'markdown') + '">Crash-proof turn ' + n + '</div></div></article>');
      if (++n >= 100) clearInterval(timer);
    }, 60);
  </script>`));
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/c/crashy');
  const stopper = await browser.page('popup.html');
  const end = Date.now() + 9000;
  let stops = 0;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 400));
    await stopServiceWorker(stopper).catch(() => {});
    stops++;
  }
  const conv = await storedConversation(ext, 'crashy', 100);
  assert.deepEqual(conv.messages.map((m) => m.markdown), Array.from({ length: 100 }, (_, i) => `Crash-proof turn ${i}`));
  const list = await send(ext, { type: 'conversation.list' });
  assert.equal(list.damaged, 0);
  for (const c of list.conversations) assert.equal((await send(ext, { type: 'conversation.get', id: c.id })).ok, true);
  assert.ok(stops >= 10, `only ${stops} stops`);
  await stopper.close();
  await tab.close();
});

test('when saving fails for lack of space, the person is told, the capture is retried, and nothing is corrupted', async () => {
  const cdp = await browser.context.newCDPSession(ext);
  const origin = `chrome-extension://${browser.extensionId}`;
  const before = await send(ext, { type: 'conversation.list' });
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
  // IndexedDB checks quota against a per-origin allowance that Chromium caches for up
  // to 30 s (BucketContext::kBucketSpaceCacheTimeLimit), so writes can still succeed
  // for that long after the override. Wait until a write from an extension page fails:
  // from then on every write asks the quota manager, and the capture cannot slip in.
  await waitFor(() => ext.evaluate(() => new Promise((resolve) => {
    const open = indexedDB.open('quota-probe');
    open.onupgradeneeded = () => open.result.createObjectStore('p');
    open.onerror = () => resolve(true);
    open.onsuccess = () => {
      const tx = open.result.transaction('p', 'readwrite');
      tx.objectStore('p').put(new Uint8Array(4096), Math.random());
      tx.oncomplete = () => { open.result.close(); resolve(false); };
      tx.onabort = () => { open.result.close(); resolve(tx.error?.name === 'QuotaExceededError'); };
    };
  })), { timeout: 45000, interval: 500, what: 'the storage quota override to apply' });
  pages.set('/c/disk-full', pageHtml(`<main>${turn('user', 'd1', 'Written while the disk was full')}${turn('assistant', 'd2', 'Kept until there is room')}</main>`));
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/c/disk-full');
  const vault = await browser.page('vault.html');
  await waitFor(async () => {
    const { health } = await send(vault, { type: 'settings.get' });
    return health.chatgpt?.status === 'save_failed' ? health.chatgpt : null;
  }, { what: 'the save failure to be reported' });
  await vault.reload();
  const line = await vault.locator('.health[data-site="chatgpt"]').textContent();
  const during = await send(ext, { type: 'conversation.list' });
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await ext.evaluate(() => new Promise((resolve) => { const del = indexedDB.deleteDatabase('quota-probe'); del.onsuccess = del.onerror = resolve; }));
  assert.match(line, /could not be saved.*storage is full/);
  assert.equal(during.conversations.length, before.conversations.length);
  const conv = await storedConversation(ext, 'disk-full', 2);
  assert.equal(conv.messages[1].markdown, 'Kept until there is room');
  await waitFor(async () => !(await send(vault, { type: 'settings.get' })).health.chatgpt, { what: 'the warning to clear' });
  assert.equal((await send(ext, { type: 'conversation.list' })).damaged, 0);
  await vault.close();
  await tab.close();
});

test('a content script that writes storage.local changes no security state: auto-lock, stay unlocked, site switches', async () => {
  // The person switches Claude off, and keeps the default auto-lock (15 minutes).
  assert.equal((await send(ext, { type: 'settings.set', site: 'claude', enabled: false })).ok, true);
  const claude = await browser.context.newPage();
  await claude.goto('https://claude.ai/chat/tamper-claude');
  const ask = (page, msg) => evaluateInContentScript(page, `chrome.runtime.sendMessage(${JSON.stringify(msg)})`);
  assert.deepEqual(await ask(claude, { type: 'capture.settings' }), { ok: true, enabled: false });

  // A compromised renderer on chatgpt.com, in our content script's world.
  pages.set('/c/tamper', pageHtml(`<main>${turn('user', 't1', 'Before the tampering')}</main>`));
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/c/tamper');
  await storedConversation(ext, 'tamper', 1);
  const tried = await evaluateInContentScript(tab, `(async () => {
    const out = {};
    const planted = { autoLockMinutes: 0, paused: false, disabledSites: 1, restoreBudget: 10 ** 9 };
    await chrome.storage.local.set({
      settings: planted,
      deviceUnlock: 'anything',
      settingsChanged: Date.now(),
      stayUnlocked: true,
      autoLockMinutes: 0,
    });
    out.planted = Object.keys(await chrome.storage.local.get(['settings', 'deviceUnlock'])).sort();
    try { await chrome.storage.session.set({ lastActive: Date.now() + 1e9 }); out.session = 'written'; } catch { out.session = 'refused'; }
    // Its IndexedDB is the page's origin's: an empty database of the same name, not ours.
    out.stores = await new Promise((resolve) => {
      const req = indexedDB.open('threadkeeper-device');
      req.onsuccess = () => { resolve(Array.from(req.result.objectStoreNames)); req.result.close(); };
      req.onerror = () => resolve('refused');
    });
    return out;
  })()`);
  assert.deepEqual(tried, { planted: ['deviceUnlock', 'settings'], session: 'refused', stores: [] });
  await new Promise((r) => setTimeout(r, 500));
  // Capture is still off for Claude, on for ChatGPT, and ChatGPT's captures still work.
  assert.deepEqual(await ask(claude, { type: 'capture.settings' }), { ok: true, enabled: false });
  assert.deepEqual(await ask(tab, { type: 'capture.settings' }), { ok: true, enabled: true });
  pages.set('/c/after-tamper', pageHtml(`<main>${turn('user', 'a1', 'Captured after the tampering')}${turn('assistant', 'a2', 'Still kept')}</main>`));
  const after = await browser.context.newPage();
  await after.goto('https://chatgpt.com/c/after-tamper');
  await storedConversation(ext, 'after-tamper', 2);
  const { settings, stayUnlocked } = await send(ext, { type: 'settings.get' });
  assert.deepEqual({ paused: settings.paused, disabledSites: settings.disabledSites, autoLockMinutes: settings.autoLockMinutes, stayUnlocked }, { paused: false, disabledSites: ['claude'], autoLockMinutes: 15, stayUnlocked: false });

  // The person is idle past the auto-lock time; the worker stops and starts again: locked.
  await ext.evaluate(() => chrome.storage.session.set({ lastActive: Date.now() - 20 * 60000 }));
  await stopServiceWorker(ext);
  assert.equal((await send(ext, { type: 'vault.status' })).state, 'locked');
  // Locked, the switches are as the person left them: Claude's capture is skipped,
  // ChatGPT's is kept (sealed to the inbox until the unlock).
  assert.deepEqual(await ask(claude, { type: 'capture', snapshot: { messages: [{ role: 'user', markdown: 'Switched off: never kept' }] } }), { ok: true, skipped: true });
  assert.deepEqual(await ask(claude, { type: 'capture.settings' }), { ok: true, enabled: false });
  pages.set('/c/while-locked', pageHtml(`<main>${turn('user', 'l1', 'Captured while locked')}</main>`));
  const locked = await browser.context.newPage();
  await locked.goto('https://chatgpt.com/c/while-locked');
  await new Promise((r) => setTimeout(r, 1500)); // its capture is sealed to the inbox (or arrives after the unlock)
  assert.equal((await send(ext, { type: 'vault.unlock', passphrase: PASSPHRASE })).ok, true);
  await storedConversation(ext, 'while-locked', 1);
  const list = await send(ext, { type: 'conversation.list' });
  assert.ok(!list.conversations.some((c) => c.conversationId === 'tamper-claude'), 'a capture from a switched-off site was kept');

  for (const page of [claude, tab, after, locked]) await page.close();
  assert.equal((await send(ext, { type: 'settings.set', site: 'claude', enabled: true })).ok, true);
});

test('the first start after the update moves settings and the wrapped key out of storage.local, once', async () => {
  assert.equal((await send(ext, { type: 'settings.set', autoLockMinutes: 30 })).ok, true);
  assert.equal((await send(ext, { type: 'settings.set', site: 'gemini', enabled: false })).ok, true);
  assert.equal((await send(ext, { type: 'vault.stayUnlocked', enabled: true })).stayUnlocked, true);
  // As the version before kept them: settings and the wrapped key in storage.local, the
  // device key alone in IndexedDB, and no migration done yet.
  const old = await ext.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('threadkeeper-device');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const done = (tx) => new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = tx.onabort = () => reject(tx.error); });
    let tx = db.transaction(['keys', 'state']);
    const wrapped = tx.objectStore('keys').get('wrapped');
    const settings = tx.objectStore('state').get('settings');
    await done(tx);
    tx = db.transaction(['keys', 'state'], 'readwrite');
    tx.objectStore('keys').delete('wrapped');
    tx.objectStore('state').clear();
    await done(tx);
    db.close();
    await chrome.storage.local.set({ settings: settings.result, deviceUnlock: wrapped.result });
    await chrome.storage.session.clear(); // and the browser restarts
    return { settings: settings.result, wrapped: typeof wrapped.result?.wrapped };
  });
  assert.deepEqual(old, { settings: { paused: false, disabledSites: ['gemini'], autoLockMinutes: 30 }, wrapped: 'string' });
  await stopServiceWorker(ext);
  assert.equal((await send(ext, { type: 'vault.status' })).state, 'unlocked', 'stay unlocked was not carried over');
  const moved = await send(ext, { type: 'settings.get' });
  assert.deepEqual([moved.settings.autoLockMinutes, moved.settings.disabledSites, moved.stayUnlocked], [30, ['gemini'], true]);
  const local = await ext.evaluate(() => chrome.storage.local.get(['settings', 'deviceUnlock']));
  assert.deepEqual(local, {});

  // After it, storage.local is never read for them again.
  await ext.evaluate(() => chrome.storage.local.set({ settings: { autoLockMinutes: 0, disabledSites: [], paused: true }, deviceUnlock: { v: 1, iv: 'AAAA', wrapped: 'AAAA' } }));
  await stopServiceWorker(ext);
  const again = await send(ext, { type: 'settings.get' });
  assert.deepEqual([again.settings.autoLockMinutes, again.settings.disabledSites, again.settings.paused, again.stayUnlocked], [30, ['gemini'], false, true]);

  // Lock ends stay unlocked; the person's settings go back.
  assert.equal((await send(ext, { type: 'vault.lock' })).state, 'locked');
  await ext.evaluate(() => chrome.storage.session.clear());
  await stopServiceWorker(ext);
  assert.equal((await send(ext, { type: 'vault.status' })).state, 'locked');
  assert.equal((await send(ext, { type: 'settings.get' })).stayUnlocked, false);
  assert.equal((await send(ext, { type: 'vault.unlock', passphrase: PASSPHRASE })).ok, true);
  assert.equal((await send(ext, { type: 'settings.set', autoLockMinutes: 15 })).ok, true);
  assert.equal((await send(ext, { type: 'settings.set', site: 'gemini', enabled: true })).ok, true);
  await ext.evaluate(() => chrome.storage.local.remove(['settings', 'deviceUnlock']));
});

test('captured text is nowhere in plain: not in IndexedDB, storage.local or storage.session', async () => {
  const marker = 'Plaintext-Ocelot-5521';
  pages.set('/c/plain-scan', pageHtml(`<main>${turn('user', 'p1', `Tell nobody: ${marker}`)}${turn('assistant', 'p2', `I will keep ${marker} safe`)}</main>`, `${marker} - ChatGPT`));
  const tab = await browser.context.newPage();
  await tab.goto('https://chatgpt.com/c/plain-scan');
  await storedConversation(ext, 'plain-scan', 2);
  const raw = await rawDatabaseText(ext);
  assert.ok(!raw.text.includes(marker) && !raw.text.includes('plain-scan'));
  const storage = await ext.evaluate(async () => JSON.stringify([await chrome.storage.local.get(null), await chrome.storage.session.get(null)]));
  assert.ok(!storage.includes(marker) && !storage.includes('plain-scan') && !storage.includes(PASSPHRASE_PLACEHOLDER));
  await tab.close();
});
const PASSPHRASE_PLACEHOLDER = PASSPHRASE;

test('the extension\'s own pages and worker made no network requests in all of the above', async () => {
  assert.ok(ownRequests.length > 0, 'no requests were observed at all: the recorder is broken');
  const network = ownRequests.filter((url) => !url.startsWith('chrome-extension://'));
  assert.deepEqual(network, []);
});
