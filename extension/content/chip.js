// The restore chip: "42 saved messages · Restore", shown near a chat's composer when
// the vault holds context for the conversation in this tab.
//
// - In a closed shadow root, so the page's styles do not reach it and its scripts
//   cannot reach in (no `host.shadowRoot`, no `querySelector` into it).
// - `onRestore` runs only for a trusted activation (a real click, or Enter/Space on
//   the focused button): a page can dispatch a synthetic click on the host, and that
//   click must not pull the vault's text into the page.
// - Placed beside the composer, never over it nor over the elements in `avoid` (the
//   send button); it follows the composer when the page scrolls or resizes.
// - Light or dark from the page's own background unless `theme` says which.
//
// DOM only, no innerHTML; the count is the only data it shows.

const MARGIN = 8;

const CSS = `
:host { all: initial; }
.chip { display: inline-flex; align-items: center; gap: 2px; box-sizing: border-box; height: 28px;
  padding: 0 2px 0 4px; border-radius: 14px; border: 1px solid var(--line); background: var(--bg);
  color: var(--fg); font: 500 12px/1 system-ui, -apple-system, "Segoe UI", sans-serif;
  box-shadow: 0 1px 3px rgba(0, 0, 0, .12); white-space: nowrap; }
.chip.light { --bg: #ffffff; --fg: #1f1f1f; --line: #d0d0d0; --hover: #f0f0f0; --focus: #1a73e8; }
.chip.dark { --bg: #2f2f2f; --fg: #ececec; --line: #4a4a4a; --hover: #3c3c3c; --focus: #8ab4f8; }
button { all: unset; cursor: pointer; border-radius: 12px; height: 22px; display: inline-flex; align-items: center; }
.restore { padding: 0 8px; }
.dismiss { width: 22px; justify-content: center; font-size: 14px; opacity: .7; }
button:hover { background: var(--hover); opacity: 1; }
button:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
.chip[aria-busy="true"] .restore { opacity: .6; cursor: progress; }
@media (prefers-reduced-motion: no-preference) { .chip { transition: opacity .15s; } }
`;

/**
 * Shows the chip next to `anchor` (the composer or its box).
 *
 * @param {object} o
 * @param {Element} o.anchor the composer, or the box around it
 * @param {number} o.count how many messages are saved
 * @param {() => (void|Promise<void>)} o.onRestore called on a trusted click; while its
 *   promise is pending, further clicks are ignored
 * @param {() => void} [o.onDismiss] called when the person closes the chip
 * @param {'light'|'dark'|'auto'} [o.theme] 'auto' (default) follows the page
 * @param {Element[]} [o.avoid] more elements never to cover (the send button)
 * @returns {{update(count: number): void, remove(): void, host: HTMLElement}}
 */
