// The thread path in real Chromium with dist/chromium loaded: a long conversation whose
// page shows only its last turns is stored whole from the site's own data, served at
// the site's real endpoint addresses by request routing (tests/fixtures/live/make.mjs
// builds the replies). Every request is recorded: only the tab's own site, only the
// open conversation, none from the background, none while capture is off; tokens are
// sent only to the site and never stored; a failing or changed endpoint falls back to
// the page and says so in the site's health.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, send, waitFor, storedConversation, rawDatabaseText, FAST_KDF } from './chromium.mjs';
import { threadReplies, uid } from '../fixtures/live/make.mjs';

const PASSPHRASE = 'thread test passphrase';
const TOKEN = 'tk-test-bearer-7c1e9a44d2b8f0aa'; // must appear nowhere but in the site's requests
const CLAUDE_ORG = '11111111-2222-4333-8444-555555555555';
let browser, ext;
const requests = []; // {url, method, headers, fromWorker, frame}
const sites = new Map(); // origin -> (url, method, body) => {status, body, contentType}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const esc = (s) => s.replace(/[&<>"]/g, (c) => ESC[c]);

// The page as each adapter reads it (an older layout every adapter keeps), showing `msgs`.
const PAGE = {
  chatgpt: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<article data-turn="user"><div data-message-author-role="user" data-message-id="${uid(m.index + 1, 'c')}"><div class="whitespace-pre-wrap">${esc(m.text)}</div></div></article>`
    : `<article data-turn="assistant"><div data-message-author-role="assistant" data-message-id="${uid(m.index + 1, 'c')}"><div class="markdown prose"><p>${esc(m.text)}</p></div></div></article>`).join(''),
  claude: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<div data-testid="user-message"><p>${esc(m.text)}</p></div>`
    : `<div data-is-streaming="false"><div class="font-claude-response"><div class="standard-markdown"><p>${esc(m.text)}</p></div></div></div>`).join(''),
  deepseek: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<div class="ds-message">${esc(m.text)}</div>`
    : `<div class="ds-message"><div class="ds-markdown"><p>${esc(m.text)}</p></div></div>`).join(''),
  perplexity: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<div class="group/query">${esc(m.text)}</div>`
    : `<div id="markdown-content-${m.index}" class="prose"><p>${esc(m.text)}</p></div>`).join(''),
  grok: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<div data-testid="user-message"><div class="message-bubble">${esc(m.text)}</div></div>`
    : `<div data-testid="assistant-message"><div class="message-bubble"><p>${esc(m.text)}</p></div></div>`).join(''),
  gemini: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<user-query><div class="query-text">${esc(m.text)}</div></user-query>`
    : `<model-response><message-content><div class="markdown"><p>${esc(m.text)}</p></div></message-content></model-response>`).join(''),
  copilot: (msgs) => msgs.map((m) => m.role === 'user'
    ? `<div data-content="user-message"><div class="whitespace-pre-wrap">${esc(m.text)}</div></div>`
    : `<div data-content="ai-message"><div data-testid="ai-message-body"><p>${esc(m.text)}</p></div></div>`).join(''),
};

const ADDRESS = {
  chatgpt: (id) => `https://chatgpt.com/c/${id}`,
  claude: (id) => `https://claude.ai/chat/${id}`,
  deepseek: (id) => `https://chat.deepseek.com/a/chat/s/${id}`,
  perplexity: (id) => `https://www.perplexity.ai/search/${id}`,
  grok: (id) => `https://grok.com/c/${id}`,
  copilot: (id) => `https://copilot.microsoft.com/chats/${id}`,
  gemini: (id) => `https://gemini.google.com/app/${id}`,
};
// Gemini's page keeps the tokens its own requests carry in an inline script.
const GEMINI_WIZ = `<script>window.WIZ_global_data = {"SNlM0e":"${TOKEN}","cfb2h":"boq_assistant-bard-web-server_20261101.08_p0","FdrFJe":"-4242"};</script>`;

