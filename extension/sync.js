// Sync (issue 15): end-to-end encrypted sync through a WebDAV folder the person owns
// (Nextcloud, ownCloud, a NAS, `rclone serve webdav`...). The core (src/sync/,
// src/vault/sync.rs) seals, names, checks and merges every object; this file only moves
// bytes: a small WebDAV client over fetch, and the loop that pulls and pushes.
//
// Requests go only to the configured folder (its origin, below its path), with the
// credentials kept sealed in the vault's sync record (usable only while unlocked). A
// loopback server (127.0.0.1, localhost) is reachable through the manifest's host
// permissions; any other origin only once the person granted it as an optional host
// permission (the page asks on their click).
//
// When: after writes to the vault (captures, imports, deletions: debounced), on unlock,
// on an alarm every few minutes, and on `sync.now`. Never while locked. Each run is a
// task in the background's serial queue (env.serially), so no capture interleaves with a
// merge. A failure keeps everything local and is reported in words (`sync.status`).
//
// What is kept outside the vault (the protected store, device.js): the time of the last
// sync, what it moved and the last error in words. No address, name or content.

import { ext } from './shim.js';
import { toBase64 } from './codec.js';
import { readProtected, writeProtected } from './device.js';
import { backfill } from './meaning.js';

const REPORT_SLOT = 'sync';
const ALARM = 'sync';
const ALARM_MINUTES = 5;
/** After a write to the vault, sync waits this long for more. */
const DEBOUNCE_MS = 5000;
/** A request's time limit: a base, plus time for its body at a slow 256 KiB/s. */
const TIMEOUT_MS = 30000;
const BYTES_PER_SECOND = 256 * 1024;
/** Messages that write to the vault (sync follows them). */
const WRITES = new Set(['capture', 'capture.thread', 'conversation.put', 'conversation.delete', 'import.batch']);

export const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

let env = null;
let timer = null;
let running = false;

export class SyncError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    if (status) this.status = status;
  }
}

/** What an HTTP status means for the person. */
function statusWords(status, what) {
  switch (status) {
    case 401: return 'The sync server refused the user name or app password. Check them (many servers need an app password rather than your usual one).';
    case 403: return 'The sync server does not let this account use that folder.';
    case 404: return `The sync server has no such folder (${what}). Check the address.`;
    case 405: return 'The sync server does not accept this request: is the address a WebDAV folder?';
    case 409: return 'The sync folder\'s parent folder does not exist on the server. Create it, or check the address.';
    case 412: return 'Another device changed the sync folder at the same moment. Sync again.';
    case 413: return 'The sync server refused a file as too large. Raise its upload limit.';
    case 423: return 'The sync folder is locked on the server. Try again later.';
    case 507: return 'The sync server is full. Free some space there, then sync again.';
    default: return status >= 500 ? `The sync server failed (HTTP ${status}). Try again later.` : `The sync server answered HTTP ${status} (${what}).`;
  }
}

/** Checks a folder address: http(s), no credentials, query or fragment; ends with `/`. */
export function folderUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new SyncError('invalid_input', 'The server address is not a web address (it starts with https://).');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SyncError('invalid_input', 'The server address must start with https:// (or http:// for a server on this computer).');
  if (url.username || url.password) throw new SyncError('invalid_input', 'Put the user name and password in their own fields, not in the address.');
  if (url.search || url.hash) throw new SyncError('invalid_input', 'The server address must be a folder, without ? or #.');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

