// Headless Chromium without the extension, with the editor pages served at the AI
// sites' real addresses, for testing the content modules against real editors.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { buildEditors, OUT } from './build.mjs';

/** Where each editor kind lives on the web. */
export const SITES = {
  prosemirror: ['https://chatgpt.com/c/restore-e2e', 'https://claude.ai/chat/restore-e2e'],
  quill: ['https://gemini.google.com/app/restore-e2e'],
  lexical: ['https://www.perplexity.ai/search/restore-e2e'],
  textarea: ['https://chat.deepseek.com/a/chat/s/restore-e2e'],
};

/** The composer of each page, as a site adapter would find it. */
export const COMPOSERS = {
  prosemirror: '#prompt-textarea.ProseMirror',
  quill: 'rich-textarea .ql-editor',
  lexical: '[data-lexical-editor="true"]',
  textarea: 'textarea#chat-input',
};

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export async function launchWithEditors() {
  await buildEditors();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  for (const [kind, urls] of Object.entries(SITES)) {
    for (const url of urls) {
      const origin = new URL(url).origin;
      await context.route(`${origin}/**`, (route) => {
        const { pathname } = new URL(route.request().url());
        const file = pathname.startsWith('/__editors/') ? pathname.slice('/__editors/'.length) : `${kind}.html`;
        const full = path.join(OUT, path.basename(file));
        if (!fs.existsSync(full)) return route.fulfill({ status: 404, body: 'not found' });
        return route.fulfill({ status: 200, contentType: TYPES[path.extname(full)] ?? 'application/octet-stream', body: fs.readFileSync(full) });
      });
    }
  }
  return {
    context,
    /** Opens `url` and waits for its editor; `modules` are 'insert' and/or 'chip'. */
    async open(url, modules = []) {
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => typeof window.__editorText === 'function');
      for (const m of modules) await page.addScriptTag({ content: fs.readFileSync(path.join(OUT, `${m}.js`), 'utf8') });
      return page;
    },
    close: () => browser.close(),
  };
}
