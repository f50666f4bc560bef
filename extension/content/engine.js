// The capture engine shared by every site: watches the thread, turns what changed
// into Markdown, and sends snapshots to the background.
//
// - Throttled: at most one snapshot a second while the page changes, and one when it
//   settles. Incremental: a turn is converted again only when a mutation touched it,
//   and a snapshot carries only the turns from the first changed one on (with the turn
//   before it, so the merge in Rust can line them up).
// - Single-page navigation: the address is watched; a switch to another conversation
//   starts afresh and never lets turns of the previous one leak into the next.
// - Health: on a conversation address where no turn is found once the page settled,
//   or where roles cannot be told apart, the background is told (badge, vault page).

import { conversationIdOf, findTurns, makeReader } from './extract.js';

export const SNAPSHOT_INTERVAL_MS = 1000;
export const SETTLE_MS = 400;
export const HEALTH_GRACE_MS = 4000;
export const RETRY_MS = 3000;

// `onSnapshot(conversationId, messages)`, when given, hears every look at the page
// (the thread path reads the whole conversation when it opens and after each answer).
export function startEngine(adapter, { send, now = () => Date.now(), win = window, onSnapshot } = {}) {
  const doc = win.document;
  const reader = makeReader(adapter);
  let cache = new WeakMap(); // turn element -> message, until a mutation touches it
  let dirty = new WeakSet();
  let lastSent = []; // messages (by identity) the background has acknowledged
  let stale = new WeakSet(); // elements of the previous conversation after a switch
  let url = win.location.href;
  let conversationId = conversationIdOf(adapter, url);
  let enteredAt = now();
  let lastFlush = 0;
  let settleTimer = null;
  let intervalTimer = null;
  let sending = false;
  let again = false;
  let health = null;
  let enabled = true;
  let turnElements = [];
  let retryTimer = null;

  function markDirty(node) {
    for (let n = node; n && n !== doc.body; n = n.parentNode) {
      if (cache.has(n)) {
        dirty.add(n);
        return;
      }
    }
  }

  function snapshotMessages() {
    const turns = findTurns(adapter, doc).filter((t) => !stale.has(t.el));
    turnElements = turns.map((t) => t.el);
    return turns.map(({ el, role }) => {
      let message = cache.get(el);
      if (!message || dirty.has(el)) {
        message = reader.message(el, role);
        cache.set(el, message);
        dirty.delete(el);
      }
      return message;
    });
  }

  async function reportHealth(status) {
    if (status === health) return;
    health = status;
    await send({ type: 'capture.health', status }).catch(() => {});
  }

  async function flush() {
    clearTimeout(settleTimer);
    settleTimer = null;
    if (!enabled) return;
    if (sending) {
      again = true;
      return;
    }
    lastFlush = now();
    checkAddress();
    if (!conversationId) return;
    const messages = snapshotMessages();
    onSnapshot?.(conversationId, messages);
    if (messages.length === 0) {
      if (now() - enteredAt >= HEALTH_GRACE_MS) await reportHealth('no_turns');
      return;
    }
    if (messages.length >= 2 && messages.every((m) => m.role === messages[0].role)) {
      await reportHealth('unknown_roles');
    } else {
      await reportHealth('ok');
    }
    let first = 0;
    while (first < messages.length && first < lastSent.length && messages[first] === lastSent[first]) first++;
    if (first === messages.length && messages.length === lastSent.length) return;
    const window = messages.slice(Math.max(0, first - 1));
    const forId = conversationId;
    sending = true;
    try {
      const reply = await send({
        type: 'capture',
        snapshot: { conversationId: forId, title: reader.title(doc), model: reader.model(doc), messages: window },
      });
      if (reply?.ok && forId === conversationId) lastSent = messages;
      else if (!reply?.ok && reply?.error?.code !== 'forbidden') retryLater();
    } catch {
      // The worker was restarting: send again shortly.
      retryLater();
    } finally {
      sending = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  // A capture that was not saved (storage full, worker restarting) is sent again until
  // it is: lastSent only moves on an acknowledgement.
  function retryLater() {
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      schedule();
    }, RETRY_MS);
  }

  function schedule() {
    clearTimeout(settleTimer);
    const wait = Math.max(SETTLE_MS, lastFlush + SNAPSHOT_INTERVAL_MS - now());
    settleTimer = setTimeout(flush, wait);
  }

  function checkAddress() {
    if (win.location.href === url) return;
    const nextId = conversationIdOf(adapter, win.location.href);
    if (nextId !== conversationId) {
      if (conversationId && nextId) {
        // Another conversation: what is on screen now still belongs to the old one.
        stale = new WeakSet(turnElements);
      }
      cache = new WeakMap();
      dirty = new WeakSet();
      lastSent = [];
      health = null;
      enteredAt = now();
    }
    url = win.location.href;
    conversationId = nextId;
  }

  const observer = new win.MutationObserver((records) => {
    for (const record of records) markDirty(record.target);
    schedule();
  });

  let running = false;
  function start() {
    enabled = true;
    if (running) return;
    running = true;
    observer.observe(doc.documentElement, { childList: true, subtree: true, characterData: true });
    // Addresses change without mutations (pushState, back/forward): look every second.
    intervalTimer = setInterval(() => {
      if (win.location.href !== url) schedule();
      else if (!health && conversationId && now() - enteredAt >= HEALTH_GRACE_MS && lastSent.length === 0) schedule();
    }, SNAPSHOT_INTERVAL_MS);
    win.addEventListener('popstate', schedule);
    schedule();
  }

  function stop() {
    enabled = false;
    running = false;
    observer.disconnect();
    clearInterval(intervalTimer);
    clearTimeout(settleTimer);
    win.removeEventListener('popstate', schedule);
  }

  start();
  return {
    stop,
    start,
    flush,
    get conversationId() {
      return conversationId;
    },
  };
}
