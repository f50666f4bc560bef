// The background decides site and conversation in Rust (src/sites.rs); the content
// scripts' adapters carry the same address patterns. Both must agree on every site.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ADAPTERS, adapterForUrl } from '../../extension/sites/index.js';
import { conversationIdOf } from '../../extension/content/extract.js';

const core = createRequire(import.meta.url)('../../dist/node/threadkeeper.js');

const SAMPLES = {
  chatgpt: ['https://chatgpt.com/c/6981fbd6-7a54-8006', 'https://chatgpt.com/g/g-abc-helper/c/xyz-1', 'https://chatgpt.com/', 'https://chat.openai.com/c/abc'],
  claude: ['https://claude.ai/chat/2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a71', 'https://claude.ai/new', 'https://claude.ai/recents', 'https://claude.ai/chat/bad%20id'],
  gemini: ['https://gemini.google.com/app/8c2f7d3e1a9b4c60', 'https://gemini.google.com/u/1/app/8c2f7d3e1a9b4c60', 'https://gemini.google.com/app'],
  perplexity: ['https://www.perplexity.ai/search/what-is-rust-Ab3xY', 'https://perplexity.ai/search/q-1', 'https://www.perplexity.ai/'],
  grok: ['https://grok.com/c/0e2b5d4a-7c1f-4a22-8b33-9e4455a6b7c8', 'https://grok.com/', 'https://grok.com/chat/0e2b5d4a-7c1f',
    'https://grok.com/en/c/0e2b5d4a-7c1f', 'https://grok.com/?rid=0e2b5d4a-7c1f', 'https://grok.com/?x=1&rid=ab_9#t', 'https://grok.com/c?rid=abc',
    'https://grok.com/?rid=bad%20id', 'https://x.com/i/grok?conversation=1949223611530703142', 'https://x.com/i/grok',
    'https://x.com/i/grok/?conversation=77', 'https://x.com/i/grok/share/abc?conversation=77'],
  deepseek: ['https://chat.deepseek.com/a/chat/s/5d1f9c2a-3e7b', 'https://chat.deepseek.com/a/search/s/7c2e4a18', 'https://chat.deepseek.com/a/chat/', 'https://chat.deepseek.com/'],
  copilot: ['https://copilot.microsoft.com/chats/Xk9pQ2rT7vLmB4nH', 'https://copilot.microsoft.com/'],
  mistral: ['https://chat.mistral.ai/chat/1a2b3c4d-5e6f-4a7b', 'https://chat.mistral.ai/chat'],
};

test('every adapter has sample addresses, and Rust and the adapter agree on each', () => {
  assert.deepEqual(ADAPTERS.map((a) => a.site).sort(), Object.keys(SAMPLES).sort());
  for (const adapter of ADAPTERS) {
    for (const url of SAMPLES[adapter.site]) {
      const rust = core.parseSiteUrl(url);
      assert.ok(rust, `Rust does not know ${url}`);
      assert.equal(rust.site, adapter.site, url);
      assert.equal(rust.conversationId ?? null, conversationIdOf(adapter, url), url);
    }
  }
});

test('on a host shared with a whole other site (x.com), Rust and the adapters both know only its Grok pages', () => {
  for (const url of ['https://x.com/', 'https://x.com/home', 'https://x.com/i/grokker?conversation=1',
    'https://x.com/someone/status/1?conversation=2', 'https://x.com/grok?conversation=3']) {
    assert.equal(core.parseSiteUrl(url) ?? null, null, url);
    assert.equal(adapterForUrl(url), null, url);
  }
  assert.equal(adapterForUrl('https://x.com/i/grok?conversation=1').site, 'grok');
});

test('every adapter restricted to part of a host gives the manifest a pattern for that part only', () => {
  for (const adapter of ADAPTERS) {
    for (const host of Object.keys(adapter.scopes ?? {})) {
      // `hosts` become whole-host patterns in the build: a shared host is never one.
      assert.ok(!adapter.hosts.includes(host), `${adapter.site}: ${host} is in hosts`);
      const patterns = (adapter.matches ?? []).filter((m) => new URL(m.replace('*', 'x')).hostname === host);
      assert.ok(patterns.length > 0 && patterns.every((m) => !m.endsWith(`${host}/*`)), `${adapter.site}: ${host} patterns ${patterns}`);
    }
  }
});