export function isLoopback(url) {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/** The host permission pattern of an address's origin. */
export function originPattern(url) {
  return `${url.protocol}//${url.hostname}/*`;
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A WebDAV folder: GET, PUT (conditional), DELETE and MKCOL of objects named in it. */
export class Dav {
  constructor({ url, username, password }) {
    this.base = folderUrl(url);
    this.auth = `Basic ${toBase64(new TextEncoder().encode(`${username}:${password}`))}`;
  }

  /** One request for the object `name` (empty: the folder itself). */
  async request(method, name, { body, headers = {}, what = name || 'the folder', signal } = {}) {
    const url = new URL(name, this.base);
    // Names are the core's (hex); refuse anything that would leave the folder.
    if (url.origin !== this.base.origin || !url.pathname.startsWith(this.base.pathname) || url.search) {
      throw new SyncError('invalid_input', 'Sync asked for a file outside its folder.');
    }
    const size = body?.length ?? 0;
    const timeout = AbortSignal.timeout(TIMEOUT_MS + Math.ceil((size / BYTES_PER_SECOND) * 1000));
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: { Authorization: this.auth, ...headers },
        body,
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err?.name === 'TimeoutError') throw new SyncError('unreachable', 'The sync server took too long to answer. Nothing was lost; sync tries again later.');
      throw new SyncError('unreachable', 'The sync server could not be reached (offline, wrong address, or it redirected elsewhere). Nothing was lost; sync tries again later.');
    }
    if (response.status === 401 || response.status === 403) throw new SyncError('sync_auth', statusWords(response.status, what), response.status);
    return { response, what };
  }

  /** `{bytes, etag}`, or null when the object is not there. */
  async get(name) {
    const { response, what } = await this.request('GET', name);
    if (response.status === 404) return null;
    if (!response.ok) throw new SyncError('sync_server', statusWords(response.status, what), response.status);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { bytes, etag: response.headers.get('ETag') };
  }

  /** Whether the object is there (HEAD: no body). */
  async exists(name) {
    const { response, what } = await this.request('HEAD', name);
    if (response.status === 404) return false;
    if (!response.ok) throw new SyncError('sync_server', statusWords(response.status, what), response.status);
    return true;
  }

  /**
   * Writes `bytes` to `name`: `{create: true}` only if absent (`If-None-Match: *`),
   * `{ifMatch}` only if unchanged; `signal` aborts it. Gives `{ok, status, etag}`; a 412
   * is `ok: false`.
   */
  async put(name, bytes, { create = false, ifMatch, signal } = {}) {
    const headers = { 'Content-Type': 'application/octet-stream' };
    if (create) headers['If-None-Match'] = '*';
    else if (ifMatch) headers['If-Match'] = ifMatch;
    const { response, what } = await this.request('PUT', name, { body: bytes, headers, signal });
    if (response.status === 412) return { ok: false, status: 412 };
    if (!response.ok) throw new SyncError('sync_server', statusWords(response.status, what), response.status);
    return { ok: true, status: response.status, etag: response.headers.get('ETag') };
  }

  async delete(name, ifMatch) {
    const { response, what } = await this.request('DELETE', name, ifMatch ? { headers: { 'If-Match': ifMatch } } : {});
    if (response.status === 404 || response.status === 412) return false;
    if (!response.ok) throw new SyncError('sync_server', statusWords(response.status, what), response.status);
    return true;
  }

  /** Makes the folder when it is not there yet (405: it exists). */
  async makeFolder() {
    const { response, what } = await this.request('MKCOL', '', { what: 'the folder' });
    if (response.ok || response.status === 405) return;
    throw new SyncError('sync_server', statusWords(response.status, what), response.status);
  }

  /**
   * Writes an object that must not change once written: a 412 is success only when the
   * folder already holds exactly these bytes (our own earlier upload that landed).
   */
  async putOnce(name, bytes) {
    const put = await this.put(name, bytes, { create: true });
    if (put.ok) return;
    const there = await this.get(name);
    if (!there || !bytesEqual(there.bytes, bytes)) {
      throw new SyncError('sync_conflict', 'The sync folder already holds a different file where this device\'s next change goes (a copy of this browser profile syncing too?). Leave sync on one of them and set it up again.');
    }
  }
}

// ----- the report -----

async function readReport() {
  const stored = await readProtected(REPORT_SLOT).catch(() => undefined);
  const r = stored && typeof stored === 'object' ? stored : {};
  return {
    lastSync: Number.isFinite(r.lastSync) ? r.lastSync : null,
    lastAttempt: Number.isFinite(r.lastAttempt) ? r.lastAttempt : null,
    pushed: Number.isInteger(r.pushed) ? r.pushed : 0,
    pulled: Number.isInteger(r.pulled) ? r.pulled : 0,
    error: typeof r.error === 'string' ? r.error : null,
  };
}

async function writeReport(report) {
  await writeProtected({ [REPORT_SLOT]: report });
}

export async function clearReport() {
  await writeProtected({ [REPORT_SLOT]: {} });
}

