// Search from the popup in real Chromium with dist/chromium loaded: captured words are
// found as you type, with marked snippets; arrows and Enter open the transcript; a
// cold worker answers from the persisted index; a locked vault shows no results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, send, serve, pageHtml, storedConversation, stopServiceWorker, waitFor, FAST_KDF } from './chromium.mjs';

const PASSPHRASE = 'search test passphrase';
let browser, ext;
const pages = new Map();

before(async () => {
  browser = await launch();
  await serve(browser.context, 'https://claude.ai', (url) => pages.get(url.pathname));
  ext = await browser.page('vault.html');
  assert.equal((await send(ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF })).ok, true);
  const chats = {
    'a1b2c3d4-0000-4000-8000-000000000001': ['How do I brew gyokuro tea properly?', 'Use water at 50–60 °C and steep for two minutes.'],
    'a1b2c3d4-0000-4000-8000-000000000002': ['Plan a hike near Zermatt', 'Try the Five Lakes Walk; bring layers.'],
    'a1b2c3d4-0000-4000-8000-000000000003': ['東京で一番おいしいラーメンはどこですか', '新宿の風雲児がおすすめです。'],
  };
  for (const [id, [q, a]] of Object.entries(chats)) {
    pages.set(`/chat/${id}`, pageHtml(`<main><div data-testid="user-message"><p class="whitespace-pre-wrap break-words">${q}</p></div><div data-is-streaming="false"><div class="font-claude-response"><p class="whitespace-normal break-words">${a}</p></div></div></main>`, `${q.slice(0, 20)} - Claude`));
    const tab = await browser.context.newPage();
    await tab.goto(`https://claude.ai/chat/${id}`);
    await storedConversation(ext, id, 2);
    await tab.close();
  }
});
after(async () => { await browser?.close(); });

test('typing a word from a captured chat finds it, with the match marked', async () => {
  const popup = await browser.page('popup.html');
  const search = popup.locator('input[type=search]');
  await search.waitFor();
  assert.equal(await popup.evaluate(() => document.activeElement?.type), 'search', 'the search field has focus on open');
  await search.pressSequentially('gyoku');
  const option = popup.locator('[role=listbox] [role=option]').first();
  await option.filter({ hasText: 'How do I brew gyokuro' }).waitFor();
  assert.equal(await popup.locator('[role=listbox] [role=option]').count(), 1);
  assert.equal(await option.locator('mark').first().textContent(), 'gyokuro');
  assert.match(await popup.locator('#search-info').textContent(), /\d+ match/);
  await popup.close();
});

test('a Japanese word inside unspaced text is found', async () => {
  const popup = await browser.page('popup.html');
  await popup.locator('input[type=search]').fill('ラーメン');
  await popup.locator('[role=option]', { hasText: '東京' }).waitFor();
  await popup.close();
});

test('arrow keys and Enter open the chosen conversation in the vault page', async () => {
  const popup = await browser.page('popup.html');
  const search = popup.locator('input[type=search]');
  await search.fill('site:claude');
  await popup.locator('[role=option]').nth(1).waitFor();
  const first = await popup.locator('[role=option][aria-selected=true]').getAttribute('data-id');
  await search.press('ArrowDown');
  const second = await popup.locator('[role=option][aria-selected=true]').getAttribute('data-id');
  assert.notEqual(first, second);
  const opened = browser.context.waitForEvent('page');
  await search.press('Enter');
  const vault = await opened;
  await vault.waitForLoadState();
  assert.ok(vault.url().endsWith(`#${second}`));
  await vault.locator('#transcript').waitFor();
  await vault.close();
  await popup.close();
});

test('no results and odd queries get a short answer, never an error', async () => {
  const popup = await browser.page('popup.html');
  const search = popup.locator('input[type=search]');
  await search.fill('xylophonequartz');
  await popup.locator('[role=listbox] .empty', { hasText: 'No results for' }).waitFor();
  for (const q of ['"unbalanced quote', 'site:nowhere tea', 'before:2026-99-99 tea', 'x'.repeat(10000)]) {
    await search.fill(q);
    await popup.waitForTimeout(150);
    assert.equal(await popup.getByRole('alert').count(), 0, q.slice(0, 30));
  }
  await search.fill('site:claude zermatt');
  await popup.locator('[role=option]', { hasText: 'Zermatt' }).waitFor();
  await popup.close();
});

test('a stopped worker answers from the saved index without rebuilding it', async () => {
  const popup = await browser.page('popup.html');
  await stopServiceWorker(popup);
  const reply = await send(popup, { type: 'search', query: 'Zermatt', limit: 10 });
  assert.equal(reply.ok, true);
  assert.equal(reply.rebuilt, false);
  assert.equal(reply.results[0].hits[0].snippet.includes('Zermatt'), true);
  assert.ok(reply.tookMs < 1000);
  await popup.close();
});

