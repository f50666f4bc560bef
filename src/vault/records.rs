//! What the vault stores, and in which format.
//!
//! # The meta record (store `meta`, key `"vault"`), format 1
//!
//! Plain JSON, because it must be read before anything is unlocked. It holds nothing
//! secret: the data key and the X25519 private key appear only sealed.
//!
//! ```json
//! { "format": 1,
//!   "kdf": { "mKiB": 65536, "t": 3, "p": 1 },      // Argon2id, checked on every read
//!   "salt": "<base64, 16 bytes>",
//!   "wrappedKey": "<base64 envelope v1 of the data key under the KEK>",
//!   "publicKey": "<base64, 32 bytes X25519>",
//!   "sealedPrivateKey": "<base64 record envelope, store meta, key private-key>",
//!   "createdAt": 1764000000000 }
//! ```
//!
//! The test `vault_meta_vector_v1_is_pinned` opens a stored literal of this record.
//!
//! # Records
//!
//! - `conversations/<K>`: sealed JSON [`ConversationRecord`], where
//!   `K = derive_store_key(site, conversationId)`. `K` is the conversation's `id`.
//! - `messages/<K>:<B>`: sealed JSON [`MessageBlock`] holding messages `16b..16b+15` of
//!   the conversation, `B = derive_store_key("block", K, b)`. Blocks, not one record a
//!   message: each IndexedDB put costs about 0.1 ms in Chromium whatever its size, so
//!   a capture of a long thread writes a few blocks instead of hundreds of records.
//! - `meta/"counts"`: plain JSON `{"messages": n}`, the total number of messages, so the
//!   popup shows it without decrypting every conversation. The number of records
//!   already tells about as much.
//! - `meta/"recent"`: sealed JSON list of the summaries of the most recently updated
//!   conversations (see [`super::recent_list`]).
//! - `inbox/<random hex>`: an [`InboxEntry`] sealed to the vault's public key, a capture
//!   taken while the vault was locked (see [`super::capture`]).
//! - `index/*`: the search index (see `crate::search::persist`).
//!
//! Every record's associated data names its store and key (see `crypto::envelope`).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::capture::Snapshot;
use crate::crypto::kdf::KdfParams;
use crate::crypto::keys::DataKey;
use crate::crypto::CryptoError;
use crate::error::VaultError;
use crate::model::{Conversation, ConversationSummary, Message, Site};
use crate::store::{Op, Plain, StoreName};

pub const META_FORMAT: u32 = 1;
pub(super) const META_KEY: &str = "vault";
pub(super) const PRIVATE_KEY_SLOT: &str = "private-key";
pub(super) const COUNTS_KEY: &str = "counts";
pub const BLOCK_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MetaRecord {
    pub format: u32,
    pub kdf: KdfParams,
    pub salt: String,
    pub wrapped_key: String,
    pub public_key: String,
    pub sealed_private_key: String,
    pub created_at: i64,
}

/// What `conversations/<K>` holds, sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRecord {
    pub site: Site,
    pub conversation_id: String,
    pub title: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub message_count: u32,
}

/// What `messages/<K>:<B>` holds, sealed: up to [`BLOCK_LEN`] consecutive messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBlock {
    /// Position in the thread of the block's first message (a multiple of BLOCK_LEN).
    pub first: u32,
    pub messages: Vec<Message>,
}

/// [`MessageBlock`] as it is written, borrowing the messages (no copy of the text).
#[derive(Serialize)]
pub(super) struct MessageBlockRef<'a> {
    pub first: u32,
    pub messages: &'a [Message],
}

/// What `meta/"counts"` holds, in plain JSON.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(super) struct Counts {
    pub messages: i64,
}

/// The plaintext of an inbox record (sealed to the vault's public key): what the page
/// showed (`snapshot`) or, since the thread path, the whole thread read from the
/// site's own data (`thread`). Exactly one is present; records written before the
/// thread path hold a snapshot and read as they always did.
#[derive(Serialize, Deserialize)]
pub(super) struct InboxEntry {
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Conversation>,
}