/** Words for an error of the core or of the server; never an address or content. */
function words(err) {
  if (err instanceof SyncError) return err.message;
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    if (err.code === 'locked') return 'The vault is locked: sync waits until you unlock it.';
    return err.message;
  }
  return 'Sync failed for an unknown reason. Nothing was lost; it tries again later.';
}

// ----- the loop -----

/** This device's label in the folder: the browser and the system. */
export function deviceLabel() {
  const ua = globalThis.navigator?.userAgent ?? '';
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chromium\//.test(ua) ? 'Chromium' : 'Chrome';
  const system = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /CrOS/.test(ua) ? 'ChromeOS' : /Android/.test(ua) ? 'Android' : /Linux/.test(ua) ? 'Linux' : 'a computer';
  return `${browser} on ${system}`;
}

/**
 * How many missing slots in a row end the device records: a device that left sync
 * removed its record, leaving a hole that the next device to join fills.
 */
const SLOT_GAP = 4;

/**
 * Reads every device record (slots 0, 1, ... until SLOT_GAP in a row are missing); the
 * core keeps the list (sealed in the vault) and forgets devices no longer there.
 */
async function readDevices(vault, dav) {
  const found = [];
  for (let slot = 0, missed = 0; missed < SLOT_GAP; slot++) {
    const [name] = await vault.syncNames(slot, 1);
    const got = await dav.get(name);
    if (!got) {
      missed++;
      continue;
    }
    missed = 0;
    found.push({ slot, name, etag: got.etag, ...(await vault.syncNoteDevice(slot, got.bytes)) });
  }
  await vault.syncKeepDevices(found.map((d) => d.slot));
  return found;
}

/**
 * Writes this device's record over the one read: `If-Match` its ETag when the server
 * gave a strong one (a weak one never matches a PUT: Apache gives those for a file
 * changed in the last second). On a 412 the record is read again: still ours, it is
 * written over; another device's, sync stops.
 */
async function putOwnRecord(vault, dav, record, etag) {
  const strong = etag && !etag.startsWith('W/') ? etag : undefined;
  const put = await dav.put(record.name, record.bytes, strong ? { ifMatch: strong } : {});
  if (put.ok) return;
  const again = await dav.get(record.name);
  if (again) {
    const view = await vault.syncNoteDevice((await vault.syncStatus()).slot, again.bytes).catch(() => null);
    if (!view?.own) throw new SyncError('sync_conflict', 'Another device took this device\'s place in the sync folder. Leave sync here and join again.');
  }
  const retry = await dav.put(record.name, record.bytes);
  if (!retry.ok) throw new SyncError('sync_conflict', statusWords(412));
}

/**
 * Goes to the newest snapshot past the epoch applied here, directly: from the highest
 * epoch a device record named (device records version 2; the compactor writes its
 * record after each compaction), or the next one, probes the epochs upward (HEAD, no
 * body) until `misses` in a row are not there, then reads and applies only the newest
 * found. A compaction deletes the snapshot before its own, so a device behind whose
 * records name no epoch (version 1, or a compactor that died before writing its record)
 * may find none: a history cut short (segments deleted under it) makes the caller probe
 * again with a wider window. Gives the conversations written or deleted.
 */
async function pullSnapshot(vault, dav, misses = 1) {
  const { epoch, folderEpoch } = await vault.syncStatus();
  let newest = 0;
  for (let e = Math.max(epoch + 1, folderEpoch), missed = 0; missed < misses; e++) {
    const [, name] = await vault.syncNames(0, e);
    if (await dav.exists(name)) {
      newest = e;
      missed = 0;
    } else {
      missed++;
    }
  }
  if (!newest) return 0;
  const [, name] = await vault.syncNames(0, newest);
  const got = await dav.get(name);
  if (!got) return 0; // deleted since (a newer compaction): the next sync finds that one
  const r = await vault.syncApplySnapshot(newest, got.bytes);
  return r.outcome === 'applied' ? r.written + r.deleted : 0;
}

/** How many epochs past a missing one a wider probe looks (compactions missed). */
const SNAPSHOT_WINDOW = 16;

