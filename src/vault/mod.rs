//! The vault: lock state and the operations people do, over any [`Store`].
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
//!
//! Every record's associated data names its store and key (see `crypto::envelope`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::kdf::{derive_kek, KdfParams, SALT_LEN};
use crate::crypto::bulk::{BulkSealer, ToOpen, ToSeal};
use crate::crypto::keys::DataKey;
use crate::capture::{merge, merge_imported, merge_thread, MergeOutcome, Snapshot};
use crate::crypto::envelope::record_aad;
use crate::crypto::sealed_box::{seal_to, BoxKeyPair};
use crate::crypto::{make_random, CryptoError};
use crate::error::VaultError;
use crate::model::{Conversation, ConversationSummary, Message, Role, Site};
use crate::search::{group_by_conversation, snippet, Doc, Merges, PersistentIndex, SearchError};
use crate::store::{Op, Plain, Store, StoreName};

pub const META_FORMAT: u32 = 1;
const META_KEY: &str = "vault";
const PRIVATE_KEY_SLOT: &str = "private-key";

pub const MIN_PASSPHRASE_CHARS: usize = 8;
pub const MAX_PASSPHRASE_BYTES: usize = 4096;
pub const MAX_MESSAGES_PER_CONVERSATION: usize = 100_000;
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_ID_BYTES: usize = 512;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaRecord {
    format: u32,
    kdf: KdfParams,
    salt: String,
    wrapped_key: String,
    public_key: String,
    sealed_private_key: String,
    created_at: i64,
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

/// The write of a record, sealed with the rest of its batch by [`Vault::write`].
fn record_put<T: Serialize>(store: StoreName, key: String, value: &T) -> Op {
    let plain = Plain(Zeroizing::new(serde_json::to_vec(value).expect("records serialise")));
    Op::Seal { store, key, plain }
}

/// A record from its opened bytes (`what` names it in the error).
fn record_from<T: for<'de> Deserialize<'de>>(opened: Result<Vec<u8>, CryptoError>, what: &str) -> Result<T, VaultError> {
    let plain = Zeroizing::new(opened.map_err(|e| VaultError::damaged(what, e))?);
    serde_json::from_slice(&plain).map_err(|_| VaultError::Damaged(what.to_owned()))
}

/// [`MessageBlock`] as it is written, borrowing the messages (no copy of the text).
#[derive(Serialize)]
struct MessageBlockRef<'a> {
    first: u32,
    messages: &'a [Message],
}

pub const BLOCK_LEN: usize = 16;
const COUNTS_KEY: &str = "counts";
/// `meta/recent`, sealed: the [`RECENT_LEN`] most recently updated conversations'
/// summaries, newest first (all of them when there are fewer), kept in the same write
/// as the records so the popup's first list does not open every record.
const RECENT_KEY: &str = "recent";
pub const RECENT_LEN: usize = 50;

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Counts {
    messages: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultState {
    New,
    Locked,
    Unlocked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VaultStatus {
    pub state: VaultState,
    pub conversations: u32,
    pub messages: u32,
    /// Captures waiting in the inbox (taken while locked).
    pub queued: u32,
}

/// A list of conversations, newest first, and how many records could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
    pub damaged: u32,
}

/// How strong a new passphrase looks, for the onboarding hint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PassphraseStrength {
    /// 0 (refused) to 4 (strong).
    pub score: u8,
    pub hint: String,
}

struct Unlocked {
    data: DataKey,
    /// Opens captures sealed while the vault was locked (the inbox, capture issue).
    #[allow(dead_code)]
    box_pair: BoxKeyPair,
    /// Seals each write's records at once (in the browser, with WebCrypto).
    sealer: BulkSealer,
}

pub struct Vault<S: Store> {
    store: S,
    unlocked: RefCell<Option<Rc<Unlocked>>>,
    /// The conversation captured last, so a stream of snapshots of one chat does not
    /// decrypt it again each time. Cleared on lock.
    recent: RefCell<Option<(String, Conversation)>>,
    /// The search index, opened on first use after unlock (only its small manifest is
    /// read then; chunks load as queries need them). Dropped on lock.
    index: RefCell<Option<PersistentIndex>>,
}

/// One message found by a search, with the snippet to show and the ranges to mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundMessage {
    pub message_id: String,
    pub role: Role,
    pub snippet: String,
    /// `[start, end]` in UTF-16 code units of `snippet`.
    pub ranges: Vec<(usize, usize)>,
}

/// A conversation with matches, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundConversation {
    /// The vault's id of the conversation (what `get_conversation` takes).
    pub conversation_id: String,
    pub site: Site,
    pub title: String,
    pub url: String,
    pub updated_at: i64,
    pub hits: Vec<FoundMessage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOutcome {
    /// Every matching message, counted.
    pub total: usize,
    pub results: Vec<FoundConversation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The index was damaged or missing and was rebuilt from the records for this query.
    pub rebuilt: bool,
}

const SNIPPET_CHARS: usize = 160;
const HITS_PER_CONVERSATION: usize = 3;

/// What a capture did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureOutcome {
    /// The conversation's id in the vault (None while locked: ids need the data key).
    pub id: Option<String>,
    pub added: usize,
    pub updated: usize,
    /// Sealed into the inbox because the vault is locked; merged at the next unlock.
    pub queued: bool,
}

/// What merging the inbox at unlock did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxReport {
    pub snapshots: usize,
    pub added: usize,
    pub updated: usize,
    /// Inbox records that could not be opened; they are left in place.
    pub unreadable: usize,
}

/// What importing conversations from a file did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Conversations that were not in the vault.
    pub added_conversations: usize,
    /// Conversations already here that gained turns.
    pub updated_conversations: usize,
    /// Conversations already here with nothing new.
    pub already_here: usize,
    pub added_messages: usize,
}

/// The plaintext of an inbox record (sealed to the vault's public key): what the page
/// showed (`snapshot`) or, since the thread path, the whole thread read from the
/// site's own data (`thread`). Exactly one is present; records written before the
/// thread path hold a snapshot and read as they always did.
#[derive(Serialize, Deserialize)]
struct InboxEntry {
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snapshot: Option<Snapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thread: Option<Conversation>,
}

impl InboxEntry {
    fn is_valid(&self) -> bool {
        match (&self.snapshot, &self.thread) {
            (Some(snap), None) => check_snapshot(snap).is_ok(),
            (None, Some(thread)) => check_conversation(thread).is_ok(),
            _ => false,
        }
    }

    fn conversation_key(&self, keys: &Unlocked) -> String {
        let (site, id) = match (&self.snapshot, &self.thread) {
            (Some(s), _) => (&s.site, &s.conversation_id),
            (None, Some(t)) => (&t.site, &t.conversation_id),
            (None, None) => unreachable!("checked by is_valid"),
        };
        keys.data.derive_store_key(&[site.as_str(), id])
    }

    fn merge_into(self, stored: Option<Conversation>) -> MergeOutcome {
        match (self.snapshot, self.thread) {
            (Some(snap), _) => merge(stored, &snap, self.at),
            (None, Some(thread)) => merge_thread(stored, thread, self.at),
            (None, None) => unreachable!("checked by is_valid"),
        }
    }
}

pub const MAX_SNAPSHOT_MESSAGES: usize = 5_000;