/// The write of a record, sealed with the rest of its batch by `Vault::write`.
pub(super) fn record_put<T: Serialize>(store: StoreName, key: String, value: &T) -> Op {
    let plain = Plain(Zeroizing::new(serde_json::to_vec(value).expect("records serialise")));
    Op::Seal { store, key, plain }
}

/// A record from its opened bytes (`what` names it in the error).
pub(super) fn record_from<T: for<'de> Deserialize<'de>>(
    opened: Result<Vec<u8>, CryptoError>,
    what: &str,
) -> Result<T, VaultError> {
    let plain = Zeroizing::new(opened.map_err(|e| VaultError::damaged(what, e))?);
    serde_json::from_slice(&plain).map_err(|_| VaultError::Damaged(what.to_owned()))
}

/// The key of block `block` of the conversation stored under `conversation_key`.
pub(super) fn block_key(data: &DataKey, conversation_key: &str, block: u32) -> String {
    format!("{conversation_key}:{}", data.derive_store_key(&["block", conversation_key, &block.to_string()]))
}

/// The list entry of `conv` stored under `k`.
pub(super) fn summary(k: &str, conv: &Conversation) -> ConversationSummary {
    ConversationRecord::of(conv).summary(k.to_owned())
}

/// The order of conversation lists: most recently updated first, then by key.
pub(super) fn newest_first(a: &ConversationSummary, b: &ConversationSummary) -> std::cmp::Ordering {
    b.updated_at.cmp(&a.updated_at).then_with(|| a.id.cmp(&b.id))
}

impl ConversationRecord {
    /// The record of `conv` (everything but its messages).
    pub(super) fn of(conv: &Conversation) -> Self {
        ConversationRecord {
            site: conv.site.clone(),
            conversation_id: conv.conversation_id.clone(),
            title: conv.title.clone(),
            url: conv.url.clone(),
            model: conv.model.clone(),
            created_at: conv.created_at,
            updated_at: conv.updated_at,
            message_count: conv.messages.len() as u32,
        }
    }

    /// The conversation of this record with its `messages`.
    pub(super) fn into_conversation(self, messages: Vec<Message>) -> Conversation {
        Conversation {
            site: self.site,
            conversation_id: self.conversation_id,
            title: self.title,
            url: self.url,
            model: self.model,
            created_at: self.created_at,
            updated_at: self.updated_at,
            messages,
        }
    }

