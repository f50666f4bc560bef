//! The vault: lock state and the operations people do, over any [`Store`].
//!
//! One [`Vault`], its `impl` split by facet:
//!
//! - `records`: what is stored, and in which format (the module docs list every record);
//! - `lock`: creating, unlocking and locking the vault, its keys and passphrase;
//! - `rekey`: re-encrypting everything under a new data key;
//! - `write`: the one path every change takes to the store (`write::Change`, `Vault::commit`),
//!   which keeps the message total, the recent list and the search index with the records;
//! - `conversations`: reading, listing, storing and deleting conversations;
//! - `recent_list`: the sealed list of the most recently updated conversations;
//! - `capture`: snapshots and threads from the pages, merged while unlocked;
//! - `inbox`: captures sealed while locked, merged at the next unlock;
//! - `import`: conversations read from an export file;
//! - `search`: queries over the index, and its rebuild;
//! - `limits`: the sizes the vault accepts, and the checks of its input;
//! - `strength`: the passphrase-strength hint of onboarding;
//! - `sync`: end-to-end encrypted sync through a folder the person owns (issue #15).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Serialize;

use crate::crypto::bulk::BulkSealer;
use crate::crypto::keys::DataKey;
use crate::crypto::sealed_box::BoxKeyPair;
use crate::error::VaultError;
use crate::model::Conversation;
use crate::search::PersistentIndex;
use crate::store::{Store, StoreName};

mod capture;
mod conversations;
mod import;
mod inbox;
mod limits;
mod lock;
mod recent_list;
mod records;
mod rekey;
mod search;
#[cfg(test)]
mod search_meaning_tests;
mod strength;
mod sync;
#[cfg(test)]
mod test_support;
mod write;

pub use capture::CaptureOutcome;
pub use conversations::ConversationList;
pub use import::ImportReport;
pub use inbox::InboxReport;
pub use limits::{
    MAX_ID_BYTES, MAX_MESSAGES_PER_CONVERSATION, MAX_MESSAGE_BYTES, MAX_PASSPHRASE_BYTES, MAX_SNAPSHOT_MESSAGES,
    MIN_PASSPHRASE_CHARS,
};
pub use recent_list::RECENT_LEN;
pub use records::{ConversationRecord, MessageBlock, BLOCK_LEN, META_FORMAT};
pub use rekey::{ReencryptPhase, ReencryptReport};
pub use search::{FoundConversation, FoundMessage, SearchOutcome};
pub use strength::{passphrase_strength, PassphraseStrength};
pub use sync::{
    DeviceView, ListedDevice, LockRenewal, LockStep, SegmentApplied, SyncObject, SyncServer, SyncSetup, SyncStatus,
};

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

/// The keys of an unlocked vault.
struct Unlocked {
    data: DataKey,
    /// Opens captures sealed while the vault was locked (the inbox).
    box_pair: BoxKeyPair,
    /// Seals each write's records at once (in the browser, with WebCrypto).
    sealer: BulkSealer,
}

pub struct Vault<S: Store> {
    store: S,
    unlocked: RefCell<Option<Rc<Unlocked>>>,
    /// The conversation captured last, under its key, so a stream of snapshots of one
    /// chat does not decrypt it again each time. Dropped by every other write and on lock.
    last_captured: RefCell<Option<(String, Conversation)>>,
    /// The search index, opened on first use after unlock (only its small manifest is
    /// read then; chunks load as queries need them). Dropped on lock.
    index: RefCell<Option<PersistentIndex>>,
    /// Recall by meaning's model, once handed over ([`Vault::set_meaning_model`]).
    meaning_model: RefCell<Option<std::sync::Arc<crate::search::meaning::Model>>>,
    /// A re-encryption is under way: every other write waits (see `rekey`).
    rekeying: Cell<bool>,
    /// Whether sync is set up, once known (`None`: not read yet). Only a hint that
    /// spares the write path a read when sync is off (see `sync`).
    sync_on: Cell<Option<bool>>,
}

impl<S: Store> Vault<S> {
    pub fn new(store: S) -> Self {
        Vault {
            store,
            unlocked: RefCell::new(None),
            last_captured: RefCell::new(None),
            index: RefCell::new(None),
            meaning_model: RefCell::new(None),
            rekeying: Cell::new(false),
            sync_on: Cell::new(None),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn is_unlocked(&self) -> bool {
        self.unlocked.borrow().is_some()
    }

    /// Whether the vault exists and is unlocked, and what it holds.
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

    /// The keys, or [`VaultError::Locked`].
    fn keys(&self) -> Result<Rc<Unlocked>, VaultError> {
        self.unlocked.borrow().clone().ok_or(VaultError::Locked)
    }
}

/// The error of a failed source of randomness (and of sealing, which needs it).
fn random_error<E>(_: E) -> VaultError {
    VaultError::Random
}