const ORIGINS = ['https://chatgpt.com', 'https://claude.ai', 'https://chat.deepseek.com', 'https://www.perplexity.ai', 'https://grok.com', 'https://copilot.microsoft.com', 'https://gemini.google.com'];

before(async () => {
  browser = await launch();
  const { context } = browser;
  context.on('request', (request) => {
    let frame = '';
    try { frame = request.frame().url(); } catch { /* a worker's request has no frame */ }
    requests.push({ url: request.url(), method: request.method(), headers: request.headers(), fromWorker: !!request.serviceWorker(), frame });
  });
  for (const origin of ORIGINS) {
    await context.route(`${origin}/**`, async (route) => {
      const req = route.request();
      const handler = sites.get(origin);
      const answer = handler ? await handler(req.url(), req.method(), req.postData()) : null;
      if (!answer) return route.fulfill({ status: 404, body: 'not found' });
      return route.fulfill({ status: answer.status, contentType: answer.contentType ?? 'application/json', body: answer.body });
    });
  }
  // What each page keeps for its own backend: DeepSeek's and Copilot's tokens in localStorage.
  await context.addInitScript(({ token }) => {
    if (location.hostname === 'chat.deepseek.com') localStorage.setItem('userToken', JSON.stringify({ value: token, __version: '0' }));
    if (location.hostname === 'copilot.microsoft.com') {
      localStorage.setItem('00000000-0000-0000-0000-000000000000.9188040d-6c67-4c5b-b112-36a304b66dad-login.windows.net-accesstoken-14638111-3389-403d-b206-a6a71d9f8f16--chatai.readwrite openid profile', JSON.stringify({ credentialType: 'AccessToken', target: 'https://api.copilot.microsoft.com/chatai.readwrite openid profile', secret: token }));
    }
  }, { token: TOKEN });
  await context.addCookies([{ name: 'lastActiveOrg', value: CLAUDE_ORG, domain: 'claude.ai', path: '/', secure: true }]);
  ext = await browser.page('vault.html');
  const created = await send(ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF });
  assert.equal(created.ok, true, JSON.stringify(created));
});
after(async () => { await browser?.close(); });

/**
 * Serves `site`'s conversation `id` of `turns` messages: its page (the last `shown`
 * turns) and its endpoints; `endpoint(url, method, body, replies)` may answer instead.
 */
