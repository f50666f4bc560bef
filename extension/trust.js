// Who is asking: decided from the sender the browser reports, never from the message.
//
// Tiers (DESIGN.md, "Runtime"):
//   'page'    the extension's own pages (popup, vault page): everything.
//   'content' our content scripts on an allow-listed AI site, top frame only
//             (capture and restore arrive with the capture issue).
//   null      anything else: refused.

import { ext, extensionOrigin } from './shim.js';

export function senderTier(sender) {
  if (!sender || sender.id !== ext.runtime.id) return null;
  const url = typeof sender.url === 'string' ? sender.url : '';
  if (url.startsWith(extensionOrigin)) return 'page';
  return null;
}
