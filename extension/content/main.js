// The content script of every supported AI site: picks the site's adapter, runs the
// capture engine (honouring the pause and per-site switches at once), shows the restore
// chip, and inserts context the background sends (carry from the popup or vault page).
import { adapterFor } from '../sites/index.js';
import { conversationIdOf } from './extract.js';
import { startEngine } from './engine.js';
import { startRestoreChip, insertBlock } from './restore.js';
import { threadScheduler } from './thread.js';

const ext = globalThis.browser ?? globalThis.chrome;
const adapter = adapterFor(location.hostname);

function send(msg) {
  return ext.runtime.sendMessage(msg);
}

// What a content script accepts, only from the background (the other direction of the
// registry in extension/messages/): `insert.block`, sent by carry.insert. Its reply is
// insert.js's `{ok, reason?, copied?}`.
const FROM_BACKGROUND = Object.freeze({
  'insert.block': {
    check: (msg) => typeof msg.text === 'string',
    handler: (msg) => insertBlock(adapter, msg.text),
  },
});

async function main() {
  if (!adapter) return;
  let engine = null;
  // The site's data is read only when the background said capture is on for the site.
  let confirmed = false;
  const threads = threadScheduler(adapter.site, {
    send,
    enabled: () => confirmed,
    currentId: () => conversationIdOf(adapter, location.href),
  });
  const apply = async () => {
    const reply = await send({ type: 'capture.settings' }).catch(() => null);
    const enabled = reply?.ok ? reply.enabled : true;
    confirmed = reply?.ok === true && reply.enabled === true;
    if (enabled && !engine) engine = startEngine(adapter, { send, onSnapshot: threads.onSnapshot });
    else if (enabled) engine.start();
    else engine?.stop();
  };
  // `settingsChanged` only says "ask again": the answer comes from the background's
  // protected copy, so a page that writes it changes nothing.
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.settingsChanged) apply();
  });

  // Only the background (no tab) may ask; pages cannot reach here.
  ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
    if (sender.id !== ext.runtime.id || sender.tab || typeof msg?.type !== 'string' || !Object.hasOwn(FROM_BACKGROUND, msg.type)) return false;
    const { check, handler } = FROM_BACKGROUND[msg.type];
    if (!check(msg)) return false;
    handler(msg).then(sendResponse, () => sendResponse({ ok: false }));
    return true;
  });

  startRestoreChip(adapter, { send, conversationId: () => conversationIdOf(adapter, location.href) });
  await apply();
  // A tab opened by "Continue in" asks whether a block waits for it.
  const pending = await send({ type: 'carry.pending' }).catch(() => null);
  if (pending?.ok && pending.text) await insertBlock(adapter, pending.text);
}

main();
