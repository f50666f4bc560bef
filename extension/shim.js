// The one place where Chrome and Firefox differ. Everything else imports `ext`.

/** The WebExtension API object: `browser` on Firefox, `chrome` on Chromium (both promise-based in MV3). */
export const ext = globalThis.browser ?? globalThis.chrome;

/** The extension's own origin, e.g. `chrome-extension://<id>/` or `moz-extension://<uuid>/`. */
export const extensionOrigin = ext.runtime.getURL('');

/**
 * Keeps `storage.session` away from content scripts. Chrome's default is already
 * trusted contexts only; we say so explicitly in case the default changes. Firefox
 * never exposes session storage to content scripts and has no setAccessLevel.
 */
export async function restrictSessionStorage() {
  if (ext.storage?.session?.setAccessLevel) {
    await ext.storage.session.setAccessLevel({ accessLevel: 'TRUSTED_CONTEXTS' });
  }
}
