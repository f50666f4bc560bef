// Putting a restore block into a chat's composer, through the composer's own editor.
//
// Chat composers are editors with their own document model (ProseMirror on ChatGPT
// and Claude, Quill on Gemini, Lexical on Perplexity, React-controlled textareas
// elsewhere). Changing their DOM directly leaves the model stale: the site then sends
// what the model holds, not what is shown. So text goes in the ways the editors listen
// to: a paste event carrying a DataTransfer, the browser's own `insertText` command,
// or for textareas the native value setter followed by an `input` event (React
// tracks the value through the prototype's setter). Then the result is read back
// from the page; if the text is not there, the caller offers the clipboard instead.
//
// DOM only: what the text says is decided in the Rust core (restore.rs). Never
// innerHTML: the block is plain text, and inserted as text it can never become markup.

/** The ways each kind of editor is tried, in order. */
const METHODS = {
  prosemirror: ['paste', 'insertText'],
  quill: ['paste', 'insertText'],
  lexical: ['paste', 'insertText'],
  textarea: ['value', 'insertText'],
  contenteditable: ['insertText', 'paste'],
};

/**
 * Inserts `text` at the end of the composer `element` of the given editor `kind`
 * ('prosemirror' | 'quill' | 'lexical' | 'textarea' | 'contenteditable'), then reads
 * back that the composer holds it (whitespace-insensitive).
 *
 * @returns {Promise<{ok: true, method: string} | {ok: false, reason: string}>}
 *   `reason` is 'no-composer', 'unknown-kind', 'empty', 'partial' (the editor took part of
 *   the text or changed it; nothing more was tried, so nothing is doubled) or
 *   'not-inserted' (no method changed the composer).
 */
export async function insertIntoComposer(element, kind, text) {
  if (!element || !element.isConnected) return { ok: false, reason: 'no-composer' };
  const methods = METHODS[kind];
  if (!methods) return { ok: false, reason: 'unknown-kind' };
  const wanted = squash(text);
  if (!wanted) return { ok: false, reason: 'empty' };
  for (const method of methods) {
    const before = squash(readComposer(element));
    await placeCaretAtEnd(element);
    try {
      INSERTERS[method](element, text);
    } catch {
      // A method the browser lacks (execCommand is deprecated): try the next.
    }
    const after = await settled(element, occurrences(before, wanted), wanted);
    // Counted, so a second restore of the same block is checked too.
    if (occurrences(after, wanted) > occurrences(before, wanted)) return { ok: true, method };
    if (after !== before) return { ok: false, reason: 'partial' };
  }
  return { ok: false, reason: 'not-inserted' };
}

/**
 * Puts `text` on the clipboard, for when insertion fails (the person pastes it).
 * Call it from the handler of a user's click: browsers want a user activation.
 * @returns {Promise<{ok: boolean, method?: string}>}
 */
export async function copyFallback(text) {
  try {
    await navigator.clipboard.writeText(text);
    return { ok: true, method: 'clipboard' };
  } catch {
    // Permission refused or no focus: the older copy command still works on a
    // selected textarea during a user activation.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.style.cssText = 'position:fixed;top:0;left:0;width:1px;height:1px;opacity:0;pointer-events:none;';
  const focused = document.activeElement;
  document.body.append(area);
  area.select();
  let ok;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  if (focused && typeof focused.focus === 'function') focused.focus();
  return ok ? { ok: true, method: 'execCommand' } : { ok: false };
}

const INSERTERS = {
  /** A paste with text/plain only, as if the person pasted it. */
  paste(element, text) {
    const data = new DataTransfer();
    data.setData('text/plain', text);
    const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true, composed: true });
    element.dispatchEvent(event);
  },

  /** The browser's own text insertion: fires real beforeinput/input events. */
  insertText(element, text) {
    document.execCommand('insertText', false, text);
  },

  /** A textarea or input: the prototype's value setter, then `input`. */
  value(element, text) {
    const proto = element instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    const setter = Object.getOwnPropertyDescriptor(proto, 'value').set;
    const start = element.selectionStart ?? element.value.length;
    const end = element.selectionEnd ?? start;
    setter.call(element, element.value.slice(0, start) + text + element.value.slice(end));
    const caret = start + text.length;
    element.setSelectionRange?.(caret, caret);
    element.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste', data: text }));
  },
};

/** Focuses the composer with the caret after its content, so a draft is kept. */
async function placeCaretAtEnd(element) {
  element.focus({ preventScroll: true });
  if ('value' in element && typeof element.setSelectionRange === 'function') {
    element.setSelectionRange(element.value.length, element.value.length);
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(element);
  range.collapse(false);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  // ProseMirror and Lexical learn of the new selection from `selectionchange`,
  // which fires asynchronously; a paste before it would land at the old position.
  await nextFrame();
}

/** What the composer shows, as text. */
function readComposer(element) {
  if ('value' in element && typeof element.value === 'string') return element.value;
  return element.innerText ?? element.textContent ?? '';
}

/** Text without whitespace or the zero-width characters editors put in empty lines. */
function squash(text) {
  return String(text).replace(/(?:\s|\u200b|\u200c|\u200d|\u2060|\ufeff)+/g, '');
}

function occurrences(haystack, needle) {
  if (!needle) return 0;
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

/** Waits (up to about half a second) for the editor to render what it was given. */
async function settled(element, countBefore, wanted) {
  let now = squash(readComposer(element));
  for (let i = 0; i < 20 && occurrences(now, wanted) <= countBefore; i++) {
    await nextFrame();
    now = squash(readComposer(element));
  }
  return now;
}

function nextFrame() {
  return new Promise((resolve) => {
    // rAF does not run in background tabs; the timeout keeps a hidden tab going.
    const timer = setTimeout(resolve, 50);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      setTimeout(resolve, 0);
    });
  });
}