test('a stopped worker: the popup shows the search field before the vault is open, and the query typed then is answered', async () => {
  const opener = await browser.page('popup.html');
  await stopServiceWorker(opener);
  await opener.close();
  const popup = await browser.context.newPage();
  await popup.goto(`${browser.base}/popup.html`);
  await popup.locator('input[type=search]').fill('Zermatt');
  await popup.locator('[role=option]', { hasText: 'Zermatt' }).waitFor();
  await popup.locator('#status', { hasText: 'conversations' }).waitFor();
  // On one clock: the field showed (the popup's tk:ready) before the restarted worker
  // had its vault open (tk:vault-open), which the worker's answer to vault.status needs.
  const at = (mark) => `performance.timeOrigin + performance.getEntriesByName('${mark}')[0].startTime`;
  const ready = await popup.evaluate(at('tk:ready'));
  const opened = await browser.context.serviceWorkers().at(-1).evaluate(at('tk:vault-open'));
  assert.ok(ready < opened, `the field showed ${Math.round(ready - opened)} ms after the vault opened`);
  await popup.close();
});

test('a vault that locked while the worker was stopped: the popup ends on the unlock form', async () => {
  const popup = await browser.page('popup.html');
  await popup.locator('#capture-settings').waitFor(); // its messages all sent
  assert.equal(await popup.evaluate(() => chrome.storage.session.get('unlockedHint')).then((s) => s.unlockedHint), true);
  // Stopped first: a message still running would put the person's last use back to now.
  await stopServiceWorker(popup);
  await popup.evaluate(() => chrome.storage.session.set({ lastActive: Date.now() - 24 * 60 * 60000 }));
  await popup.close();
  const again = await browser.page('popup.html');
  await again.locator('#unlock-passphrase').waitFor();
  assert.equal(await again.locator('input[type=search]').count(), 0);
  assert.equal(await again.evaluate(() => chrome.storage.session.get('unlockedHint')).then((s) => s.unlockedHint), undefined);
  await again.locator('#unlock-passphrase').fill(PASSPHRASE);
  await again.getByRole('button', { name: 'Unlock' }).click();
  await again.locator('input[type=search]').waitFor();
  await again.close();
});

test('with the vault locked, the popup asks to unlock and shows no results', async () => {
  await send(ext, { type: 'vault.lock' });
  const popup = await browser.page('popup.html');
  await popup.locator('#unlock-passphrase').waitFor();
  assert.equal(await popup.locator('[role=option]').count(), 0);
  assert.equal(await popup.locator('input[type=search]').count(), 0);
  const reply = await send(popup, { type: 'search', query: 'gyokuro', limit: 5 });
  assert.equal(reply.error.code, 'locked');
  await popup.locator('#unlock-passphrase').fill(PASSPHRASE);
  await popup.getByRole('button', { name: 'Unlock' }).click();
  await popup.locator('input[type=search]').fill('gyokuro');
  await popup.locator('[role=option]', { hasText: 'gyokuro' }).waitFor();
  await popup.close();
});

test('the vault page browses by site and month, and deleting asks first', async () => {
  const vault = await browser.page('vault.html');
  await vault.locator('#site-filter').waitFor();
  assert.ok((await vault.locator('#conversation-list .month').count()) >= 1);
  assert.equal(await vault.locator('#conversation-list [data-site="claude"]').count(), 3);
  await vault.locator('#site-filter').selectOption('claude');
  await vault.locator('#conversation-list button.conversation', { hasText: 'Plan a hike' }).click();
  await vault.locator('#transcript').getByText('Five Lakes Walk').waitFor();
  await vault.locator('#transcript button.delete').click();
  await vault.locator('#carry-outcome', { hasText: 'Press again' }).waitFor();
  assert.equal((await send(vault, { type: 'conversation.list' })).conversations.length, 3, 'deleted without confirmation');
  await vault.locator('#transcript button.delete').click();
  await waitFor(async () => (await send(vault, { type: 'conversation.list' })).conversations.length === 2, { what: 'the deletion' });
  const gone = await send(vault, { type: 'search', query: 'Zermatt', limit: 5 });
  assert.equal(gone.total, 0);
  await vault.close();
});

test('results typed before the recent list loads are not replaced by it', async () => {
  const popup = await browser.context.newPage();
  // Hold back the first conversation.list answer, as a cold worker with a big vault would.
  await popup.addInitScript(() => {
    const send = chrome.runtime.sendMessage.bind(chrome.runtime);
    chrome.runtime.sendMessage = async (msg) => {
      const reply = await send(msg);
      if (msg?.type === 'conversation.list') await new Promise((r) => setTimeout(r, 1500));
      return reply;
    };
  });
  await popup.goto(`${browser.base}/popup.html`);
  await popup.locator('input[type=search]').fill('gyokuro');
  await popup.locator('[role=option] mark', { hasText: 'gyokuro' }).waitFor();
  await popup.waitForTimeout(2000);
  assert.equal(await popup.locator('[role=option] mark', { hasText: 'gyokuro' }).count(), 1);
  await popup.close();
});