    /// The list entry of the conversation stored under `id`.
    pub(super) fn summary(self, id: String) -> ConversationSummary {
        ConversationSummary {
            id,
            site: self.site,
            conversation_id: self.conversation_id,
            title: self.title,
            url: self.url,
            message_count: self.message_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::vault::test_support::{conversation, reopened, snapshot_of_len, unlocked, PASS};
    use crate::vault::Vault;
    use pollster::block_on;

    #[test]
    fn the_database_reveals_no_ids_titles_or_text() {
        let vault = unlocked();
        block_on(vault.put_conversation(&conversation("secret-conv-id", &["confidential banana text"]))).unwrap();
        for (_, key, value) in vault.store().raw() {
            let all = format!("{key} {}", String::from_utf8_lossy(&value));
            for needle in ["secret-conv-id", "Title of", "banana", "chatgpt.com", "gpt-5-2"] {
                assert!(!all.contains(needle), "{needle} leaked in {key}");
            }
        }
    }

    #[test]
    fn a_record_copied_over_another_fails_to_open() {
        let vault = unlocked();
        let a = block_on(vault.put_conversation(&conversation("a", &["one"]))).unwrap();
        let b = block_on(vault.put_conversation(&conversation("b", &["two"]))).unwrap();
        let raw = vault.store().raw();
        let (_, _, bytes_b) = raw.into_iter().find(|(s, k, _)| *s == StoreName::Conversations && *k == b).unwrap();
        vault.store().put_raw(StoreName::Conversations, &a, bytes_b);
        assert!(matches!(block_on(vault.get_conversation(&a)), Err(VaultError::Damaged(_))));
    }

    #[test]
    fn long_threads_are_stored_in_blocks_and_a_streaming_update_rewrites_one_block() {
        let v = unlocked();
        let id = block_on(v.capture(&snapshot_of_len(40, "streaming"), 1)).unwrap().id.unwrap();
        let blocks = |v: &Vault<MemoryStore>| {
            v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Messages).collect::<Vec<_>>()
        };
        let before = blocks(&v);
        assert_eq!(before.len(), 3, "40 messages in blocks of {BLOCK_LEN}");
        block_on(v.capture(&snapshot_of_len(40, "streaming, grown"), 2)).unwrap();
        let after = blocks(&v);
        let rewritten = before.iter().zip(&after).filter(|(a, b)| a.2 != b.2).count();
        assert_eq!(rewritten, 1);
        let conv = block_on(v.get_conversation(&id)).unwrap();
        assert_eq!(conv.messages.len(), 40);
        assert_eq!(conv.messages[39].markdown, "streaming, grown");
        assert_eq!(conv.messages[17].markdown, "message 17");
        assert_eq!(block_on(v.status()).unwrap().messages, 40);
    }

    #[test]
    fn a_missing_block_is_reported_as_damage() {
        let v = unlocked();
        let id = block_on(v.capture(&snapshot_of_len(40, "x"), 1)).unwrap().id.unwrap();
        for nth in 0..3 {
            let v2 = reopened(&v);
            block_on(v2.unlock(PASS)).unwrap();
            let (_, key, _) =
                v2.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Messages).nth(nth).unwrap();
            v2.store().data_for_tests().remove(&(StoreName::Messages, key));
            assert!(matches!(block_on(v2.get_conversation(&id)), Err(VaultError::Damaged(_))), "block {nth}");
        }
    }

    /// A vault meta record written by format 1 (passphrase "correct horse battery
    /// staple", minimum parameters) and a conversation record: if the formats change
    /// silently, this stops opening.
    #[test]
    fn vault_meta_vector_v1_is_pinned() {
        let store = MemoryStore::new();
        store.put_raw(StoreName::Meta, "vault", PINNED_META.as_bytes().to_vec());
        store.put_raw(StoreName::Conversations, PINNED_CONV_KEY, hex::decode(PINNED_CONV).unwrap());
        let vault = Vault::new(store);
        block_on(vault.unlock(PASS)).unwrap();
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.damaged, 0);
        assert_eq!(list.conversations[0].conversation_id, "pinned");
        assert_eq!(vault.conversation_key(&Site::ChatGpt, "pinned").unwrap(), PINNED_CONV_KEY);
    }

    const PINNED_META: &str = r#"{"format":1,"kdf":{"mKiB":19456,"t":2,"p":1},"salt":"o1ND/X6UefpiQWZbGTmXJA==","wrappedKey":"ASSnjH+r/eJErwnpWeNGKqX8xVlagYMrQtuVfllg1jDmJhVpQJfsaPXB3BmfFwIgNxZ4Rbdzr+Ses0CMgw==","publicKey":"RRWmCDpGDR4P0y57fuQpJmUvQStq04DvE39K4sssKys=","sealedPrivateKey":"AQlxAykEYsJuTKFCmwHbOdEDFTJlRgcYOre6h1l6q57LC2YpUL8zPYClEtX+5PSarBJjMurIld+kZd4FZg==","createdAt":1764000000000}"#;
    const PINNED_CONV_KEY: &str = "a96d86c2e09a972a91303da8b48a696b";
    const PINNED_CONV: &str = "01a004262a85b5bc0500bf47eba7455cbd58833bdc4add4e9d84bcbb20608d904aaf7c50b528a773cb9378b8c5ecc3de03bade82a7fe792fa3c3a2c6e7d0feeec6bed79792cb1538b4877e68c7033d582ba5fddaaa5848ca76b14976a7a733ef7bc5893799f70f29f13a11e7ad28697f0c3c13edc362cf28d1ee10b098cb18910ea1ffd04c0b18291911f8a72497e2774c82c5d44fc778295438c78cb11b9e9a2a13f966d86491570d5da021";
}
