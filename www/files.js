// Export and import on the vault page. The archive format and the official-export
// parsers are Rust (archive/, import/), run here in the page's own wasm instance; the
// background only hands out and takes in conversations, so the vault's keys never
// leave it and a large file is never sent through messaging whole.
import init, { ArchiveWriter, ArchiveReader, parseExportJson, coreLimits } from '../build/web/threadkeeper.js';
import { send } from './ui.js';
import { ext } from '../extension/shim.js';

// Archive chunks opened at once (about 1 MiB).
const CHUNKS_AT_ONCE = 16;
const IDS_PER_REQUEST = 250;
// Conversations cross to and from the worker as JSON text, about this much at a time.
const BATCH_TEXT = 4 << 20;

let ready = null;
function wasm() {
  ready ??= init({ module_or_path: ext.runtime.getURL('threadkeeper_bg.wasm') });
  return ready;
}

class FileError extends Error {
  constructor(error) {
    super(error?.message ?? 'Something went wrong.');
    this.code = error?.code ?? 'internal';
  }
}

async function ask(msg) {
  const reply = await send(msg);
  if (!reply.ok) throw new FileError(reply.error);
  return reply;
}

/** Wasm errors cross as {code, message} objects; make them Errors. */
function wasmCall(fn) {
  try {
    return fn();
  } catch (err) {
    throw new FileError(err);
  }
}

export function datedName(prefix, extension, date = new Date()) {
  return `${prefix}-${date.toISOString().slice(0, 10)}.${extension}`;
}

/**
 * The whole vault as an encrypted archive (a Blob), streamed batch by batch: the worker
 * reads the next batch while this page seals the one before.
 */
export async function exportArchive(passphrase, progress = () => {}, kdf = undefined) {
  await wasm();
  // The worker lists the conversations while this page stretches the passphrase.
  const listing = ask({ type: 'export.ids' });
  listing.catch(() => {}); // awaited below
  const writer = wasmCall(() => new ArchiveWriter(passphrase, kdf));
  try {
    const { ids } = await listing;
    const parts = [writer.header()];
    const fetchBatch = (i) => {
      if (i >= ids.length) return null;
      const reply = ask({ type: 'export.get', ids: ids.slice(i, i + IDS_PER_REQUEST) });
      reply.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
      return reply;
    };
    let next = fetchBatch(0);
    let skipped = 0;
    for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
      const { json, skipped: left = 0 } = await next;
      skipped += left;
      next = fetchBatch(i + IDS_PER_REQUEST);
      const bytes = wasmCall(() => writer.pushJson(json));
      if (bytes.length) parts.push(bytes);
      progress(Math.min(ids.length, i + IDS_PER_REQUEST) / Math.max(1, ids.length));
    }
    parts.push(wasmCall(() => writer.finish()));
    progress(1);
    return { blob: new Blob(parts, { type: 'application/octet-stream' }), conversations: ids.length - skipped, skipped, messages: writer.messages };
  } finally {
    writer.free();
  }
}

/** The core's limits (src/wasm/limits.rs), read from this page's own wasm instance. */
export async function fileLimits() {
  await wasm();
  return coreLimits();
}

/** Whether the file starts with the archive's magic (archive::format::MAGIC). */
async function isArchive(file) {
  const magic = (await fileLimits()).archiveMagic;
  const head = new Uint8Array(await file.slice(0, magic.length).arrayBuffer());
  return magic.every((b, i) => head[i] === b);
}

/** Opens one chunk with WebCrypto; `null` when its tag does not check with this nonce. */
async function openChunk(key, nonce, chunk) {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce, tagLength: 128 }, key, chunk));
  } catch {
    return null;
  }
}

/**
 * Reads an archive with `reader`. The reader (Rust) reads the header, derives the key,
 * gives every chunk's nonce and decodes every plaintext; the AES-GCM of the chunks runs
 * in WebCrypto, ten times faster than in wasm. A chunk that opens with neither of its
 * nonces (changed, moved, foreign, cut) goes to the reader as it is, which names the
 * problem. `verify` (a first pass: no output) or not (each step's conversations as a
 * JSON array, given to `take`). Gives a reader for a second pass (the key already
 * derived), or frees it if not `again`.
 */
