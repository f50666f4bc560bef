// chatgpt.com. Two layouts, both live during the gradual rollout of 2026-09:
// - 2026-09 (public exporters, Aug-Oct 2026; our page tests/fixtures/sites/chatgpt-2026-09.html):
//   no `[data-message-author-role]`, `[data-message-id]`, `[data-turn]` nor `article`; a
//   `div[data-turn-key]` holds one prompt and its answer as two units marked by
//   `data-chatgpt-search-unit-key` ("<turn>:<n>:user" / ":assistant"), each with its
//   message ids in `data-chatgpt-search-message-ids` (the first token is the id); the
//   prompt is `[data-user-message-bubble] .whitespace-pre-wrap`; the answer is
//   `[data-markdown-text-style="assistant-message"]` after an `h4.sr-only`
//   `[data-conversation-role="assistant"]` ("ChatGPT said:"); no model slug in the page;
//   only 3-6 turns are in the page at once (the engine merges the windows).
// - 2026-02 (real snapshot tests/fixtures/real/chatgpt/page-chat-simple.html,
//   page-chat-code.html): each message is `[data-message-author-role]` with
//   `data-message-id`, inside `article[data-testid^="conversation-turn-"][data-turn]`;
//   assistant text in `.markdown`; the model in `data-message-model-slug`.
// The composer `#prompt-textarea` is ProseMirror in both.
export default {
  site: 'chatgpt',
  hosts: ['chatgpt.com', 'chat.openai.com'],
  conversation: /^\/(?:g\/[^/]+\/)?c\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  layouts: [
    {
      since: '2026-09',
      turns: {
        user: ['[data-chatgpt-search-unit-key$=":user"], [data-turn-key] [data-user-message-bubble]'],
        assistant: ['[data-chatgpt-search-unit-key$=":assistant"], [data-turn-key] :has(> h4.sr-only[data-conversation-role="assistant"])',
          '[data-markdown-text-style="assistant-message"]'],
      },
      content: {
        user: { selectors: ['[data-user-message-bubble] .whitespace-pre-wrap', '.whitespace-pre-wrap'], format: 'text' },
        assistant: { selectors: ['[data-markdown-text-style="assistant-message"]'], format: 'markdown' },
      },
      turnId: { attribute: 'data-chatgpt-search-message-ids', token: 'first' },
    },
    {
      since: '2026-02',
      turns: {
        user: ['[data-message-author-role="user"]', 'article[data-turn="user"]'],
        assistant: ['[data-message-author-role="assistant"]', 'article[data-turn="assistant"]'],
      },
      content: {
        user: { selectors: ['.whitespace-pre-wrap'], format: 'text' },
        assistant: { selectors: ['.markdown'], format: 'markdown' },
      },
      turnId: 'data-message-id',
    },
  ],
  streaming: '.result-streaming, [data-is-streaming="true"]',
  model: { selector: '[data-message-model-slug]', attribute: 'data-message-model-slug' },
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*ChatGPT\s*$/,
  strip: '[data-testid="webpage-citation-pill"], .sr-only, h5, h6',
  composer: { selector: '#prompt-textarea', kind: 'prosemirror' },
  newChat: 'https://chatgpt.com/',
};
