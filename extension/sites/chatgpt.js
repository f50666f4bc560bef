// chatgpt.com. Facts from the real page snapshot of 2026-02-27
// (tests/fixtures/real/chatgpt/page-chat-simple.html, page-chat-code.html):
// each message is `[data-message-author-role]` with `data-message-id`, inside
// `article[data-testid^="conversation-turn-"][data-turn]`; assistant text in `.markdown`;
// the model in `data-message-model-slug`; the composer `#prompt-textarea` is ProseMirror.
export default {
  site: 'chatgpt',
  hosts: ['chatgpt.com', 'chat.openai.com'],
  conversation: /^\/(?:g\/[^/]+\/)?c\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['[data-message-author-role="user"]', 'article[data-turn="user"]'],
    assistant: ['[data-message-author-role="assistant"]', 'article[data-turn="assistant"]'],
  },
  content: {
    user: { selectors: ['.whitespace-pre-wrap'], format: 'text' },
    assistant: { selectors: ['.markdown'], format: 'markdown' },
  },
  turnId: 'data-message-id',
  streaming: '.result-streaming, [data-is-streaming="true"]',
  model: { selector: '[data-message-model-slug]', attribute: 'data-message-model-slug' },
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*ChatGPT\s*$/,
  strip: '[data-testid="webpage-citation-pill"], .sr-only, h5, h6',
  composer: { selector: '#prompt-textarea', kind: 'prosemirror' },
  newChat: 'https://chatgpt.com/',
};
