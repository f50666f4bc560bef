// claude.ai. Facts from the real page snapshot of 2026-02-27
// (tests/fixtures/real/claude/page-chat-simple.html): a user turn is
// `[data-testid="user-message"]`, rendered as Markdown (a typed
// "- item" shows as a list, so it is read back as Markdown, not as plain text); an assistant turn is the
// element carrying `data-is-streaming` ("true" while the answer arrives) around
// `.font-claude-response`, whose text sits in one or more `.standard-markdown` blocks
// between tool-use summaries ("Created a file, read a file") and artifact cards; the
// composer is ProseMirror in `[data-testid="chat-input"]`; the title is the chat
// title button and `document.title` ("<title> - Claude").
export default {
  site: 'claude',
  hosts: ['claude.ai'],
  conversation: /^\/chat\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['[data-testid="user-message"]', '.font-user-message'],
    assistant: ['[data-is-streaming]', '.font-claude-response'],
  },
  content: {
    user: { selectors: [], format: 'markdown' },
    assistant: { selectors: ['.font-claude-response'], format: 'markdown' },
  },
  streaming: '[data-is-streaming="true"]',
  title: ['[data-testid="chat-title-button"]', 'document.title'],
  titleSuffix: /\s*[-|]\s*Claude\s*$/,
  // Tool-use timelines open with an expander button next to a live status line.
  strip: ':has(> button[aria-expanded]):has(> [role="status"]), [role="status"], .sr-only, [aria-label="Message actions"]',
  composer: { selector: '[data-testid="chat-input"] .ProseMirror, div.ProseMirror[contenteditable="true"]', kind: 'prosemirror' },
  newChat: 'https://claude.ai/new',
};
