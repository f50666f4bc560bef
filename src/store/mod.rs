//! Where sealed bytes live. The vault sees only this trait; `memory` serves native
//! tests, `indexeddb` the browser.
//!
//! Every value a Store holds is already sealed (or, in `meta`, public parameters);
//! keys are opaque strings (hex HMACs), so the store never learns ids or titles.

#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
pub mod memory;

use thiserror::Error;

/// The object stores of schema version 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreName {
    /// Public vault parameters and the wrapped data key.
    Meta,
    /// One sealed record a conversation (title, site, url, dates).
    Conversations,
    /// Sealed blocks of up to 16 consecutive messages of a conversation, keyed
    /// `conversationKey:blockKey` (see the vault's records facet).
    Messages,
    /// Captures sealed to the vault's public key while it was locked.
    Inbox,
    /// Sealed search-index segments.
    Index,
}

impl StoreName {
    pub const ALL: [StoreName; 5] =
        [StoreName::Meta, StoreName::Conversations, StoreName::Messages, StoreName::Inbox, StoreName::Index];

    pub fn as_str(self) -> &'static str {
        match self {
            StoreName::Meta => "meta",
            StoreName::Conversations => "conversations",
            StoreName::Messages => "messages",
            StoreName::Inbox => "inbox",
            StoreName::Index => "index",
        }
    }
}

/// One write of an atomic batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put {
        store: StoreName,
        key: String,
        value: Vec<u8>,
    },
    Delete {
        store: StoreName,
        key: String,
    },
    /// Deletes every key that starts with `prefix`.
    DeletePrefix {
        store: StoreName,
        prefix: String,
    },
    /// A record still to be sealed: the vault turns it into a `Put` of its envelope,
    /// all of a batch's at once, before the write (the vault's single write path). A store refuses a
    /// batch that still holds one, so plaintext is never stored.
    Seal {
        store: StoreName,
        key: String,
        plain: Plain,
    },
}

impl Op {
    /// Whether a store may write this batch (no `Seal` left in it).
    pub fn all_sealed(ops: &[Op]) -> bool {
        !ops.iter().any(|op| matches!(op, Op::Seal { .. }))
    }
}

/// A record's plaintext, wiped when dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Plain(pub zeroize::Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plain({} bytes)", self.0.len())
    }
}

#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum StoreError {
    #[error("the database could not be opened ({0})")]
    Open(String),
    #[error("the database was written by a newer version (schema {found}, this version knows {known})")]
    NewerSchema { found: u32, known: u32 },
    #[error("reading failed ({0})")]
    Read(String),
    #[error("saving failed and nothing was changed ({0})")]
    Write(String),
    #[error("the browser's storage is full; free some disk space and try again")]
    QuotaExceeded,
}

/// A key-value store of byte records in named stores, with atomic batches.
#[allow(async_fn_in_trait)]
pub trait Store {
    async fn get(&self, store: StoreName, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Several records at once, in the order of `keys` (the browser runs the reads
    /// together instead of one after another).
    async fn get_many(&self, store: StoreName, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(store, key).await?);
        }
        Ok(out)
    }
    /// Every record whose key starts with `prefix` ("" for all), in key order.
    async fn get_prefix(&self, store: StoreName, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    async fn count(&self, store: StoreName) -> Result<u32, StoreError>;
    /// Applies every op or none.
    async fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError>;
}

/// The exclusive upper bound of keys starting with `prefix`: keys are ASCII, so
/// appending U+FFFF sorts after every one of them.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = String::with_capacity(prefix.len() + 3);
    end.push_str(prefix);
    end.push('\u{ffff}');
    end
}
