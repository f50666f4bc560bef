// chat.deepseek.com. No real page sample: facts from tests/fixtures/real/SOURCES.md
// (conversation at /a/chat/s/<id>, every message a `.ds-message`, an answer's text in
// `.ds-markdown`, composer `#chat-input` or a textarea). No role attribute is known, so
// the role is read from the content: a message holding `.ds-markdown` is DeepSeek's.
// Other class names are hashed on the real site and are not used.
// Test page: tests/fixtures/sites/deepseek.html.
export default {
  site: 'deepseek',
  hosts: ['chat.deepseek.com'],
  conversation: /^\/a\/chat\/s\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['.ds-message:not(:has(.ds-markdown))'],
    assistant: ['.ds-message:has(.ds-markdown)'],
  },
  content: {
    user: { selectors: [], format: 'text' },
    assistant: { selectors: ['.ds-markdown'], format: 'markdown' },
  },
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*DeepSeek\s*$/,
  composer: { selector: 'textarea#chat-input, #chat-input, textarea', kind: 'textarea' },
  newChat: 'https://chat.deepseek.com/',
};
