// Putting saved context back: the chip near the composer on a conversation with saved
// messages, and insertions the background asks for (carry from the popup or the vault
// page). The block itself comes from Rust (restore.rs) through the background; here
// is only the DOM work: find the composer, mount the chip, insert through the editor.
import { mountChip } from './chip.js';
import { insertIntoComposer, copyFallback } from './insert.js';

const COMPOSER_WAIT_MS = 15000;

/** The editor kind of the element actually found (adapters list fallbacks of other kinds). */
export function editorKind(el, declared) {
  if (el.tagName === 'TEXTAREA') return 'textarea';
  if (el.matches('.ProseMirror, .ProseMirror *')) return 'prosemirror';
  if (el.matches('.ql-editor')) return 'quill';
  if (el.matches('[data-lexical-editor]')) return 'lexical';
  return el.isContentEditable ? 'contenteditable' : declared;
}

function findComposer(adapter, doc) {
  return doc.querySelector(adapter.composer.selector);
}

export function waitForComposer(adapter, doc = document, timeout = COMPOSER_WAIT_MS) {
  const found = findComposer(adapter, doc);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const el = findComposer(adapter, doc);
      if (el) {
        observer.disconnect();
        clearTimeout(timer);
        resolve(el);
      }
    });
    observer.observe(doc.documentElement, { childList: true, subtree: true });
    const timer = setTimeout(() => {
      observer.disconnect();
      resolve(null);
    }, timeout);
  });
}

/** Inserts `text` into the page's composer; falls back to the clipboard. */
export async function insertBlock(adapter, text, doc = document) {
  const composer = await waitForComposer(adapter, doc);
  if (!composer) return { ok: false, reason: 'no-composer', copied: (await copyFallback(text)).ok };
  const result = await insertIntoComposer(composer, editorKind(composer, adapter.composer.kind), text);
  if (result.ok) return result;
  return { ...result, copied: (await copyFallback(text)).ok };
}

/** Shows the chip while the tab's conversation has saved messages. */
export function startRestoreChip(adapter, { send, conversationId, doc = document }) {
  let shownFor = null;
  let chip = null;
  const dismissed = new Set();

  async function refresh() {
    const id = conversationId();
    if (id === shownFor) return;
    shownFor = id;
    chip?.remove();
    chip = null;
    if (!id || dismissed.has(id)) return;
    const reply = await send({ type: 'restore.count' }).catch(() => null);
    if (!reply?.ok || !reply.count || conversationId() !== id) return;
    const composer = await waitForComposer(adapter, doc);
    if (!composer || conversationId() !== id) return;
    const box = composer.closest('form') ?? composer.parentElement ?? composer;
    const sendButton = box.querySelector('button[type="submit"], button[data-testid*="send"], button[aria-label*="Send" i]');
    chip = mountChip({
      anchor: box,
      count: reply.count,
      avoid: [composer, sendButton].filter(Boolean),
      onDismiss: () => {
        dismissed.add(id);
        chip = null;
      },
      onRestore: async () => {
        const block = await send({ type: 'restore.own' }).catch(() => null);
        if (!block?.ok) return;
        const result = await insertBlock(adapter, block.text, doc);
        if (result.ok) {
          chip?.remove();
          chip = null;
          dismissed.add(id);
        }
      },
    });
  }

  refresh();
  const timer = setInterval(refresh, 1000);
  return { refresh, stop: () => { clearInterval(timer); chip?.remove(); } };
}
