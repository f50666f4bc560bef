// claude.ai. Layouts, newest first:
// - 2026-10 (public exporters; our page tests/fixtures/sites/claude-2026-10.html):
//   `.font-claude-response` is gone; an answer is `[data-testid="assistant-message"]`
//   `[data-cds="AssistantMessage"]` (still with `data-is-streaming`), its prose in
//   `[data-cds="Prose"]` / `.standard-markdown` blocks; some accounts show the person's
//   turns only as `[data-cds="UserMessage"]`; status lines (`[data-cds="TurnStatus"]`:
//   "Searched the web", "Thought for 12s") and `[data-testid="message-actions"]` are
//   page chrome; the composer is `div[data-testid="chat-input"][contenteditable]`.
// - 2026-02 (real snapshot tests/fixtures/real/claude/page-chat-simple.html): a user turn
//   is `[data-testid="user-message"]`, rendered as Markdown (a typed "- item" shows as
//   a list, so it is read back as Markdown); an answer is the element carrying
//   `data-is-streaming` ("true" while it arrives) around `.font-claude-response`, whose
//   text sits in `.standard-markdown` blocks between tool-use summaries ("Created a
//   file") and artifact cards; older pages have `.font-claude-response` without that
//   wrapper (tests/fixtures/sites/claude-unwrapped.html); the composer is ProseMirror in
//   `[data-testid="chat-input"]`; the title is the chat title button and
//   `document.title` ("<title> - Claude").
export default {
  site: 'claude',
  hosts: ['claude.ai'],
  conversation: /^\/chat\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  layouts: [
    {
      since: '2026-10',
      turns: {
        user: ['[data-testid="user-message"], [data-cds="UserMessage"]'],
        assistant: ['[data-testid="assistant-message"], [data-cds="AssistantMessage"]'],
      },
      content: {
        user: { selectors: [], format: 'markdown' },
        assistant: { selectors: [], format: 'markdown' },
      },
    },
    {
      since: '2026-02',
      turns: {
        user: ['[data-testid="user-message"]', '.font-user-message'],
        assistant: ['[data-is-streaming], .font-claude-response'],
      },
      content: {
        user: { selectors: [], format: 'markdown' },
        assistant: { selectors: ['.font-claude-response'], format: 'markdown' },
      },
    },
  ],
  streaming: '[data-is-streaming="true"]',
  title: ['[data-testid="chat-title-button"]', 'document.title'],
  titleSuffix: /\s*[-|]\s*Claude\s*$/,
  // Tool-use timelines open with an expander button next to a live status line.
  strip: ':has(> button[aria-expanded]):has(> [role="status"]), [role="status"], .sr-only, [aria-label="Message actions"], '
    + '[data-cds="TurnStatus"], [data-testid="message-actions"]',
  composer: {
    selector: '[data-testid="chat-input"] .ProseMirror, div.ProseMirror[contenteditable="true"], div[data-testid="chat-input"][contenteditable="true"]',
    kind: 'prosemirror',
  },
  newChat: 'https://claude.ai/new',
};
