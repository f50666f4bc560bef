// Sync (issue 15) end to end: two Chromium profiles with the built extension, real
// WebDAV servers started here on 127.0.0.1 (Apache httpd with mod_dav, strict about
// conditional requests; `rclone serve webdav`, which ignores them), every message of
// the DESIGN contract. The servers' files are read from their folders on disk: what the
// server stores, byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { launch, send, sampleConversation, rawDatabaseText, waitFor, stopServiceWorker, FAST_KDF } from './chromium.mjs';
import { startApache, startRclone, filesOf, USER, PASS } from './webdav.mjs';

const PASSPHRASE = 'orchid lantern mountain seven';
const SECRET = 'Quokka-Meridian-4417';
const NEW_PASSPHRASE = 'copper window harbour nine';
let apache, rclone;
const browsers = [];
/** Every request of every browser: [{url, worker}]. */
const requests = [];

async function device() {
  const b = await launch();
  b.context.on('request', (r) => requests.push({ url: r.url(), worker: !!r.serviceWorker() }));
  browsers.push(b);
  b.ext = await b.page('vault.html');
  return b;
}

const ok = (reply) => {
  assert.equal(reply.ok, true, JSON.stringify(reply.error));
  return reply;
};
const conversations = async (b) => ok(await send(b.ext, { type: 'conversation.list' })).conversations;
const texts = async (b, id) => ok(await send(b.ext, { type: 'conversation.get', id })).conversation.messages.map((m) => m.markdown);
/** A whole conversation as the vault gives it, without what differs by device. */
const everything = async (b) => {
  const out = {};
  for (const c of await conversations(b)) out[c.id] = ok(await send(b.ext, { type: 'conversation.get', id: c.id })).conversation;
  return out;
};

