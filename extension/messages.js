// The shapes of the messages the background accepts: each field's type and size is
// checked before a handler runs, so a malformed or oversized message gets a clear
// refusal instead of reaching the vault.

const MAX_PASSPHRASE = 4096;
const MAX_ID = 128;

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
  kdf(v) {
    if (v === undefined || v === null) return undefined;
    const ok = v && typeof v === 'object' && ['mKiB', 't', 'p'].every((k) => Number.isInteger(v[k]));
    if (!ok) throw new RequestError('invalid_input', 'Key settings must be {mKiB, t, p}.');
    return { mKiB: v.mKiB, t: v.t, p: v.p };
  },
};
