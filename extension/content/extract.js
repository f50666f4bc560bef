// Reading a page through a site adapter: which elements are turns, the role of each,
// its content as Markdown, and the page's title and model. Pure DOM reading; the
// rules about what to keep live in Rust (capture.rs).
//
// An adapter may list `layouts`, newest first: each one generation of the site's
// markup, with per role `turns` (selectors, most reliable first; later entries are
// fallbacks), `content` and `turnId`. A field a layout leaves out comes from the
// adapter itself, and an adapter without `layouts` is one layout. Old layouts are kept:
// sites roll a new layout out gradually and keep old turns in the old one.

import { makeConverter, plainText } from './markdown.js';

const ROLES = ['user', 'assistant'];

function first(root, selectors) {
  for (const selector of [].concat(selectors ?? [])) {
    const node = root.querySelector(selector);
    if (node) return node;
  }
  return null;
}

const LAYOUTS = new WeakMap();

/** The adapter's layouts, newest first, each with turns, content and turnId filled in. */
export function layoutsOf(adapter) {
  let layouts = LAYOUTS.get(adapter);
  if (!layouts) {
    const base = { turns: adapter.turns, content: adapter.content, turnId: adapter.turnId };
    layouts = (adapter.layouts ?? [{}]).map((layout) => ({ ...base, ...layout }));
    LAYOUTS.set(adapter, layouts);
  }
  return layouts;
}

/** The first raw (undecoded, as src/sites.rs reads it) value of `name` in a query string. */
function queryValue(search, name) {
  for (const pair of search.replace(/^\?/, '').split('&')) {
    const at = pair.indexOf('=');
    if (at !== -1 && pair.slice(0, at) === name) return pair.slice(at + 1);
  }
  return null;
}

/** The conversation id in a URL, or null when the URL is not a conversation. */
export function conversationIdOf(adapter, url) {
  const u = new URL(url);
  // A host shared with a whole other site (x.com) counts only under the adapter's paths.
  const scope = Object.hasOwn(adapter.scopes ?? {}, u.hostname) ? adapter.scopes[u.hostname] : null;
  if (scope ? !scope.test(u.pathname) : !adapter.hosts.includes(u.hostname)) return null;
  for (const rule of [].concat(adapter.conversation)) {
    // A rule with `param` reads the id from the query on the pages its `path` matches.
    const id = rule.param ? (rule.path.test(u.pathname) ? queryValue(u.search, rule.param) : null) : rule.exec(u.pathname)?.[1];
    if (id && /^[0-9A-Za-z_-]{1,128}$/.test(id)) return id;
  }
  return null;
}

/**
 * The selectors each role uses on this page: per role, the first fallback level at
 * which any layout finds something, with every layout's selector of that level (a page
 * mixing generations is read whole). Returns [{role, level, selectors: [per layout]}].
 */
function chosenLevels(layouts, root) {
  const chosen = [];
  for (const role of ROLES) {
    const depth = Math.max(0, ...layouts.map((l) => l.turns[role]?.length ?? 0));
    for (let level = 0; level < depth; level++) {
      const selectors = layouts.map((l) => l.turns[role]?.[level] ?? null);
      const joined = selectors.filter(Boolean).join(', ');
      if (joined && root.querySelector(joined)) {
        chosen.push({ role, level, selectors });
        break;
      }
    }
  }
  return chosen;
}

/**
 * The turn elements in document order with their role. Each role resolves on its own
 * (chosenLevels), so an old fallback for one role never hides the other role's turns.
 * An element matched for both roles takes the role matched at the better level (then
 * by the newer layout); on a tie, the role whose content it holds, else it is no turn.
 * An element that holds turns of the other role is a container, not a turn: the turns
 * inside it stand. Otherwise elements nested in a turn are part of it and dropped.
 */
export function findTurns(adapter, root = document) {
  const layouts = layoutsOf(adapter);
  const chosen = chosenLevels(layouts, root);
  if (!chosen.length) return [];
  const all = root.querySelectorAll(chosen.flatMap((c) => c.selectors.filter(Boolean)).join(', '));
  const candidates = [];
  for (const el of all) {
    const matched = [];
    for (const { role, level, selectors } of chosen) {
      const index = selectors.findIndex((s) => s && el.matches(s));
      if (index !== -1) matched.push({ role, rank: level * layouts.length + index });
    }
    const best = Math.min(...matched.map((m) => m.rank));
    let tied = matched.filter((m) => m.rank === best);
    if (tied.length > 1) tied = tied.filter(({ role }) => layouts.some((l) => first(el, l.content?.[role]?.selectors)));
    candidates.push({ el, role: tied.length === 1 ? tied[0].role : null });
  }
  const turns = [];
  for (let i = 0; i < candidates.length; i++) {
    const { el, role } = candidates[i];
    let end = i + 1;
    while (end < candidates.length && el.contains(candidates[end].el)) end++;
    const inner = candidates.slice(i + 1, end);
    if (role === null || inner.some((c) => c.role !== role)) continue;
    turns.push({ el, role });
    i = end - 1;
  }
  return turns;
}

/** The value of a `turnId` spec on `node`: an attribute name, or {attribute, token: 'first' | 'last'}. */
function idSpec(spec) {
  if (!spec) return null;
  const attribute = typeof spec === 'string' ? spec : spec.attribute;
  const token = typeof spec === 'string' ? null : spec.token;
  return {
    attribute,
    read(node) {
      const value = node?.getAttribute(attribute)?.trim();
      if (!value || !token) return value || undefined;
      const tokens = value.split(/\s+/);
      return token === 'last' ? tokens[tokens.length - 1] : tokens[0];
    },
  };
}

/** A reader bound to one adapter: keeps one converter for the page's life. */
export function makeReader(adapter) {
  const toMarkdown = makeConverter({ strip: adapter.strip, codeLabel: adapter.codeLabel });
  const layouts = layoutsOf(adapter).map((layout) => ({ ...layout, id: idSpec(layout.turnId) }));
  // The layout a turn element belongs to: the newest whose selectors for the role match
  // it, else the newest whose content it holds.
  const layoutOf = (el, role) => layouts.find((l) => l.turns[role]?.some((s) => el.matches(s)))
    ?? layouts.find((l) => first(el, l.content[role].selectors)) ?? layouts[0];
  return {
    message(el, role) {
      const layout = layoutOf(el, role);
      const spec = layout.content[role];
      const node = first(el, spec.selectors) ?? el;
      const markdown = spec.format === 'text' ? plainText(node, adapter.strip) : toMarkdown(node);
      const streaming = adapter.streaming ? el.matches(adapter.streaming) || !!el.querySelector(adapter.streaming) || !!el.closest(adapter.streaming) : false;
      const message = { role, markdown, streaming };
      if (layout.id) {
        const selector = `[${CSS.escape(layout.id.attribute)}]`;
        const turnId = layout.id.read(el.closest(selector) ?? el.querySelector(selector));
        if (turnId) message.turnId = turnId;
      }
      return message;
    },
    title(doc = document) {
      for (const selector of adapter.title ?? []) {
        const text = selector === 'document.title' ? doc.title : doc.querySelector(selector)?.textContent;
        // Direction marks (Gemini opens its title with U+200E) are not part of it.
        const clean = text?.replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').replace(adapter.titleSuffix ?? /$^/, '').trim();
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
