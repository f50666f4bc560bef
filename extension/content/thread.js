// The thread path of capture: reads the whole conversation open in this tab from the
// site's own data (sources.js) and hands the replies to the background, which parses
// them in Rust and merges them with what the page showed. The page (engine.js) stays
// the live path; this one brings the turns a page no longer shows.
//
// When: when a conversation opens or the address moves to another one, and after an
// answer finishes (at most once per answer, never more often than MIN_INTERVAL_MS).
// Rules (DESIGN.md "Requests", SECURITY.md): requests go to this page's own origin
// only, for the conversation in this tab's address only, read calls only, only while
// capture runs for the site; a token is read for the request and forgotten; replies
// are size-capped while they stream in. Failures are reported by kind, never with
// content or tokens.

import { SOURCES } from './sources.js';

export const MAX_REPLY_BYTES = 32 * 1024 * 1024;
export const MAX_PAGES = 20;
export const MIN_INTERVAL_MS = 5000;
const TOKEN_REPLY_BYTES = 256 * 1024;

class ReadFailure extends Error {
  constructor(kind, status) {
    super(kind);
    this.kind = kind;
    this.status = status;
  }
}

/** `fetch` of `path` on this page's origin only; the body read up to `max` bytes. */
async function fetchText(win, path, { method = 'GET', headers = {}, body, contentType = 'application/json', max = MAX_REPLY_BYTES } = {}) {
  const url = new URL(path, win.location.origin);
  if (url.origin !== win.location.origin) throw new ReadFailure('refused');
  let response;
  try {
    response = await win.fetch(url.href, {
      method,
      headers: { accept: 'application/json', ...(body ? { 'content-type': contentType } : {}), ...headers },
      body,
      credentials: 'include',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    throw new ReadFailure('unreachable');
  }
  if (!response.ok) throw new ReadFailure('refused', response.status);
  const reader = response.body?.getReader();
  if (!reader) return response.text();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new ReadFailure('too_large');
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function cookie(doc, name) {
  for (const part of doc.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

function field(json, name) {
  try {
    const value = JSON.parse(json)?.[name];
    return typeof value === 'string' && value ? value : null;
  } catch {
    return null;
  }
}

/** What the page sends its own backend: a bearer token, or Claude's organisation. */
async function credentials(win, spec) {
  const t = spec.token;
  if (!t) return {};
  if (t.get) {
    const token = field(await fetchText(win, t.get, { max: TOKEN_REPLY_BYTES }), t.field);
    if (!token) throw new ReadFailure('signed_out');
    return { token };
  }
  if (t.localStorage) {
    const token = field(win.localStorage.getItem(t.localStorage) ?? 'null', t.field);
    if (!token) throw new ReadFailure('signed_out');
    return { token };
  }
  if (t.msal) {
    // MSAL keeps each access token under its own key; the one for the chat scope.
    for (let i = 0; i < win.localStorage.length; i++) {
      const key = win.localStorage.key(i);
      if (!/accesstoken/i.test(key ?? '')) continue;
      try {
        const entry = JSON.parse(win.localStorage.getItem(key));
        if (typeof entry?.target === 'string' && entry.target.includes(t.msal) && typeof entry.secret === 'string') return { token: entry.secret };
      } catch {
        // Not an MSAL entry.
      }
    }
    if (t.optional) return {};
    throw new ReadFailure('signed_out');
  }
  if (t.wiz) {
    // Gemini: the page's own tokens, written into an inline script as WIZ_global_data.
    const script = [...win.document.scripts].find((s) => s.textContent.includes('WIZ_global_data'))?.textContent ?? '';
    const value = (key) => new RegExp(`"${key}"\\s*:\\s*"([^"\\\\]{1,512})"`).exec(script)?.[1] ?? null;
    const at = value('SNlM0e');
    if (!at) throw new ReadFailure('signed_out');
    return { at, bl: value('cfb2h'), fsid: value('FdrFJe') };
  }
  if (t.org) {
    const org = cookie(win.document, 'lastActiveOrg');
    if (org) return { org };
    try {
      const list = JSON.parse(await fetchText(win, '/api/organizations', { max: TOKEN_REPLY_BYTES }));
      const uuid = Array.isArray(list) ? list.find((o) => typeof o?.uuid === 'string')?.uuid : null;
      if (uuid) return { org: uuid };
    } catch (err) {
      if (err instanceof ReadFailure) throw err;
    }
    throw new ReadFailure('signed_out');
  }
  return {};
}

/**
 * Reads the conversation `id` open in `win` and sends it to the background; gives the
 * background's answer, or `{failure}`. `allowed()` (capture still on) and
 * `stillOpen()` (the tab still shows `id`) are asked before every request: a tab that
 * moved on stops the read. What arrived after the tab moved is still sent for `id`: the
 * background refuses it (the tab shows another conversation) and notes why in health.
 */
export async function readThread(site, id, { send, win = window, allowed = () => true, stillOpen = () => true }) {
  const spec = SOURCES[site];
  if (!spec || (spec.hosts && !spec.hosts.includes(win.location.hostname))) return { skipped: true };
  let lastFailure = null;
  let noted = false; // the background noted the last failure itself
  for (const attempt of spec.attempts) {
    try {
      if (!stillOpen() || !allowed()) return { skipped: true };
      const ctx = await credentials(win, spec);
      const headers = spec.headers(ctx.token);
      const replies = [];
      let request = attempt.first(id, ctx);
      for (let page = 0; ; page++) {
        if (page === MAX_PAGES) {
          [lastFailure, noted] = ['too_large', false];
          break;
        }
        if (!stillOpen() || !allowed()) return { skipped: true };
        replies.push(await fetchText(win, request.path, { method: request.method, body: request.body, contentType: request.contentType, headers }));
        if (!allowed()) return { skipped: true };
        const reply = await send({ type: 'capture.thread', conversationId: id, replies });
        if (!reply?.ok) {
          // Refused by the background (the tab moved, a reply it could not read): it
          // has noted why; another endpoint generation is worth a try only for a shape.
          if (reply?.error?.code !== 'shape_changed') return { failure: reply?.error?.code ?? 'refused' };
          [lastFailure, noted] = ['shape_changed', true];
          break;
        }
        if (typeof reply.more !== 'string') return reply;
        if (!attempt.next) {
          [lastFailure, noted] = ['shape_changed', false];
          break;
        }
        request = attempt.next(id, reply.more, ctx);
      }
    } catch (err) {
      noted = false;
      lastFailure = err instanceof ReadFailure ? err.kind : 'unreachable';
      if (lastFailure === 'signed_out') break;
      lastFailure = err instanceof ReadFailure && err.status ? `${lastFailure}:${err.status}` : lastFailure;
    }
  }
  // Every generation failed: tell the background the kind only (health), never content.
  const [kind, status] = String(lastFailure).split(':');
  if (noted) return { failure: kind };
  const failure = { type: 'capture.thread', conversationId: id, failure: kind };
  if (status) failure.status = Number(status);
  await send(failure).catch(() => {});
  return { failure: kind };
}

/**
 * Decides when to read: once when a conversation opens (or the address moves to
 * another), then when an answer finishes (the page showed a turn streaming and now
 * shows none), never more often than MIN_INTERVAL_MS. The engine calls `onSnapshot`
 * after every look at the page.
 */
export function threadScheduler(site, { send, win = window, now = () => Date.now(), enabled = () => true, currentId }) {
  let readFor = null; // the conversation last read
  let wasStreaming = false;
  let pending = null; // a conversation to read again once the read under way ends
  let busy = false;
  let lastAt = -Infinity;
  let timer = null;

  async function run(id) {
    busy = true;
    pending = null;
    lastAt = now();
    try {
      await readThread(site, id, { send, win, allowed: enabled, stillOpen: () => currentId() === id });
    } finally {
      busy = false;
    }
    if (pending && pending === currentId()) later(pending, pending === id ? undefined : 0);
  }

  function later(id, wait = Math.max(0, lastAt + MIN_INTERVAL_MS - now())) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (currentId() !== id || !enabled()) return;
      if (busy) pending = id;
      else run(id);
    }, wait);
  }

  return {
    onSnapshot(conversationId, messages) {
      const streaming = messages.some((m) => m.streaming);
      const finished = wasStreaming && !streaming;
      wasStreaming = streaming;
      if (!conversationId || !enabled() || !SOURCES[site]) return;
      if (conversationId !== readFor) {
        readFor = conversationId;
        later(conversationId, 0);
      } else if (finished) {
        if (busy) pending = conversationId;
        else later(conversationId);
      }
    },
  };
}
