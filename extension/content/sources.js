// Where each site keeps the conversation open in a tab, read the way the page itself
// reads it (DESIGN.md, "Requests"): only the tab's own site, only that conversation,
// only reads. The replies are not looked at here: the background hands them to the
// Rust core (src/import/site/), which turns them into a thread and says whether a
// further page is needed (`more`: a cursor, an offset or a request body).
//
// A source: `token` (where the page keeps what it sends to its own backend, used for
// these requests only and never kept), `headers(token)`, and `attempts`: the endpoint
// generations to try in order (a site rolling out a new one keeps the old), each with
// `first(id, ctx)` and, for paged threads, `next(id, more, ctx)`, giving
// `{path, method?, body?}`. Paths are relative to the page's own origin.
//
// Facts from peers' code of 2026-08..10, not checked against the live sites (README).
// Mistral has no known source: the page is read instead.

const enc = encodeURIComponent;

export const SOURCES = {
  chatgpt: {
    token: { get: '/api/auth/session', field: 'accessToken' },
    headers: (token) => (token ? { authorization: `Bearer ${token}` } : {}),
    attempts: [
      {
        first: (id) => ({ path: `/backend-api/conversations/${enc(id)}?include_has_versions=true&num_turns=100` }),
        next: (id, cursor) => ({ path: `/backend-api/conversations/${enc(id)}/messages?before=${enc(cursor)}` }),
      },
      { first: (id) => ({ path: `/backend-api/conversation/${enc(id)}` }) },
    ],
  },
  claude: {
    token: { org: true },
    headers: () => ({}),
    attempts: [
      {
        first: (id, { org }) => ({
          path: `/api/organizations/${enc(org)}/chat_conversations/${enc(id)}?tree=True&rendering_mode=messages&render_all_tools=true`,
        }),
      },
    ],
  },
  deepseek: {
    token: { localStorage: 'userToken', field: 'value' },
    headers: (token) => ({ ...(token ? { authorization: `Bearer ${token}` } : {}), 'x-client-platform': 'web' }),
    attempts: [{ first: (id) => ({ path: `/api/v0/chat/history_messages?chat_session_id=${enc(id)}` }) }],
  },
  perplexity: {
    headers: () => ({ 'x-app-apiclient': 'default', 'x-app-apiversion': '2.18' }),
    attempts: [
      {
        first: (id) => ({ path: perplexityPage(id, '0') }),
        next: (id, offset) => ({ path: perplexityPage(id, offset) }),
      },
    ],
  },
  grok: {
    hosts: ['grok.com'],
    headers: () => ({}),
    attempts: [
      {
        first: (id) => ({ path: `/rest/app-chat/conversations/${enc(id)}/response-node?includeThreads=true` }),
        next: (id, body) => ({ path: `/rest/app-chat/conversations/${enc(id)}/load-responses`, method: 'POST', body }),
      },
    ],
  },
  gemini: {
    token: { wiz: true },
    headers: () => ({ 'x-same-domain': '1' }),
    attempts: [
      {
        first: (id, ctx) => geminiRead(id, null, ctx),
        next: (id, pageToken, ctx) => geminiRead(id, pageToken, ctx),
      },
    ],
  },
  copilot: {
    token: { msal: 'chatai.readwrite', optional: true },
    headers: (token) => (token ? { authorization: `Bearer ${token}` } : {}),
    attempts: [
      {
        first: (id) => ({ path: `/c/api/conversations/${enc(id)}/history?api-version=2` }),
        next: (id, cursor) => ({ path: `/c/api/conversations/${enc(id)}/history?api-version=2&cursor=${enc(cursor)}` }),
      },
    ],
  },
};

// Gemini's page reads a conversation through its batchexecute RPC `hNvQHb`, 10 turns a
// page, newest first; `at` (the page's anti-forgery token) goes in the form body.
function geminiRead(id, pageToken, { at, bl, fsid }) {
  const query = new URLSearchParams({ rpcids: 'hNvQHb', 'source-path': `/app/${id}`, hl: 'en', rt: 'c' });
  if (bl) query.set('bl', bl);
  if (fsid) query.set('f.sid', fsid);
  const args = JSON.stringify([`c_${id}`, 10, pageToken, 1, [1], [4], null, 1]);
  const body = new URLSearchParams({ 'f.req': JSON.stringify([[['hNvQHb', args, null, 'generic']]]), at });
  return { path: `/_/BardChatUi/data/batchexecute?${query}`, method: 'POST', body: `${body}&`, contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
}

function perplexityPage(slug, offset) {
  return `/rest/thread/${enc(slug)}?with_schematized_response=true&version=2.18&source=default&limit=50&offset=${enc(offset)}&from_first=true`;
}
