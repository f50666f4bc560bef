// The trust tiers of the background, decided from the sender the browser reports.
// The browser API is stood in for here because only the sender object matters; the
// e2e tests exercise the same code with real senders.
import { test } from 'node:test';
import assert from 'node:assert/strict';

globalThis.chrome = { runtime: { id: 'ourid', getURL: (p) => `chrome-extension://ourid/${p}` } };
const { senderTier } = await import('../../extension/trust.js');
const tab = { id: 7 };

test('the extension\'s own pages are trusted', () => {
  assert.equal(senderTier({ id: 'ourid', url: 'chrome-extension://ourid/vault.html' }), 'page');
  assert.equal(senderTier({ id: 'ourid', url: 'chrome-extension://ourid/popup.html#x' }), 'page');
});

test('our content script in the top frame of an AI site is a content sender', () => {
  assert.equal(senderTier({ id: 'ourid', url: 'https://chatgpt.com/c/abc', tab, frameId: 0 }), 'content');
  assert.equal(senderTier({ id: 'ourid', url: 'https://claude.ai/chat/x', tab, frameId: 0 }), 'content');
});

test('on x.com only the Grok pages are a content sender', () => {
  assert.equal(senderTier({ id: 'ourid', url: 'https://x.com/i/grok?conversation=19492', tab, frameId: 0 }), 'content');
  assert.equal(senderTier({ id: 'ourid', url: 'https://x.com/i/grok', tab, frameId: 0 }), 'content');
  for (const url of ['https://x.com/', 'https://x.com/home', 'https://x.com/i/grokker', 'https://x.com/someone/status/1?conversation=2']) {
    assert.equal(senderTier({ id: 'ourid', url, tab, frameId: 0 }), null, url);
  }
});

test('frames, other sites, insecure pages and look-alike hosts are refused', () => {
  assert.equal(senderTier({ id: 'ourid', url: 'https://chatgpt.com/c/abc', tab, frameId: 3 }), null);
  assert.equal(senderTier({ id: 'ourid', url: 'https://chatgpt.com/c/abc', frameId: 0 }), null);
  assert.equal(senderTier({ id: 'ourid', url: 'http://chatgpt.com/c/abc', tab, frameId: 0 }), null);
  assert.equal(senderTier({ id: 'ourid', url: 'https://chatgpt.com.evil.example/c/abc', tab, frameId: 0 }), null);
  assert.equal(senderTier({ id: 'ourid', url: 'https://chatgpt.com:8443/c/abc', tab, frameId: 0 }), null);
  assert.equal(senderTier({ id: 'ourid', url: 'https://example.com/', tab, frameId: 0 }), null);
});

test('web pages, other extensions and look-alike URLs are refused', () => {
  assert.equal(senderTier({ id: 'ourid', url: 'https://evil.example/chrome-extension://ourid/' }), null);
  assert.equal(senderTier({ id: 'other', url: 'chrome-extension://other/page.html' }), null);
  assert.equal(senderTier({ id: 'other', url: 'https://chatgpt.com/c/abc', tab, frameId: 0 }), null);
  assert.equal(senderTier({ id: 'ourid', url: 'chrome-extension://ourid.evil/x' }), null);
  assert.equal(senderTier({ id: 'ourid' }), null);
  assert.equal(senderTier(undefined), null);
});
