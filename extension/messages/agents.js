// Messages of the vault page's Agents panel: the switch, the person's answer to a
// waiting agent, each agent's scope, revoking, and the log (see ../agents.js). Page tier.

import { readAgents, readLog, decide, revoke, waiting, bridgeState, connectBridge, AGENT_SITES } from '../agents.js';
import { writeProtected } from '../device.js';
import { ext } from '../shim.js';
import { check, RequestError } from './check.js';

const { fields, none, optional } = check;
const ALLOW = new Set(['once', 'always', 'deny']);

const client = (v) => {
  if (typeof v !== 'string' || v.length === 0 || v.length > 100) throw new RequestError('invalid_input', 'The agent must be named.');
  return v;
};
/** `once`, `always` or `deny`; `true` is `always` (read only), `false` is `deny`. */
const allow = (v) => {
  if (v === true) return 'always';
  if (v === false) return 'deny';
  if (!ALLOW.has(v)) throw new RequestError('invalid_input', 'The answer must be once, always or deny.');
  return v;
};
/** `null` for every site, else a list of known sites. */
const sites = (v) => {
  if (v === null) return null;
  if (!Array.isArray(v) || v.some((s) => !AGENT_SITES.includes(s))) throw new RequestError('invalid_input', 'The sites must be a list of known sites, or null for all.');
  return [...new Set(v)];
};
const flag = (v) => {
  if (typeof v !== 'boolean') throw new RequestError('invalid_input', 'Expected true or false.');
  return v;
};

async function status() {
  const state = await readAgents();
  const permission = await ext.permissions?.contains({ permissions: ['nativeMessaging'] }).catch(() => false);
  return {
    enabled: state.enabled,
    permission: permission === true,
    bridge: bridgeState(),
    // Every agent the person decided about, then those waiting for an answer.
    clients: [
      ...Object.entries(state.clients).map(([name, c]) => ({
        name, allowed: c.allowed === 'always', decision: c.allowed, scope: { sites: c.sites, remember: c.remember }, lastSeen: c.lastSeen,
      })),
      ...waiting().filter((w) => !state.clients[w.client]).map((w) => ({
        name: w.client, allowed: false, decision: 'waiting', scope: { sites: null, remember: false }, lastSeen: w.since,
      })),
    ],
    waiting: waiting(),
    log: (await readLog()).slice().reverse(),
    sites: AGENT_SITES,
  };
}

export default {
  'agents.status': {
    tier: 'page',
    check: none,
    handler: status,
  },
  /**
   * The person's switch. The bridge is reached only once the browser granted
   * `nativeMessaging` (the page asks on the person's click; `permission` and `bridge`
   * in the reply say where things stand).
   */
  'agents.enable': {
    tier: 'page',
    check: fields({ enabled: flag }),
    async handler({ enabled }) {
      const state = await readAgents();
      await writeProtected({ agents: { ...state, enabled } });
      await connectBridge();
      return status();
    },
  },
  'agents.decide': {
    tier: 'page',
    check: fields({ client, allow, sites: optional(sites), remember: optional(flag) }),
    async handler({ client: name, allow: answer, sites: only, remember }) {
      await decide(name, answer, { sites: only, remember });
      return status();
    },
  },
  'agents.revoke': {
    tier: 'page',
    check: fields({ client }),
    async handler({ client: name }) {
      await revoke(name);
      return status();
    },
  },
};

