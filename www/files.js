// Export and import on the vault page. The archive format and the official-export
// parsers are Rust (archive/, import/), run here in the page's own wasm instance; the
// background only hands out and takes in conversations, so the vault's keys never
// leave it and a large file is never sent through messaging whole.
import init, { ArchiveWriter, ArchiveReader, parseExport } from '../build/web/threadkeeper.js';
import { send } from './ui.js';
import { ext } from '../extension/shim.js';

const MAGIC = [0x89, 0x54, 0x4b, 0x41, 0x52, 0x0d, 0x0a, 0x1a];
const SLICE = 1 << 20;
const IDS_PER_REQUEST = 100;
const CONVERSATIONS_PER_BATCH = 200;

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

/** The whole vault as an encrypted archive (a Blob), streamed conversation by conversation. */
export async function exportArchive(passphrase, progress = () => {}, kdf = undefined) {
  await wasm();
  const { ids } = await ask({ type: 'export.ids' });
  const writer = wasmCall(() => new ArchiveWriter(passphrase, kdf));
  const parts = [writer.header()];
  let messages = 0;
  for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
    const { conversations } = await ask({ type: 'export.get', ids: ids.slice(i, i + IDS_PER_REQUEST) });
    for (const conversation of conversations) {
      messages += conversation.messages.length;
      const bytes = wasmCall(() => writer.push(conversation));
      if (bytes.length) parts.push(bytes);
    }
    progress(Math.min(ids.length, i + IDS_PER_REQUEST) / Math.max(1, ids.length));
  }
  parts.push(wasmCall(() => writer.finish()));
  writer.free();
  progress(1);
  return { blob: new Blob(parts, { type: 'application/octet-stream' }), conversations: ids.length, messages };
}

async function isArchive(file) {
  const head = new Uint8Array(await file.slice(0, MAGIC.length).arrayBuffer());
  return MAGIC.every((b, i) => head[i] === b);
}

/** Reads an archive slice by slice; `onConversations` gets each decoded batch. */
async function readArchive(file, passphrase, onConversations, progress) {
  const reader = wasmCall(() => new ArchiveReader(passphrase));
  try {
    for (let offset = 0; offset < file.size; offset += SLICE) {
      const bytes = new Uint8Array(await file.slice(offset, offset + SLICE).arrayBuffer());
      const { conversations } = wasmCall(() => reader.feed(bytes));
      await onConversations(conversations);
      progress(Math.min(1, (offset + SLICE) / file.size));
    }
    wasmCall(() => reader.finish());
  } finally {
    reader.free();
  }
}

function emptyReport() {
  return { addedConversations: 0, updatedConversations: 0, alreadyHere: 0, addedMessages: 0 };
}

async function importInBatches(conversations, report) {
  for (let i = 0; i < conversations.length; i += CONVERSATIONS_PER_BATCH) {
    const { report: r } = await ask({ type: 'import.batch', conversations: conversations.slice(i, i + CONVERSATIONS_PER_BATCH) });
    for (const key of Object.keys(report)) report[key] += r[key];
  }
}

/**
 * Imports a Threadkeeper archive or an official ChatGPT/Claude export. An archive is
 * read twice: the first pass checks every chunk and writes nothing; only a file that
 * verified completely is merged, in a second pass.
 */
export async function importFile(file, passphrase, progress = () => {}) {
  await wasm();
  const report = emptyReport();
  if (await isArchive(file)) {
    if (!passphrase) throw new FileError({ code: 'wrong_passphrase', message: 'Enter the passphrase this file was saved with.' });
    await readArchive(file, passphrase, async () => {}, (p) => progress(p / 2));
    let pending = [];
    await readArchive(file, passphrase, async (conversations) => {
      pending.push(...conversations);
      if (pending.length >= CONVERSATIONS_PER_BATCH) {
        await importInBatches(pending, report);
        pending = [];
      }
    }, (p) => progress(0.5 + p / 2));
    await importInBatches(pending, report);
    progress(1);
    return { kind: 'archive', ...report };
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const parsed = wasmCall(() => parseExport(bytes, file.name));
  progress(0.5);
  await importInBatches(parsed.conversations, report);
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
