// Reading a page through a site adapter: which elements are turns, the role of each,
// its content as Markdown, and the page's title and model. Pure DOM reading; the
// rules about what to keep live in Rust (capture.rs).

import { makeConverter, plainText } from './markdown.js';

const ROLES = ['user', 'assistant'];

function first(root, selectors) {
  for (const selector of [].concat(selectors ?? [])) {
    const node = root.querySelector(selector);
    if (node) return node;
  }
  return null;
}

/** The conversation id in a URL, or null when the URL is not a conversation. */
export function conversationIdOf(adapter, url) {
  const u = new URL(url);
  if (!adapter.hosts.includes(u.hostname)) return null;
  const match = adapter.conversation.exec(u.pathname);
  return match ? match[1] : null;
}

/**
 * The turn elements in document order with their role. Each role lists selectors from
 * most to least reliable; level k of every role is tried together, and the first level
 * that finds any turn wins. Elements nested inside another turn are dropped.
 */
export function findTurns(adapter, root = document) {
  const levels = Math.max(...ROLES.map((r) => adapter.turns[r].length));
  for (let level = 0; level < levels; level++) {
    const selectors = ROLES.map((role) => [role, adapter.turns[role][Math.min(level, adapter.turns[role].length - 1)]]);
    const all = root.querySelectorAll(selectors.map(([, s]) => s).join(', '));
    if (all.length === 0) continue;
    const turns = [];
    for (const el of all) {
      if (turns.length && turns[turns.length - 1].el.contains(el)) continue;
      const role = selectors.find(([, s]) => el.matches(s))?.[0];
      turns.push({ el, role });
    }
    return turns;
  }
  return [];
}

/** A reader bound to one adapter: keeps one converter for the page's life. */
export function makeReader(adapter) {
  const toMarkdown = makeConverter({ strip: adapter.strip, codeLabel: adapter.codeLabel });
  return {
    message(el, role) {
      const spec = adapter.content[role];
      const node = first(el, spec.selectors) ?? el;
      const markdown = spec.format === 'text' ? plainText(node, adapter.strip) : toMarkdown(node);
      const idNode = adapter.turnId ? (el.closest(`[${adapter.turnId}]`) ?? el.querySelector(`[${adapter.turnId}]`)) : null;
      const streaming = adapter.streaming ? el.matches(adapter.streaming) || !!el.querySelector(adapter.streaming) || !!el.closest(adapter.streaming) : false;
      const message = { role, markdown, streaming };
      const turnId = idNode?.getAttribute(adapter.turnId);
      if (turnId) message.turnId = turnId;
      return message;
    },
    title(doc = document) {
      for (const selector of adapter.title ?? []) {
        const text = selector === 'document.title' ? doc.title : doc.querySelector(selector)?.textContent;
        const clean = text?.replace(adapter.titleSuffix ?? /$^/, '').trim();
        if (clean) return clean;
      }
      return '';
    },
    model(doc = document) {
      if (!adapter.model) return undefined;
      const nodes = doc.querySelectorAll(adapter.model.selector);
      const last = nodes[nodes.length - 1];
      const value = adapter.model.attribute ? last?.getAttribute(adapter.model.attribute) : last?.textContent;
      return value?.trim() || undefined;
    },
  };
}