export function mountChip({ anchor, count, onRestore, onDismiss, theme = 'auto', avoid = [] }) {
  const host = document.createElement('threadkeeper-chip');
  host.setAttribute('data-threadkeeper-chip', '');
  host.style.cssText = 'all: initial; position: fixed; z-index: 2147483646; top: 0; left: 0; visibility: hidden;';
  const root = host.attachShadow({ mode: 'closed', delegatesFocus: true });

  const style = document.createElement('style');
  style.textContent = CSS;
  const chip = document.createElement('div');
  chip.className = 'chip';
  chip.setAttribute('role', 'group');
  chip.setAttribute('aria-label', 'Threadkeeper');
  const restore = document.createElement('button');
  restore.className = 'restore';
  restore.type = 'button';
  const dismiss = document.createElement('button');
  dismiss.className = 'dismiss';
  dismiss.type = 'button';
  dismiss.textContent = '×';
  dismiss.setAttribute('aria-label', 'Dismiss');
  dismiss.title = 'Dismiss';
  chip.append(restore, dismiss);
  root.append(style, chip);

  const setCount = (n) => {
    const label = `${n} saved message${n === 1 ? '' : 's'}`;
    restore.textContent = `${label} · Restore`;
    restore.setAttribute('aria-label', `Restore ${label} into the chat`);
  };
  setCount(count);

  const mode = theme === 'light' || theme === 'dark' ? theme : pageTheme(anchor);
  chip.classList.add(mode);
  host.setAttribute('data-theme', mode);

  let busy = false;
  let removed = false;

  // Dismissing is handled inside, and goes no further.
  dismiss.addEventListener('click', (event) => {
    event.stopPropagation();
    if (!event.isTrusted) return;
    api.remove();
    onDismiss?.();
  });
  chip.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && event.isTrusted) {
      event.stopPropagation();
      api.remove();
      onDismiss?.();
    }
  });
  // Every other click on the chip reaches the host, retargeted; so does any click a
  // page script dispatches on the host. Only the person's own clicks count.
  host.addEventListener('click', async (event) => {
    event.stopPropagation();
    if (!event.isTrusted || busy || removed) return;
    busy = true;
    chip.setAttribute('aria-busy', 'true');
    try {
      await onRestore();
    } finally {
      busy = false;
      chip.removeAttribute('aria-busy');
    }
  });

  const place = () => {
    if (removed) return;
    const size = host.getBoundingClientRect();
    const spot = placement(anchor.getBoundingClientRect(), avoid.filter((e) => e?.isConnected).map((e) => e.getBoundingClientRect()), size.width, size.height);
    host.style.left = `${Math.round(spot.left)}px`;
    host.style.top = `${Math.round(spot.top)}px`;
    host.style.visibility = anchor.isConnected ? 'visible' : 'hidden';
  };
  let frame = 0;
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; place(); });
  };
  const resizes = new ResizeObserver(schedule);
  resizes.observe(anchor);
  window.addEventListener('scroll', schedule, { capture: true, passive: true });
  window.addEventListener('resize', schedule, { passive: true });

  (document.body ?? document.documentElement).append(host);
  place();

  const api = {
    host,
    update(n) {
      setCount(n);
      schedule();
    },
    remove() {
      if (removed) return;
      removed = true;
      resizes.disconnect();
      window.removeEventListener('scroll', schedule, { capture: true });
      window.removeEventListener('resize', schedule);
      if (frame) cancelAnimationFrame(frame);
      host.remove();
    },
  };
  return api;
}

/**
 * Where the chip goes: just above the composer's right end, else its left end, else
 * below it; the first spot that stays in the viewport and covers neither the
 * composer nor anything in `avoid`.
 */
export function placement(anchor, avoid, width, height) {
  const vw = document.documentElement.clientWidth || window.innerWidth;
  const vh = document.documentElement.clientHeight || window.innerHeight;
  const above = anchor.top - MARGIN - height;
  const below = anchor.bottom + MARGIN;
  const right = anchor.right - width;
  const left = anchor.left;
  const candidates = [
    { top: above, left: right }, { top: above, left }, { top: below, left: right }, { top: below, left },
    // Beside the composer when there is no room above or below.
    { top: anchor.top, left: anchor.right + MARGIN }, { top: anchor.top, left: anchor.left - MARGIN - width },
  ];
  const fits = (c) => c.top >= 0 && c.left >= 0 && c.top + height <= vh && c.left + width <= vw;
  const clear = (c) => [anchor, ...avoid].every((r) => !overlaps(c, width, height, r));
  return candidates.find((c) => fits(c) && clear(c)) ?? candidates.find(clear) ?? candidates[0];
}

function overlaps(c, width, height, r) {
  return c.left < r.right && c.left + width > r.left && c.top < r.bottom && c.top + height > r.top;
}

/** 'dark' when the first opaque background behind the composer is dark. */
function pageTheme(anchor) {
  for (let el = anchor; el; el = el.parentElement) {
    const rgb = parseColor(getComputedStyle(el).backgroundColor);
    if (rgb && rgb.a > 0.5) return luminance(rgb) < 0.18 ? 'dark' : 'light';
  }
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function parseColor(text) {
  const m = /rgba?\(([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+))?\)/.exec(text ?? '');
  return m ? { r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4] } : null;
}

function luminance({ r, g, b }) {
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
