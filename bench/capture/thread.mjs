// Thread-path benchmark (prints JSON; not a test). In Debian's Chromium with
// dist/chromium: a 500-turn conversation whose page shows its last 6 turns, the site's
// endpoint served at its real address by request routing (tests/fixtures/live/make.mjs).
// Measured per run: from the first request to the site's endpoint to all 500 turns
// stored (polling the background every 10 ms), and the page's main-thread script time
// (CDP ScriptDuration) from navigation to stored, which holds the content script's
// fetch, the page's own work and the engine reading the 6 shown turns.
// Run: make && node bench/capture/thread.mjs [runs]
import { launch, send, waitFor, FAST_KDF } from '../../tests/e2e/chromium.mjs';
import { threadReplies, uid } from '../../tests/fixtures/live/make.mjs';

const TURNS = 500;
const RUNS = Number(process.argv[2] ?? 5);
const TOKEN = 'bench-token';
const browser = await launch();
const ext = await browser.page('vault.html');
await send(ext, { type: 'vault.create', passphrase: 'benchmark passphrase', kdf: FAST_KDF });

const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const SHAPES = {
  'chatgpt-messages': { site: 'chatgpt', opts: { chatgptShape: 'messages', pageSize: 100 }, url: (id) => `https://chatgpt.com/c/${id}` },
  'chatgpt-mapping': { site: 'chatgpt', opts: { chatgptShape: 'mapping' }, url: (id) => `https://chatgpt.com/c/${id}` },
  claude: { site: 'claude', opts: { org: 'bench-org' }, url: (id) => `https://claude.ai/chat/${id}` },
};
const page = {
  chatgpt: (m) => `<article><div data-message-author-role="${m.role}" data-message-id="${uid(m.index + 1, 'c')}"><div class="${m.role === 'user' ? 'whitespace-pre-wrap' : 'markdown'}">${esc(m.text)}</div></div></article>`,
  claude: (m) => (m.role === 'user' ? `<div data-testid="user-message"><p>${esc(m.text)}</p></div>` : `<div data-is-streaming="false"><div class="font-claude-response"><div class="standard-markdown"><p>${esc(m.text)}</p></div></div></div>`),
};

let current = null; // {origin, reply, html, pathname, firstRequestAt}
for (const origin of ['https://chatgpt.com', 'https://claude.ai']) {
  await browser.context.route(`${origin}/**`, (route) => {
    const req = route.request();
    const u = new URL(req.url());
    if (!current || current.origin !== origin) return route.fulfill({ status: 404, body: '' });
    if (u.pathname === current.pathname) return route.fulfill({ status: 200, contentType: 'text/html', body: current.html });
    if (u.pathname === '/api/auth/session') return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ accessToken: TOKEN }) });
    current.firstRequestAt ??= performance.now();
    const answer = current.reply(req.url(), req.method(), req.postData());
    return route.fulfill({ status: answer.status, contentType: 'application/json', body: answer.body });
  });
}
await browser.context.addCookies([{ name: 'lastActiveOrg', value: 'bench-org', domain: 'claude.ai', path: '/', secure: true }]);

const results = {};
let n = 0;
for (const [name, shape] of Object.entries(SHAPES)) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const id = `0000bench-${name}-${++n}`;
    const thread = threadReplies(shape.site, id, TURNS, shape.opts);
    const url = new URL(shape.url(id));
    const html = `<!doctype html><html><head><title>Bench</title></head><body><main>${thread.messages.slice(-6).map(page[shape.site]).join('')}</main></body></html>`;
    current = { origin: url.origin, pathname: url.pathname, html, reply: thread.reply, firstRequestAt: null };
    const bytes = thread.bodies.reduce((s, b) => s + b.length, 0);
    const tab = await browser.context.newPage();
    const cdp = await tab.context().newCDPSession(tab);
    await cdp.send('Performance.enable');
    const script = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ScriptDuration').value;
    const s0 = await script();
    await tab.goto(url.href);
    await waitFor(async () => (await send(ext, { type: 'conversation.list' })).conversations.some((c) => c.conversationId === id && c.messageCount >= TURNS), { timeout: 60000, interval: 10, what: `${name} stored` });
    const storedAt = performance.now();
    const s1 = await script();
    runs.push({ fetchToStoredMs: Math.round(storedAt - current.firstRequestAt), pageScriptMs: Math.round((s1 - s0) * 1000), replyKiB: Math.round(bytes / 1024) });
    await tab.close();
  }
  const sorted = runs.map((x) => x.fetchToStoredMs).sort((a, b) => a - b);
  results[name] = { turns: TURNS, runs, medianFetchToStoredMs: sorted[Math.floor(sorted.length / 2)] };
}
console.log(JSON.stringify(results, null, 2));
await browser.close();
