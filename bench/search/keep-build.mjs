// Keeps a copy of dist/chromium as bench/out/builds/NAME for bench/search/popup.mjs
// (`--build NAME=bench/out/builds/NAME`), to compare builds side by side in one run.
// Every kept build gets the same manifest `key`, so the same extension id: a profile
// filled with one build can then seed another build's of the same stored format
// (popup.mjs `--seed NAME=FROM`) instead of a fill of about 100 s.
// Run: make && node bench/search/keep-build.mjs NAME
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../tests/e2e/chromium.mjs';

const name = process.argv[2];
if (!/^[\w-]+$/.test(name ?? '')) throw new Error('usage: node bench/search/keep-build.mjs NAME');
const builds = path.join(ROOT, 'bench/out/builds');
const keyFile = path.join(builds, '.manifest-key');
fs.mkdirSync(builds, { recursive: true });
if (!fs.existsSync(keyFile)) {
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'der' }).toString('base64'));
}
const dir = path.join(builds, name);
fs.rmSync(dir, { recursive: true, force: true });
fs.cpSync(path.join(ROOT, 'dist/chromium'), dir, { recursive: true });
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
manifest.key = fs.readFileSync(keyFile, 'utf8');
fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
console.log(`kept dist/chromium as ${path.relative(ROOT, dir)}`);
