// chat.mistral.ai (Le Chat). No real page sample: facts from
// tests/fixtures/real/SOURCES.md (conversation at /chat/<uuid>, composer
// textarea[name="message.text"], unverified) and from public exporters' and automation
// code, unverified: messages carry `data-message-author-role`, a reply is split into
// `[data-message-part-type="reasoning"]` ("Thought for Ns") and `"answer"` parts, the
// person's text is pre-wrap; newer builds are said to use a ProseMirror composer.
// Test page: tests/fixtures/sites/mistral.html.
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
    assistant: { selectors: ['[data-message-part-type="answer"]'], format: 'markdown' },
  },
  turnId: 'data-message-id',
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*Le Chat.*$/,
  strip: '[data-message-part-type="reasoning"]',
  composer: { selector: 'textarea[name="message.text"], .ProseMirror[contenteditable="true"]', kind: 'textarea' },
  newChat: 'https://chat.mistral.ai/chat',
};