async function readArchive(file, reader, { verify, take = async () => {}, progress, again = false }) {
  const raw = (bytes) => wasmCall(() => (verify ? reader.verify(bytes) : reader.feedJson(bytes)));
  const opened = (plain, last) => wasmCall(() => (verify ? reader.verifyOpened(plain, last) : reader.feedOpenedJson(plain, last)));
  try {
    const headerLen = ArchiveReader.headerLength();
    const chunkLen = ArchiveReader.chunkLength();
    await take(raw(new Uint8Array(await file.slice(0, headerLen).arrayBuffer())));
    const keyBytes = reader.chunkKey();
    if (keyBytes) {
      let key;
      try {
        key = await crypto.subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['decrypt']);
      } finally {
        keyBytes.fill(0);
      }
      const step = chunkLen * CHUNKS_AT_ONCE;
      const slice = (offset) => (offset < file.size ? file.slice(offset, offset + step).arrayBuffer() : null);
      let ahead = slice(headerLen);
      for (let offset = headerLen; offset < file.size; offset += step) {
        const bytes = new Uint8Array(await ahead);
        ahead = slice(offset + step); // read the next slice while these chunks open
        const chunks = [];
        for (let at = 0; at < bytes.length; at += chunkLen) chunks.push(bytes.subarray(at, at + chunkLen));
        const plains = await Promise.all(chunks.map(async (chunk, i) => {
          const plain = await openChunk(key, wasmCall(() => reader.chunkNonce(i, false)), chunk);
          if (plain) return { plain, last: false };
          const final = await openChunk(key, wasmCall(() => reader.chunkNonce(i, true)), chunk);
          return final && { plain: final, last: true };
        }));
        for (let i = 0; i < chunks.length; i++) {
          await take(plains[i] ? opened(plains[i].plain, plains[i].last) : raw(chunks[i]));
        }
        progress(Math.min(1, (offset + step) / file.size));
      }
    }
    const next = again ? wasmCall(() => reader.reread()) : null;
    try {
      wasmCall(() => reader.finish());
    } catch (err) {
      next?.free();
      throw err;
    }
    return next;
  } finally {
    reader.free();
  }
}

let registration = null;
/** The extension's service worker, where there is one (Chromium; Firefox runs an event page). */
async function serviceWorker() {
  registration ??= Promise.resolve(navigator.serviceWorker?.getRegistration()).catch(() => null);
  return (await registration)?.active ?? null;
}

/**
 * Asks the worker to import a batch. Where the worker is a service worker, the batch
 * goes through its own channel first (a structured clone, several times cheaper than
 * runtime messaging's JSON for megabytes of text; see extension/staging.js).
 */
async function importBatch(json) {
  const worker = await serviceWorker();
  if (!worker) return ask({ type: 'import.batch', json });
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  worker.postMessage({ type: 'import.stage', id, json });
  return ask({ type: 'import.batch', staged: id });
}

/**
 * Sends conversations (JSON arrays) to the worker in batches of about BATCH_TEXT. Two
 * batches are in flight: the worker takes in the next while it writes one, and the
 * page decodes the one after; adds each batch's report to `report`.
 */
function batchSender(report) {
  let pending = [];
  let size = 0;
  let inflight = [];
  async function send() {
    if (!pending.length) return;
    const json = pending;
    pending = [];
    size = 0;
    if (inflight.length >= 2) await inflight.shift();
    const reply = importBatch(json).then(({ report: r }) => {
      for (const key of Object.keys(report)) report[key] += r[key];
    });
    reply.catch(() => {}); // awaited by a later send or by finish
    inflight.push(reply);
  }
  return {
    async add(json) {
      pending.push(json);
      size += json.length;
      if (size >= BATCH_TEXT) await send();
    },
    async finish() {
      await send();
      for (const reply of inflight) await reply;
      await ask({ type: 'import.finish' });
    },
  };
}

function emptyReport() {
  return { addedConversations: 0, updatedConversations: 0, alreadyHere: 0, addedMessages: 0 };
}

/**
 * Imports a Threadkeeper archive or an official ChatGPT/Claude export. An archive is
 * read twice: the first pass checks every chunk and writes nothing; only a file that
 * verified completely is merged, in a second pass.
 */
export async function importFile(file, passphrase, progress = () => {}) {
  await wasm();
  const report = emptyReport();
  const sender = batchSender(report);
  if (await isArchive(file)) {
    if (!passphrase) throw new FileError({ code: 'wrong_passphrase', message: 'Enter the passphrase this file was saved with.' });
    const checker = wasmCall(() => new ArchiveReader(passphrase));
    const reader = await readArchive(file, checker, { verify: true, progress: (p) => progress(p / 3), again: true });
    await readArchive(file, reader, {
      take: async (json) => { if (json !== '[]') await sender.add(json); },
      progress: (p) => progress(1 / 3 + (p * 2) / 3),
    });
    await sender.finish();
    progress(1);
    return { kind: 'archive', ...report };
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const parsed = wasmCall(() => parseExportJson(bytes, file.name, BATCH_TEXT));
  progress(0.5);
  for (const json of parsed.batches) await sender.add(json);
  await sender.finish();
  progress(1);
  return { kind: 'export', skipped: parsed.skipped ?? 0, ...report };
}

export function describeImport(r) {
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const parts = [`Added ${plural(r.addedConversations, 'conversation', 'conversations')}, ${plural(r.addedMessages, 'message', 'messages')}`];
  if (r.updatedConversations) parts.push(`${plural(r.updatedConversations, 'conversation', 'conversations')} gained new turns`);
  if (r.alreadyHere) parts.push(`${r.alreadyHere} ${r.alreadyHere === 1 ? 'was' : 'were'} already here`);
  if (r.skipped) parts.push(`${plural(r.skipped, 'conversation', 'conversations')} in the file could not be read`);
  return parts.join('; ') + '.';
}

/** Saves a Blob or text as a file with the given name. */
export function saveFile(content, name, type = 'application/octet-stream') {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