impl<S: Store> Vault<S> {
    pub fn new(store: S) -> Self {
        Vault { store, unlocked: RefCell::new(None), recent: RefCell::new(None), index: RefCell::new(None) }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn is_unlocked(&self) -> bool {
        self.unlocked.borrow().is_some()
    }

    fn keys(&self) -> Result<Rc<Unlocked>, VaultError> {
        self.unlocked.borrow().clone().ok_or(VaultError::Locked)
    }

    async fn read_meta(&self) -> Result<Option<MetaRecord>, VaultError> {
        let Some(bytes) = self.store.get(StoreName::Meta, META_KEY).await? else {
            return Ok(None);
        };
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let version: Version = serde_json::from_slice(&bytes)
            .map_err(|_| VaultError::Damaged("the vault's settings record".into()))?;
        if version.format > META_FORMAT {
            return Err(VaultError::NewerVersion);
        }
        let meta: MetaRecord = serde_json::from_slice(&bytes)
            .map_err(|_| VaultError::Damaged("the vault's settings record".into()))?;
        meta.kdf.check().map_err(kdf_error)?;
        Ok(Some(meta))
    }

    pub async fn status(&self) -> Result<VaultStatus, VaultError> {
        let state = if self.is_unlocked() {
            VaultState::Unlocked
        } else if self.read_meta().await?.is_some() {
            VaultState::Locked
        } else {
            VaultState::New
        };
        Ok(VaultStatus {
            state,
            conversations: self.store.count(StoreName::Conversations).await?,
            messages: self.read_counts().await?.messages.max(0) as u32,
            queued: self.store.count(StoreName::Inbox).await?,
        })
    }

    /// Creates the vault and leaves it unlocked.
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`] if there is one; [`VaultError::InvalidInput`] for a
    /// passphrase that is too short; [`VaultError::WeakKdf`] for unsafe parameters.
    pub async fn create(&self, passphrase: &str, params: KdfParams, now: i64) -> Result<(), VaultError> {
        check_new_passphrase(passphrase)?;
        params.check().map_err(kdf_error)?;
        if self.read_meta().await?.is_some() {
            return Err(VaultError::AlreadyExists);
        }
        let mut salt = [0u8; SALT_LEN];
        make_random(&mut salt).map_err(|_| VaultError::Random)?;
        let kek = derive_kek(passphrase, &salt, &params).map_err(kdf_error)?;
        let data = DataKey::make().map_err(|_| VaultError::Random)?;
        let box_pair = BoxKeyPair::make().map_err(|_| VaultError::Random)?;
        let sealed_private = data
            .seal_record(StoreName::Meta.as_str(), PRIVATE_KEY_SLOT, box_pair.secret_bytes().as_ref())
            .map_err(|_| VaultError::Random)?;
        let meta = MetaRecord {
            format: META_FORMAT,
            kdf: params,
            salt: B64.encode(salt),
            wrapped_key: B64.encode(data.wrap(&kek).map_err(|_| VaultError::Random)?),
            public_key: B64.encode(box_pair.public),
            sealed_private_key: B64.encode(sealed_private),
            created_at: now,
        };
        self.write_meta(&meta).await?;
        let keys = Rc::new(Unlocked { data, box_pair, sealer: BulkSealer::new() });
        // An empty vault's recent list is known: empty. Every write keeps it from here.
        let recent = record_put(StoreName::Meta, RECENT_KEY.into(), &Vec::<ConversationSummary>::new());
        self.write(&keys, vec![recent]).await?;
        *self.unlocked.borrow_mut() = Some(keys);
        Ok(())
    }

    async fn write_meta(&self, meta: &MetaRecord) -> Result<(), VaultError> {
        let value = serde_json::to_vec(meta).expect("meta serialises");
        self.store
            .apply(vec![Op::Put { store: StoreName::Meta, key: META_KEY.into(), value }])
            .await?;
        Ok(())
    }

    /// Unlocks with the passphrase.
    ///
    /// # Errors
    /// [`VaultError::WrongPassphrase`], [`VaultError::NoVault`], or
    /// [`VaultError::Damaged`] when the stored key material was changed.
    pub async fn unlock(&self, passphrase: &str) -> Result<(), VaultError> {
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let salt: [u8; SALT_LEN] = decode_b64(&meta.salt)?
            .try_into()
            .map_err(|_| VaultError::Damaged("the vault's salt".into()))?;
        if passphrase.len() > MAX_PASSPHRASE_BYTES {
            return Err(VaultError::WrongPassphrase);
        }
        let kek = derive_kek(passphrase, &salt, &meta.kdf).map_err(kdf_error)?;
        let data = DataKey::unwrap(&kek, &decode_b64(&meta.wrapped_key)?).map_err(|e| match e {
            CryptoError::Decrypt => VaultError::WrongPassphrase,
            other => VaultError::damaged("the vault's wrapped key", other),
        })?;
        self.finish_unlock(&meta, data)
    }

    /// Unlocks with a data key kept in the browser's session storage (a restarted
    /// service worker). The key is checked against the stored private key.
    pub async fn unlock_with_key(&self, raw: &[u8]) -> Result<(), VaultError> {
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| VaultError::InvalidInput("a session key has 32 bytes".into()))?;
        self.finish_unlock(&meta, DataKey::from_bytes(raw))
    }

    fn finish_unlock(&self, meta: &MetaRecord, data: DataKey) -> Result<(), VaultError> {
        let secret = Zeroizing::new(
            data.open_record(StoreName::Meta.as_str(), PRIVATE_KEY_SLOT, &decode_b64(&meta.sealed_private_key)?)
                .map_err(|e| VaultError::damaged("the vault's private key", e))?,
        );
        let secret: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Damaged("the vault's private key".into()))?;
        let box_pair = BoxKeyPair::from_secret_bytes(secret);
        if B64.encode(box_pair.public) != meta.public_key {
            return Err(VaultError::Damaged("the vault's public key".into()));
        }
        *self.unlocked.borrow_mut() = Some(Rc::new(Unlocked { data, box_pair, sealer: BulkSealer::new() }));
        Ok(())
    }

    pub fn lock(&self) {
        self.unlocked.borrow_mut().take();
        self.recent.borrow_mut().take();
        self.index.borrow_mut().take();
    }

    /// The raw data key, to keep in memory-only session storage while unlocked.
    pub fn session_key(&self) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        Ok(self.keys()?.data.to_bytes())
    }

    /// The vault's public key (for sealing captures while locked).
    pub async fn public_key(&self) -> Result<[u8; 32], VaultError> {
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        decode_b64(&meta.public_key)?
            .try_into()
            .map_err(|_| VaultError::Damaged("the vault's public key".into()))
    }

    /// Re-wraps the data key under a new passphrase; no record is re-encrypted.
    pub async fn change_passphrase(&self, old: &str, new: &str, params: KdfParams) -> Result<(), VaultError> {
        check_new_passphrase(new)?;
        params.check().map_err(kdf_error)?;
        self.unlock(old).await?;
        let keys = self.keys()?;
        let mut meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let mut salt = [0u8; SALT_LEN];
        make_random(&mut salt).map_err(|_| VaultError::Random)?;
        let kek = derive_kek(new, &salt, &params).map_err(kdf_error)?;
        meta.kdf = params;
        meta.salt = B64.encode(salt);
        meta.wrapped_key = B64.encode(keys.data.wrap(&kek).map_err(|_| VaultError::Random)?);
        self.write_meta(&meta).await
    }

    /// The opaque id under which a site's conversation is stored.
    pub fn conversation_key(&self, site: &Site, conversation_id: &str) -> Result<String, VaultError> {
        Ok(self.keys()?.data.derive_store_key(&[site.as_str(), conversation_id]))
    }

    /// Stores a conversation with all its messages, replacing what was stored under
    /// the same site and id, in one atomic write. Returns its id.
    pub async fn put_conversation(&self, conv: &Conversation) -> Result<String, VaultError> {
        check_conversation(conv)?;
        let keys = self.keys()?;
        let k = keys.data.derive_store_key(&[conv.site.as_str(), &conv.conversation_id]);
        let before = self.stored_message_count(&keys, &k).await;
        let mut ops = vec![Op::DeletePrefix { store: StoreName::Messages, prefix: format!("{k}:") }];
        ops.extend(self.conversation_ops(&keys, &k, conv, 0..conv.messages.len()));
        ops.push(self.counts_op(conv.messages.len() as i64 - before).await?);
        ops.push(self.recent_op(&keys, vec![summary(&k, conv)], &[]).await?);
        ops.extend(self.index_ops(&keys, index_docs(&k, conv, 0..conv.messages.len()), std::slice::from_ref(&k), Merges::Normal).await);
        self.recent.borrow_mut().take();
        self.apply_with_index(&keys, ops).await?;
        Ok(k)
    }

    /// How many messages the stored record of `k` says it has (0 if none or unreadable).
    async fn stored_message_count(&self, keys: &Unlocked, k: &str) -> i64 {
        match self.store.get(StoreName::Conversations, k).await {
            Ok(Some(sealed)) => self
                .open_json::<ConversationRecord>(keys, StoreName::Conversations, k, &sealed, "a conversation")
                .map_or(0, |r| r.message_count as i64),
            _ => 0,
        }
    }

    async fn read_counts(&self) -> Result<Counts, VaultError> {
        Ok(self
            .store
            .get(StoreName::Meta, COUNTS_KEY)
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default())
    }

    /// The write that moves the message total by `delta` (part of the same batch).
    async fn counts_op(&self, delta: i64) -> Result<Op, VaultError> {
        let mut counts = self.read_counts().await?;
        counts.messages = (counts.messages + delta).max(0);
        Ok(Op::Put { store: StoreName::Meta, key: COUNTS_KEY.into(), value: serde_json::to_vec(&counts).expect("counts serialise") })
    }

    /// The record of `conv` and the blocks holding its messages at `positions`.
    fn conversation_ops(
        &self,
        keys: &Unlocked,
        k: &str,
        conv: &Conversation,
        positions: impl IntoIterator<Item = usize>,
    ) -> Vec<Op> {
        let record = ConversationRecord::of(conv);
        let mut ops = vec![record_put(StoreName::Conversations, k.to_owned(), &record)];
        let mut blocks: Vec<usize> = positions.into_iter().map(|p| p / BLOCK_LEN).collect();
        blocks.dedup();
        blocks.sort_unstable();
        blocks.dedup();
        for b in blocks {
            let start = b * BLOCK_LEN;
            let end = (start + BLOCK_LEN).min(conv.messages.len());
            let block = MessageBlockRef { first: start as u32, messages: &conv.messages[start..end] };
            ops.push(record_put(StoreName::Messages, block_key(&keys.data, k, b as u32), &block));
        }
        ops
    }

    /// The index writes for `added` messages and `removed` conversations, to go into
    /// the same atomic write as the records. The index never stands in the way of
    /// saving: if it cannot be updated it is dropped and rebuilt at the next search.
    async fn index_ops(&self, keys: &Unlocked, added: Vec<Doc>, removed: &[String], merges: Merges) -> Vec<Op> {
        let current = self.index.borrow_mut().take();
        let mut index = match current {
            Some(index) => index,
            None => match PersistentIndex::open(&self.store, &keys.data).await {
                Ok(index) => index,
                Err(_) => return Vec::new(),
            },
        };
        match index.update_ops(&self.store, &keys.data, added, removed, merges).await {
            Ok(ops) => {
                *self.index.borrow_mut() = Some(index);
                ops
            }
            Err(_) => Vec::new(),
        }
    }

    /// Applies a batch of record writes and their index writes; on failure the index
    /// in memory (already updated) is dropped so it is read again from what is stored.
    async fn apply_with_index(&self, keys: &Unlocked, ops: Vec<Op>) -> Result<(), VaultError> {
        let result = self.write(keys, ops).await;
        if result.is_err() {
            self.index.borrow_mut().take();
        }
        result
    }

    /// Searches every conversation: matches grouped by conversation, best first, each
    /// with snippets of its best messages. A damaged or missing index is rebuilt from
    /// the records first (and `rebuilt` says so).
    pub async fn search(&self, query: &str, limit: usize) -> Result<SearchOutcome, VaultError> {
        let keys = self.keys()?;
        let limit = limit.clamp(1, 100);
        let query: String = query.chars().take(1000).collect();
        self.finish_import().await?; // what an unfinished import added must be found
        let mut rebuilt = false;
        // Taken first: a borrow held across the await would panic if anything else
        // touched the index meanwhile.
        let cached = self.index.borrow_mut().take();
        let mut index = match cached {
            Some(index) => Some(index),
            None => PersistentIndex::open(&self.store, &keys.data).await.ok(),
        };
        if index.as_ref().is_some_and(|i| i.is_empty()) && self.store.count(StoreName::Conversations).await? > 0 {
            index = None; // written before search existed, or lost: build it
        }
        let mut index = match index {
            Some(index) => index,
            None => {
                rebuilt = true;
                self.rebuild_index(&keys).await?
            }
        };
        let found = match index.search(&self.store, &keys.data, &query, limit * 8).await {
            Ok(found) => found,
            Err(SearchError::Damaged(_)) | Err(SearchError::NewerVersion) => {
                rebuilt = true;
                index = self.rebuild_index(&keys).await?;
                index.search(&self.store, &keys.data, &query, limit * 8).await?
            }
            Err(e) => return Err(e.into()),
        };
        *self.index.borrow_mut() = Some(index);
        // Fetch every conversation record and message block the results need at once.
        let groups: Vec<_> = group_by_conversation(&found.hits).into_iter().take(limit).collect();
        let record_keys: Vec<String> = groups.iter().map(|g| g.conversation_id.clone()).collect();
        let records = self.store.get_many(StoreName::Conversations, &record_keys).await?;
        let mut wanted: Vec<(usize, String, usize)> = Vec::new(); // (group, message id, position)
        for (gi, group) in groups.iter().enumerate() {
            for hit in group.hits.iter().take(HITS_PER_CONVERSATION) {
                if let Some(seq) = hit.id.rsplit(':').next().and_then(|n| n.parse::<usize>().ok()) {
                    wanted.push((gi, hit.id.clone(), seq));
                }
            }
        }
        let mut block_keys: Vec<String> = wanted
            .iter()
            .map(|(gi, _, seq)| block_key(&keys.data, &groups[*gi].conversation_id, (seq / BLOCK_LEN) as u32))
            .collect();
        block_keys.sort_unstable();
        block_keys.dedup();
        let sealed_blocks = self.store.get_many(StoreName::Messages, &block_keys).await?;
        let mut blocks = std::collections::HashMap::new();
        for (bk, sealed) in block_keys.iter().zip(sealed_blocks) {
            if let Some(sealed) = sealed {
                if let Ok(block) = self.open_json::<MessageBlock>(&keys, StoreName::Messages, bk, &sealed, "a message block") {
                    blocks.insert(bk.clone(), block);
                }
            }
        }
        let mut results = Vec::new();
        for (gi, (group, sealed)) in groups.iter().zip(records).enumerate() {
            let k = &group.conversation_id;
            let Some(sealed) = sealed else { continue };
            let Ok(rec) = self.open_json::<ConversationRecord>(&keys, StoreName::Conversations, k, &sealed, "a conversation")
            else {
                continue;
            };
            let mut hits = Vec::new();
            for (_, id, seq) in wanted.iter().filter(|(g, _, _)| *g == gi) {
                let bk = block_key(&keys.data, k, (seq / BLOCK_LEN) as u32);
                let message = blocks.get(&bk).and_then(|b| seq.checked_sub(b.first as usize).and_then(|i| b.messages.get(i)));
                if let Some(message) = message {
                    let cut = snippet(&message.markdown, &query, SNIPPET_CHARS);
                    hits.push(FoundMessage { message_id: id.clone(), role: message.role, snippet: cut.text, ranges: cut.ranges });
                }
            }
            results.push(FoundConversation {
                conversation_id: k.clone(),
                site: rec.site,
                title: rec.title,
                url: rec.url,
                updated_at: rec.updated_at,
                hits,
            });
        }
        Ok(SearchOutcome { total: found.total, results, hint: found.hint, rebuilt })
    }

    /// Builds the search index again from every stored conversation and saves it.
    async fn rebuild_index(&self, keys: &Unlocked) -> Result<PersistentIndex, VaultError> {
        let mut docs = Vec::new();
        for (k, sealed) in self.store.get_prefix(StoreName::Conversations, "").await? {
            if self.open_json::<ConversationRecord>(keys, StoreName::Conversations, &k, &sealed, "a conversation").is_err() {
                continue;
            }
            if let Ok(conv) = self.get_conversation(&k).await {
                docs.extend(index_docs(&k, &conv, 0..conv.messages.len()));
            }
        }
        let (index, ops) = PersistentIndex::rebuild_ops(docs)?;
        self.write(keys, ops).await?;
        Ok(index)
    }

    /// Takes a snapshot from a content script. Unlocked: merged into the stored
    /// conversation (only changed records are written). Locked: sealed to the vault's
    /// public key into the inbox, to be merged at the next unlock.
    ///
    /// # Errors
    /// [`VaultError::NoVault`] before a vault exists; [`VaultError::InvalidInput`] for a
    /// malformed or oversized snapshot; storage errors (nothing is half-written).
    pub async fn capture(&self, snapshot: &Snapshot, now: i64) -> Result<CaptureOutcome, VaultError> {
        check_snapshot(snapshot)?;
        let Some(keys) = self.unlocked.borrow().clone() else {
            return self.queue_in_inbox(InboxEntry { at: now, snapshot: Some(snapshot.clone()), thread: None }).await;
        };
        let k = keys.data.derive_store_key(&[snapshot.site.as_str(), &snapshot.conversation_id]);
        let stored = self.load_for_merge(&k).await?;
        self.commit_capture(&keys, k, merge(stored, snapshot, now)).await
    }

    /// Takes the whole thread of a conversation read from the site's own data (see
    /// [`crate::import::site`]) and merges it like a capture ([`merge_thread`]); while
    /// locked it waits sealed in the inbox like any capture.
    ///
    /// # Errors
    /// As [`Vault::capture`].
    pub async fn capture_thread(&self, thread: Conversation, now: i64) -> Result<CaptureOutcome, VaultError> {
        check_conversation(&thread)?;
        let Some(keys) = self.unlocked.borrow().clone() else {
            return self.queue_in_inbox(InboxEntry { at: now, snapshot: None, thread: Some(thread) }).await;
        };
        let k = keys.data.derive_store_key(&[thread.site.as_str(), &thread.conversation_id]);
        let stored = self.load_for_merge(&k).await?;
        self.commit_capture(&keys, k, merge_thread(stored, thread, now)).await
    }

    /// Writes what a capture's merge changed (records, counts, recent list, index) in one write.
    async fn commit_capture(&self, keys: &Unlocked, k: String, outcome: MergeOutcome) -> Result<CaptureOutcome, VaultError> {
        if outcome.is_unchanged() {
            *self.recent.borrow_mut() = Some((k.clone(), outcome.conversation));
            return Ok(CaptureOutcome { id: Some(k), added: 0, updated: 0, queued: false });
        }
        let mut ops = self.conversation_ops(keys, &k, &outcome.conversation, outcome.changed.iter().copied());
        if outcome.added > 0 {
            ops.push(self.counts_op(outcome.added as i64).await?);
        }
        ops.push(self.recent_op(keys, vec![summary(&k, &outcome.conversation)], &[]).await?);
        let docs = index_docs(&k, &outcome.conversation, outcome.changed.iter().copied());
        ops.extend(self.index_ops(keys, docs, &[], Merges::Normal).await);
        self.apply_with_index(keys, ops).await?;
        let result = CaptureOutcome { id: Some(k.clone()), added: outcome.added, updated: outcome.updated, queued: false };
        *self.recent.borrow_mut() = Some((k, outcome.conversation));
        Ok(result)
    }

    async fn load_for_merge(&self, k: &str) -> Result<Option<Conversation>, VaultError> {
        let cached = self.recent.borrow_mut().take_if(|(key, _)| key == k);
        if let Some((_, conv)) = cached {
            return Ok(Some(conv));
        }
        match self.get_conversation(k).await {
            Ok(conv) => Ok(Some(conv)),
            Err(VaultError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn queue_in_inbox(&self, entry: InboxEntry) -> Result<CaptureOutcome, VaultError> {
        let public = self.public_key().await?;
        let mut raw = [0u8; 16];
        make_random(&mut raw).map_err(|_| VaultError::Random)?;
        let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let plain = Zeroizing::new(serde_json::to_vec(&entry).expect("inbox entries serialise"));
        let value = seal_to(&public, &record_aad(StoreName::Inbox.as_str(), &key), &plain)
            .map_err(|_| VaultError::Random)?;
        self.store.apply(vec![Op::Put { store: StoreName::Inbox, key, value }]).await?;
        Ok(CaptureOutcome { id: None, added: 0, updated: 0, queued: true })
    }

    /// Merges conversations read from a file into the vault, one atomic write for the
    /// batch: new conversations are added, known ones gain the turns they lack, nothing
    /// stored is removed. The caller has checked the whole file before the first batch.
    pub async fn import_conversations(&self, conversations: Vec<Conversation>) -> Result<ImportReport, VaultError> {
        for conv in &conversations {
            check_conversation(conv)?;
        }
        let keys = self.keys()?;
        let mut report = ImportReport::default();
        let mut ops = Vec::new();
        let mut docs = Vec::new();
        let mut summaries = Vec::new();
        // What is already stored for every incoming conversation, read at once.
        let incoming_keys: Vec<String> = conversations
            .iter()
            .map(|c| keys.data.derive_store_key(&[c.site.as_str(), &c.conversation_id]))
            .collect();
        let mut unique = incoming_keys.clone();
        unique.sort_unstable();
        unique.dedup();
        let mut stored_now: HashMap<String, Conversation> = unique
            .iter()
            .cloned()
            .zip(self.get_conversations(&unique).await?)
            .filter_map(|(k, c)| Some((k, c?)))
            .collect();
        for (incoming, k) in conversations.into_iter().zip(incoming_keys) {
            // A conversation twice in one batch merges into what its first copy left.
            let stored = stored_now.remove(&k);
            let was_new = stored.is_none();
            let outcome = merge_imported(stored, incoming);
            match (was_new, outcome.added) {
                (true, _) => report.added_conversations += 1,
                (false, 0) => report.already_here += 1,
                (false, _) => report.updated_conversations += 1,
            }
            report.added_messages += outcome.added;
            if !outcome.is_unchanged() {
                ops.extend(self.conversation_ops(&keys, &k, &outcome.conversation, outcome.changed.iter().copied()));
                docs.extend(index_docs(&k, &outcome.conversation, outcome.changed.iter().copied()));
                summaries.push(summary(&k, &outcome.conversation));
            }
            stored_now.insert(k, outcome.conversation);
        }
        if ops.is_empty() {
            return Ok(report);
        }
        ops.push(self.counts_op(report.added_messages as i64).await?);
        ops.push(self.recent_op(&keys, summaries, &[]).await?);
        ops.extend(self.index_ops(&keys, docs, &[], Merges::Deferred).await);
        self.recent.borrow_mut().take();
        self.apply_with_index(&keys, ops).await?;
        Ok(report)
    }

    /// Ends an import made of several [`Vault::import_conversations`] batches: their
    /// messages, indexed in memory so far, are written to the search index once, here,
    /// rather than every batch rewriting the growing index. Skipping it loses nothing:
    /// the next search or change writes them (and a stopped worker leaves a marker that
    /// makes the next search rebuild the index).
    pub async fn finish_import(&self) -> Result<(), VaultError> {
        let keys = self.keys()?;
        if !self.index.borrow().as_ref().is_some_and(PersistentIndex::has_pending) {
            return Ok(()); // nothing deferred in this worker (or it was stopped: see above)
        }
        let ops = self.index_ops(&keys, Vec::new(), &[], Merges::Normal).await;
        self.apply_with_index(&keys, ops).await
    }

    /// Merges every capture sealed while the vault was locked, oldest first, and
    /// removes them from the inbox, all in one atomic write.
    pub async fn drain_inbox(&self) -> Result<InboxReport, VaultError> {
        let keys = self.keys()?;
        let mut report = InboxReport::default();
        let mut entries: Vec<(String, InboxEntry)> = Vec::new();
        for (key, sealed) in self.store.get_prefix(StoreName::Inbox, "").await? {
            let opened = keys
                .box_pair
                .open(&record_aad(StoreName::Inbox.as_str(), &key), &sealed)
                .ok()
                .map(Zeroizing::new)
                .and_then(|plain| serde_json::from_slice::<InboxEntry>(&plain).ok())
                .filter(InboxEntry::is_valid);
            match opened {
                Some(entry) => entries.push((key, entry)),
                None => report.unreadable += 1,
            }
        }
        if entries.is_empty() {
            return Ok(report);
        }
        entries.sort_by_key(|(_, e)| e.at);
        // Each conversation is loaded once, merged with all its snapshots in order, and
        // written once with the union of the positions that changed.
        let mut merged: Vec<(String, Option<Conversation>, std::collections::BTreeSet<usize>)> = Vec::new();
        let mut ops = Vec::new();
        for (inbox_key, entry) in entries {
            let k = entry.conversation_key(&keys);
            let slot = match merged.iter().position(|(key, _, _)| *key == k) {
                Some(i) => i,
                None => {
                    merged.push((k.clone(), self.load_for_merge(&k).await?, Default::default()));
                    merged.len() - 1
                }
            };
            let (_, conv, changed) = &mut merged[slot];
            let outcome = entry.merge_into(conv.take());
            report.added += outcome.added;
            report.updated += outcome.updated;
            report.snapshots += 1;
            changed.extend(outcome.changed.iter().copied());
            *conv = Some(outcome.conversation);
            ops.push(Op::Delete { store: StoreName::Inbox, key: inbox_key });
        }
        let mut docs = Vec::new();
        let mut summaries = Vec::new();
        for (k, conv, changed) in &merged {
            let conv = conv.as_ref().expect("every slot holds its merged conversation");
            ops.extend(self.conversation_ops(&keys, k, conv, changed.iter().copied()));
            docs.extend(index_docs(k, conv, changed.iter().copied()));
            summaries.push(summary(k, conv));
        }
        ops.push(self.counts_op(report.added as i64).await?);
        ops.push(self.recent_op(&keys, summaries, &[]).await?);
        ops.extend(self.index_ops(&keys, docs, &[], Merges::Normal).await);
        self.recent.borrow_mut().take();
        self.apply_with_index(&keys, ops).await?;
        Ok(report)
    }

    /// Writes a batch atomically, every [`Op::Seal`] in it first turned into the `Put`
    /// of its envelope, all at once (in the browser by WebCrypto: see `crypto::bulk`).
    async fn write(&self, keys: &Unlocked, ops: Vec<Op>) -> Result<(), VaultError> {
        if Op::all_sealed(&ops) {
            return Ok(self.store.apply(ops).await?);
        }
        let items: Vec<ToSeal<'_>> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Seal { store, key, plain } => Some(ToSeal { store: store.as_str(), key, plain: &plain.0 }),
                _ => None,
            })
            .collect();
        let mut sealed = keys.sealer.seal_all(&keys.data, &items).await.map_err(|_| VaultError::Random)?.into_iter();
        drop(items);
        let ops = ops
            .into_iter()
            .map(|op| match op {
                Op::Seal { store, key, .. } => Op::Put { store, key, value: sealed.next().expect("one envelope per record") },
                other => other,
            })
            .collect();
        Ok(self.store.apply(ops).await?)
    }

    fn open_json<T: for<'de> Deserialize<'de>>(
        &self,
        keys: &Unlocked,
        store: StoreName,
        key: &str,
        sealed: &[u8],
        what: &str,
    ) -> Result<T, VaultError> {
        record_from(keys.data.open_record(store.as_str(), key, sealed), what)
    }

    /// Reads one conversation with its messages in order.
    pub async fn get_conversation(&self, id: &str) -> Result<Conversation, VaultError> {
        self.get_conversations(&[id.to_owned()])
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| VaultError::NotFound("this conversation is not in the vault".into()))
    }

    /// Reads conversations by id, in the order asked, `None` for an id not in the vault.
    /// Two reads whatever their number: every record, then every message block they
    /// name (an IndexedDB transaction costs more than decrypting a block).
    pub async fn get_conversations(&self, ids: &[String]) -> Result<Vec<Option<Conversation>>, VaultError> {
        let keys = self.keys()?;
        for id in ids {
            check_key(id)?;
        }
        let mut records = Vec::with_capacity(ids.len());
        let mut block_keys = Vec::new();
        for (id, sealed) in ids.iter().zip(self.store.get_many(StoreName::Conversations, ids).await?) {
            let record = match sealed {
                Some(sealed) => {
                    let rec: ConversationRecord =
                        self.open_json(&keys, StoreName::Conversations, id, &sealed, "a conversation record")?;
                    let blocks = (rec.message_count as usize).div_ceil(BLOCK_LEN) as u32;
                    block_keys.extend((0..blocks).map(|b| block_key(&keys.data, id, b)));
                    Some(rec)
                }
                None => None,
            };
            records.push(record);
        }
        let missing = || VaultError::Damaged("a block of messages of this conversation is missing".into());
        // Every block opened at once (in the browser by WebCrypto: see `crypto::bulk`).
        let sealed_blocks = self.store.get_many(StoreName::Messages, &block_keys).await?;
        let to_open: Vec<ToOpen<'_>> = block_keys
            .iter()
            .zip(&sealed_blocks)
            .filter_map(|(bk, sealed)| Some(ToOpen { store: StoreName::Messages.as_str(), key: bk, sealed: sealed.as_deref()? }))
            .collect();
        let mut opened = keys.sealer.open_all(&keys.data, &to_open).await.into_iter();
        drop(to_open);
        let mut blocks = sealed_blocks.iter().map(|sealed| sealed.as_ref().map(|_| opened.next().expect("one per block")));
        let mut out = Vec::with_capacity(ids.len());
        for rec in records {
            let Some(rec) = rec else {
                out.push(None);
                continue;
            };
            let count = rec.message_count as usize;
            let mut messages: Vec<Message> = Vec::with_capacity(count);
            for opened in blocks.by_ref().take(count.div_ceil(BLOCK_LEN)) {
                let block: MessageBlock = record_from(opened.ok_or_else(missing)?, "a message of this conversation")?;
                if block.first as usize != messages.len() {
                    return Err(missing());
                }
                messages.extend(block.messages);
            }
            if messages.len() < count {
                return Err(missing());
            }
            messages.truncate(count);
            out.push(Some(Conversation {
                site: rec.site,
                conversation_id: rec.conversation_id,
                title: rec.title,
                url: rec.url,
                model: rec.model,
                created_at: rec.created_at,
                updated_at: rec.updated_at,
                messages,
            }));
        }
        Ok(out)
    }

    /// Every conversation, most recently updated first. Records that fail to open are
    /// counted, not fatal: one damaged record must not hide the rest.
    pub async fn list_conversations(&self) -> Result<ConversationList, VaultError> {
        let keys = self.keys()?;
        let mut list = ConversationList { conversations: Vec::new(), damaged: 0 };
        let records = self.store.get_prefix(StoreName::Conversations, "").await?;
        let store = StoreName::Conversations.as_str();
        let to_open: Vec<ToOpen<'_>> = records.iter().map(|(k, sealed)| ToOpen { store, key: k, sealed }).collect();
        let opened = keys.sealer.open_all(&keys.data, &to_open).await;
        drop(to_open);
        for ((k, _), opened) in records.into_iter().zip(opened) {
            match record_from::<ConversationRecord>(opened, "a conversation") {
                Ok(rec) => list.conversations.push(rec.summary(k)),
                Err(_) => list.damaged += 1,
            }
        }
        list.conversations.sort_by(newest_first);
        Ok(list)
    }

    /// The `limit` (at most [`RECENT_LEN`]) most recently updated conversations, as
    /// [`Vault::list_conversations`] would begin, from one record. Without that record
    /// (a vault from before it, or after a deletion from a full list) every record is
    /// read once and the record written again.
    pub async fn recent_conversations(&self, limit: usize) -> Result<ConversationList, VaultError> {
        let keys = self.keys()?;
        let mut recent = match self.read_recent(&keys).await {
            Some(recent) => ConversationList { conversations: recent, damaged: 0 },
            None => {
                let mut all = self.list_conversations().await?;
                all.conversations.truncate(RECENT_LEN);
                // Best effort: a failed write only means the next call reads everything again.
                let _ = self.write(&keys, vec![record_put(StoreName::Meta, RECENT_KEY.into(), &all.conversations)]).await;
                all
            }
        };
        recent.conversations.truncate(limit.min(RECENT_LEN));
        Ok(recent)
    }

    /// The stored recent list; `None` when it is missing or does not open.
    async fn read_recent(&self, keys: &Unlocked) -> Option<Vec<ConversationSummary>> {
        let sealed = self.store.get(StoreName::Meta, RECENT_KEY).await.ok()??;
        self.open_json(keys, StoreName::Meta, RECENT_KEY, &sealed, "the recent conversations").ok()
    }

    /// The write that keeps the recent list right after `changed` conversations were
    /// written and `removed` ones deleted, in the same batch. When that cannot be known
    /// from the list alone (a full list loses one, or one of its conversations moves
    /// back in time), the list is dropped, to be read again from every record.
    async fn recent_op(&self, keys: &Unlocked, changed: Vec<ConversationSummary>, removed: &[String]) -> Result<Op, VaultError> {
        let drop_it = Op::Delete { store: StoreName::Meta, key: RECENT_KEY.into() };
        let Some(mut list) = self.read_recent(keys).await else { return Ok(drop_it) };
        let full = list.len() >= RECENT_LEN;
        for id in removed {
            if let Some(at) = list.iter().position(|s| &s.id == id) {
                if full {
                    return Ok(drop_it);
                }
                list.remove(at);
            }
        }
        for summary in changed {
            if let Some(at) = list.iter().position(|s| s.id == summary.id) {
                if full && newest_first(&summary, &list[at]).is_gt() {
                    return Ok(drop_it);
                }
                list.remove(at);
            }
            list.push(summary);
        }
        list.sort_by(newest_first);
        list.truncate(RECENT_LEN);
        Ok(record_put(StoreName::Meta, RECENT_KEY.into(), &list))
    }

    /// Erases the whole vault (every store) and locks; the next status is "new".
    pub async fn wipe(&self) -> Result<(), VaultError> {
        let ops = StoreName::ALL.iter().map(|&store| Op::DeletePrefix { store, prefix: String::new() }).collect();
        self.store.apply(ops).await?;
        self.lock();
        Ok(())
    }

    /// Deletes a conversation and its messages.
    pub async fn delete_conversation(&self, id: &str) -> Result<(), VaultError> {
        let keys = self.keys()?;
        check_key(id)?;
        self.recent.borrow_mut().take();
        let count = self.stored_message_count(&keys, id).await;
        let mut ops = vec![
            Op::Delete { store: StoreName::Conversations, key: id.to_owned() },
            Op::DeletePrefix { store: StoreName::Messages, prefix: format!("{id}:") },
            self.counts_op(-count).await?,
            self.recent_op(&keys, Vec::new(), &[id.to_owned()]).await?,
        ];
        ops.extend(self.index_ops(&keys, Vec::new(), &[id.to_owned()], Merges::Normal).await);
        self.apply_with_index(&keys, ops).await?;
        Ok(())
    }
}

/// The index documents of `conv`'s messages at `positions`; a message's id is
/// `<conversation id>:<position>`, so a changed or moved message replaces its document.
fn index_docs(k: &str, conv: &Conversation, positions: impl IntoIterator<Item = usize>) -> Vec<Doc> {
    positions
        .into_iter()
        .filter_map(|seq| conv.messages.get(seq).map(|m| (seq, m)))
        .map(|(seq, m)| Doc {
            id: format!("{k}:{seq}"),
            conversation_id: k.to_owned(),
            title: conv.title.clone(),
            text: m.markdown.clone(),
            site: conv.site.as_str().to_owned(),
            role: serde_json::to_value(m.role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            ts: if m.provenance.last_seen != 0 { m.provenance.last_seen } else { conv.updated_at },
        })
        .collect()
}

fn check_snapshot(snap: &Snapshot) -> Result<(), VaultError> {
    if snap.messages.len() > MAX_SNAPSHOT_MESSAGES {
        return Err(VaultError::InvalidInput(format!("A capture holds at most {MAX_SNAPSHOT_MESSAGES} messages.")));
    }
    if snap.messages.iter().any(|m| m.markdown.len() > MAX_MESSAGE_BYTES) {
        return Err(VaultError::InvalidInput("A message is larger than 8 MiB and was not saved.".into()));
    }
    if snap.conversation_id.is_empty() || snap.conversation_id.len() > MAX_ID_BYTES || snap.title.len() > 4096 {
        return Err(VaultError::InvalidInput("A capture needs a conversation id and a short title.".into()));
    }
    Ok(())
}

/// The order of conversation lists: most recently updated first, then by key.
fn newest_first(a: &ConversationSummary, b: &ConversationSummary) -> std::cmp::Ordering {
    b.updated_at.cmp(&a.updated_at).then_with(|| a.id.cmp(&b.id))
}

fn summary(k: &str, conv: &Conversation) -> ConversationSummary {
    ConversationRecord::of(conv).summary(k.to_owned())
}

impl ConversationRecord {
    /// The record of `conv` (everything but its messages).
    fn of(conv: &Conversation) -> Self {
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

    /// The list entry of the conversation stored under `id`.
    fn summary(self, id: String) -> ConversationSummary {
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

fn block_key(data: &DataKey, conversation_key: &str, block: u32) -> String {
    format!("{conversation_key}:{}", data.derive_store_key(&["block", conversation_key, &block.to_string()]))
}

fn decode_b64(s: &str) -> Result<Vec<u8>, VaultError> {
    B64.decode(s).map_err(|_| VaultError::Damaged("the vault's settings record".into()))
}

fn kdf_error(e: CryptoError) -> VaultError {
    match e {
        CryptoError::WeakKdf(why) => VaultError::WeakKdf(why),
        other => VaultError::damaged("the key derivation", other),
    }
}

fn check_key(id: &str) -> Result<(), VaultError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(VaultError::InvalidInput("That is not a conversation id of this vault.".into()))
    }
}

fn check_conversation(conv: &Conversation) -> Result<(), VaultError> {
    if conv.conversation_id.is_empty() || conv.conversation_id.len() > MAX_ID_BYTES {
        return Err(VaultError::InvalidInput("A conversation needs an id of 1 to 512 bytes.".into()));
    }
    if conv.site.as_str().is_empty() || conv.site.as_str().len() > 64 {
        return Err(VaultError::InvalidInput("A conversation needs a site name.".into()));
    }
    if conv.messages.len() > MAX_MESSAGES_PER_CONVERSATION {
        return Err(VaultError::InvalidInput(format!(
            "A conversation holds at most {MAX_MESSAGES_PER_CONVERSATION} messages."
        )));
    }
    if conv.messages.iter().any(|m| m.markdown.len() > MAX_MESSAGE_BYTES) {
        return Err(VaultError::InvalidInput("A message is larger than 8 MiB and was not saved.".into()));
    }
    Ok(())
}

fn check_new_passphrase(passphrase: &str) -> Result<(), VaultError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "Choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters."
        )));
    }
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(VaultError::InvalidInput("That passphrase is too long.".into()));
    }
    Ok(())
}

/// A rough strength estimate for the onboarding hint: length and variety of
/// characters, with a penalty for repeats. It is a hint, not a guarantee.
pub fn passphrase_strength(passphrase: &str) -> PassphraseStrength {
    let chars: Vec<char> = passphrase.chars().collect();
    if chars.len() < MIN_PASSPHRASE_CHARS {
        return PassphraseStrength {
            score: 0,
            hint: format!("Too short: use at least {MIN_PASSPHRASE_CHARS} characters."),
        };
    }
    let mut pool = 0u32;
    if chars.iter().any(|c| c.is_lowercase()) {
        pool += 26;
    }
    if chars.iter().any(|c| c.is_uppercase()) {
        pool += 26;
    }
    if chars.iter().any(|c| c.is_ascii_digit()) {
        pool += 10;
    }
    if chars.iter().any(|c| !c.is_alphanumeric()) {
        pool += 33;
    }
    if chars.iter().any(|c| !c.is_ascii()) {
        pool += 100;
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let effective = (distinct.len() as f64).max(chars.len() as f64 / 2.0);
    let bits = effective * (pool.max(1) as f64).log2();
    let (score, hint) = match bits {
        b if b < 40.0 => (1, "Weak: add more words or characters."),
        b if b < 60.0 => (2, "Fair: a few more words would make it strong."),
        b if b < 80.0 => (3, "Good."),
        _ => (4, "Strong."),
    };
    PassphraseStrength { score, hint: hint.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::store::memory::MemoryStore;
    use crate::store::StoreError;
    use pollster::block_on;

    const PASS: &str = "correct horse battery staple";

    fn conversation(id: &str, texts: &[&str]) -> Conversation {
        Conversation {
            site: Site::ChatGpt,
            conversation_id: id.into(),
            title: format!("Title of {id}"),
            url: format!("https://chatgpt.com/c/{id}"),
            model: Some("gpt-5-2".into()),
            created_at: 1_000,
            updated_at: 2_000,
            messages: texts
                .iter()
                .enumerate()
                .map(|(i, t)| Message::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, *t))
                .collect(),
        }
    }

    fn new_vault() -> Vault<MemoryStore> {
        let vault = Vault::new(MemoryStore::new());
        block_on(vault.create(PASS, KdfParams::MINIMUM, 1)).unwrap();
        vault
    }

    #[test]
    fn a_new_vault_goes_through_create_lock_unlock() {
        let vault = Vault::new(MemoryStore::new());
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::New);
        block_on(vault.create(PASS, KdfParams::MINIMUM, 1)).unwrap();
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::Unlocked);
        let id = block_on(vault.put_conversation(&conversation("c1", &["hello", "world"]))).unwrap();
        vault.lock();
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::Locked);
        assert_eq!(block_on(vault.get_conversation(&id)), Err(VaultError::Locked));
        assert_eq!(block_on(vault.unlock("wrong passphrase!")), Err(VaultError::WrongPassphrase));
        assert!(!vault.is_unlocked());
        block_on(vault.unlock(PASS)).unwrap();
        let back = block_on(vault.get_conversation(&id)).unwrap();
        assert_eq!(back, conversation("c1", &["hello", "world"]));
        let status = block_on(vault.status()).unwrap();
        assert_eq!((status.conversations, status.messages), (1, 2));
    }

    #[test]
    fn creating_twice_is_refused_and_keeps_the_first_vault() {
        let vault = new_vault();
        let id = block_on(vault.put_conversation(&conversation("c1", &["a"]))).unwrap();
        assert_eq!(block_on(vault.create("another passphrase", KdfParams::MINIMUM, 2)), Err(VaultError::AlreadyExists));
        vault.lock();
        block_on(vault.unlock(PASS)).unwrap();
        assert!(block_on(vault.get_conversation(&id)).is_ok());
    }

    #[test]
    fn short_passphrases_and_weak_parameters_are_refused_at_creation() {
        let vault = Vault::new(MemoryStore::new());
        assert!(matches!(block_on(vault.create("short", KdfParams::MINIMUM, 1)), Err(VaultError::InvalidInput(_))));
        let weak = KdfParams { memory_kib: 1024, ..KdfParams::MINIMUM };
        assert!(matches!(block_on(vault.create(PASS, weak, 1)), Err(VaultError::WeakKdf(_))));
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::New);
    }

    #[test]
    fn lowered_kdf_parameters_on_disk_are_refused() {
        let vault = new_vault();
        vault.lock();
        let (_, _, meta) = vault.store().raw().into_iter().find(|(s, k, _)| *s == StoreName::Meta && k == "vault").unwrap();
        let lowered = String::from_utf8(meta).unwrap().replace("\"mKiB\":19456", "\"mKiB\":8");
        vault.store().put_raw(StoreName::Meta, "vault", lowered.into_bytes());
        assert!(matches!(block_on(vault.unlock(PASS)), Err(VaultError::WeakKdf(_))));
    }

    #[test]
    fn a_newer_meta_format_says_update_and_changes_nothing() {
        let vault = new_vault();
        vault.lock();
        let (_, _, meta) = vault.store().raw().into_iter().find(|(s, k, _)| *s == StoreName::Meta && k == "vault").unwrap();
        let newer = String::from_utf8(meta.clone()).unwrap().replace("\"format\":1", "\"format\":2");
        vault.store().put_raw(StoreName::Meta, "vault", newer.clone().into_bytes());
        assert_eq!(block_on(vault.unlock(PASS)), Err(VaultError::NewerVersion));
        assert_eq!(block_on(vault.create(PASS, KdfParams::MINIMUM, 1)), Err(VaultError::NewerVersion));
        let (_, _, after) = vault.store().raw().into_iter().find(|(s, k, _)| *s == StoreName::Meta && k == "vault").unwrap();
        assert_eq!(after, newer.into_bytes());
    }

    #[test]
    fn the_database_reveals_no_ids_titles_or_text() {
        let vault = new_vault();
        block_on(vault.put_conversation(&conversation("secret-conv-id", &["confidential banana text"]))).unwrap();
        for (_, key, value) in vault.store().raw() {
            let all = format!("{key} {}", String::from_utf8_lossy(&value));
            for needle in ["secret-conv-id", "Title of", "banana", "chatgpt.com", "gpt-5-2"] {
                assert!(!all.contains(needle), "{needle} leaked in {key}");
            }
        }
    }

    #[test]
    fn a_damaged_record_is_named_and_other_records_still_list() {
        let vault = new_vault();
        let a = block_on(vault.put_conversation(&conversation("a", &["one"]))).unwrap();
        let b = block_on(vault.put_conversation(&conversation("b", &["two"]))).unwrap();
        let raw = vault.store().raw();
        let (_, _, mut bytes) = raw.into_iter().find(|(s, k, _)| *s == StoreName::Conversations && *k == a).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        vault.store().put_raw(StoreName::Conversations, &a, bytes);
        assert!(matches!(block_on(vault.get_conversation(&a)), Err(VaultError::Damaged(_))));
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.damaged, 1);
        assert_eq!(list.conversations.len(), 1);
        assert_eq!(list.conversations[0].id, b);
    }

    #[test]
    fn a_record_copied_over_another_fails_to_open() {
        let vault = new_vault();
        let a = block_on(vault.put_conversation(&conversation("a", &["one"]))).unwrap();
        let b = block_on(vault.put_conversation(&conversation("b", &["two"]))).unwrap();
        let raw = vault.store().raw();
        let (_, _, bytes_b) = raw.into_iter().find(|(s, k, _)| *s == StoreName::Conversations && *k == b).unwrap();
        vault.store().put_raw(StoreName::Conversations, &a, bytes_b);
        assert!(matches!(block_on(vault.get_conversation(&a)), Err(VaultError::Damaged(_))));
    }

    #[test]
    fn a_failed_write_leaves_what_was_stored() {
        let vault = new_vault();
        let id = block_on(vault.put_conversation(&conversation("c", &["first"]))).unwrap();
        let before = vault.store().raw();
        vault.store().fail_next_write(StoreError::QuotaExceeded);
        let err = block_on(vault.put_conversation(&conversation("c", &["replaced", "text"]))).unwrap_err();
        assert_eq!(err.code(), "storage");
        assert!(err.to_string().contains("full"));
        assert_eq!(vault.store().raw(), before);
        assert_eq!(block_on(vault.get_conversation(&id)).unwrap().messages[0].markdown, "first");
    }

    #[test]
    fn putting_again_replaces_messages_and_delete_removes_everything() {
        let vault = new_vault();
        let id = block_on(vault.put_conversation(&conversation("c", &["a", "b", "c"]))).unwrap();
        assert_eq!(id, block_on(vault.put_conversation(&conversation("c", &["x"]))).unwrap());
        assert_eq!(block_on(vault.get_conversation(&id)).unwrap().messages.len(), 1);
        assert_eq!(block_on(vault.status()).unwrap().messages, 1);
        block_on(vault.delete_conversation(&id)).unwrap();
        let status = block_on(vault.status()).unwrap();
        assert_eq!((status.conversations, status.messages), (0, 0));
        assert!(matches!(block_on(vault.get_conversation(&id)), Err(VaultError::NotFound(_))));
    }

    #[test]
    fn list_is_newest_first() {
        let vault = new_vault();
        let mut old = conversation("old", &["a"]);
        old.updated_at = 10;
        let mut new = conversation("new", &["b"]);
        new.updated_at = 20;
        block_on(vault.put_conversation(&old)).unwrap();
        block_on(vault.put_conversation(&new)).unwrap();
        let list = block_on(vault.list_conversations()).unwrap();
        let ids: Vec<_> = list.conversations.iter().map(|c| c.conversation_id.as_str()).collect();
        assert_eq!(ids, ["new", "old"]);
        assert_eq!(list.conversations[0].message_count, 1);
    }

    #[test]
    fn changing_the_passphrase_rewraps_only_the_key() {
        let vault = new_vault();
        let id = block_on(vault.put_conversation(&conversation("c", &["kept"]))).unwrap();
        let records_before: Vec<_> =
            vault.store().raw().into_iter().filter(|(s, _, _)| *s != StoreName::Meta).collect();
        assert_eq!(
            block_on(vault.change_passphrase("not the passphrase", "new passphrase 123", KdfParams::MINIMUM)),
            Err(VaultError::WrongPassphrase)
        );
        block_on(vault.change_passphrase(PASS, "new passphrase 123", KdfParams::MINIMUM)).unwrap();
        let records_after: Vec<_> =
            vault.store().raw().into_iter().filter(|(s, _, _)| *s != StoreName::Meta).collect();
        assert_eq!(records_before, records_after);
        vault.lock();
        assert_eq!(block_on(vault.unlock(PASS)), Err(VaultError::WrongPassphrase));
        block_on(vault.unlock("new passphrase 123")).unwrap();
        assert_eq!(block_on(vault.get_conversation(&id)).unwrap().messages[0].markdown, "kept");
    }

    #[test]
    fn the_session_key_unlocks_a_fresh_instance_and_a_wrong_one_does_not() {
        let vault = new_vault();
        let id = block_on(vault.put_conversation(&conversation("c", &["t"]))).unwrap();
        let key = vault.session_key().unwrap();
        let store = std::mem::take(&mut *vault.store().data_for_tests());
        let fresh = Vault::new(MemoryStore::new());
        *fresh.store().data_for_tests() = store;
        assert!(matches!(block_on(fresh.unlock_with_key(&[7; 32])), Err(VaultError::Damaged(_))));
        assert!(!fresh.is_unlocked());
        block_on(fresh.unlock_with_key(key.as_ref())).unwrap();
        assert!(block_on(fresh.get_conversation(&id)).is_ok());
    }

    #[test]
    fn oversized_input_is_refused_with_a_reason() {
        let vault = new_vault();
        let mut c = conversation("c", &[]);
        c.conversation_id = String::new();
        assert!(matches!(block_on(vault.put_conversation(&c)), Err(VaultError::InvalidInput(_))));
        let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let c = conversation("c", &[huge.as_str()]);
        assert!(matches!(block_on(vault.put_conversation(&c)), Err(VaultError::InvalidInput(_))));
        assert!(matches!(block_on(vault.get_conversation("../../etc")), Err(VaultError::InvalidInput(_))));
    }

    #[test]
    fn wiping_erases_every_record_and_leaves_a_new_vault() {
        let vault = new_vault();
        block_on(vault.put_conversation(&conversation("c", &["x"]))).unwrap();
        block_on(vault.wipe()).unwrap();
        assert!(vault.store().raw().is_empty());
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::New);
    }

    #[test]
    fn strength_hints_grow_with_the_passphrase() {
        assert_eq!(passphrase_strength("abc").score, 0);
        assert!(passphrase_strength("aaaaaaaa").score <= 1);
        assert!(passphrase_strength("correct horse battery staple").score >= 3);
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

#[cfg(test)]
mod test_support {
    use super::*;
    use crate::capture::SnapshotMessage;
    use crate::model::Role;
    use crate::store::memory::MemoryStore;

    pub const PASS: &str = "correct horse battery staple";

    /// A new vault on the memory store, unlocked, with the cheapest allowed KDF.
    pub fn unlocked() -> Vault<MemoryStore> {
        let v = Vault::new(MemoryStore::new());
        pollster::block_on(v.create(PASS, KdfParams::MINIMUM, 1)).unwrap();
        v
    }

    /// A snapshot of `site`'s conversation `id` whose turns alternate user, assistant.
    pub fn snapshot(site: Site, id: &str, texts: &[&str]) -> Snapshot {
        Snapshot {
            url: format!("https://example.invalid/{}/{id}", site.as_str()),
            site,
            conversation_id: id.into(),
            title: format!("Chat {id}"),
            model: None,
            messages: texts
                .iter()
                .enumerate()
                .map(|(i, t)| SnapshotMessage {
                    role: if i % 2 == 0 { Role::User } else { Role::Assistant },
                    markdown: (*t).into(),
                    turn_id: None,
                    streaming: false,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod capture_tests {
    use super::test_support::{snapshot as snap, unlocked as vault, PASS};
    use super::*;
    use crate::model::Role;
    use crate::store::memory::MemoryStore;
    use pollster::block_on;

    /// Claude snapshots with explicit roles.
    fn snapshot(id: &str, turns: &[(Role, &str)]) -> Snapshot {
        let mut s = snap(Site::Claude, id, &turns.iter().map(|(_, t)| *t).collect::<Vec<_>>());
        for (m, (role, _)) in s.messages.iter_mut().zip(turns) {
            m.role = *role;
        }
        s
    }

    #[test]
    fn captures_merge_and_write_only_what_changed() {
        let v = vault();
        let s1 = snapshot("a", &[(Role::User, "hello"), (Role::Assistant, "hi there")]);
        let out = block_on(v.capture(&s1, 10)).unwrap();
        assert_eq!((out.added, out.queued), (2, false));
        let before = v.store().raw();
        assert_eq!(block_on(v.capture(&s1, 11)).unwrap().added, 0);
        assert_eq!(v.store().raw(), before, "an identical snapshot writes nothing");
        let s2 = snapshot("a", &[(Role::Assistant, "hi there"), (Role::User, "next")]);
        let out = block_on(v.capture(&s2, 12)).unwrap();
        assert_eq!(out.added, 1);
        let conv = block_on(v.get_conversation(out.id.as_deref().unwrap())).unwrap();
        let texts: Vec<_> = conv.messages.iter().map(|m| m.markdown.as_str()).collect();
        assert_eq!(texts, ["hello", "hi there", "next"]);
    }

    #[test]
    fn while_locked_captures_go_sealed_to_the_inbox_and_merge_at_unlock() {
        let v = vault();
        block_on(v.capture(&snapshot("a", &[(Role::User, "before lock")]), 1)).unwrap();
        v.lock();
        let out = block_on(v.capture(&snapshot("a", &[(Role::User, "before lock"), (Role::Assistant, "secret pangolin")]), 2)).unwrap();
        assert!(out.queued);
        block_on(v.capture(&snapshot("b", &[(Role::User, "another chat")]), 3)).unwrap();
        let inbox: Vec<_> = v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Inbox).collect();
        assert_eq!(inbox.len(), 2);
        for (_, key, value) in &inbox {
            let text = String::from_utf8_lossy(value);
            assert!(!text.contains("pangolin") && !text.contains("another chat") && !text.contains("claude.ai"));
            assert_eq!(key.len(), 32);
        }
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.snapshots, report.added, report.unreadable), (2, 2, 0));
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 0);
        let list = block_on(v.list_conversations()).unwrap();
        assert_eq!(list.conversations.len(), 2);
        let a = list.conversations.iter().find(|c| c.conversation_id == "a").unwrap();
        let conv = block_on(v.get_conversation(&a.id)).unwrap();
        assert_eq!(conv.messages[1].markdown, "secret pangolin");
    }

    /// A whole thread read from the site's data, 40 turns with site ids.
    fn thread(id: &str, n: usize) -> Conversation {
        Conversation {
            site: Site::Claude,
            conversation_id: id.into(),
            title: "Tides".into(),
            url: format!("https://claude.ai/chat/{id}"),
            model: None,
            created_at: 5,
            updated_at: 6,
            messages: (0..n)
                .map(|i| crate::model::Message {
                    turn_id: Some(format!("t{i}")),
                    ..crate::model::Message::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, format!("turn {i} about the moon"))
                })
                .collect(),
        }
    }

    #[test]
    fn a_thread_joins_what_the_page_showed_searchable_and_locked_it_waits_in_the_inbox() {
        let v = vault();
        let shown = snapshot("a", &[(Role::User, "turn 38 about the moon"), (Role::Assistant, "turn 39 about the moon")]);
        block_on(v.capture(&shown, 1)).unwrap();
        let out = block_on(v.capture_thread(thread("a", 40), 2)).unwrap();
        assert_eq!(out.added, 38);
        let conv = block_on(v.get_conversation(out.id.as_deref().unwrap())).unwrap();
        assert_eq!(conv.messages.len(), 40);
        assert_eq!(conv.messages[0].markdown, "turn 0 about the moon");
        assert_eq!(block_on(v.search("\"turn 0 about\"", 5)).unwrap().total, 1);
        assert_eq!(block_on(v.capture_thread(thread("a", 40), 3)).unwrap().added, 0);

        v.lock();
        assert!(block_on(v.capture_thread(thread("b", 10), 4)).unwrap().queued);
        let inbox: Vec<_> = v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Inbox).collect();
        assert!(inbox.iter().all(|(_, _, value)| !String::from_utf8_lossy(value).contains("moon")));
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.snapshots, report.added, report.unreadable), (1, 10, 0));
    }

    #[test]
    fn a_failed_inbox_merge_leaves_the_inbox_and_the_records_as_they_were() {
        let v = vault();
        v.lock();
        block_on(v.capture(&snapshot("a", &[(Role::User, "queued")]), 2)).unwrap();
        block_on(v.unlock(PASS)).unwrap();
        let before = v.store().raw();
        v.store().fail_next_write(crate::store::StoreError::QuotaExceeded);
        assert!(block_on(v.drain_inbox()).is_err());
        assert_eq!(v.store().raw(), before);
        assert_eq!(block_on(v.drain_inbox()).unwrap().added, 1);
    }

    #[test]
    fn an_unreadable_inbox_record_is_counted_and_kept() {
        let v = vault();
        v.lock();
        block_on(v.capture(&snapshot("a", &[(Role::User, "queued")]), 2)).unwrap();
        v.store().put_raw(StoreName::Inbox, "0000", vec![1, 2, 3]);
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.added, report.unreadable), (1, 1));
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 1);
    }

    #[test]
    fn captures_without_a_vault_or_oversized_are_refused() {
        let v = Vault::new(MemoryStore::new());
        assert_eq!(block_on(v.capture(&snapshot("a", &[(Role::User, "x")]), 1)).unwrap_err(), VaultError::NoVault);
        let v = vault();
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(matches!(block_on(v.capture(&snapshot("a", &[(Role::User, &big)]), 1)), Err(VaultError::InvalidInput(_))));
    }
}

#[cfg(test)]
mod block_tests {
    use super::*;
    use crate::capture::SnapshotMessage;
    use crate::model::Role;
    use crate::store::memory::MemoryStore;
    use pollster::block_on;

    fn snapshot(n: usize, last: &str) -> Snapshot {
        Snapshot {
            site: Site::ChatGpt,
            conversation_id: "long".into(),
            url: "https://chatgpt.com/c/long".into(),
            title: "Long".into(),
            model: None,
            messages: (0..n)
                .map(|i| SnapshotMessage {
                    role: if i % 2 == 0 { Role::User } else { Role::Assistant },
                    markdown: if i + 1 == n { last.into() } else { format!("message {i}") },
                    turn_id: Some(format!("t{i}")),
                    streaming: i + 1 == n,
                })
                .collect(),
        }
    }

    #[test]
    fn long_threads_are_stored_in_blocks_and_a_streaming_update_rewrites_one_block() {
        let v = Vault::new(MemoryStore::new());
        block_on(v.create("correct horse battery staple", KdfParams::MINIMUM, 1)).unwrap();
        let id = block_on(v.capture(&snapshot(40, "streaming"), 1)).unwrap().id.unwrap();
        let blocks = |v: &Vault<MemoryStore>| {
            v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Messages).collect::<Vec<_>>()
        };
        let before = blocks(&v);
        assert_eq!(before.len(), 3, "40 messages in blocks of {BLOCK_LEN}");
        block_on(v.capture(&snapshot(40, "streaming, grown"), 2)).unwrap();
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
        let v = Vault::new(MemoryStore::new());
        block_on(v.create("correct horse battery staple", KdfParams::MINIMUM, 1)).unwrap();
        let id = block_on(v.capture(&snapshot(40, "x"), 1)).unwrap().id.unwrap();
        for nth in 0..3 {
            let v2 = Vault::new(MemoryStore::new());
            *v2.store().data_for_tests() = v.store().data_for_tests().clone();
            block_on(v2.unlock("correct horse battery staple")).unwrap();
            let (_, key, _) = v2.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Messages).nth(nth).unwrap();
            v2.store().data_for_tests().remove(&(StoreName::Messages, key));
            assert!(matches!(block_on(v2.get_conversation(&id)), Err(VaultError::Damaged(_))), "block {nth}");
        }
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;
    use crate::model::Role;
    use crate::store::memory::MemoryStore;
    use pollster::block_on;

    fn conv(id: &str, n: usize) -> Conversation {
        Conversation {
            site: Site::Claude,
            conversation_id: id.into(),
            title: format!("Imported {id}"),
            url: format!("https://claude.ai/chat/{id}"),
            model: None,
            created_at: 1,
            updated_at: 2,
            messages: (0..n).map(|i| Message::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, format!("{id} turn {i}"))).collect(),
        }
    }

    #[test]
    fn an_import_reports_what_it_added_and_a_second_import_adds_nothing() {
        let v = Vault::new(MemoryStore::new());
        block_on(v.create("correct horse battery staple", KdfParams::MINIMUM, 1)).unwrap();
        let batch = vec![conv("a", 4), conv("b", 40)];
        let first = block_on(v.import_conversations(batch.clone())).unwrap();
        assert_eq!((first.added_conversations, first.added_messages, first.already_here), (2, 44, 0));
        assert_eq!(block_on(v.status()).unwrap().messages, 44);
        let before = v.store().raw();
        let second = block_on(v.import_conversations(batch.clone())).unwrap();
        assert_eq!((second.added_conversations, second.added_messages, second.already_here), (0, 0, 2));
        assert_eq!(v.store().raw(), before);
        let grown = block_on(v.import_conversations(vec![conv("b", 42)])).unwrap();
        assert_eq!((grown.updated_conversations, grown.added_messages), (1, 2));
        let list = block_on(v.list_conversations()).unwrap();
        let b = list.conversations.iter().find(|c| c.conversation_id == "b").unwrap();
        assert_eq!(b.message_count, 42);
    }

    #[test]
    fn imported_batches_are_found_before_and_after_the_import_is_finished() {
        let v = Vault::new(MemoryStore::new());
        block_on(v.create("correct horse battery staple", KdfParams::MINIMUM, 1)).unwrap();
        for i in 0..5 {
            block_on(v.import_conversations(vec![conv(&format!("c{i}"), 6)])).unwrap();
        }
        let index_keys = || -> Vec<String> {
            v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).map(|(_, k, _)| k).collect()
        };
        assert_eq!(index_keys(), ["p"], "the batches are indexed in memory, behind the marker");
        block_on(v.finish_import()).unwrap();
        assert!(!index_keys().contains(&"p".to_owned()));
        let found = |q: &str| block_on(v.search(q, 10)).unwrap();
        assert_eq!(found("c3 turn").total, 6);
        assert_eq!(found("turn").total, 30);
        assert!(!found("turn").rebuilt);

        // Without the end, a search writes what the batches left, and finds it.
        for i in 5..8 {
            block_on(v.import_conversations(vec![conv(&format!("c{i}"), 6)])).unwrap();
        }
        let out = found("c6 turn");
        assert_eq!((out.total, out.rebuilt), (6, false));
        assert!(!index_keys().contains(&"p".to_owned()));
    }

    #[test]
    fn a_worker_stopped_during_an_import_rebuilds_the_index_and_finds_every_message() {
        let v = Vault::new(MemoryStore::new());
        block_on(v.create("correct horse battery staple", KdfParams::MINIMUM, 1)).unwrap();
        block_on(v.import_conversations(vec![conv("before", 4)])).unwrap();
        block_on(v.finish_import()).unwrap();
        for i in 0..3 {
            block_on(v.import_conversations(vec![conv(&format!("c{i}"), 6)])).unwrap();
        }
        // The worker stops: only what was written survives.
        let store = MemoryStore::new();
        for (name, key, value) in v.store().raw() {
            store.put_raw(name, &key, value);
        }
        let restarted = Vault::new(store);
        block_on(restarted.unlock("correct horse battery staple")).unwrap();
        let out = block_on(restarted.search("turn", 50)).unwrap();
        assert!(out.rebuilt, "the marker says the index is behind");
        assert_eq!(out.total, 22);
        assert_eq!(block_on(restarted.search("c2 turn", 50)).unwrap().total, 6);
    }
}

#[cfg(test)]
mod search_tests {
    use super::test_support::{snapshot, unlocked as vault};
    use super::*;
    use pollster::block_on;

    fn snap(id: &str, texts: &[&str]) -> Snapshot {
        let mut s = snapshot(Site::Perplexity, id, texts);
        s.title = format!("Notes {id}");
        s
    }

    #[test]
    fn a_captured_word_is_found_with_its_conversation_and_a_marked_snippet() {
        let v = vault();
        block_on(v.capture(&snap("a", &["how do pangolins sleep", "curled up in burrows"]), 1)).unwrap();
        block_on(v.capture(&snap("b", &["tea in kyoto", "try Uji"]), 2)).unwrap();
        let out = block_on(v.search("pangolins", 10)).unwrap();
        assert_eq!(out.total, 1);
        assert_eq!(out.results.len(), 1);
        let hit = &out.results[0];
        assert_eq!(hit.title, "Notes a");
        assert_eq!(hit.site, Site::Perplexity);
        assert_eq!(hit.hits[0].role, Role::User);
        let (s, e) = hit.hits[0].ranges[0];
        let utf16: Vec<u16> = hit.hits[0].snippet.encode_utf16().collect();
        assert_eq!(String::from_utf16(&utf16[s..e]).unwrap(), "pangolins");
        assert!(block_on(v.get_conversation(&hit.conversation_id)).is_ok());
        // Typing: a prefix of the last word finds it too; later captures are found at once.
        assert_eq!(block_on(v.search("kyo", 10)).unwrap().results[0].title, "Notes b");
        block_on(v.capture(&snap("b", &["tea in kyoto", "try Uji", "and matcha"]), 3)).unwrap();
        assert_eq!(block_on(v.search("matcha", 10)).unwrap().total, 1);
    }

    #[test]
    fn a_deleted_conversation_is_no_longer_found() {
        let v = vault();
        let id = block_on(v.capture(&snap("a", &["zeppelin facts"]), 1)).unwrap().id.unwrap();
        assert_eq!(block_on(v.search("zeppelin", 10)).unwrap().total, 1);
        block_on(v.delete_conversation(&id)).unwrap();
        assert_eq!(block_on(v.search("zeppelin", 10)).unwrap().total, 0);
    }

    #[test]
    fn a_damaged_index_is_rebuilt_from_the_records_and_the_person_is_told() {
        let v = vault();
        block_on(v.capture(&snap("a", &["quasar brightness", "very bright"]), 1)).unwrap();
        v.lock();
        for (store, key, mut value) in v.store().raw() {
            if store == StoreName::Index {
                let last = value.len() - 1;
                value[last] ^= 1;
                v.store().put_raw(store, &key, value);
            }
        }
        block_on(v.unlock("correct horse battery staple")).unwrap();
        let out = block_on(v.search("quasar", 10)).unwrap();
        assert!(out.rebuilt);
        assert_eq!(out.total, 1);
        assert!(!block_on(v.search("quasar", 10)).unwrap().rebuilt);
    }

    #[test]
    fn conversations_stored_before_the_index_existed_are_indexed_on_first_search() {
        let v = vault();
        block_on(v.capture(&snap("a", &["nebula photos"]), 1)).unwrap();
        let index_keys: Vec<String> = v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).map(|(_, k, _)| k).collect();
        for k in index_keys {
            v.store().data_for_tests().remove(&(StoreName::Index, k));
        }
        v.lock();
        block_on(v.unlock("correct horse battery staple")).unwrap();
        let out = block_on(v.search("nebula", 10)).unwrap();
        assert!(out.rebuilt);
        assert_eq!(out.total, 1);
    }

    #[test]
    fn bad_queries_answer_or_hint_and_never_fail() {
        let v = vault();
        block_on(v.capture(&snap("a", &["something"]), 1)).unwrap();
        for q in ["", "\"unbalanced", "site:nowhere x", "before:2026-13-45 something", &"x".repeat(10_000)] {
            assert!(block_on(v.search(q, 10)).is_ok(), "{q:.40}");
        }
        assert_eq!(block_on(v.search("anything", 10)).map(|_| ()), Ok(()));
        v.lock();
        assert_eq!(block_on(v.search("something", 10)).unwrap_err(), VaultError::Locked);
    }
}



#[cfg(test)]
mod recent_tests {
    use super::test_support::{snapshot, unlocked as vault};
    use super::*;
    use crate::model::Role;
    use crate::store::memory::MemoryStore;
    use pollster::block_on;

    fn conv(id: usize, updated_at: i64) -> Conversation {
        Conversation {
            site: Site::ChatGpt,
            conversation_id: format!("c{id}"),
            title: format!("Chat {id} at {updated_at}"),
            url: format!("https://chatgpt.com/c/c{id}"),
            model: None,
            created_at: 1,
            updated_at,
            messages: vec![Message::new(Role::User, format!("hello {id}"))],
        }
    }

    fn top(v: &Vault<MemoryStore>) -> Vec<ConversationSummary> {
        let mut all = block_on(v.list_conversations()).unwrap().conversations;
        all.truncate(RECENT_LEN);
        all
    }

    fn has_record(v: &Vault<MemoryStore>) -> bool {
        v.store().raw().iter().any(|(s, k, _)| *s == StoreName::Meta && k == RECENT_KEY)
    }

    #[test]
    fn the_recent_list_always_equals_the_start_of_the_full_list() {
        let v = vault();
        let mut seed = 12345u64;
        let mut rand = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let (mut kept, mut rebuilt) = (0, 0);
        for step in 0..400 {
            let id = rand(80) as usize;
            match rand(10) {
                // Stored whole, at any time (also earlier than before).
                0..=3 => drop(block_on(v.put_conversation(&conv(id, rand(1000) as i64))).unwrap()),
                // Captured now: moves to the front.
                4..=5 => {
                    let snap = snapshot(Site::Perplexity, &format!("p{id}"), &["a question", "an answer"]);
                    block_on(v.capture(&snap, 1000 + step)).unwrap();
                }
                6..=7 => {
                    let batch = (0..3).map(|i| conv((id + i * 7) % 80, rand(1200) as i64)).collect();
                    block_on(v.import_conversations(batch)).unwrap();
                }
                _ => {
                    if let Some(c) = block_on(v.list_conversations()).unwrap().conversations.get(rand(5) as usize) {
                        block_on(v.delete_conversation(&c.id)).unwrap();
                    }
                }
            }
            if has_record(&v) { kept += 1 } else { rebuilt += 1 }
            let recent = block_on(v.recent_conversations(RECENT_LEN)).unwrap().conversations;
            assert_eq!(recent, top(&v), "after step {step}");
            assert!(has_record(&v));
        }
        // Most writes kept the list up to date (this mix moves conversations back in time
        // and deletes from the top far more than people do).
        assert!(rebuilt > 0, "the mix should also drop the list now and then");
        assert!(kept > rebuilt * 2, "kept {kept}, rebuilt {rebuilt}");
    }

    #[test]
    fn a_new_vault_keeps_its_recent_list_from_the_first_write() {
        let v = vault();
        assert!(has_record(&v));
        let batch = (0..60).map(|i| conv(i, i as i64)).collect();
        block_on(v.import_conversations(batch)).unwrap();
        assert!(has_record(&v), "an import into a new vault keeps the list");
        let recent = block_on(v.recent_conversations(3)).unwrap().conversations;
        assert_eq!(recent.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), ["c59", "c58", "c57"]);
    }

    #[test]
    fn the_recent_list_is_sealed_and_the_popup_gets_only_what_it_asks() {
        let v = vault();
        for i in 0..5 {
            block_on(v.put_conversation(&conv(i, i as i64))).unwrap();
        }
        let two = block_on(v.recent_conversations(2)).unwrap().conversations;
        assert_eq!(two.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), ["c4", "c3"]);
        let raw = v.store().raw().into_iter().find(|(s, k, _)| *s == StoreName::Meta && k == RECENT_KEY).unwrap().2;
        assert!(!String::from_utf8_lossy(&raw).contains("Chat 4"));
    }
}
