// Builds the editor fixture pages into build/editors/: each mounts a real editor from
// npm (ProseMirror, Quill, Lexical) or a framework-owned textarea, the composers of
// the AI sites, and exposes `window.__editorText()`, the text read through the
// editor's own API. Tests serve them at the sites' real URLs (see ./serve.mjs).
//
//   node tests/editors/build.mjs
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '../..');
export const OUT = path.join(ROOT, 'build/editors');
export const KINDS = ['prosemirror', 'quill', 'lexical', 'textarea'];

export async function buildEditors() {
  fs.mkdirSync(OUT, { recursive: true });
  await esbuild.build({
    entryPoints: KINDS.map((k) => path.join(HERE, `${k}.js`)),
    outdir: OUT,
    bundle: true,
    format: 'iife',
    target: 'chrome120',
    logLevel: 'warning',
  });
  for (const file of [...KINDS.map((k) => `${k}.html`), 'page.css']) {
    fs.copyFileSync(path.join(HERE, file), path.join(OUT, file));
  }
  // The modules under test, as scripts a page can take (they are ES modules).
  for (const [name, file] of [['insert', 'extension/content/insert.js'], ['chip', 'extension/content/chip.js']]) {
    await esbuild.build({
      entryPoints: [path.join(ROOT, file)],
      outfile: path.join(OUT, `${name}.js`),
      bundle: true,
      format: 'iife',
      globalName: `__threadkeeper_${name}`,
      target: 'chrome120',
      logLevel: 'warning',
    });
  }
  return OUT;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  await buildEditors();
  console.log(`editor pages in ${path.relative(ROOT, OUT)}/`);
}
