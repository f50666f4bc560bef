// The node package's file functions (DESIGN.md, "Contracts"): official exports in,
// encrypted archives out and back, errors with a code. Needs `make dist/node/threadkeeper.js`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const core = require('../../dist/node/threadkeeper.js');
const real = (p) => readFileSync(new URL(`../fixtures/real/${p}`, import.meta.url));
const fast = { mKiB: 19456, t: 2, p: 1 };

test('a ChatGPT export becomes conversations with roles and markdown', () => {
  const { conversations } = core.parseExport(real('chatgpt/export-conversations-2023.json'), 'conversations.json');
  assert.equal(conversations.length, 2);
  const [oscar] = conversations;
  assert.equal(oscar.site, 'chatgpt');
  assert.equal(oscar.id, '65e5bb56-a41c-407c-8e90-6261edbed4fa');
  assert.equal(oscar.url, 'https://chatgpt.com/c/65e5bb56-a41c-407c-8e90-6261edbed4fa');
  assert.equal(oscar.messages.length, 26);
  assert.equal(oscar.messages[0].role, 'user');
  assert.match(oscar.messages.at(-1).markdown, /^Zeker, hier is het advies/);
});

test('a sealed archive opens to the same conversations, and only with its passphrase', () => {
  const { conversations } = core.parseExport(real('claude/export-conversations-2024.json'), 'conversations.json');
  const file = core.sealArchive(conversations, 'export words', fast);
  assert.ok(file instanceof Uint8Array);
  assert.deepEqual(core.openArchive(file, 'export words').conversations, conversations);
  assert.throws(() => core.openArchive(file, 'other words'), { code: 'wrong_passphrase' });
  assert.throws(() => core.openArchive(file.subarray(0, file.length - 1), 'export words'), { code: 'truncated' });
  const changed = file.slice();
  changed[500] ^= 1;
  assert.throws(() => core.openArchive(changed, 'export words'), { code: 'damaged' });
  assert.throws(() => core.openArchive(real('claude/export-example-2024.json'), 'export words'), { code: 'not_an_archive' });
  assert.throws(() => core.parseExport(file, 'vault.tkarchive'), { code: 'is_archive' });
});

test('the streaming writer and reader give the same file contents piece by piece', () => {
  const { conversations } = core.parseExport(real('chatgpt/export-conversations-2023.json'), 'conversations.json');
  const writer = new core.ArchiveWriter('pw', fast);
  const parts = [writer.header()];
  for (const c of conversations) parts.push(writer.push({ ...c, id: 'the-vault-key' }));
  parts.push(writer.finish());
  const file = Buffer.concat(parts);
  const reader = new core.ArchiveReader('pw');
  const back = [];
  for (let at = 0; at < file.length; at += 4096) back.push(...reader.feed(file.subarray(at, at + 4096)).conversations);
  assert.equal(reader.bytesFed, file.length);
  reader.finish();
  assert.deepEqual(back, conversations);
});
