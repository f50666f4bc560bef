//! `#[wasm_bindgen]` getters of limits and names the extension's JavaScript also needs,
//! so that each is written once, here in the core. Each returns an existing constant;
//! none holds a rule of its own.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::to_js;
use crate::model::Role;

/// Every role, in the order of `model::Role`. The match below stops the build when a
/// role is added and not listed here.
const ROLES: [Role; 4] = [Role::User, Role::Assistant, Role::System, Role::Tool];
const _: fn(Role) = |role| match role {
    Role::User | Role::Assistant | Role::System | Role::Tool => {}
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CoreLimits {
    /// `model::Role`, as the message API writes them.
    roles: [Role; 4],
    /// `vault::MAX_SNAPSHOT_MESSAGES`.
    max_snapshot_messages: usize,
    /// `vault::MAX_ID_BYTES`: a site's conversation id, a message's site id.
    max_id_bytes: usize,
    /// `vault::RECENT_LEN`: the most recent conversations kept in one record.
    recent_len: usize,
    /// `vault::MIN_PASSPHRASE_CHARS` (the vault's and an export file's).
    min_passphrase_chars: usize,
    /// `vault::MAX_PASSPHRASE_BYTES`.
    max_passphrase_bytes: usize,
    /// `search::query::MAX_QUERY_CHARS`.
    max_query_chars: usize,
    /// `restore::DEFAULT_BUDGET_TOKENS`.
    default_budget_tokens: usize,
    /// `archive::format::MAGIC`.
    archive_magic: [u8; 8],
    /// `import::site::MAX_THREAD_BYTES`.
    max_thread_bytes: usize,
}

/// The core's limits as one plain object (see `CoreLimits` for each field's source).
#[wasm_bindgen(js_name = coreLimits)]
pub fn core_limits() -> Result<JsValue, JsValue> {
    to_js(&CoreLimits {
        roles: ROLES,
        max_snapshot_messages: crate::vault::MAX_SNAPSHOT_MESSAGES,
        max_id_bytes: crate::vault::MAX_ID_BYTES,
        recent_len: crate::vault::RECENT_LEN,
        min_passphrase_chars: crate::vault::MIN_PASSPHRASE_CHARS,
        max_passphrase_bytes: crate::vault::MAX_PASSPHRASE_BYTES,
        max_query_chars: crate::search::query::MAX_QUERY_CHARS,
        default_budget_tokens: crate::restore::DEFAULT_BUDGET_TOKENS,
        archive_magic: crate::archive::format::MAGIC,
        max_thread_bytes: crate::import::site::MAX_THREAD_BYTES,
    })
}
