// Bundles the extension for each browser into dist/<browser>/ and zips it.
// Inputs: extension/, www/, build/web/ (the wasm core after wasm-bindgen and wasm-opt,
// made by the Makefile) and build/meaning/model.tkem (scripts/model.sh). Run through `make`, not by hand.

import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { deflateSync } from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');
const BROWSERS = ['chromium', 'firefox'];
const read = (p) => fs.readFileSync(path.join(root, p));
const { ADAPTERS } = await import(path.join(root, 'extension/sites/index.js'));
const readJson = (p) => JSON.parse(read(p));

function manifestFor(browser) {
  const manifest = { ...readJson('extension/manifest.base.json'), ...readJson(`extension/manifest.${browser}.json`) };
  manifest.version = readJson('package.json').version;
  // Content scripts run on every supported AI site, top frame only; the hosts come from
  // the adapters, so adding an adapter is the only step to support a site.
  const matches = ADAPTERS.flatMap((a) => a.matches ?? a.hosts.map((h) => `https://${h}/*`));
  // Host access to the same sites lets the background read a tab's current address
  // (single-page apps change it without reloading); it grants nothing beyond them. The
  // base manifest's own (a sync server on this computer, loopback only) come first.
  manifest.host_permissions = [...(manifest.host_permissions ?? []), ...matches];
  manifest.content_scripts = [{
    matches,
    js: ['content.js'],
    run_at: 'document_idle',
    all_frames: false,
  }];
  return manifest;
}

// A small PNG icon drawn in code, so no binary asset is committed: a rounded blue
// square with a white "thread" loop.
function crc32(bytes) {
  let c, crc = 0xffffffff;
  for (const b of bytes) {
    c = (crc ^ b) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function icon(size) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const r = size * 0.22, c = size / 2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const dx = Math.max(r - x - 0.5, x + 0.5 - (size - r), 0), dy = Math.max(r - y - 0.5, y + 0.5 - (size - r), 0);
      const inside = dx * dx + dy * dy <= r * r;
      const d = Math.hypot(x + 0.5 - c, y + 0.5 - c);
      const ring = Math.abs(d - size * 0.28) < Math.max(1, size * 0.07);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const [R, G, B] = ring ? [255, 255, 255] : [47, 111, 223];
      raw.set([R, G, B, inside ? 255 : 0], o);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function listFiles(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

async function buildBrowser(browser) {
  const out = path.join(dist, browser);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'icons'), { recursive: true });
  const common = { bundle: true, minify: true, sourcemap: false, target: ['chrome120', 'firefox142'], legalComments: 'none', logLevel: 'warning' };
  await build({ ...common, entryPoints: { background: 'extension/background.js' }, format: 'esm', outdir: out, absWorkingDir: root });
  await build({ ...common, entryPoints: { popup: 'www/popup.js', vault: 'www/vault.js', content: 'extension/content/main.js' }, format: 'iife', outdir: out, absWorkingDir: root });
  for (const page of ['popup.html', 'vault.html', 'style.css']) fs.copyFileSync(path.join(root, 'www', page), path.join(out, page));
  fs.copyFileSync(path.join(root, 'build/web/threadkeeper_bg.wasm'), path.join(out, 'threadkeeper_bg.wasm'));
  // Recall by meaning's model (scripts/model.sh) and its licence, read by the worker
  // from the extension's own files.
  fs.copyFileSync(path.join(root, 'build/meaning/model.tkem'), path.join(out, 'meaning.tkem'));
  fs.copyFileSync(path.join(root, 'extension/meaning/LICENSE-potion-base-2M.txt'), path.join(out, 'LICENSE-potion-base-2M.txt'));
  for (const size of [16, 32, 48, 128]) fs.writeFileSync(path.join(out, 'icons', `${size}.png`), icon(size));
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifestFor(browser), null, 2) + '\n');
  const files = Object.fromEntries(listFiles(out).sort().map((f) => [f, [fs.readFileSync(path.join(out, f)), { mtime: new Date('2026-01-01T00:00:00Z') }]]));
  fs.writeFileSync(path.join(dist, `threadkeeper-${browser}.zip`), zipSync(files, { level: 9 }));
}

for (const browser of BROWSERS) await buildBrowser(browser);
console.log(`built ${BROWSERS.map((b) => `dist/${b}`).join(', ')} and their zips`);
