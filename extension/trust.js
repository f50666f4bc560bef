// Who is asking: decided from the sender the browser reports, never from the message.
//
// Tiers (which message belongs to which is in the registry, messages/index.js):
//   'page'    the extension's own pages (popup, vault page): everything else.
//   'content' our content script in the top frame of a tab on an allow-listed AI site:
//             capture, and (for its own tab's conversation only) restore.count,
//             restore.own and carry.pending.
//   null      anything else: refused.

import { ext, extensionOrigin } from './shim.js';
import { adapterForUrl } from './sites/index.js';

export function senderTier(sender) {
  if (!sender || sender.id !== ext.runtime.id) return null;
  const url = typeof sender.url === 'string' ? sender.url : '';
  if (url.startsWith(extensionOrigin)) return 'page';
  if (!sender.tab || sender.frameId !== 0) return null;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  // By host, and on a host shared with the rest of a site (x.com) by path too: only
  // x.com/i/grok is Grok, the rest of X is not ours.
  if (parsed.protocol === 'https:' && parsed.port === '' && adapterForUrl(parsed)) return 'content';
  return null;
}
