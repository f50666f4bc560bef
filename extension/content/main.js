// The content script of every supported AI site: picks the site's adapter and runs the
// capture engine, honouring the pause and per-site switches at once.
import { adapterFor } from '../sites/index.js';
import { startEngine } from './engine.js';

const ext = globalThis.browser ?? globalThis.chrome;
const adapter = adapterFor(location.hostname);

async function send(msg) {
  return ext.runtime.sendMessage(msg);
}

async function main() {
  if (!adapter) return;
  let engine = null;
  const apply = async () => {
    const reply = await send({ type: 'capture.settings' }).catch(() => null);
    const enabled = reply?.ok ? reply.enabled : true;
    if (enabled && !engine) engine = startEngine(adapter, { send });
    else if (enabled) engine.start();
    else engine?.stop();
  };
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.settings) apply();
  });
  await apply();
}

main();