/**
 * Pulls: the newest snapshot, every device's new segments in order. Errors of one
 * device's history are collected (that device waits), the others go on; when one was
 * cut short, snapshots are looked for further (compactions missed) and, one found, the
 * devices are read again. Gives `{pulled, errors}`.
 */
async function pull(vault, dav, found) {
  let pulled = await pullSnapshot(vault, dav);
  let { pulled: more, errors, cut } = await pullSegments(vault, dav, found);
  pulled += more;
  if (cut) {
    const before = (await vault.syncStatus()).epoch;
    pulled += await pullSnapshot(vault, dav, SNAPSHOT_WINDOW);
    if ((await vault.syncStatus()).epoch > before) {
      ({ pulled: more, errors } = await pullSegments(vault, dav, found));
      pulled += more;
    }
  }
  return { pulled, errors };
}

async function pullSegments(vault, dav, found) {
  let pulled = 0;
  let cut = false;
  const errors = [];
  const count = (r) => (r.outcome === 'applied' ? r.written + r.deleted : 0);
  // Devices whose record is gone (they left sync) still have their last segments read.
  const { applied } = await vault.syncStatus();
  const left = Object.keys(applied).filter((id) => !found.some((d) => d.device === id)).map((device) => ({ device, label: 'A device that left sync' }));
  for (const d of [...found, ...left]) {
    if (d.own) continue;
    try {
      let next = (await vault.syncStatus()).applied[d.device] ?? 0;
      next += 1;
      for (;;) {
        const name = await vault.syncSegmentName(d.device, next);
        const got = await timed('tk:sync:get', () => dav.get(name));
        if (!got) {
          try {
            await vault.syncCheckMissing(d.device);
          } catch (err) {
            cut = true;
            throw err;
          }
          break;
        }
        const applied = await timed('tk:sync:apply', () => vault.syncApplySegment(d.device, next, got.bytes));
        if (applied.outcome === 'gap') {
          next = applied.expected;
          continue;
        }
        pulled += count(applied);
        next += 1;
      }
    } catch (err) {
      if (err instanceof SyncError) throw err; // the server itself failed: stop
      errors.push(`${d.label}: ${words(err)}`);
    }
  }
  return { pulled, errors, cut };
}

/** Times a step of a sync on the worker's User Timing line (names only: benchmarks). */
async function timed(name, step) {
  const start = performance.now();
  try {
    return await step();
  } finally {
    performance.measure(name, { start, end: performance.now() });
  }
}

/**
 * Pushes what changed here, one segment at a time (the core caps each one's size):
 * while a segment uploads, the core seals the next (at most two wait at once), and each
 * is confirmed, in order, once the folder has it; then this device's record once. A
 * failure mid-way leaves the unconfirmed segments sealed in the vault and the rest in
 * the outbox: the next sync uploads the same bytes under the same numbers, then goes on.
 */
async function push(vault, dav, own) {
  const before = await vault.syncStatus();
  let segments = 0;
  let segment = await timed('tk:sync:seal', () => vault.syncPreparePush());
  while (segment) {
    const upload = timed('tk:sync:put', () => dav.putOnce(segment.name, segment.bytes));
    upload.catch(() => {}); // awaited below, after the sealing beside it ends
    const next = await timed('tk:sync:seal', () => vault.syncSealNext());
    await upload;
    await timed('tk:sync:confirm', () => vault.syncConfirmPush());
    segments++;
    segment = next;
  }
  // A record left behind by an interrupted push (or missing) is written again too.
  if (segments || !own || own.head < own.applied) {
    await putOwnRecord(vault, dav, await vault.syncDeviceRecord(), own?.etag);
  }
  return segments ? before.outbox : 0;
}

/**
 * After a passphrase change here, writes the folder's meta object again so that a new
 * device joins with the new passphrase (and no longer with the old one): `If-Match` the
 * ETag read when the server gave a strong one, then read back (rclone ignores
 * conditional headers): the core says whether what is there is current.
 */
