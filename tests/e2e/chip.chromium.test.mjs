// The restore chip on a chat page: only the person's own click restores, it can be
// dismissed and used from the keyboard, and it never covers the composer or its send
// button. The module is tested on its own here, without the extension loaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchWithEditors, SITES } from '../editors/serve.mjs';

let browser;
before(async () => { browser = await launchWithEditors(); });
after(async () => { await browser?.close(); });

/** Opens a chat page and mounts the chip on `anchor`, avoiding the send button. */
async function chatWithChip({ url = SITES.prosemirror[0], anchor = '.composer-box', count = 42, hangs = false } = {}) {
  const page = await browser.open(url, ['chip']);
  await page.evaluate(([anchor, count, hangs]) => {
    window.__restored = 0;
    window.__dismissed = 0;
    window.__chip = window.__threadkeeper_chip.mountChip({
      anchor: document.querySelector(anchor),
      avoid: [document.querySelector('[data-testid="send-button"]')],
      count,
      onRestore: () => { window.__restored++; return hangs ? new Promise(() => {}) : undefined; },
      onDismiss: () => { window.__dismissed++; },
    });
  }, [anchor, count, hangs]);
  return page;
}

const rectOf = (page, selector) => page.evaluate((s) => {
  const el = document.querySelector(s);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height };
}, selector);
const CHIP = '[data-threadkeeper-chip]';
const counters = (page) => page.evaluate(() => ({ restored: window.__restored, dismissed: window.__dismissed }));
const overlaps = (a, b) => a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;

/** The chip's text, read through the DevTools protocol, which sees into closed shadow roots. */
async function chipText(page) {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
  await cdp.detach();
  const find = (n) => {
    if ((n.attributes ?? []).includes('data-threadkeeper-chip')) return n;
    for (const c of [...(n.children ?? []), ...(n.shadowRoots ?? [])]) { const f = find(c); if (f) return f; }
    return null;
  };
  const text = (n) => (n.nodeType === 3 ? n.nodeValue : '') + [...(n.shadowRoots ?? []), ...(n.children ?? [])].filter((c) => c.nodeName !== 'STYLE').map(text).join('');
  const host = find(root);
  return host ? text(host) : null;
}

test('a real click on the chip restores', async () => {
  const page = await chatWithChip();
  const r = await rectOf(page, CHIP);
  await page.mouse.click(r.left + 30, r.top + r.height / 2);
  assert.deepEqual(await counters(page), { restored: 1, dismissed: 0 });
  await page.close();
});

test('a click dispatched by a page script does not restore', async () => {
  const page = await chatWithChip();
  await page.evaluate((sel) => {
    const host = document.querySelector(sel);
    host.dispatchEvent(new MouseEvent('click', { bubbles: true, composed: true }));
    host.click();
    host.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true }));
  }, CHIP);
  assert.deepEqual(await counters(page), { restored: 0, dismissed: 0 });
  // Its inside is closed to the page.
  assert.equal(await page.evaluate((sel) => document.querySelector(sel).shadowRoot, CHIP), null);
  await page.close();
});

test('the chip says how many messages are saved, and updates', async () => {
  const page = await chatWithChip();
  assert.equal(await chipText(page), '42 saved messages · Restore×');
  await page.evaluate(() => window.__chip.update(1));
  assert.equal(await chipText(page), '1 saved message · Restore×');
  await page.close();
});

test('dismissing the chip removes it without restoring', async () => {
  const page = await chatWithChip();
  const r = await rectOf(page, CHIP);
  await page.mouse.click(r.right - 12, r.top + r.height / 2);
  assert.deepEqual(await counters(page), { restored: 0, dismissed: 1 });
  assert.equal(await page.$(CHIP), null);
  await page.close();
});

test('the chip works from the keyboard: Enter restores, Escape dismisses', async () => {
  const page = await chatWithChip();
  await page.focus(CHIP); // the focus goes to its restore button
  await page.keyboard.press('Enter');
  assert.deepEqual(await counters(page), { restored: 1, dismissed: 0 });
  await page.keyboard.press('Escape');
  assert.deepEqual(await counters(page), { restored: 1, dismissed: 1 });
  assert.equal(await page.$(CHIP), null);
  await page.close();
});

test('a second click while restoring does not restore twice', async () => {
  const page = await chatWithChip({ hangs: true });
  const r = await rectOf(page, CHIP);
  await page.mouse.click(r.left + 30, r.top + r.height / 2);
  await page.mouse.click(r.left + 30, r.top + r.height / 2);
  assert.deepEqual(await counters(page), { restored: 1, dismissed: 0 });
  await page.close();
});

for (const [name, opts] of [
  ['the composer box', { anchor: '.composer-box' }],
  ['the editor inside the box', { anchor: '#prompt-textarea' }],
  ['a textarea composer', { url: SITES.textarea[0], anchor: '#chat-input' }],
  ['a Quill composer', { url: SITES.quill[0], anchor: 'rich-textarea' }],
]) {
  test(`the chip next to ${name} covers neither the composer nor the send button`, async () => {
    const page = await chatWithChip(opts);
    const chip = await rectOf(page, CHIP);
    const viewport = page.viewportSize();
    for (const sel of ['.composer-box > :first-child', opts.anchor, '[data-testid="send-button"]']) {
      const r = await rectOf(page, sel);
      assert.ok(!overlaps(chip, r), `the chip ${JSON.stringify(chip)} covers ${sel} ${JSON.stringify(r)}`);
    }
    assert.ok(chip.left >= 0 && chip.top >= 0 && chip.right <= viewport.width && chip.bottom <= viewport.height, 'the chip is on screen');
    assert.ok(chip.width > 50 && chip.height > 10, 'the chip is visible');
    await page.close();
  });
}

test('with the composer at the top of the window the chip goes below it', async () => {
  const page = await browser.open(SITES.prosemirror[0], ['chip']);
  await page.addStyleTag({ content: '.composer-box { top: 4px; bottom: auto; }' });
  await page.evaluate(() => window.__threadkeeper_chip.mountChip({ anchor: document.querySelector('.composer-box'), count: 3, onRestore() {} }));
  const chip = await rectOf(page, CHIP);
  const box = await rectOf(page, '.composer-box');
  assert.ok(chip.top >= box.bottom, `${JSON.stringify(chip)} is not below ${JSON.stringify(box)}`);
  await page.close();
});

test('the chip follows the site: light on a light page, dark on a dark one', async () => {
  const light = await chatWithChip();
  assert.equal(await light.getAttribute(CHIP, 'data-theme'), 'light');
  await light.close();
  const dark = await chatWithChip({ url: `${SITES.prosemirror[0]}?theme=dark` });
  assert.equal(await dark.getAttribute(CHIP, 'data-theme'), 'dark');
  await dark.close();
});
