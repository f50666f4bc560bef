//! End-to-end encrypted sync (issue #15): the byte formats of the objects a sync
//! folder holds, their names, the order and link checks of each device's history, the
//! convergent merge, and the compaction lock. Pure: no store, no network. The vault's
//! `sync` facet keeps the state and writes through the single write path; the HTTP
//! (WebDAV) side lives in the extension.
//!
//! # The folder
//!
//! One folder the person owns; every object in it is opaque:
//!
//! | object | name | holds | written |
//! |---|---|---|---|
//! | meta | `meta` (fixed: read before any key exists) | [`format::ServerMeta`]: the vault's public meta record (KDF parameters, salt, wrapped data key, public key, sealed private key), the vault id, a proof | once, `If-None-Match: *` |
//! | device record | [`names::device`] (slot 0, 1, ...) | [`format::DeviceRecord`], sealed: a device's id, label, head, the compaction epoch it knows (version 2) | by its device; a slot is claimed with `If-None-Match: *` |
//! | segment | [`names::segment`] (device, seq) | [`format::SegmentBody`], sealed: one device's changes | once, immutable |
//! | snapshot | [`names::snapshot`] (epoch) | [`format::SnapshotBody`], sealed: every conversation folded, and what it covers | by the lock holder |
//! | lock | [`names::lock`] | [`format::LockBody`], sealed: holder and expiry | `If-None-Match: *` / `If-Match: <etag>` |
//!
//! Names are HMACs under the folder's name key (`crypto::sync_keys`): they say nothing
//! of devices, sequence numbers or conversations. Sizes and times of objects are
//! visible to the server, as the number and size of records are to someone with the
//! disk.
//!
//! # What is refused, and how
//!
//! Every sealed object's associated data names the vault id, its kind and where it
//! belongs (the device and sequence number of a segment, the epoch of a snapshot, the
//! slot of a device record): the reader rebuilds it from the name it asked for, so an
//! object **moved** to another name, or **swapped in from another vault** (another
//! vault id, or another data key), does not open. A device's segments are numbered
//! 1, 2, 3... and each carries the hash of the previous one ([`chain`]): a segment
//! **replayed** (a number already applied) is a no-op; one that comes **out of order**
//! (a number past the next) is refused until the missing ones are applied; one whose
//! link does not match what was applied (a **fork**: a device restored from a backup
//! pushing again under old numbers) is refused. A device's record names its head (last
//! number and hash): a history **truncated** on the server (the next segment missing
//! while the head is further, and no snapshot covering it) is reported, and a record
//! **rolled back** to an older head than one already seen is refused.

pub mod chain;
pub mod format;
pub mod lock;
pub mod merge;
pub mod names;

#[cfg(test)]
mod convergence_tests;

use thiserror::Error;

pub use merge::{resolve, DeviceId, Entry, Folded, Known, Register, Written};

/// What can go wrong with a sync object. Never carries keys or plaintext.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum SyncError {
    /// Not an object of this kind (magic, kind byte) or malformed inside.
    #[error("a file in the sync folder is not in a format Threadkeeper knows ({0})")]
    Format(&'static str),
    /// A version byte this build does not know.
    #[error(
        "a file in the sync folder was written by a newer version of Threadkeeper (format {0}); update the extension"
    )]
    NewerVersion(u8),
    /// The object did not open: changed, moved to another name, or from another vault.
    #[error("a file in the sync folder was changed, moved or belongs to another vault ({0}); it was refused")]
    Refused(&'static str),
    /// The segment's link to the previous one does not match what was applied.
    #[error("a device's history in the sync folder forks (a device restored from a backup?); it was refused")]
    Fork,
    /// A device record names an older head than one already seen.
    #[error("the sync folder serves an older state of a device than it did before; it was refused")]
    RolledBack,
    /// The next segment of a device is missing while its head is further.
    #[error("part of a device's history is missing from the sync folder")]
    Truncated,
}

impl SyncError {
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Format(_) | SyncError::Refused(_) => "sync_refused",
            SyncError::NewerVersion(_) => "newer_version",
            SyncError::Fork => "sync_fork",
            SyncError::RolledBack => "sync_rolled_back",
            SyncError::Truncated => "sync_truncated",
        }
    }
}

impl crate::error::Coded for SyncError {
    fn code(&self) -> &'static str {
        SyncError::code(self)
    }
}

/// The wall clock, in milliseconds since the epoch: the time of a device's change
/// (a tombstone wins over writes made before it, by the writers' clocks).
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }
}
