// chat.mistral.ai (Le Chat). No real page sample: facts from
// tests/fixtures/real/SOURCES.md (conversation at /chat/<uuid>, composer
// textarea[name="message.text"], unverified) and from public exporters' and automation
// code of 2026, unverified: messages carry `data-message-author-role` and
// `data-message-id`, a reply is split into `[data-message-part-type="reasoning"]`
// ("Thought for Ns") and `"answer"` parts, its text in `[data-testid="text-message-part"]`;
// the person's text is pre-wrap; a table is drawn as an interactive grid of divs and
// kept as HTML in a `data-rich-table-inner-html` attribute (read from there, parsed
// inert, by markdown.js); a code block is an outer <pre> around a header
// (`[data-exclude-copy="true"]`: language label and "Copy") and the <code>; newer builds
// are said to use a ProseMirror composer.
// Test pages: tests/fixtures/sites/mistral.html, mistral-2026.html.
export default {
  site: 'mistral',
  hosts: ['chat.mistral.ai'],
  conversation: /^\/chat\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['[data-message-author-role="user"]'],
    assistant: ['[data-message-author-role="assistant"]'],
  },
  content: {
    user: { selectors: ['.select-text', '.whitespace-pre-wrap'], format: 'text' },
    assistant: { selectors: ['[data-message-part-type="answer"]', '[data-testid="text-message-part"]'], format: 'markdown' },
  },
  turnId: 'data-message-id',
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*Le Chat.*$/,
  strip: '[data-message-part-type="reasoning"], [data-exclude-copy="true"], .rich-table-title-bar',
  codeLabel: { container: 'pre', label: '[data-exclude-copy="true"] span' },
  composer: { selector: 'textarea[name="message.text"], .ProseMirror[contenteditable="true"]', kind: 'textarea' },
  newChat: 'https://chat.mistral.ai/chat',
};
