// chat.deepseek.com. No real page sample. Layouts, newest first:
// - 2026 (public exporters, Aug-Oct 2026; our page tests/fixtures/sites/deepseek-deepthink.html):
//   DeepThink's reasoning is also a `.ds-markdown`, inside `.ds-think-content`, placed
//   first in the message; the answer is `.ds-markdown.ds-assistant-message-main-content`;
//   the person's text is `.ds-collapsible-text`.
// - earlier (tests/fixtures/real/SOURCES.md; tests/fixtures/sites/deepseek.html): every
//   message a `.ds-message`, an answer's text in `.ds-markdown`; no role attribute, so
//   a message holding `.ds-markdown` is DeepSeek's.
// Addresses are /a/<mode>/s/<id> (chat and other modes); composer `#chat-input` or a
// textarea. Other class names are hashed on the real site and are not used.
export default {
  site: 'deepseek',
  hosts: ['chat.deepseek.com'],
  conversation: /^\/a\/[^/]+\/s\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  layouts: [
    {
      since: '2026',
      turns: {
        user: ['.ds-message:has(.ds-collapsible-text):not(:has(.ds-markdown))'],
        assistant: ['.ds-message:has(.ds-assistant-message-main-content)'],
      },
      content: {
        user: { selectors: ['.ds-collapsible-text'], format: 'text' },
        assistant: { selectors: ['.ds-assistant-message-main-content'], format: 'markdown' },
      },
    },
    {
      since: '2025',
      turns: {
        user: ['.ds-message:not(:has(.ds-markdown))'],
        assistant: ['.ds-message:has(.ds-markdown)'],
      },
      content: {
        user: { selectors: [], format: 'text' },
        assistant: { selectors: ['.ds-markdown:not(.ds-think-content *)'], format: 'markdown' },
      },
    },
  ],
  title: ['document.title'],
  titleSuffix: /\s*[-|]\s*DeepSeek\s*$/,
  // DeepThink's reasoning is never the answer.
  strip: '.ds-think-content',
  composer: { selector: 'textarea#chat-input, #chat-input, textarea', kind: 'textarea' },
  newChat: 'https://chat.deepseek.com/',
};