async function pushMeta(vault, dav) {
  if (!(await vault.syncStatus()).metaStale) return;
  const there = await dav.get('meta');
  if (!there) throw new SyncError('sync_empty', 'The sync folder no longer holds the vault\'s meta file. Leave sync and set it up again.');
  const update = await vault.syncMetaUpdate(there.bytes);
  if (!update) return;
  const strong = there.etag && !there.etag.startsWith('W/') ? there.etag : undefined;
  const put = await dav.put(update.name, update.bytes, strong ? { ifMatch: strong } : {});
  if (!put.ok) throw new SyncError('sync_conflict', 'Another device changed the sync folder\'s passphrase at the same moment. Sync again.');
  const back = await dav.get(update.name);
  if (!back || (await vault.syncMetaUpdate(back.bytes))) {
    throw new SyncError('sync_server', 'The sync server did not keep the vault\'s new passphrase. Nothing was lost; sync tries again later.');
  }
}

// ----- compaction -----

/**
 * After a push, when the folder holds more than this many segments past the last
 * snapshot (as this device knows them), it is compacted: one snapshot replaces them.
 */
export const COMPACT_AFTER = 64;

const strongEtag = (etag) => (etag && !etag.startsWith('W/') ? etag : undefined);

/**
 * Takes the compaction lock, or gives null when another device holds it (or took it
 * at the same moment). A new lock is written with `If-None-Match: *`, an expired one
 * (or ours) `If-Match` its ETag; then read back, as rclone ignores both conditions:
 * the lock is ours only if the folder holds our bytes. Gives `{name, bytes, etag}`.
 */
async function takeLock(vault, dav) {
  const probe = await vault.syncLock(null);
  const name = probe.take.name;
  const current = await dav.get(name);
  const step = current ? await vault.syncLock({ bytes: current.bytes, etag: current.etag ?? '' }) : probe;
  if (!step.take) return null; // another device's live lock: it compacts
  const { bytes, ifMatch } = step.take;
  if (ifMatch !== null && !strongEtag(ifMatch)) return null; // a weak ETag never matches: changed within the second, so live
  const put = await dav.put(name, bytes, ifMatch === null ? { create: true } : { ifMatch });
  if (!put.ok) return null;
  const back = await dav.get(name);
  if (!back || !bytesEqual(back.bytes, bytes)) return null;
  return { name, bytes, etag: strongEtag(back.etag) ?? strongEtag(put.etag) };
}

/** Releases the lock: `If-Match` its strong ETag, else only while it still holds our bytes. */
async function releaseLock(dav, lock) {
  if (lock.etag) {
    await dav.delete(lock.name, lock.etag);
    return;
  }
  const there = await dav.get(lock.name);
  if (there && bytesEqual(there.bytes, lock.bytes)) await dav.delete(lock.name);
}

/** How often the lock's holder asks the core whether a renewal is due (no request). */
const RENEW_CHECK_MS = 5000;

const lockLost = () => new SyncError('sync_lock_lost', 'This device lost the sync folder\'s compaction lock (it expired, or another device took it): the compaction stopped and deleted nothing.');

/**
 * Keeps the compaction lock while a compaction runs: every few seconds the core says
 * whether a renewal is due (a third of the lock's time gone); then the folder's lock is
 * read, the renewed one written `If-Match` its ETag and read back (rclone ignores the
 * condition: the lock is ours only if the folder holds our bytes). When the lock is no
 * longer ours (gone, another device's, expired, a renewal refused) the keeper aborts
 * what runs under `signal` (the snapshot's upload) and `ensure()` throws: the
 * compaction stops, deletes nothing and leaves the lock alone.
 */
class LockKeeper {
  constructor(vault, dav, lock) {
    Object.assign(this, { vault, dav, lock, lost: false, busy: null });
    this.controller = new AbortController();
    this.timer = setInterval(() => this.check().catch(() => {}), RENEW_CHECK_MS);
  }

  get signal() {
    return this.controller.signal;
  }

  /** One check (one at a time); gives whether the lock is still ours. */
  check() {
    this.busy ??= this.renew().finally(() => { this.busy = null; });
    return this.busy;
  }