/** A first device with a vault and one conversation, set up to sync with `server`. */
async function firstDevice(server, secret = SECRET, id = 'sync-1') {
  const a = await device();
  ok(await send(a.ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
  ok(await send(a.ext, { type: 'conversation.put', conversation: sampleConversation(secret, id) }));
  const status = ok(await send(a.ext, { type: 'sync.configure', url: server.url, username: USER, password: PASS }));
  assert.equal(status.configured, true);
  return a;
}

async function join(server, passphrase = PASSPHRASE) {
  const b = await device();
  return { b, reply: await send(b.ext, { type: 'sync.join', url: server.url, username: USER, password: PASS, passphrase }) };
}

before(async () => {
  apache = await startApache();
  rclone = await startRclone();
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  await apache?.close();
  await rclone?.close();
});

let a, b, convId;

test('set up on one profile, joined on another with the passphrase: search finds the chat and restore gives it', async () => {
  a = await firstDevice(apache);
  const first = ok(await send(a.ext, { type: 'sync.now' }));
  assert.equal(typeof first.pushed, 'number');
  assert.equal(typeof first.pulled, 'number');
  const status = ok(await send(a.ext, { type: 'sync.status' }));
  assert.equal(status.configured, true);
  assert.ok(status.lastSync > Date.now() - 60000, 'lastSync is recent');
  assert.equal(status.error, undefined);
  assert.ok(fs.existsSync(path.join(apache.dir, 'meta')));

  const joined = await join(apache);
  b = joined.b;
  ok(joined.reply);
  assert.equal(ok(await send(b.ext, { type: 'vault.status' })).state, 'unlocked');
  await waitFor(async () => (await conversations(b)).length === 1 || (ok(await send(b.ext, { type: 'sync.now' })), false), { what: 'the conversation on the second device' });
  const found = ok(await send(b.ext, { type: 'search', query: SECRET, limit: 10 }));
  assert.equal(found.results.length, 1);
  convId = found.results[0].conversationId;
  const [listed] = await conversations(b);
  const block = ok(await send(b.ext, { type: 'restore.block', id: listed.id }));
  assert.match(block.text, new RegExp(SECRET));
  assert.match(block.text, /Kyoto in early April/);
  assert.deepEqual(await everything(b), await everything(a));
  const devices = ok(await send(b.ext, { type: 'sync.status' })).devices;
  assert.equal(devices.length, 2);
  assert.equal(devices.filter((d) => d.own).length, 1);
  // The list is kept sealed in the vault: a background stopped (as Chrome does after
  // 30 s idle) and started again knows it before any sync.
  await stopServiceWorker(b.ext);
  const again = ok(await send(b.ext, { type: 'sync.status' }));
  assert.deepEqual(again.devices, devices);
  for (const d of again.devices) {
    assert.match(d.label, /^Chrom(e|ium) on Linux$/);
    assert.ok(d.lastSeen > Date.now() - 120000 && d.lastSeen <= Date.now(), JSON.stringify(d));
  }
});

test('both write into the same conversation, and converge after syncing both ways', async () => {
  const [listed] = await conversations(a);
  const base = ok(await send(a.ext, { type: 'conversation.get', id: listed.id })).conversation;
  const withMessage = (text) => ({ ...sampleConversation(SECRET, 'sync-1'), messages: [...base.messages.map((m) => ({ role: m.role, markdown: m.markdown })), { role: 'user', markdown: text }], updatedAt: Date.now() });
  ok(await send(a.ext, { type: 'conversation.put', conversation: withMessage('Written on the first device: ferry times?') }));
  ok(await send(b.ext, { type: 'conversation.put', conversation: withMessage('Written on the second device: rail pass?') }));
  ok(await send(a.ext, { type: 'sync.now' }));
  const fromB = ok(await send(b.ext, { type: 'sync.now' }));
  assert.ok(fromB.pulled >= 1 && fromB.pushed >= 1, JSON.stringify(fromB));
  ok(await send(a.ext, { type: 'sync.now' }));
  assert.deepEqual(await everything(a), await everything(b));
  const merged = await texts(a, listed.id);
  assert.ok(merged.some((t) => t.includes('ferry times')) && merged.some((t) => t.includes('rail pass')), JSON.stringify(merged));
});

test('a deletion on one device deletes the conversation on the other', async () => {
  ok(await send(b.ext, { type: 'conversation.put', conversation: sampleConversation('Doomed-Note-77', 'sync-doomed') }));
  ok(await send(b.ext, { type: 'sync.now' }));
  ok(await send(a.ext, { type: 'sync.now' }));
  const doomed = (await conversations(a)).find((c) => c.conversationId === 'sync-doomed');
  assert.ok(doomed, 'arrived first');
  ok(await send(a.ext, { type: 'conversation.delete', id: doomed.id }));
  ok(await send(a.ext, { type: 'sync.now' }));
  const pulled = ok(await send(b.ext, { type: 'sync.now' }));
  assert.ok(pulled.pulled >= 1);
  assert.equal((await conversations(b)).some((c) => c.conversationId === 'sync-doomed'), false);
  assert.deepEqual(await everything(a), await everything(b));
});

test('a wrong passphrase cannot join: a clear error, and nothing is stored', async () => {
  const { b: c, reply } = await join(apache, 'not the passphrase at all');
  assert.equal(reply.ok, false);
  assert.equal(reply.error.code, 'wrong_passphrase');
  assert.match(reply.error.message, /passphrase/i);
  assert.equal(ok(await send(c.ext, { type: 'vault.status' })).state, 'new');
  assert.equal((await rawDatabaseText(c.ext)).records, 0);
  assert.equal(ok(await send(c.ext, { type: 'sync.status' })).configured, false);
  await c.close();
});

/** The files a push of `b` added to the folder (its segment). */
async function pushed(by, secret, id) {
  const before = new Set(filesOf(apache.dir).map((f) => f.name));
  ok(await send(by.ext, { type: 'conversation.put', conversation: sampleConversation(secret, id) }));
  ok(await send(by.ext, { type: 'sync.now' }));
  const added = filesOf(apache.dir).filter((f) => !before.has(f.name));
  assert.equal(added.length, 1, 'one new segment');
  return path.join(apache.dir, added[0].name);
}

test('a changed segment on the server is refused and reported in sync.status; put back, it applies', async () => {
  const file = await pushed(b, 'Tamper-Target-1', 'sync-tamper');
  const good = fs.readFileSync(file);
  const bad = Buffer.from(good);
  bad[bad.length - 5] ^= 0x40;
  fs.writeFileSync(file, bad);
  const reply = await send(a.ext, { type: 'sync.now' });
  assert.equal(reply.ok, false);
  const status = ok(await send(a.ext, { type: 'sync.status' }));
  assert.match(status.error, /changed, moved or belongs to another vault/);
  assert.equal((await conversations(a)).some((c) => c.conversationId === 'sync-tamper'), false, 'nothing of it applied');
  fs.writeFileSync(file, good);
  ok(await send(a.ext, { type: 'sync.now' }));
  assert.equal(ok(await send(a.ext, { type: 'sync.status' })).error, undefined);
  assert.ok((await conversations(a)).some((c) => c.conversationId === 'sync-tamper'));
});

test('a truncated segment, and a history cut short on the server, are refused and reported', async () => {
  const file = await pushed(b, 'Truncate-Target-2', 'sync-truncate');
  const good = fs.readFileSync(file);
  fs.writeFileSync(file, good.subarray(0, good.length - 20));
  assert.equal((await send(a.ext, { type: 'sync.now' })).ok, false);
  assert.match(ok(await send(a.ext, { type: 'sync.status' })).error, /refused/);
  fs.rmSync(file);
  assert.equal((await send(a.ext, { type: 'sync.now' })).ok, false);
  assert.match(ok(await send(a.ext, { type: 'sync.status' })).error, /missing from the sync folder/);
  fs.writeFileSync(file, good);
  ok(await send(a.ext, { type: 'sync.now' }));
  assert.ok((await conversations(a)).some((c) => c.conversationId === 'sync-truncate'));
});

test('every byte on the server: no title, id, text, passphrase, credential or key', async () => {
  const files = filesOf(apache.dir);
  assert.ok(files.length >= 6, `${files.length} files`);
  const session = await a.ext.evaluate(() => chrome.storage.session.get('dataKey'));
  const key = Buffer.from(session.dataKey, 'base64');
  assert.equal(key.length, 32);
  const needles = [SECRET, 'Trip planning', 'sync-1', 'sync-doomed', convId, 'Kyoto', 'ferry times', 'rail pass', PASSPHRASE, PASS, 'chatgpt', session.dataKey]
    .map((s) => Buffer.from(s));
  needles.push(key, Buffer.from(key.toString('hex')));
  for (const f of files) {
    for (const n of needles) assert.equal(f.bytes.includes(n), false, `${f.name} holds ${n.toString().slice(0, 20)}`);
    assert.match(f.name, /^(meta|[0-9a-f]{32})$/, 'opaque names');
  }
});

test('the browsers sent requests to the sync server only', async () => {
  const own = requests.filter((r) => !r.url.startsWith('chrome-extension://'));
  assert.ok(own.length > 10);
  for (const r of own) assert.equal(new URL(r.url).origin, `http://127.0.0.1:${apache.port}`, r.url);
  assert.ok(own.every((r) => r.worker), 'only the background talks to the server');
  assert.doesNotMatch(apache.accessLog(), /" 5\d\d/, 'no server error');
});

test('locked, nothing syncs; an address of another origin needs the person\'s grant first', async () => {
  const c = await device();
  ok(await send(c.ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
  const far = await send(c.ext, { type: 'sync.configure', url: 'https://dav.example.test/remote.php/dav/files/u/tk/', username: USER, password: PASS });
  assert.equal(far.ok, false);
  assert.equal(far.error.code, 'permission');
  const bad = await send(c.ext, { type: 'sync.configure', url: 'ftp://127.0.0.1/x/', username: USER, password: PASS });
  assert.equal(bad.error.code, 'invalid_input');
  ok(await send(c.ext, { type: 'vault.lock' }));
  const locked = await send(c.ext, { type: 'sync.now' });
  assert.equal(locked.ok, false);
  assert.equal(locked.error.code, 'locked');
  assert.equal(requests.some((r) => r.url.includes('example.test')), false);
  await c.close();
});

test('the server down: nothing is lost, the error is in words, the next sync resumes', async () => {
  await apache.stop();
  ok(await send(a.ext, { type: 'conversation.put', conversation: sampleConversation('While-Offline-9', 'sync-offline') }));
  const down = await send(a.ext, { type: 'sync.now' });
  assert.equal(down.ok, false);
  assert.match(ok(await send(a.ext, { type: 'sync.status' })).error, /could not be reached/);
  await apache.restart();
  const up = ok(await send(a.ext, { type: 'sync.now' }));
  assert.ok(up.pushed >= 1);
  ok(await send(b.ext, { type: 'sync.now' }));
  assert.ok((await conversations(b)).some((c) => c.conversationId === 'sync-offline'));
  assert.deepEqual(await everything(a), await everything(b));
});

/** Changes `x`'s passphrase and syncs; a new profile joins with the new one, not the old. */
async function changePassphraseThenJoin(x, server, from, to) {
  ok(await send(x.ext, { type: 'vault.changePassphrase', oldPassphrase: from, newPassphrase: to, kdf: FAST_KDF }));
  ok(await send(x.ext, { type: 'sync.now' }));
  assert.equal(ok(await send(x.ext, { type: 'sync.status' })).error, undefined);
  const old = await join(server, from);
  assert.equal(old.reply.ok, false);
  assert.equal(old.reply.error.code, 'wrong_passphrase');
  assert.equal(ok(await send(old.b.ext, { type: 'vault.status' })).state, 'new');
  await old.b.close();
  const fresh = await join(server, to);
  ok(fresh.reply);
  ok(await send(fresh.b.ext, { type: 'sync.now' }));
  assert.deepEqual(await everything(fresh.b), await everything(x));
  ok(await send(fresh.b.ext, { type: 'vault.lock' }));
  ok(await send(fresh.b.ext, { type: 'vault.unlock', passphrase: to }));
  return fresh.b;
}

test('after a passphrase change the folder opens with the new passphrase only (Apache: If-Match)', async () => {
  const c = await changePassphraseThenJoin(a, apache, PASSPHRASE, NEW_PASSPHRASE);
  await c.close();
});

test('leaving sync keeps every conversation here and removes this device from the folder\'s list', async () => {
  const before = await everything(b);
  const bId = ok(await send(b.ext, { type: 'sync.status' })).devices.find((d) => d.own).device;
  ok(await send(a.ext, { type: 'sync.now' }));
  assert.ok(ok(await send(a.ext, { type: 'sync.status' })).devices.some((d) => d.device === bId));
  const left = ok(await send(b.ext, { type: 'sync.leave' }));
  assert.equal(left.configured, false);
  assert.equal(left.removedFromServer, true);
  assert.deepEqual(await everything(b), before);
  assert.equal((await send(b.ext, { type: 'sync.now' })).error.code, 'not_configured');
  // The other device no longer lists it, and still has everything.
  ok(await send(a.ext, { type: 'sync.now' }));
  const status = ok(await send(a.ext, { type: 'sync.status' }));
  assert.equal(status.error, undefined);
  assert.equal(status.devices.some((d) => d.device === bId), false, JSON.stringify(status.devices));
  assert.ok(status.devices.some((d) => d.own));
  assert.deepEqual(await everything(a), before);
});

test('leaving while the server is down: nothing local is removed, the folder still lists the device', async () => {
  const server = await startApache();
  const x = await firstDevice(server, 'Leave-Offline-1', 'leave-offline-1');
  try {
    ok(await send(x.ext, { type: 'sync.now' }));
    const { b: y, reply } = await join(server);
    ok(reply);
    ok(await send(y.ext, { type: 'sync.now' }));
    ok(await send(y.ext, { type: 'conversation.put', conversation: sampleConversation('Leave-Offline-2', 'leave-offline-2') }));
    const yId = ok(await send(y.ext, { type: 'sync.status' })).devices.find((d) => d.own).device;
    const before = await everything(y);
    await server.stop();
    const left = ok(await send(y.ext, { type: 'sync.leave' }));
    assert.equal(left.configured, false);
    assert.equal(left.removedFromServer, false);
    assert.deepEqual(await everything(y), before);
    assert.equal((await conversations(y)).length, 2);
    await server.restart();
    ok(await send(x.ext, { type: 'sync.now' }));
    assert.ok(ok(await send(x.ext, { type: 'sync.status' })).devices.some((d) => d.device === yId));
    await y.close();
  } finally {
    await server.close();
  }
});

test('rclone serve webdav: set up, join, converge', async () => {
  const x = await firstDevice(rclone, 'Rclone-Secret-31', 'rclone-1');
  ok(await send(x.ext, { type: 'sync.now' }));
  const { b: y, reply } = await join(rclone);
  ok(reply);
  ok(await send(y.ext, { type: 'sync.now' }));
  ok(await send(y.ext, { type: 'conversation.put', conversation: sampleConversation('Rclone-Second-32', 'rclone-2') }));
  ok(await send(y.ext, { type: 'sync.now' }));
  ok(await send(x.ext, { type: 'sync.now' }));
  assert.equal((await conversations(x)).length, 2);
  assert.deepEqual(await everything(x), await everything(y));
  for (const f of filesOf(rclone.dir)) assert.equal(f.bytes.includes(Buffer.from('Rclone-Secret-31')), false);
  // rclone ignores If-Match: the new meta is read back.
  const z = await changePassphraseThenJoin(y, rclone, PASSPHRASE, NEW_PASSPHRASE);
  await z.close();
});

test('a chat that came by sync is found by meaning on the new device once the background has embedded it (its query shares none of its words)', async () => {
  const server = await startRclone();
  try {
    const x = await device();
    ok(await send(x.ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
    ok(await send(x.ext, { type: 'conversation.put', conversation: {
      site: 'chatgpt', conversationId: 'meaning-1', title: 'Yellow leaves', url: 'https://chatgpt.com/c/meaning-1',
      messages: [{ role: 'user', markdown: 'The leaves of my monstera are turning yellow and the soil stays wet for a week after watering.' }],
    } }));
    ok(await send(x.ext, { type: 'sync.configure', url: server.url, username: USER, password: PASS }));
    ok(await send(x.ext, { type: 'sync.now' }));
    const { b: y, reply } = await join(server);
    ok(reply);
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.equal(ok(await send(y.ext, { type: 'search', query: 'monstera', limit: 10 })).results.length, 1, 'found by its words at once');
    // The join wrote no vector: the backfill the pull started embeds it, in the queue.
    await waitFor(async () => {
      const found = ok(await send(y.ext, { type: 'search', query: 'indoor plant drowning', limit: 10 }));
      return found.results.some((r) => r.title === 'Yellow leaves' && r.hits.some((h) => h.byMeaning));
    }, { what: 'the synced chat found by meaning' });
  } finally {
    await server.close();
  }
});

/** A conversation of `messages` turns of about `kib` KiB each of text that does not compress. */
function bigConversation(id, messages, kib) {
  const turn = (i) => `${id} turn ${i}: ${crypto.randomBytes(kib * 768).toString('base64')}`;
  return { ...sampleConversation(`Big-${id}`, id), messages: Array.from({ length: messages }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', markdown: turn(i) })) };
}

test('the server killed mid-upload (SIGKILL): nothing local is lost, the error is in words, the next sync resumes and both converge', async () => {
  const server = await startRclone();
  try {
    const x = await firstDevice(server, 'Killed-Server-51', 'killed-1');
    ok(await send(x.ext, { type: 'sync.now' }));
    const { b: y, reply } = await join(server);
    ok(reply);
    ok(await send(y.ext, { type: 'sync.now' }));
    // About 38 MiB in 12 conversations of 3.2 MiB: one segment each (the cap is 4 MiB).
    for (let i = 0; i < 12; i++) ok(await send(x.ext, { type: 'conversation.put', conversation: bigConversation(`killed-big-${i}`, 4, 800) }));
    const count = () => fs.readdirSync(server.dir).length;
    const before = count();
    const syncing = send(x.ext, { type: 'sync.now' });
    // Killed as soon as the first segment's file appears (its upload under way).
    await waitFor(async () => count() > before, { what: 'the first segment on the server', timeout: 60000, interval: 5 });
    await server.kill();
    const landed = count() - before;
    const down = await syncing;
    assert.equal(down.ok, false, `the push was over before the kill (${landed} files landed)`);
    assert.equal(down.error.code, 'unreachable');
    const status = ok(await send(x.ext, { type: 'sync.status' }));
    assert.match(status.error, /could not be reached.*Nothing was lost/);
    assert.ok(status.waiting > 0, JSON.stringify(status));
    assert.equal((await conversations(x)).length, 13, 'every conversation still here');
    // A sync while the server is down changes nothing either.
    assert.equal((await send(x.ext, { type: 'sync.now' })).ok, false);
    await server.restart();
    ok(await send(x.ext, { type: 'sync.now' }));
    const after = ok(await send(x.ext, { type: 'sync.status' }));
    assert.equal(after.error, undefined);
    assert.equal(after.waiting, 0);
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.equal(ok(await send(y.ext, { type: 'sync.status' })).error, undefined);
    assert.equal((await conversations(y)).length, 13);
    assert.deepEqual(await everything(y), await everything(x));
  } finally {
    await server.close();
  }
});

test('the vault page: set up in the Sync panel, join from the first-run page, sync now, see both devices', async () => {
  const server = await startRclone();
  try {
    const x = await device();
    ok(await send(x.ext, { type: 'vault.create', passphrase: PASSPHRASE, kdf: FAST_KDF }));
    ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation('Panel-Secret-41', 'panel-1') }));
    await x.ext.reload();
    await x.ext.locator('#sync-panel summary').click();
    await x.ext.locator('#sync-url').fill(server.url);
    await x.ext.locator('#sync-username').fill(USER);
    await x.ext.locator('#sync-password').fill(PASS);
    await x.ext.locator('#sync-setup').click();
    await x.ext.locator('#sync-outcome', { hasText: 'Sync is set up' }).waitFor();
    await x.ext.locator('#sync-now').click();
    await x.ext.locator('#sync-outcome', { hasText: /Synced: \d+ conversations? sent/ }).waitFor();
    assert.match(await x.ext.locator('#sync-state').textContent(), /last synced/);

    const y = await device();
    await y.ext.locator('#join-url').fill(server.url);
    await y.ext.locator('#join-username').fill(USER);
    await y.ext.locator('#join-password').fill(PASS);
    await y.ext.locator('#join-passphrase').fill('wrong passphrase here');
    await y.ext.locator('#join-button').click();
    await y.ext.locator('#join-outcome.error').waitFor();
    assert.match(await y.ext.locator('#join-outcome').textContent(), /passphrase/i);
    await y.ext.locator('#join-passphrase').fill(PASSPHRASE);
    await y.ext.locator('#join-button').click();
    await y.ext.locator('#sync-panel').waitFor();
    await waitFor(async () => (await conversations(y)).length === 1, { what: 'the conversation after joining' });
    await y.ext.locator('#sync-panel summary').click();
    await y.ext.locator('#sync-now').click();
    await y.ext.locator('#sync-outcome', { hasText: 'Synced' }).waitFor();
    await y.ext.locator('.sync-device', { hasText: 'this browser' }).waitFor();
    assert.equal(await y.ext.locator('.sync-device').count(), 2);
    for (const item of await y.ext.locator('.sync-device').allTextContents()) assert.match(item, /^Chrom(e|ium) on Linux.* · last seen .+ · \d+ changes? sent$/);
    assert.match(await y.ext.locator('#sync-compaction').textContent(), /^Compaction: no snapshot yet; \d+ change files? waits? \(a snapshot replaces them past 64\)\.$/);
    ok(await send(y.ext, { type: 'sync.now', compact: true }));
    await y.ext.locator('#sync-compaction', { hasText: 'the last snapshot was made' }).waitFor();
    assert.match(await y.ext.locator('#sync-compaction').textContent(), /; 0 change files wait/);
    await y.ext.locator('#sync-leave').click();
    await y.ext.locator('#sync-leave').click();
    await y.ext.locator('#sync-outcome', { hasText: 'still here' }).waitFor();
    assert.equal((await conversations(y)).length, 1);
  } finally {
    await server.close();
  }
});

test('compaction (Apache): a snapshot replaces the segments; a new profile joins from it, profiles that synced before (one or two compactions behind) keep converging', async () => {
  const server = await startApache();
  const x = await firstDevice(server, 'Compact-Secret-0', 'compact-0');
  ok(await send(x.ext, { type: 'sync.now' }));
  const { b: c, reply: cJoined } = await join(server);
  ok(cJoined);
  ok(await send(c.ext, { type: 'sync.now' }));
  const { b: d, reply: dJoined } = await join(server);
  ok(dJoined);
  ok(await send(d.ext, { type: 'sync.now' }));
  try {
    // c's own segment goes under the snapshot too.
    ok(await send(c.ext, { type: 'conversation.put', conversation: sampleConversation('Compact-From-C', 'compact-c') }));
    ok(await send(c.ext, { type: 'sync.now' }));
    for (let i = 1; i <= 10; i++) {
      ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation(`Compact-Secret-${i}`, `compact-${i}`) }));
      const r = ok(await send(x.ext, { type: 'sync.now' }));
      assert.equal(r.compacted, 0, 'not due yet: no compaction');
    }
    const before = new Set(filesOf(server.dir).map((f) => f.name));
    const compacted = ok(await send(x.ext, { type: 'sync.now', compact: true }));
    assert.ok(compacted.compacted >= 12, JSON.stringify(compacted));
    const after = filesOf(server.dir);
    const added = after.filter((f) => !before.has(f.name));
    assert.equal(added.length, 1, 'one new object: the snapshot (the lock is gone)');
    assert.ok(after.length <= before.size - 11, `${before.size} objects before, ${after.length} after`);
    for (const f of after) assert.equal(f.bytes.includes(Buffer.from('Compact-Secret-3')), false);

    // A new profile gets everything from the snapshot.
    const { b: y, reply } = await join(server);
    ok(reply);
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.equal((await conversations(y)).length, 12);
    const found = ok(await send(y.ext, { type: 'search', query: 'Compact-Secret-7', limit: 10 }));
    assert.equal(found.results.length, 1);
    assert.deepEqual(await everything(y), await everything(x));

    // c synced before the compaction: its next sync reads the snapshot and converges.
    const fromC = ok(await send(c.ext, { type: 'sync.now' }));
    assert.equal(fromC.error, undefined);
    assert.deepEqual(await everything(c), await everything(x));
    ok(await send(c.ext, { type: 'conversation.put', conversation: sampleConversation('After-Compaction-C', 'compact-after') }));
    ok(await send(c.ext, { type: 'sync.now' }));
    ok(await send(x.ext, { type: 'sync.now' }));
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.deepEqual(await everything(x), await everything(c));
    assert.deepEqual(await everything(y), await everything(c));

    // A second compaction deletes the first snapshot: d, two behind, finds the newest.
    ok(await send(y.ext, { type: 'conversation.put', conversation: sampleConversation('Second-Round-Y', 'compact-y') }));
    ok(await send(y.ext, { type: 'sync.now' }));
    ok(await send(x.ext, { type: 'sync.now', compact: true }));
    ok(await send(d.ext, { type: 'sync.now' }));
    assert.deepEqual(await everything(d), await everything(x));
    assert.equal((await conversations(d)).length, 14);
    assert.equal(ok(await send(d.ext, { type: 'sync.status' })).error, undefined);
    await y.close();
  } finally {
    await server.close();
  }
});

test('compaction on rclone (which ignores conditional requests: the lock is read back)', async () => {
  const server = await startRclone();
  const x = await firstDevice(server, 'Rclone-Compact-0', 'rclone-compact-0');
  try {
    ok(await send(x.ext, { type: 'sync.now' }));
    for (let i = 1; i <= 4; i++) {
      ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation(`Rclone-Compact-${i}`, `rclone-compact-${i}`) }));
      ok(await send(x.ext, { type: 'sync.now' }));
    }
    const before = filesOf(server.dir).length;
    const compacted = ok(await send(x.ext, { type: 'sync.now', compact: true }));
    assert.ok(compacted.compacted >= 5, JSON.stringify(compacted));
    assert.equal(filesOf(server.dir).length, before - compacted.compacted + 1);
    const { b: y, reply } = await join(server);
    ok(reply);
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.equal((await conversations(y)).length, 5);
    assert.deepEqual(await everything(y), await everything(x));
    await y.close();
  } finally {
    await server.close();
  }
});

