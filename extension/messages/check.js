// The shapes of the messages the background accepts: each field's type and size is
// checked before a handler runs, so a malformed or oversized message gets a clear
// refusal instead of reaching the vault.

const MAX_PASSPHRASE = 4096;
const MAX_ID = 128;
const MAX_SNAPSHOT_MESSAGES = 5000;
const MAX_JSON_BATCH = 32 * 1024 * 1024;
const ROLES = new Set(['user', 'assistant', 'system', 'tool']);
const HEALTH = new Set(['ok', 'no_turns', 'unknown_roles']);
const MAX_THREAD_PAGES = 20;
const MAX_THREAD_CHARS = 32 * 1024 * 1024;
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
  passphrase: (v) => text(v, 'The passphrase', MAX_PASSPHRASE),
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
    if (v.messages.length > MAX_SNAPSHOT_MESSAGES) throw new RequestError('invalid_input', 'A capture holds too many messages.');
    const messages = v.messages.map((m) => {
      if (!m || !ROLES.has(m.role) || typeof m.markdown !== 'string') {
        throw new RequestError('invalid_input', 'Each captured message needs a role and text.');
      }
      const out = { role: m.role, markdown: m.markdown, streaming: m.streaming === true };
      if (typeof m.turnId === 'string' && m.turnId.length <= 256) out.turnId = m.turnId;
      return out;
    });
    const snapshot = { messages, title: typeof v.title === 'string' ? v.title.slice(0, 1000) : '' };
    if (typeof v.model === 'string' && v.model.length <= 128) snapshot.model = v.model;
    if (v.site !== undefined) snapshot.site = text(v.site, 'The site', 32);
    if (v.conversationId !== undefined) snapshot.conversationId = text(v.conversationId, 'The conversation id', 512);
    return snapshot;
  },
  /**
   * The thread path: `{conversationId, replies: [text]}` (the site's replies, parsed in
   * Rust) or `{conversationId, failure, status?}` (what kind of read failed).
   */
  thread(v) {
    const conversationId = text(v?.conversationId, 'The conversation id', 512);
    if (v.failure !== undefined) {
      if (!THREAD_FAILURES.has(v.failure)) throw new RequestError('invalid_input', 'Unknown kind of failure.');
      const out = { conversationId, failure: v.failure };
      if (Number.isInteger(v.status) && v.status >= 100 && v.status < 600) out.status = v.status;
      return out;
    }
    if (!Array.isArray(v.replies) || v.replies.length === 0 || v.replies.length > MAX_THREAD_PAGES || v.replies.some((r) => typeof r !== 'string')) {
      throw new RequestError('invalid_input', 'A thread needs the site\'s replies as text.');
    }
    if (v.replies.reduce((n, r) => n + r.length, 0) > MAX_THREAD_CHARS) throw new RequestError('too_large', 'The conversation is too large to read at once.');
    return { conversationId, replies: v.replies };
  },
  kdf(v) {
    if (v === undefined || v === null) return undefined;
    const ok = v && typeof v === 'object' && ['mKiB', 't', 'p'].every((k) => Number.isInteger(v[k]));
    if (!ok) throw new RequestError('invalid_input', 'Key settings must be {mKiB, t, p}.');
    return { mKiB: v.mKiB, t: v.t, p: v.p };
  },
};
