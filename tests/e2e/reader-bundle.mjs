// Test-only: the page reader (extract.js) and every site adapter bundled into one
// script that exposes `window.__tkReader`, so adapters can be proved on real pages
// without loading the whole extension.
import { build } from 'esbuild';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

const ENTRY = `
import { conversationIdOf, findTurns, makeReader } from './extension/content/extract.js';
import { ADAPTERS, adapterFor, adapterForUrl } from './extension/sites/index.js';
import { editorKind } from './extension/content/restore.js';

// Everything a test wants from one page, read as the content script would read it.
function read(url = location.href, root = document) {
  const adapter = adapterForUrl(url);
  if (!adapter) return null;
  const reader = makeReader(adapter);
  const composer = adapter.composer ? root.querySelector(adapter.composer.selector) : null;
  return {
    site: adapter.site,
    conversationId: conversationIdOf(adapter, url),
    title: reader.title(root),
    model: reader.model(root),
    messages: findTurns(adapter, root).map(({ el, role }) => reader.message(el, role)),
    // The kind the extension resolves for the element found (restore.js), as it inserts.
    composer: composer && { kind: editorKind(composer, adapter.composer.kind), tag: composer.tagName.toLowerCase(),
      contentEditable: composer.isContentEditable, classes: [...composer.classList],
      lexical: composer.getAttribute('data-lexical-editor') },
  };
}

window.__tkReader = { ADAPTERS, adapterFor, adapterForUrl, conversationIdOf, findTurns, makeReader, read };
`;

/** The bundle's source text, an IIFE ready for page.addScriptTag({content}). */
export async function readerBundle() {
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: 'reader-entry.js', loader: 'js' },
    bundle: true,
    format: 'iife',
    write: false,
    platform: 'browser',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