/** Moves the clock of `x`'s background (the core reads it too) `ms` ahead. */
async function clockAhead(x, ms) {
  const worker = x.context.serviceWorkers()[0] ?? (await x.context.waitForEvent('serviceworker'));
  await worker.evaluate((shift) => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + shift;
  }, ms);
}

test('a device that died holding the compaction lock (Apache): its live lock is respected; once its 5 minutes are over another device compacts past it', async () => {
  const server = await startApache();
  const x = await firstDevice(server, 'Dead-Lock-0', 'dead-lock-0');
  try {
    ok(await send(x.ext, { type: 'sync.now' }));
    const { b: c, reply } = await join(server);
    ok(reply);
    for (let i = 1; i <= 3; i++) {
      ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation(`Dead-Lock-${i}`, `dead-lock-${i}`) }));
      ok(await send(x.ext, { type: 'sync.now' }));
    }
    ok(await send(c.ext, { type: 'sync.now' }));
    // c compacts and dies in the middle: the upload of its snapshot (the second
    // If-None-Match PUT, after the lock's) never ends, and its browser is closed.
    let creates = 0;
    let hung;
    const snapshotStarted = new Promise((resolve) => { hung = resolve; });
    await c.context.route('**/*', (route) => {
      const r = route.request();
      if (r.method() === 'PUT' && r.headers()['if-none-match'] === '*' && ++creates === 2) return hung(); // never answered
      return route.continue();
    });
    const before = new Set(filesOf(server.dir).map((f) => f.name));
    const dying = send(c.ext, { type: 'sync.now', compact: true }).catch(() => {});
    await snapshotStarted;
    const lockFiles = filesOf(server.dir).filter((f) => !before.has(f.name));
    assert.equal(lockFiles.length, 1, 'the lock is in the folder');
    const [lock] = lockFiles;
    await c.close();
    await dying;
    // Apache gives a weak ETag (which no If-Match matches) for a file written within
    // the second: the lock is older than that by the time another device looks.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Its lock is live: x syncs, and its forced compaction leaves the folder alone.
    ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation('Dead-Lock-4', 'dead-lock-4') }));
    const respected = ok(await send(x.ext, { type: 'sync.now', compact: true }));
    assert.equal(respected.compacted, 0, JSON.stringify(respected));
    const during = filesOf(server.dir);
    assert.ok(during.some((f) => f.name === lock.name && f.bytes.equals(lock.bytes)), 'the dead device\'s lock is untouched');
    assert.equal(during.length, before.size + 2, 'the lock and x\'s new segment: no snapshot, nothing deleted');

    // Five minutes later (x's clock moved on) the lock no longer holds: x takes it
    // (If-Match its ETag), writes the snapshot, deletes what it replaces, releases it.
    await clockAhead(x, 5 * 60 * 1000 + 1000);
    const past = ok(await send(x.ext, { type: 'sync.now', compact: true }));
    assert.ok(past.compacted >= 5, JSON.stringify(past));
    const after = filesOf(server.dir);
    assert.equal(after.some((f) => f.name === lock.name), false, 'the lock is released');
    assert.ok(after.length < during.length - 3, `${during.length} objects before, ${after.length} after`);
    const { b: y, reply: yJoined } = await join(server);
    ok(yJoined);
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.equal((await conversations(y)).length, 5);
    assert.deepEqual(await everything(y), await everything(x));
    await y.close();
  } finally {
    await server.close();
  }
});

