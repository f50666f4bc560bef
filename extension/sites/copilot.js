// copilot.microsoft.com. No real page sample: facts from
// tests/fixtures/real/SOURCES.md (conversation at /chats/<id>, messages carry
// `[data-message-id]`, composer textarea#userInput or [data-testid="composer-input"])
// and from a public exporter's code, unverified: the role is in
// `data-content="user-message" | "ai-message"`, and an answer opens with a visually
// hidden "Copilot said" heading. Test page: tests/fixtures/sites/copilot.html.
export default {
  site: 'copilot',
  hosts: ['copilot.microsoft.com'],
  conversation: /^\/chats\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['[data-content="user-message"]', '[data-message-id][class*="user-message"]'],
    assistant: ['[data-content="ai-message"]', '[data-message-id][class*="ai-message"]'],
  },
  content: {
    user: { selectors: ['.whitespace-pre-wrap'], format: 'text' },
    assistant: { selectors: [], format: 'markdown' },
  },
  turnId: 'data-message-id',
  title: ['main h1', 'document.title'],
  titleSuffix: /\s*[-|:]\s*Microsoft Copilot.*$/,
  strip: '.sr-only',
  composer: { selector: 'textarea#userInput, [data-testid="composer-input"]', kind: 'textarea' },
  newChat: 'https://copilot.microsoft.com/',
};
