// www.perplexity.ai. Facts from the real page snapshot of 2026-02-27
// (tests/fixtures/real/perplexity/page-chat-simple.html): few data attributes; each
// query is a `.group/query` element (an <h1> for the first, a <div> after) of
// pre-line text next to "Edit Query" / "Copy Query" buttons; each answer is
// `#markdown-content-N` with `.prose` blocks; citations are
// `span.citation[data-pplx-citation]` badges showing a source's name, each in a
// wrapper holding a zero-width space; math is KaTeX;
// the composer `#ask-input` is Lexical (`data-lexical-editor`); the model button reads
// only "Model" unless one is picked, so no model is read.
export default {
  site: 'perplexity',
  hosts: ['www.perplexity.ai', 'perplexity.ai'],
  conversation: /^\/search\/([0-9A-Za-z_-]{1,128})(?:\/|$)/,
  turns: {
    user: ['[class~="group/query"]', 'h1[class*="whitespace-pre-line"]'],
    assistant: ['[id^="markdown-content-"]', '.prose'],
  },
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
