// HTML of a turn -> Markdown, with turndown (GFM tables, strikethrough, task lists).
// Interface chrome (buttons, icons, screen-reader labels, citation counters) is left
// out; code keeps its language; math keeps its TeX where the page carries it.

import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';

const CHROME = 'button, svg, style, script, noscript, template, textarea, input, select, [role="button"], [aria-hidden="true"], .sr-only, [hidden]';

function codeLanguage(pre, labelSelector) {
  const code = pre.querySelector('code') ?? pre;
  for (const node of [code, pre]) {
    const attr = node.getAttribute('data-language') ?? node.getAttribute('data-lang');
    if (attr) return attr.trim().toLowerCase();
    const cls = [...node.classList].find((c) => /^(language|lang)-/.test(c));
    if (cls) return cls.replace(/^(language|lang)-/, '').toLowerCase();
  }
  if (labelSelector) {
    const box = pre.closest(labelSelector.container) ?? pre.parentElement;
    const label = box?.querySelector(labelSelector.label);
    const text = label?.textContent.trim().toLowerCase();
    if (text && /^[a-z0-9+#._-]{1,24}$/.test(text)) return text;
  }
  return '';
}

function fence(text, lang) {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  return `\n\n${ticks}${lang}\n${text.replace(/\n$/, '')}\n${ticks}\n\n`;
}

function texOf(node) {
  const annotation = node.querySelector('annotation[encoding="application/x-tex"]');
  return (annotation?.textContent ?? node.getAttribute('data-math') ?? '').trim();
}

/** A converter for one site; `options.codeLabel` = {container, label} finds a language label outside <code>. */
export function makeConverter(options = {}) {
  const service = new TurndownService({
    headingStyle: 'atx',
    codeBlockStyle: 'fenced',
    bulletListMarker: '-',
    emDelimiter: '*',
    hr: '---',
  });
  service.use(gfm);
  // Turndown tries the rule added last first, so the inline rule must refuse display
  // math itself (Gemini's `.math-block` also carries `data-math`).
  const DISPLAY = '.katex-display, .math-block[data-math], mjx-container[display="true"]';
  service.addRule('mathDisplay', {
    filter: (node) => node.nodeType === 1 && node.matches(DISPLAY) && texOf(node) !== '',
    replacement: (_content, node) => `\n\n$$\n${texOf(node)}\n$$\n\n`,
  });
  service.addRule('mathInline', {
    filter: (node) => node.nodeType === 1 && node.matches('.katex, .math-inline[data-math], [data-math]') && !node.matches(DISPLAY) && texOf(node) !== '',
    replacement: (_content, node) => `$${texOf(node)}$`,
  });
  const chrome = CHROME + (options.strip ? `, ${options.strip}` : '');
  service.addRule('codeBlock', {
    filter: 'pre',
    replacement: (_content, node) => {
      // The outermost <pre> is the block (Le Chat wraps a header and the code in one);
      // without a <code>, its text is read without the header's label and buttons.
      const code = node.querySelector('code');
      const text = code ? code.textContent : textWithout(node.querySelector('pre') ?? node, chrome);
      return fence(text, codeLanguage(node, options.codeLabel));
    },
  });
  // Le Chat draws a table as a grid of divs and keeps the table itself as HTML in an
  // attribute. That HTML is parsed in a separate, inert document (DOMParser: no script
  // runs, nothing loads, the live page is never touched) and converted like any table.
  service.addRule('richTable', {
    filter: (node) => node.nodeType === 1 && node.hasAttribute('data-rich-table-inner-html'),
    replacement: (_content, node) => {
      const parsed = new DOMParser().parseFromString(node.getAttribute('data-rich-table-inner-html'), 'text/html');
      const tables = [...parsed.querySelectorAll('table')].filter((t) => !t.parentElement.closest('table'));
      return tables.map((table) => `\n\n${service.turndown(table)}\n\n`).join('');
    },
  });
  // A rule, not `service.remove`: turndown consults removals only when no rule matches,
  // so a hidden "Copilot said" <h2> or a chrome <a> would slip through as a heading/link.
  // Added last, this rule is tried first.
  service.addRule('chrome', {
    filter: (node) => node.nodeType === 1 && node.matches(chrome),
    replacement: () => '',
  });
  return (element) => service.turndown(element).replace(/\n{3,}/g, '\n\n').trim();
}

/** The text of `node` without the chrome inside it (the node itself is kept). */
function textWithout(node, chrome) {
  if (!node.querySelector(chrome)) return node.textContent;
  const clone = node.cloneNode(true);
  for (const junk of clone.querySelectorAll(chrome)) junk.remove();
  return clone.textContent;
}

// Elements that end a line when a site draws each typed line as its own block
// (Gemini puts every line of a prompt in a <p class="query-text-line">).
const LINE_BLOCKS = 'p, div, li, pre, blockquote, h1, h2, h3, h4, h5, h6, tr';

/** Plain text of a node whose text is shown as typed (pre-wrap user turns). */
export function plainText(element, strip) {
  const clone = element.cloneNode(true);
  for (const junk of clone.querySelectorAll(CHROME + (strip ? `, ${strip}` : ''))) junk.remove();
  // A <br> ends a line, except the last one in a block: browsers draw no extra line for
  // it (editors put one in an empty line so the line has a height).
  for (const br of clone.querySelectorAll('br')) br.replaceWith(br.nextSibling ? '\n' : '');
  // A block followed by anything ends its line; the last block of a parent leaves
  // that to the parent, so nested blocks do not stack up blank lines.
  for (const block of clone.querySelectorAll(LINE_BLOCKS)) {
    if (block.nextSibling) block.after('\n');
  }
  return clone.textContent.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').trim();
}
