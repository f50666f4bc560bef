// Payload checks: each field's type and size is checked before a handler runs, so a
// malformed or oversized message gets a clear refusal instead of reaching the vault.
// Every message of the registry (index.js) names its check; limits the core already
// has come from it (limits.js).

import { limits, clampBudget } from './limits.js';
import { ADAPTERS } from '../sites/index.js';

const MAX_ID = 128;
const MAX_JSON_BATCH = 32 * 1024 * 1024;
const EXPORT_BATCH = 500;
const MAX_AUTO_LOCK_MINUTES = 24 * 60;
const HEALTH = new Set(['ok', 'no_turns', 'unknown_roles']);
const MAX_THREAD_PAGES = 20;
// What a content script may report of a failed read of its site's data (thread.js).
const THREAD_FAILURES = new Set(['refused', 'unreachable', 'too_large', 'signed_out', 'shape_changed']);

export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function text(value, name, max) {
  if (typeof value !== 'string') throw new RequestError('invalid_input', `${name} must be text.`);
  if (value.length > max) throw new RequestError('invalid_input', `${name} is too long.`);
  return value;
}

export const check = {
  passphrase: (v) => text(v, 'The passphrase', limits().maxPassphraseBytes),
  id: (v) => text(v, 'The conversation id', MAX_ID),
  conversation(v) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      throw new RequestError('invalid_input', 'The conversation must be an object.');
    }
    if (v.messages !== undefined && !Array.isArray(v.messages)) {
      throw new RequestError('invalid_input', 'The messages must be a list.');
    }
    return v;
  },
  /** The id of an import batch staged through the service worker's channel. */
  stageId(v) {
    if (typeof v !== 'string' || !/^[0-9a-f]{32}$/.test(v)) throw new RequestError('invalid_input', 'Unknown import batch.');
    return v;
  },
  /** Conversations as JSON arrays (export and import batches): at most 32 MiB of text. */
  jsonBatches(v) {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      throw new RequestError('invalid_input', 'The conversations must be JSON text.');
    }
    if (v.reduce((n, s) => n + s.length, 0) > MAX_JSON_BATCH) throw new RequestError('invalid_input', 'Send fewer conversations at a time.');
    return v;
  },
  site(v) {
    if (v === undefined) return undefined;
    return text(v, 'The site', 32);
  },
  health(v) {
    if (!HEALTH.has(v)) throw new RequestError('invalid_input', 'Unknown health status.');
    return v;
  },
  /** A capture from a content script: {title?, model?, messages: [{role, markdown, turnId?, streaming?}]}. */
  snapshot(v) {
    if (!v || typeof v !== 'object' || !Array.isArray(v.messages)) {
      throw new RequestError('invalid_input', 'A capture needs a list of messages.');
    }
    if (v.messages.length > limits().maxSnapshotMessages) throw new RequestError('invalid_input', 'A capture holds too many messages.');
    const roles = limits().roles;
    const messages = v.messages.map((m) => {
      if (!m || !roles.includes(m.role) || typeof m.markdown !== 'string') {
        throw new RequestError('invalid_input', 'Each captured message needs a role and text.');
      }
      const out = { role: m.role, markdown: m.markdown, streaming: m.streaming === true };
      if (typeof m.turnId === 'string' && m.turnId.length <= 256) out.turnId = m.turnId;
      return out;
    });
    const snapshot = { messages, title: typeof v.title === 'string' ? v.title.slice(0, 1000) : '' };
    if (typeof v.model === 'string' && v.model.length <= 128) snapshot.model = v.model;
    if (v.site !== undefined) snapshot.site = text(v.site, 'The site', 32);
    if (v.conversationId !== undefined) snapshot.conversationId = text(v.conversationId, 'The conversation id', limits().maxIdBytes);
    return snapshot;
  },
  /**
   * The thread path: `{conversationId, replies: [text]}` (the site's replies, parsed in
   * Rust) or `{conversationId, failure, status?}` (what kind of read failed).
   */
  thread(v) {
    const conversationId = text(v?.conversationId, 'The conversation id', limits().maxIdBytes);
    if (v.failure !== undefined) {
      if (!THREAD_FAILURES.has(v.failure)) throw new RequestError('invalid_input', 'Unknown kind of failure.');
      const out = { conversationId, failure: v.failure };
      if (Number.isInteger(v.status) && v.status >= 100 && v.status < 600) out.status = v.status;
      return out;
    }
    if (!Array.isArray(v.replies) || v.replies.length === 0 || v.replies.length > MAX_THREAD_PAGES || v.replies.some((r) => typeof r !== 'string')) {
      throw new RequestError('invalid_input', 'A thread needs the site\'s replies as text.');
    }
    if (v.replies.reduce((n, r) => n + r.length, 0) > limits().maxThreadBytes) throw new RequestError('too_large', 'The conversation is too large to read at once.');
    return { conversationId, replies: v.replies };
  },
  /** A message without a payload: nothing of it is read. */
  none: () => ({}),
  /** Several fields, each by its own check: `fields({id: check.id})`. */
  fields(spec) {
    return (msg) => Object.fromEntries(Object.entries(spec).map(([name, checkOne]) => [name, checkOne(msg[name])]));
  },
  optional(checkOne) {
    return (v) => (v === undefined ? undefined : checkOne(v));
  },
  /** Only `true` is yes. */
  yes: (v) => v === true,
  /** What a person typed, cut where the core's query parser stops (search::query::MAX_QUERY_CHARS). */
  query: (v) => (typeof v === 'string' ? v.slice(0, limits().maxQueryChars) : ''),
  searchLimit: (v) => (Number.isInteger(v) ? Math.min(100, Math.max(1, v)) : 20),
  /** `conversation.list`: everything, or the most recent 1 to vault::RECENT_LEN (one record). */
  recentLimit(v) {
    if (v === undefined) return undefined;
    const most = limits().recentLen;
    if (!Number.isInteger(v) || v < 1 || v > most) throw new RequestError('invalid_input', `Ask for 1 to ${most} recent conversations.`);
    return v;
  },
  /** Conversation ids for an export batch. */
  exportIds(v) {
    if (!Array.isArray(v) || v.length > EXPORT_BATCH) throw new RequestError('invalid_input', `Ask for at most ${EXPORT_BATCH} conversations at a time.`);
    return v.map(check.id);
  },
  /** An import batch: JSON in the message, or the id of one staged (staging.js). */
  importBatch(msg) {
    return msg.staged === undefined ? { json: check.jsonBatches(msg.json) } : { staged: check.stageId(msg.staged) };
  },
  /** A restore budget in tokens; absent or not a whole number means the person's setting. */
  budget: (v) => (Number.isInteger(v) ? clampBudget(v) : undefined),
  /** A site a new chat can be opened on. */
  newChatSite(v) {
    if (!ADAPTERS.some((a) => a.site === v)) throw new RequestError('invalid_input', 'Threadkeeper cannot open that site.');
    return v;
  },
  wipeConfirm(v) {
    if (v !== 'erase everything') throw new RequestError('invalid_input', 'Type "erase everything" to confirm.');
    return v;
  },
  /** Settings changes: what is not of the right type is left as it is. */
  settings(msg) {
    return {
      paused: typeof msg.paused === 'boolean' ? msg.paused : undefined,
      site: check.site(msg.site),
      enabled: typeof msg.enabled === 'boolean' ? msg.enabled : undefined,
      restoreBudget: Number.isInteger(msg.restoreBudget) ? clampBudget(msg.restoreBudget) : undefined,
      // 0 means never (while the browser stays open).
      autoLockMinutes: Number.isInteger(msg.autoLockMinutes) ? Math.min(MAX_AUTO_LOCK_MINUTES, Math.max(0, msg.autoLockMinutes)) : undefined,
    };
  },
  kdf(v) {
    if (v === undefined || v === null) return undefined;
    const ok = v && typeof v === 'object' && ['mKiB', 't', 'p'].every((k) => Number.isInteger(v[k]));
    if (!ok) throw new RequestError('invalid_input', 'Key settings must be {mKiB, t, p}.');
    return { mKiB: v.mKiB, t: v.t, p: v.p };
  },
};