  async renew() {
    if (this.lost) return false;
    let step = await this.vault.syncRenewLock(this.lock.bytes, undefined);
    if (step.step === 'due') {
      // A server that cannot be reached now throws: the next check tries again, and
      // the core says lost once the lock has expired.
      const current = await this.dav.get(this.lock.name);
      step = await this.vault.syncRenewLock(this.lock.bytes, current ? { bytes: current.bytes, etag: current.etag ?? '' } : null);
    }
    if (step.step === 'renew') {
      const ifMatch = strongEtag(step.ifMatch);
      const put = await this.dav.put(step.name, step.bytes, ifMatch ? { ifMatch } : {});
      const back = put.ok ? await this.dav.get(step.name) : null;
      if (back && bytesEqual(back.bytes, step.bytes)) {
        this.lock = { name: step.name, bytes: step.bytes, etag: strongEtag(back.etag) ?? strongEtag(put.etag) };
        return true;
      }
      step = { step: 'lost' };
    }
    if (step.step === 'lost') {
      this.lost = true;
      this.controller.abort(lockLost());
    }
    return !this.lost;
  }

  /** Throws unless the lock is still ours (renewed first when due). */
  async ensure() {
    if (!(await this.check())) throw lockLost();
  }

  stop() {
    clearInterval(this.timer);
  }
}

/**
 * Compacts when due (or `force`): under the lock (renewed while it works), catches up
 * with the newest snapshot, writes the next one (`If-None-Match: *`), applies it here,
 * deletes the segments and the snapshot it makes obsolete, releases the lock. Another
 * device's live lock skips it (that device compacts). A lock lost on the way stops it
 * before anything is applied or deleted (gives 0). Gives the number of objects deleted.
 */
async function compact(vault, dav, force) {
  const status = await vault.syncStatus();
  if (!force && status.sinceSnapshot <= COMPACT_AFTER) return 0;
  const lock = await takeLock(vault, dav);
  if (!lock) return 0;
  const keeper = new LockKeeper(vault, dav, lock);
  try {
    await pullSnapshot(vault, dav, SNAPSHOT_WINDOW);
    const { epoch } = await vault.syncStatus();
    const snapshot = await vault.syncMakeSnapshot(epoch + 1);
    await keeper.ensure();
    const put = await dav.put(snapshot.name, snapshot.bytes, { create: true, signal: keeper.signal });
    if (!put.ok) return 0; // written by another device meanwhile: the next sync reads it
    await keeper.ensure();
    await vault.syncApplySnapshot(epoch + 1, snapshot.bytes);
    // This device's record names the new epoch: a device any number of compactions
    // behind goes straight to it.
    await putOwnRecord(vault, dav, await vault.syncDeviceRecord());
    let deleted = 0;
    for (const name of snapshot.obsolete) {
      await keeper.ensure();
      if (await dav.delete(name)) deleted++;
    }
    return deleted;
  } catch (err) {
    if (keeper.lost) return 0; // stopped cleanly: the next sync that finds it due compacts
    throw err;
  } finally {
    keeper.stop();
    await keeper.busy?.catch(() => {});
    if (!keeper.lost) await releaseLock(dav, keeper.lock).catch(() => {}); // left behind, it expires
  }
}

/**
 * One sync, in the caller's serial-queue task: pull, then push, then compact when due
 * (`compact: true` forces it: tests). Gives `{pushed, pulled, compacted}` and records
 * the outcome; throws (in words) when the server or the vault failed.
 */
export async function syncOnce(vault, { compact: forceCompact = false } = {}) {
  if (!vault.isUnlocked()) throw new SyncError('locked', 'The vault is locked: sync waits until you unlock it.');
  const server = await vault.syncServer();
  if (!server) throw new SyncError('not_configured', 'Sync is not set up on this device.');
  const report = await readReport();
  running = true;
  try {
    const dav = new Dav(server);
    const found = await readDevices(vault, dav);
    const { pulled, errors } = await pull(vault, dav, found);
    // What the pull wrote waits for its vectors (the core embeds what sync brings after
    // its writes): recall by meaning's backfill embeds it in steps queued behind this sync.
    if (pulled) backfill();
    const pushed = await push(vault, dav, found.find((d) => d.own));
    await pushMeta(vault, dav);
    const compacted = errors.length ? 0 : await compact(vault, dav, forceCompact);
    await readDevices(vault, dav);
    const now = Date.now();
    const error = errors.length ? `Part of the sync folder was refused, so some changes were not applied: ${errors.join(' ')}` : null;
    await writeReport({ lastSync: now, lastAttempt: now, pushed, pulled, error });
    if (error) throw new SyncError('sync_refused', error);
    return { pushed, pulled, compacted };
  } catch (err) {
    const error = words(err);
    await writeReport({ ...report, lastAttempt: Date.now(), error });
    throw err instanceof SyncError ? err : new SyncError(typeof err?.code === 'string' ? err.code : 'internal', error);
  } finally {
    running = false;
  }
}