function serveConversation(site, id, turns, { shown = 6, endpoint, opts = {} } = {}) {
  const thread = threadReplies(site, id, turns, { org: CLAUDE_ORG, ...opts });
  const page = new URL(ADDRESS[site](id));
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(`Synthetic conversation of ${turns} messages`)}</title>${site === 'gemini' ? GEMINI_WIZ : ''}</head><body><main>${PAGE[site](thread.messages.slice(-shown))}</main></body></html>`;
  sites.set(thread.origin, (url, method, body) => {
    const u = new URL(url);
    if (u.pathname === page.pathname) return { status: 200, contentType: 'text/html; charset=utf-8', body: html };
    if (u.pathname === '/api/auth/session') return { status: 200, body: JSON.stringify({ accessToken: TOKEN, user: { name: 'someone' } }) };
    if (endpoint) return endpoint(url, method, body, thread);
    return thread.reply(url, method, body);
  });
  return thread;
}

async function open(site, id) {
  const tab = await browser.context.newPage();
  await tab.goto(ADDRESS[site](id));
  return tab;
}

const texts = (conv) => conv.messages.map((m) => m.markdown.trim());
const pageOf = (site, msgs, title) => `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><main>${PAGE[site](msgs)}</main></body></html>`;

const CASES = [
  { site: 'chatgpt', id: '6a7b8c9d-0000-4000-8000-00000000c0de', opts: { chatgptShape: 'messages' }, name: 'ChatGPT (newer paged endpoint)' },
  { site: 'chatgpt', id: '6a7b8c9d-0000-4000-8000-0000000000ff', opts: { chatgptShape: 'mapping' }, name: 'ChatGPT (older tree endpoint)' },
  { site: 'claude', id: '2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a99' },
  { site: 'deepseek', id: '5d1f9c2a-3e7b-4a60-b8d4-2c9e0f1a7b99' },
  { site: 'perplexity', id: 'tides-and-the-moon-Qm3xT8a1Rk9' },
  { site: 'grok', id: '0e2b5d4a-7c1f-4a22-8b33-9e4455a6b799' },
  { site: 'copilot', id: 'Xk9pQ2rT7vLmB4n9' },
  { site: 'gemini', id: '8c2f7d3e1a9b4c99' },
];

for (const c of CASES) {
  test(`${c.name ?? c.site}: a 200-turn conversation whose page shows its last 6 turns is stored whole, once, in order`, async () => {
    const thread = serveConversation(c.site, c.id, 200, { opts: c.opts });
    const tab = await open(c.site, c.id);
    const conv = await storedConversation(ext, c.id, 200);
    assert.equal(conv.messages.length, 200, 'every turn once: the page\'s six are not stored twice');
    assert.deepEqual(conv.messages.map((m) => m.role), thread.messages.map((m) => m.role));
    assert.deepEqual(texts(conv), thread.messages.map((m) => m.text));
    assert.equal(conv.title, 'Synthetic conversation of 200 messages');
    const { paths } = await send(ext, { type: 'settings.get' });
    assert.ok(paths[c.site]?.thread?.okAt > 0 && !paths[c.site].thread.failure, JSON.stringify(paths[c.site]));
    await tab.close();
  });
}

test('every request went to the tab\'s own site, for its own conversation, none from the background, and tokens only to the site', () => {
  const own = requests.filter((r) => r.fromWorker || r.frame.startsWith('chrome-extension://'));
  assert.deepEqual(own.filter((r) => !r.url.startsWith('chrome-extension://')).map((r) => r.url), [], 'the extension itself made no network request');
  const api = requests.filter((r) => !r.fromWorker && /\/(backend-api|api|rest|c\/api|_\/BardChatUi)\//.test(new URL(r.url).pathname));
  assert.ok(api.length >= CASES.length, `the thread path made requests: ${api.length}`);
  for (const r of api) {
    const u = new URL(r.url);
    const frame = new URL(r.frame);
    assert.equal(u.origin, frame.origin, `${r.url} went to the tab's own site`);
    const known = CASES.map((c) => c.id).concat(['session', 'organizations']);
    if (!/\/api\/auth\/session$|\/api\/organizations$/.test(u.pathname)) {
      const id = CASES.find((c) => u.href.includes(encodeURIComponent(c.id)) || u.href.includes(c.id))?.id;
      assert.ok(id, `${r.url} names a conversation of the test`);
      assert.ok(r.frame.includes(id), `${r.url} was for the conversation open in its tab (${r.frame})`);
      assert.ok(known.includes(id));
      assert.ok(['GET', 'POST'].includes(r.method));
      if (r.method === 'POST') assert.match(u.pathname, /\/load-responses$|\/batchexecute$/, 'the only POSTs are Grok\'s read of responses and Gemini\'s read RPC');
    }
    if (r.headers.authorization) assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
  }
  const withToken = requests.filter((r) => JSON.stringify(r.headers).includes(TOKEN));
  assert.ok(withToken.some((r) => r.url.includes('/backend-api/')), 'ChatGPT\'s token went with its request');
  assert.ok(withToken.some((r) => r.url.includes('chat.deepseek.com/api/')), 'DeepSeek\'s token went with its request');
  const gemini = requests.find((r) => r.url.includes('/batchexecute'));
  assert.ok(gemini && gemini.headers['x-same-domain'] === '1', 'Gemini\'s read went as the page sends it');
  assert.ok(withToken.every((r) => ORIGINS.includes(new URL(r.url).origin)), 'tokens went nowhere else');
});

