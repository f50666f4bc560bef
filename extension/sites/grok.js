// grok.com, and Grok inside X (x.com/i/grok). No real page sample: facts from
// tests/fixtures/real/SOURCES.md and public exporters' code, unverified.
// - 2026 (exporters of Aug-Oct 2026; our page tests/fixtures/sites/grok-2026.html):
//   the person's messages are `[data-testid="user-message"]`, Grok's
//   `[data-testid="assistant-message"]`, preferred over the row classes below; the
//   composer is TipTap (`.tiptap.ProseMirror`); conversations at /c/<id>, /chat/<id>,
//   /<locale>/c/<id> (/en/c/...) and /?rid=<id>; inside X at
//   https://x.com/i/grok?conversation=<id> (only /i/grok of x.com is ours).
// - earlier (tests/fixtures/sites/grok.html): each message row is `[id^="response-"]`,
//   the person's aligned `items-end`, Grok's `items-start`, text in `.message-bubble`,
//   the answer in `.response-content-markdown`; composer
//   textarea[aria-label="Ask Grok anything"].
// Both: a code block's language in a label above <pre>, reasoning in a "thinking"
// container ("Thought for 12s"). The health check is the safety net here.
const ID = '([0-9A-Za-z_-]{1,128})';
export default {
  site: 'grok',
  hosts: ['grok.com'],
  // Hosts shared with a whole other site: only these paths are Grok (adapterFor,
  // addresses, sender trust). Kept out of `hosts`, which the build turns into
  // `https://<host>/*` patterns: the manifest must carry `matches` instead.
  scopes: { 'x.com': /^\/i\/grok(?:\/|$)/ },
  matches: ['https://grok.com/*', 'https://x.com/i/grok*'],
  // Tried in order, as src/sites.rs does.
  conversation: [
    new RegExp(`^/c/${ID}(?:/|$)`),
    new RegExp(`^/[^/]+/c/${ID}(?:/|$)`),
    new RegExp(`^/chat/${ID}(?:/|$)`),
    { path: /^\/$/, param: 'rid' },
    { path: /^\/i\/grok\/?$/, param: 'conversation' },
  ],
  turns: {
    user: ['[data-testid="user-message"]', '[id^="response-"].items-end', '.items-end:has(> .message-bubble)'],
    assistant: ['[data-testid="assistant-message"]', '[id^="response-"].items-start', '.items-start:has(> .message-bubble)'],
  },
  content: {
    user: { selectors: ['.message-bubble'], format: 'text' },
    assistant: { selectors: ['.response-content-markdown', '.message-bubble'], format: 'markdown' },
  },
  turnId: 'id',
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*Grok\s*$/,
  strip: '[class*="thinking-container"], .action-buttons, [data-testid="code-block"] .font-mono.text-xs',
  codeLabel: { container: '[data-testid="code-block"]', label: '.font-mono.text-xs' },
  composer: {
    selector: '.tiptap.ProseMirror[contenteditable="true"], textarea[aria-label="Ask Grok anything"], textarea[placeholder^="Ask Grok"]',
    kind: 'prosemirror',
  },
  newChat: 'https://grok.com/',
};
