// Capture benchmark (prints JSON; not a test). In Debian's Chromium with dist/chromium:
// 1. main-thread cost per new turn on a 500-turn ChatGPT-shaped page: renderer script
//    time (CDP Performance.getMetrics ScriptDuration) while the page appends turns, with
//    capture on minus the same with capture paused;
// 2. messages per second stored through the background: snapshots of 500 new messages
//    sent from the content script's world, until 5,000 are stored.
// Run: make && node bench/capture/run.mjs
import { launch, send, serve, pageHtml, waitFor, evaluateInContentScript, FAST_KDF } from '../../tests/e2e/chromium.mjs';

const TURNS = 500;
const NEW_TURNS = 50;
const browser = await launch();
const pages = new Map();
await serve(browser.context, 'https://chatgpt.com', (url) => pages.get(url.pathname));
const ext = await browser.page('vault.html');
await send(ext, { type: 'vault.create', passphrase: 'benchmark passphrase', kdf: FAST_KDF });

const para = (i) => `<p>Turn ${i}: the quick brown fox jumps over the lazy dog while we discuss encryption, indexes and restore blocks in some depth.</p><ul><li>point one</li><li>point <code>two</code></li></ul>`;
function turnHtml(i) {
  const role = i % 2 ? 'assistant' : 'user';
  const body = role === 'user' ? `<div class="whitespace-pre-wrap">Question ${i} about the fox</div>` : `<div class="markdown prose">${para(i)}${para(i + 0.5)}</div>`;
  return `<article data-turn="${role}"><div data-message-author-role="${role}" data-message-id="m${i}">${body}</div></article>`;
}
const page = pageHtml(`<main id="thread">${Array.from({ length: TURNS }, (_, i) => turnHtml(i)).join('')}</main>
<script>
  window.appendTurns = (from, count, gap) => new Promise((done) => {
    let i = from;
    const t = setInterval(() => {
      document.getElementById('thread').insertAdjacentHTML('beforeend', ${JSON.stringify(turnHtml('__I__'))}.replaceAll('__I__', i).replace(/data-turn="\\w+"/, 'data-turn="' + (i % 2 ? 'assistant' : 'user') + '"').replace(/data-message-author-role="\\w+"/, 'data-message-author-role="' + (i % 2 ? 'assistant' : 'user') + '"'));
      if (++i >= from + count) { clearInterval(t); setTimeout(done, 2500); }
    }, gap);
  });
</script>`);

async function scriptSeconds(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'ScriptDuration').value;
}

async function costOfAppending(pathname, paused) {
  await send(ext, { type: 'settings.set', paused });
  pages.set(pathname, page);
  const tab = await browser.context.newPage();
  const cdp = await tab.context().newCDPSession(tab);
  await cdp.send('Performance.enable');
  await tab.goto(`https://chatgpt.com${pathname}`);
  if (!paused) {
    await waitFor(async () => (await send(ext, { type: 'conversation.list' })).conversations.some((c) => c.messageCount >= TURNS && c.url.endsWith(pathname)), { timeout: 60000, what: 'the 500-turn page stored' });
  }
  await new Promise((r) => setTimeout(r, 2000));
  const before = await scriptSeconds(cdp);
  const t0 = Date.now();
  await tab.evaluate(([from, count]) => window.appendTurns(from, count, 120), [TURNS, NEW_TURNS]);
  const after = await scriptSeconds(cdp);
  const wall = Date.now() - t0;
  return { tab, scriptMs: (after - before) * 1000, wall };
}

const off = await costOfAppending('/c/bench-paused', true);
await off.tab.close();
const on = await costOfAppending('/c/bench-on', false);
const storedAll = await waitFor(async () => (await send(ext, { type: 'conversation.list' })).conversations.find((c) => c.url.endsWith('/c/bench-on') && c.messageCount >= TURNS + NEW_TURNS), { timeout: 30000, what: 'new turns stored' });

// Throughput through the background: 10 snapshots of 500 new messages each.
const BATCH = Number(process.env.BATCH ?? 500), BATCHES = 5000 / BATCH;
const t0 = performance.now();
let last = null;
for (let b = 0; b < BATCHES; b++) {
  const messages = [];
  if (last) messages.push(last);
  for (let i = 0; i < BATCH; i++) {
    const n = b * BATCH + i;
    messages.push({ role: n % 2 ? 'assistant' : 'user', markdown: `Throughput message ${n}: ${'lorem ipsum dolor sit amet '.repeat(8)}`, turnId: `t${n}` });
  }
  last = messages[messages.length - 1];
  const reply = await evaluateInContentScript(on.tab, `chrome.runtime.sendMessage(${JSON.stringify({ type: 'capture', snapshot: { conversationId: 'bench-on', messages } })})`);
  if (!reply.ok) throw new Error(JSON.stringify(reply));
}
const seconds = (performance.now() - t0) / 1000;

const result = {
  benchmark: 'capture',
  chromium: browser.context.browser()?.version() ?? 'debian chromium',
  page_turns: TURNS,
  new_turns: NEW_TURNS,
  main_thread_ms_per_new_turn: +((on.scriptMs - off.scriptMs) / NEW_TURNS).toFixed(3),
  script_ms_capture_on: +on.scriptMs.toFixed(1),
  script_ms_capture_paused: +off.scriptMs.toFixed(1),
  stored_after_append: storedAll.messageCount,
  throughput_messages: BATCH * BATCHES,
  throughput_seconds: +seconds.toFixed(2),
  messages_per_second: Math.round((BATCH * BATCHES) / seconds),
  goals: { main_thread_ms_per_new_turn: 1, messages_per_second: 5000 },
};
console.log(JSON.stringify(result, null, 2));
await browser.close();