test('no token is stored anywhere: IndexedDB and extension storage scanned', async () => {
  const raw = await rawDatabaseText(ext);
  assert.ok(raw.records > 0);
  assert.ok(!raw.text.includes(TOKEN), 'the token is not in IndexedDB');
  const local = await ext.evaluate(async () => JSON.stringify([await chrome.storage.local.get(null), await chrome.storage.session.get(null)]));
  assert.ok(!local.includes(TOKEN), 'the token is not in extension storage');
  assert.ok(!raw.text.includes('Answer 37 about'), 'and the text is sealed');
});

let fallbacks = 0;
for (const [name, endpoint, kind, status] of [
  ['answers 401', () => ({ status: 401, body: '{"detail":"Unauthorized"}' }), 'refused', 401],
  ['answers 404', () => ({ status: 404, body: '{"detail":"Not Found"}' }), 'refused', 404],
  ['answers 500', () => ({ status: 500, body: 'Internal Server Error', contentType: 'text/plain' }), 'refused', 500],
  ['changed its shape', () => ({ status: 200, body: JSON.stringify({ conversation: { turns: [{ who: 'me', said: 'hi' }] } }) }), 'shape_changed', undefined],
  ['answers with another conversation', (url, method, body, thread) => {
    const other = threadReplies('claude', '99999999-8888-4777-8666-555555555555', 10, { org: CLAUDE_ORG });
    const mine = thread.reply(url, method, body);
    return mine.status === 200 ? other.bodies[0] && { status: 200, body: other.bodies[0] } : mine;
  }, 'other_conversation', undefined],
]) {
  test(`an endpoint that ${name} falls back to the page and says so in the site's health`, async () => {
    const id = `0b1c2d3e-4f50-4a61-8b72-${String(++fallbacks).padStart(12, '0')}`;
    serveConversation('claude', id, 40, { endpoint });
    const tab = await open('claude', id);
    const conv = await storedConversation(ext, id, 6);
    const health = await waitFor(async () => {
      const { paths } = await send(ext, { type: 'settings.get' });
      return paths.claude?.thread?.failure ? paths.claude.thread : null;
    }, { what: 'the thread failure in the health' });
    assert.equal(health.failure, kind);
    if (status) assert.equal(health.status, status);
    await new Promise((r) => setTimeout(r, 500));
    const again = await storedConversation(ext, id, 6);
    assert.equal(again.messages.length, 6, 'the page\'s turns, nothing from another conversation');
    assert.ok(conv.messages.every((m) => m.markdown.includes('about')));
    assert.ok(!JSON.stringify(again).includes('99999999-8888'), 'nothing of the other conversation');
    // The vault page says it in words, with no content.
    const vault = await browser.page('vault.html');
    const line = await vault.locator('.capture-path[data-site="claude"][data-path="thread"]').textContent();
    assert.match(line, /Claude: whole conversations could not be read from the site/);
    assert.match(line, /The messages the page shows are still saved/);
    await vault.close();
    // The popup's switch for the site says the page alone is read, the why in its tooltip.
    const popup = await browser.page('popup.html');
    const mark = popup.locator('label.site-switch:has(input[data-site="claude"]) .thread-failure');
    await mark.waitFor({ state: 'attached', timeout: 5000 });
    assert.match(await popup.locator('#page-only').textContent(), /Claude: what the page shows only/);
    assert.match(await mark.getAttribute('title'), /could not be read from the site/);
    await popup.close();
    await tab.close();
    // A later good read clears it.
    const good = `0c1c2d3e-4f50-4a61-8b72-${id.slice(-12)}`;
    serveConversation('claude', good, 12);
    const tab2 = await open('claude', good);
    await storedConversation(ext, good, 12);
    await waitFor(async () => !(await send(ext, { type: 'settings.get' })).paths.claude?.thread?.failure, { what: 'the failure to clear' });
    await tab2.close();
  });
}