/**
 * Holds `x`'s next compaction's snapshot upload (the second If-None-Match PUT of its
 * context, after the lock's) until `release()` is called. Gives {held, release}.
 */
async function holdSnapshotUpload(x) {
  let creates = 0;
  let held;
  let route;
  const started = new Promise((resolve) => { held = resolve; });
  await x.context.route('**/*', (r) => {
    const q = r.request();
    if (q.method() === 'PUT' && q.headers()['if-none-match'] === '*' && ++creates === 2) {
      route = r;
      return held();
    }
    return r.continue();
  });
  return { started, release: () => route.continue().catch(() => {}), unroute: () => x.context.unrouteAll({ behavior: 'ignoreErrors' }) };
}

test('a long compaction renews its lock (If-Match) while the snapshot uploads, and stops cleanly, deleting nothing, once the lock is lost (Apache)', async () => {
  const server = await startApache();
  const x = await firstDevice(server, 'Renew-Lock-0', 'renew-lock-0');
  try {
    for (let i = 1; i <= 3; i++) {
      ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation(`Renew-Lock-${i}`, `renew-lock-${i}`) }));
      ok(await send(x.ext, { type: 'sync.now' }));
    }
    // The upload lasts past a third of the lock's time (the clock moved 2 minutes on):
    // the lock is renewed meanwhile, then the compaction ends as usual.
    const before = filesOf(server.dir);
    let hold = await holdSnapshotUpload(x);
    let syncing = send(x.ext, { type: 'sync.now', compact: true });
    await hold.started;
    const lockName = filesOf(server.dir).find((f) => !before.some((b) => b.name === f.name)).name;
    const lockBytes = () => filesOf(server.dir).find((f) => f.name === lockName)?.bytes;
    const taken = lockBytes();
    await clockAhead(x, 2 * 60 * 1000);
    await waitFor(async () => !lockBytes().equals(taken), { what: 'the lock renewed', timeout: 20000 });
    hold.release();
    const renewed = ok(await syncing);
    assert.ok(renewed.compacted >= 3, JSON.stringify(renewed));
    assert.equal(lockBytes(), undefined, 'released');
    await hold.unroute();

    // The lock expires while the snapshot uploads (the clock moved 6 minutes on): the
    // upload is abandoned, nothing is applied or deleted, the lock is left alone.
    for (let i = 4; i <= 5; i++) {
      ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation(`Renew-Lock-${i}`, `renew-lock-${i}`) }));
      ok(await send(x.ext, { type: 'sync.now' }));
    }
    const segments = filesOf(server.dir);
    hold = await holdSnapshotUpload(x);
    syncing = send(x.ext, { type: 'sync.now', compact: true });
    await hold.started;
    await clockAhead(x, 6 * 60 * 1000);
    const lost = ok(await syncing);
    hold.release();
    await hold.unroute();
    assert.equal(lost.compacted, 0, JSON.stringify(lost));
    const left = filesOf(server.dir);
    for (const f of segments) assert.ok(left.some((g) => g.name === f.name), 'nothing deleted');
    assert.equal(left.length, segments.length + 1, 'only the lock added: no snapshot');
    // The lock it left is its own: the next compaction takes it again and goes through.
    const again = ok(await send(x.ext, { type: 'sync.now', compact: true }));
    assert.ok(again.compacted >= 2, JSON.stringify(again));
    const { b: y, reply } = await join(server);
    ok(reply);
    ok(await send(y.ext, { type: 'sync.now' }));
    assert.deepEqual(await everything(y), await everything(x));
    await y.close();
  } finally {
    await server.close();
  }
});

test('a device 20 compactions behind goes straight to the newest snapshot (its epoch in the device records) and converges (rclone)', async () => {
  const server = await startRclone();
  const x = await firstDevice(server, 'Far-Behind-0', 'far-behind-0');
  try {
    ok(await send(x.ext, { type: 'sync.now' }));
    const { b: d, reply } = await join(server);
    ok(reply);
    ok(await send(d.ext, { type: 'sync.now' }));
    for (let i = 1; i <= 20; i++) {
      ok(await send(x.ext, { type: 'conversation.put', conversation: sampleConversation(`Far-Behind-${i}`, `far-behind-${i}`) }));
      const r = ok(await send(x.ext, { type: 'sync.now', compact: true }));
      assert.ok(r.compacted >= 1, JSON.stringify(r));
    }
    assert.equal(ok(await send(x.ext, { type: 'sync.status' })).compaction.snapshotAt > 0, true);
    const caught = await send(d.ext, { type: 'sync.now' });
    ok(caught);
    assert.equal(ok(await send(d.ext, { type: 'sync.status' })).error, undefined);
    assert.equal((await conversations(d)).length, 21);
    assert.deepEqual(await everything(d), await everything(x));
  } finally {
    await server.close();
  }
});
