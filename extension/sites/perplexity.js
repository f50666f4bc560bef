// www.perplexity.ai. Layouts, newest first:
// - 2026-08/09 (public exporters; our page tests/fixtures/sites/perplexity-2026-09.html):
//   `#markdown-content-N` is gone; the person's text is
//   `[class~="group/user-bubble"] [data-renderer="lm"]`; an answer is `.prose.inline` or
//   `[data-workflow-final-text]`; Deep Research's report panel (`.prose.max-w-none`) is
//   not an answer turn and is left out.
// - 2026-02 (real snapshot tests/fixtures/real/perplexity/page-chat-simple.html): few
//   data attributes; each query is a `.group/query` element (an <h1> for the first, a
//   <div> after) of pre-line text next to "Edit Query" / "Copy Query" buttons, its text
//   in a `span.select-text` (reduced pages keep only that span:
//   tests/fixtures/sites/perplexity-reduced.html); each answer is `#markdown-content-N`
//   with `.prose` blocks; citations are `span.citation[data-pplx-citation]` badges
//   showing a source's name, each in a wrapper holding a zero-width space; math is KaTeX.
// Both: the composer `#ask-input` is Lexical (`data-lexical-editor`); the model button
// reads only "Model" unless one is picked, so no model is read.
export default {
  site: 'perplexity',
  hosts: ['www.perplexity.ai', 'perplexity.ai'],
  conversation: /^\/search\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  layouts: [
    {
      since: '2026-08',
      turns: {
        user: ['[class~="group/user-bubble"] [data-renderer="lm"]'],
        assistant: ['[data-workflow-final-text], .prose.inline:not(.max-w-none)'],
      },
    },
    {
      since: '2026-02',
      turns: {
        user: ['[class~="group/query"]', 'h1[class*="whitespace-pre-line"]', 'span[class~="select-text"]'],
        assistant: ['[id^="markdown-content-"]', '.prose:not(.max-w-none)'],
      },
    },
  ],
  content: {
    user: { selectors: [], format: 'text' },
    assistant: { selectors: [], format: 'markdown' },
  },
  title: ['document.title', '[class~="group/query"]'],
  titleSuffix: /\s*[-|]\s*Perplexity\s*$/,
  strip: '[data-pplx-citation], :has(> [data-pplx-citation]), .citation, .citation-nbsp',
  composer: { selector: '#ask-input[data-lexical-editor="true"], [data-lexical-editor="true"]', kind: 'lexical' },
  newChat: 'https://www.perplexity.ai/',
};