test('while capture is off for a site, its data is never requested', async () => {
  assert.equal((await send(ext, { type: 'settings.set', site: 'deepseek', enabled: false })).ok, true);
  const id = '7d1f9c2a-3e7b-4a60-b8d4-2c9e0f1a7b00';
  serveConversation('deepseek', id, 30);
  const before = requests.length;
  const tab = await open('deepseek', id);
  await tab.waitForTimeout(2500);
  const made = requests.slice(before).filter((r) => r.url.includes('/api/'));
  assert.deepEqual(made.map((r) => r.url), []);
  const list = await send(ext, { type: 'conversation.list' });
  assert.ok(!list.conversations.some((c) => c.conversationId === id));
  await tab.close();
  assert.equal((await send(ext, { type: 'settings.set', site: 'deepseek', enabled: true })).ok, true);
});

test('a reply over the size cap is refused while it streams in: nothing stored wrongly, health says too large', async () => {
  const id = '3f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a00';
  const huge = JSON.stringify({ title: 'x', mapping: {}, pad: 'x'.repeat(33 * 1024 * 1024) });
  serveConversation('chatgpt', id, 20, { endpoint: (url) => (url.includes('/backend-api/') ? { status: 200, body: huge } : null) });
  const tab = await open('chatgpt', id);
  await storedConversation(ext, id, 6);
  const health = await waitFor(async () => (await send(ext, { type: 'settings.get' })).paths.chatgpt?.thread?.failure, { timeout: 30000, what: 'too_large' });
  assert.equal(health, 'too_large');
  await tab.close();
});

test('a tab that moves to another conversation mid-read stores nothing of the first in the second', async () => {
  const a = '1a1b2c3d-4e5f-4a60-8b70-00000000000a';
  const b = '1a1b2c3d-4e5f-4a60-8b70-00000000000b';
  const ta = threadReplies('claude', a, 40, { org: CLAUDE_ORG, title: 'First' });
  const tb = threadReplies('claude', b, 10, { org: CLAUDE_ORG, title: 'Second' });
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  sites.set('https://claude.ai', async (url, method, body) => {
    const u = new URL(url);
    if (u.pathname === `/chat/${a}`) return { status: 200, contentType: 'text/html; charset=utf-8', body: pageOf('claude', ta.messages.slice(-6), 'First') };
    if (u.pathname.includes(a)) {
      await gate; // the first conversation's data arrives only after the tab moved on
      return ta.reply(url, method, body);
    }
    return tb.reply(url, method, body);
  });
  const before = requests.length;
  const tab = await open('claude', a);
  await storedConversation(ext, a, 6);
  await waitFor(() => requests.slice(before).some((r) => r.url.includes(`/chat_conversations/${a}`)), { what: 'the read of the first conversation' });
  // The site's own navigation: a new address and the other conversation's turns.
  await tab.evaluate(({ id, html }) => {
    history.pushState({}, '', `/chat/${id}`);
    document.querySelector('main').replaceChildren(...new DOMParser().parseFromString(html, 'text/html').querySelector('main').childNodes);
  }, { id: b, html: pageOf('claude', tb.messages.slice(-6), 'Second') });
  await tab.waitForTimeout(1500);
  release();
  const second = await storedConversation(ext, b, 10);
  assert.deepEqual(texts(second), tb.messages.map((m) => m.text), 'the second holds its own turns only');
  await tab.waitForTimeout(1000);
  const first = await storedConversation(ext, a, 6);
  assert.equal(first.messages.length, 6, 'the first keeps what its page showed; its late data was refused');
  assert.deepEqual(texts(first), ta.messages.slice(-6).map((m) => m.text));
  await tab.close();
});
