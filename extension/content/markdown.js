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
  service.addRule('mathDisplay', {
    filter: (node) => node.nodeType === 1 && (node.matches('.katex-display, .math-block[data-math], mjx-container[display="true"]')) && texOf(node) !== '',
    replacement: (_content, node) => `\n\n$$\n${texOf(node)}\n$$\n\n`,
  });
  service.addRule('mathInline', {
    filter: (node) => node.nodeType === 1 && node.matches('.katex, .math-inline[data-math], [data-math]') && texOf(node) !== '',
    replacement: (_content, node) => `$${texOf(node)}$`,
  });
  service.addRule('codeBlock', {
    filter: 'pre',
    replacement: (_content, node) => {
      const code = node.querySelector('code') ?? node;
      return fence(code.textContent, codeLanguage(node, options.codeLabel));
    },
  });
  service.remove((node) => node.nodeType === 1 && node.matches(CHROME + (options.strip ? `, ${options.strip}` : '')));
  return (element) => service.turndown(element).replace(/\n{3,}/g, '\n\n').trim();
}

/** Plain text of a node whose text is shown as typed (pre-wrap user turns). */
export function plainText(element, strip) {
  const clone = element.cloneNode(true);
  for (const junk of clone.querySelectorAll(CHROME + (strip ? `, ${strip}` : ''))) junk.remove();
  return clone.textContent.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').trim();
}
