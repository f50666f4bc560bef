// gemini.google.com. Facts from the real page snapshots of 2026-02-27
// (tests/fixtures/real/gemini/page-chat-simple.html, page-code-block.html): Angular
// custom elements name the parts, `user-query` and `model-response` inside
// `.conversation-container`; each typed line of a prompt is a `p.query-text-line` in
// `.query-text` (role=heading), after a visually hidden "your prompt" label; the answer is
// `message-content .markdown` (`aria-busy="true"` while it streams), its reasoning in a
// sibling `.thoughts-container`; math carries `data-math`; a code block's language is a
// label in `code-block .code-block-decoration`, outside <code>; the mode picker shows
// the model ("Fast", "Thinking", "Pro") in `[data-test-id="logo-pill-label-container"]`;
// the composer is Quill, `rich-textarea .ql-editor`. Since 2026-03 the page has no
// title element; `document.title` opens with a left-to-right mark (U+200E, dropped by
// the reader) and ends " - Google Gemini" (tests/fixtures/sites/gemini-2026-03.html).
export default {
  site: 'gemini',
  hosts: ['gemini.google.com'],
  conversation: /^\/(?:u\/\d+\/)?(?:app|gem\/[^/]+)\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['user-query', '.user-query-container'],
    assistant: ['model-response', '.response-container'],
  },
  content: {
    user: { selectors: ['.query-text', '[role="heading"]', '.query-content'], format: 'text' },
    assistant: { selectors: ['message-content .markdown', 'message-content', '.model-response-text'], format: 'markdown' },
  },
  streaming: 'message-content [aria-busy="true"], .markdown[aria-busy="true"]',
  model: { selector: '[data-test-id="logo-pill-label-container"] > span' },
  title: ['.conversation.selected .conversation-title', '[data-test-id="conversation-title"]', 'document.title'],
  titleSuffix: /^\s*(?:Google\s+)?Gemini\s*$|\s*[-|\u2013\u2014]\s*(?:Google\s+)?Gemini\s*$/,
  strip: '.cdk-visually-hidden, user-query time, .code-block-decoration, .thoughts-container, sources-list, message-actions, mat-icon',
  codeLabel: { container: 'code-block', label: '.code-block-decoration > span' },
  composer: { selector: 'rich-textarea .ql-editor', kind: 'quill' },
  newChat: 'https://gemini.google.com/app',
};