/**
 * Leaves sync on this device: first, when the folder can be reached, a last sync that
 * sends what waits and compacts (so the newest snapshot holds everything this device
 * sent, for devices that join later), then this device's record is removed from the
 * folder (`If-Match` its strong ETag; only while it is still ours). Then the sync state
 * goes from the vault; every conversation stays. Gives whether the record was removed
 * (false: the folder could not be reached, and still lists this device).
 */
export async function leaveSync(vault) {
  let removed = false;
  const server = await vault.syncServer().catch(() => null);
  if (server) {
    try {
      await syncOnce(vault, { compact: true });
      const dav = new Dav(server);
      const [name] = await vault.syncNames((await vault.syncStatus()).slot, 1);
      const own = await dav.get(name);
      const view = own && (await vault.syncNoteDevice((await vault.syncStatus()).slot, own.bytes).catch(() => null));
      if (view?.own) removed = await dav.delete(name, strongEtag(own.etag));
      else removed = !own;
    } catch {
      removed = false; // the folder could not be reached or refused: leave here anyway
    }
  }
  await vault.syncLeave();
  await clearReport();
  return removed;
}

/** Where sync stands (works while locked: then without the server's address). */
export async function syncStatus(vault) {
  const configured = await vault.syncConfigured();
  const report = await readReport();
  const out = { configured, lastSync: report.lastSync, lastAttempt: report.lastAttempt, pushed: report.pushed, pulled: report.pulled, running, devices: [] };
  if (report.error && configured) out.error = report.error;
  if (configured && vault.isUnlocked()) {
    const server = await vault.syncServer().catch(() => null);
    const s = await vault.syncStatus().catch(() => null);
    if (server) Object.assign(out, { url: server.url, username: server.username });
    if (s) {
      Object.assign(out, {
        label: s.label,
        waiting: s.outbox + (s.pending ? 1 : 0),
        // Compaction: when the snapshot applied last was made (null: none yet), how many
        // change files are past it, and past how many a snapshot is made.
        compaction: { snapshotAt: s.snapshotAt || null, changeFiles: s.sinceSnapshot, after: COMPACT_AFTER },
        devices: s.devices.map((d) => ({ device: d.device, label: d.label, own: d.own, lastSeen: d.lastSeen || null, head: d.head, applied: d.applied })),
      });
    }
  }
  return out;
}

/** Runs a sync soon (after `delay`), in the serial queue, when set up and unlocked. */
export function scheduleSync(delay = DEBOUNCE_MS) {
  if (!env) return;
  clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    env.serially(async () => {
      const vault = await env.vaultReady();
      if (!vault.isUnlocked() || !(await vault.syncConfigured())) return;
      await syncOnce(vault);
    }).catch(() => {}); // recorded in the report
  }, delay);
}

/** Keeps the periodic alarm while sync is set up, and only then. */
export async function syncAlarm(on) {
  if (!ext.alarms) return;
  if (!on) await ext.alarms.clear(ALARM);
  else if (!(await ext.alarms.get(ALARM))) await ext.alarms.create(ALARM, { periodInMinutes: ALARM_MINUTES });
}

/** At worker start: the alarm, the unlock and the vault's writes start a sync. */
export function startSync(backgroundEnv) {
  env = backgroundEnv;
  ext.alarms?.onAlarm.addListener((alarm) => {
    if (alarm.name === ALARM) scheduleSync(0);
  });
  // The alarm exists only while sync is set up (a worker with sync off is not woken).
  env.vaultReady().then((vault) => vault.syncConfigured()).then(syncAlarm, () => {});
  // Unlocked (the session key appears): sync soon.
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && changes.dataKey?.newValue && !changes.dataKey.oldValue) scheduleSync(1000);
  });
  // A message that writes to the vault: sync once writes have settled. This listener
  // never answers (the registry does, in background.js).
  ext.runtime.onMessage.addListener((msg) => {
    if (msg && WRITES.has(msg.type)) scheduleSync();
    return false;
  });
}
