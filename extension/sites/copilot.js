// copilot.microsoft.com. No real page sample: facts from
// tests/fixtures/real/SOURCES.md (conversation at /chats/<id>, messages carry
// `[data-message-id]`, composer textarea#userInput or [data-testid="composer-input"])
// and from public exporters' code (2025 and Aug-Oct 2026), unverified: the role is in
// `data-content="user-message" | "ai-message"`, an answer opens with a visually hidden
// "Copilot said" heading and its text is `[data-testid="ai-message-body"]` (what sits
// beside it in the message, such as source cards and reactions, is not the answer).
// Test pages: tests/fixtures/sites/copilot.html, copilot-2026.html.
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
    assistant: { selectors: ['[data-testid="ai-message-body"]'], format: 'markdown' },
  },
  turnId: 'data-message-id',
  title: ['main h1', 'document.title'],
  titleSuffix: /\s*[-|:]\s*Microsoft Copilot.*$/,
  strip: '.sr-only',
  composer: { selector: 'textarea#userInput, [data-testid="composer-input"]', kind: 'textarea' },
  newChat: 'https://copilot.microsoft.com/',
};
