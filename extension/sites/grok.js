// grok.com. No real page sample: facts from tests/fixtures/real/SOURCES.md
// (conversation at /c/<uuid>, no stable role attributes, composer
// textarea[aria-label="Ask Grok anything"] or a TipTap/ProseMirror editor) and from
// public exporters' code, unverified: each message row is `[id^="response-"]`, the
// person's aligned `items-end`, Grok's `items-start`, text in `.message-bubble`, the
// answer in `.response-content-markdown`, a code block's language in a label above
// <pre>, reasoning in a "thinking" container ("Thought for 12s").
// Test page: tests/fixtures/sites/grok.html. The health check is the safety net here.
export default {
  site: 'grok',
  hosts: ['grok.com'],
  conversation: /^\/c\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['[id^="response-"].items-end', '.items-end:has(> .message-bubble)'],
    assistant: ['[id^="response-"].items-start', '.items-start:has(> .message-bubble)'],
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
  composer: { selector: 'textarea[aria-label="Ask Grok anything"], .tiptap.ProseMirror[contenteditable="true"]', kind: 'textarea' },
  newChat: 'https://grok.com/',
};
