// Inserting a restore block into each AI site's real composer editor (ProseMirror,
// Quill, Lexical, a framework-owned textarea), served at the site's own address.
// The module is tested on its own here, without the extension loaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchWithEditors, SITES, COMPOSERS } from '../editors/serve.mjs';

// A block as restore.rs writes it, plus markup that must stay text.
const BLOCK = [
  'Context from an earlier conversation, saved by Threadkeeper.',
  'Site: ChatGPT',
  '',
  '**User:**',
  '> Which sort is stable?',
  '',
  '**Assistant:**',
  '> Merge sort, for example:',
  '> ```rust',
  '> fn sort(v: &mut Vec<u32>) { v.sort(); } // <b>not bold</b>',
  '> ```',
  '> <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">',
  '> - a list item with `code` and a [link](https://example.com)',
  '',
  '(End of the saved context.)',
].join('\n');

const squash = (s) => s.replace(/[\s\u200b\ufeff]+/g, '');

let browser;
before(async () => { browser = await launchWithEditors(); });
after(async () => { await browser?.close(); });

async function insert(page, kind, text) {
  return page.evaluate(async ([selector, kind, text]) => {
    const el = document.querySelector(selector);
    return window.__threadkeeper_insert.insertIntoComposer(el, kind, text);
  }, [COMPOSERS[kind], kind, text]);
}

for (const [kind, urls] of Object.entries(SITES)) {
  for (const url of urls) {
    const site = new URL(url).hostname;
    test(`restoring on ${site} puts the whole block into its ${kind} editor's own state, as text`, async () => {
      const page = await browser.open(url, ['insert']);
      const dialogs = [];
      page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
      await page.evaluate(() => { window.__xss = 0; });

      const result = await insert(page, kind, BLOCK);
      assert.equal(result.ok, true, `insertion failed: ${JSON.stringify(result)}`);
      // The first way each editor is tried takes: a paste, or the textarea's native setter.
      assert.equal(result.method, kind === 'textarea' ? 'value' : 'paste');

      const state = await page.evaluate(() => window.__editorText());
      assert.equal(squash(state), squash(BLOCK), `the ${kind} state holds:\n${state}`);
      if (kind !== 'prosemirror') {
        // ProseMirror's plain-text paste makes blank lines paragraph breaks; the others keep every line.
        for (const line of BLOCK.split('\n').filter(Boolean)) assert.ok(state.includes(line), `missing line ${line}`);
      }
      const markup = await page.evaluate((sel) => {
        const el = document.querySelector(sel);
        return { tags: el.querySelectorAll('script, img, b').length, xss: window.__xss };
      }, COMPOSERS[kind]);
      assert.deepEqual(markup, { tags: 0, xss: 0 }, 'markup in the block was rendered');
      assert.deepEqual(dialogs, []);
      await page.close();
    });
  }
}

test('a draft already in the composer is kept, and the block goes after it', async () => {
  const page = await browser.open(SITES.prosemirror[0], ['insert']);
  await page.click(COMPOSERS.prosemirror);
  await page.keyboard.type('my draft question');
  const result = await insert(page, 'prosemirror', BLOCK);
  assert.equal(result.ok, true);
  const state = await page.evaluate(() => window.__editorText());
  assert.ok(squash(state).startsWith('mydraftquestion'), state);
  assert.ok(squash(state).endsWith(squash(BLOCK)), state);
  await page.close();
});

test('restoring the same block twice is checked the second time too', async () => {
  const page = await browser.open(SITES.textarea[0], ['insert']);
  assert.equal((await insert(page, 'textarea', 'short block')).ok, true);
  assert.equal((await insert(page, 'textarea', 'short block')).ok, true);
  assert.equal(await page.evaluate(() => window.__editorText()), 'short blockshort block');
  await page.close();
});

test('a composer that ignores every insertion is reported, so the block can be copied instead', async () => {
  const page = await browser.open(SITES.prosemirror[0], ['insert']);
  // A read-only editor: ProseMirror with editable false takes neither paste nor typing.
  await page.evaluate(() => window.__editor.setProps({ editable: () => false }));
  const result = await insert(page, 'prosemirror', BLOCK);
  assert.deepEqual(result, { ok: false, reason: 'not-inserted' });
  assert.equal(await page.evaluate(() => window.__editorText()), '');
  await page.close();
});

test('the clipboard fallback puts the block on the clipboard', async () => {
  const page = await browser.open(SITES.quill[0], ['insert']);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: 'https://gemini.google.com' });
  await page.click(COMPOSERS.quill); // a user activation, as the chip's click gives
  const result = await page.evaluate((text) => window.__threadkeeper_insert.copyFallback(text), BLOCK);
  assert.equal(result.ok, true);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), BLOCK);
  await page.close();
});
