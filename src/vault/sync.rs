//! Sync: the vault's side of end-to-end encrypted sync through a folder the person
//! owns (issue #15). The formats, names, checks and the merge are in [`crate::sync`];
//! this facet keeps the state and writes through the single write path. The HTTP side
//! (WebDAV, conditional requests) belongs to the extension: every function here takes
//! and returns the objects' bytes and names.
//!
//! # Records (store `meta`, all sealed under the record key but the pending segment)
//!
//! - `meta/"sync"`: [`SyncRecord`]: the folder's vault id, this device's id, slot and
//!   label, its head (last segment pushed), per other device the cursor (last segment
//!   applied, its hash) and the highest head seen in its record, the snapshot epoch
//!   applied, what it covers and when it was made, and the device list (each device's
//!   slot, label, head and when its record was last written, as read at the last sync),
//!   and the highest compaction epoch a device record named.
//!   Present only while sync is set up.
//! - `meta/"sync-outbox"`: the conversations changed here since the last push (store
//!   key -> time of the last change, deleted or not), kept by `Vault::commit` in the
//!   same atomic write as the change itself.
//! - `meta/"sync-pending"`: the older sealed segment not confirmed yet, until the folder
//!   has it ([`Vault::sync_confirm_push`]), and `meta/"sync-pending-next"` the one sealed
//!   after it while it uploaded ([`Vault::sync_seal_next`]; at most these two): a push is
//!   sealed once and uploaded until it lands, so a number is never sealed twice with
//!   different content. Their numbers are the last sealed (`-next`, or the older alone)
//!   and the one before.
//! - `meta/"sync-meta-stale"`: a flag (one plain byte, no content): the passphrase
//!   changed here since the folder's `meta` object was written, so the folder's still
//!   wraps the key under the old one; the next sync writes the new one
//!   ([`Vault::sync_meta_update`]) and the flag goes.
//! - `meta/"sync.k.<K>"`: the [`Known`] of conversation `K`: the base of the last
//!   snapshot and each device's latest entry since.
//!
//! With sync off none of these exist and nothing else changes in what is stored. No
//! new object store: the schema is unchanged.
//!
//! # Flow (what the extension does)
//!
//! 1. Set up ([`Vault::sync_setup`]) on the first device: create `meta` and the device
//!    record of slot 0 with `If-None-Match: *`. Every stored conversation is queued.
//!    Join ([`Vault::sync_join`]) on another: read `meta`, ask the passphrase, claim the
//!    first free slot (`If-None-Match: *`; on 412 ask [`Vault::sync_device_record`] for
//!    the next slot).
//! 2. Pull: read device records slot 0, 1, ... until one is missing, each through
//!    [`Vault::sync_note_device`]; read the newest snapshot past the epoch applied
//!    ([`Vault::sync_apply_snapshot`]); for each device, read segment `cursor + 1`
//!    ([`Vault::sync_segment_name`]) and apply it ([`Vault::sync_apply_segment`]) until
//!    one is missing, then [`Vault::sync_check_missing`].
//! 3. Push: [`Vault::sync_prepare_push`], `PUT` with `If-None-Match: *` (a 412 whose
//!    body is the same bytes is success) while [`Vault::sync_seal_next`] seals the next,
//!    then [`Vault::sync_confirm_push`]; again with the next until none (each segment
//!    holds at most [`SEGMENT_CAP`] of plaintext); then `PUT` this device's record with
//!    `If-Match`. After a passphrase change here,
//!    [`Vault::sync_meta_update`] gives the `meta` object to write over the folder's.
//! 4. Compact, now and then: [`Vault::sync_lock`] until it says take and the `PUT`
//!    succeeds; [`Vault::sync_make_snapshot`]; `PUT` it; apply it; delete what it
//!    lists as obsolete; `DELETE` the lock with `If-Match`. Meanwhile, every few
//!    seconds, [`Vault::sync_renew_lock`]: renew it when due, stop at once (nothing more
//!    written, applied or deleted, the lock left alone) when it says lost.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::conversations::Stored;
use super::limits::MAX_PASSPHRASE_BYTES;
use super::recent_list::recent_list_put;
use super::records::{record_from, record_put, MetaRecord, META_FORMAT, META_KEY, PRIVATE_KEY_SLOT};
use super::write::Change;
use super::{random_error, Unlocked, Vault};
use crate::crypto::bulk::BulkSealer;
use crate::crypto::kdf::{derive_kek, SALT_LEN};
use crate::crypto::keys::DataKey;
use crate::crypto::make_random;
use crate::crypto::sealed_box::BoxKeyPair;
use crate::crypto::sync_keys::SyncKeys;
use crate::crypto::CryptoError;
use crate::error::VaultError;
use crate::model::Conversation;
use crate::search::Embedding;
use crate::store::{Op, Store, StoreName};
use crate::sync::chain::{self, Order};
use crate::sync::format::{self, hex_bytes, Cover, DeviceRecord, Head, KeyedEntry, KeyedFolded, Place};
use crate::sync::format::{LockBody, SegmentBody, ServerMeta, SnapshotBody};
use crate::sync::lock::{self as sync_lock, Condition, LockDecision, Renewal};
use crate::sync::merge::{hex, parse_hex};
use crate::sync::{names, now_ms, resolve, DeviceId, Entry, Folded, Known, SyncError};

const SYNC_KEY: &str = "sync";
const OUTBOX_KEY: &str = "sync-outbox";
const PENDING_KEY: &str = "sync-pending";
const PENDING_NEXT_KEY: &str = "sync-pending-next";
const META_STALE_KEY: &str = "sync-meta-stale";
const KNOWN_PREFIX: &str = "sync.k.";
const SYNC_FORMAT: u32 = 1;
/// The most plaintext (JSON) a segment holds, but for a single conversation bigger than
/// this, which goes alone: servers cap request bodies (nginx in front of Nextcloud:
/// 1 MiB by default, raised by its guides to gigabytes; many NAS: tens of MiB), and a
/// first push of 100k messages as one object (about 100 MiB) fails in browsers' own
/// plumbing. 4 MiB is about 4,000 messages of ordinary chats.
pub const SEGMENT_CAP: usize = 4 << 20;
/// How many conversations a push reads at a time while filling a segment.
const READ_BATCH: usize = 64;

/// What `meta/"sync"` holds, sealed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncRecord {
    format: u32,
    #[serde(with = "hex_bytes")]
    vault_id: [u8; 16],
    #[serde(with = "hex_bytes")]
    device: DeviceId,
    slot: u32,
    label: String,
    created_at: i64,
    /// This device's last segment.
    pushed: Head,
    /// Per other device (hex id): the last segment applied.
    cursors: BTreeMap<String, Head>,
    /// Per other device: the highest head its record named.
    heads: BTreeMap<String, Head>,
    /// The snapshot applied last (0: none) and how far it covers each device.
    epoch: u64,
    covers: BTreeMap<String, u64>,
    /// When the snapshot applied last was made (by its maker's clock; 0: none).
    #[serde(default)]
    snapshot_at: i64,
    /// Every device whose record was read last in the folder (hex id), this one too: the
    /// device list, kept between syncs (written before this field: learnt again at the
    /// next sync).
    #[serde(default)]
    devices: BTreeMap<String, KnownDevice>,
    /// The highest compaction epoch a device record named (device records version 2):
    /// the folder's newest snapshot is at least there.
    #[serde(default)]
    folder_epoch: u64,
    /// Where the folder is and how to sign in to it (the extension's WebDAV client uses
    /// it): sealed with the rest of this record, so usable only while unlocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server: Option<SyncServer>,
}

/// The folder's address and the credentials of its server (WebDAV: an app password).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncServer {
    pub url: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SyncServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncServer").field("url", &self.url).field("username", &self.username).finish_non_exhaustive()
    }
}

/// A device of the folder as its record said last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KnownDevice {
    slot: u32,
    label: String,
    /// When its record was written last (after its last push), by its clock.
    seen: i64,
    head: u64,
}

/// A device in [`SyncStatus::devices`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedDevice {
    pub device: String,
    pub label: String,
    /// When its record was written last (milliseconds since the epoch, by its clock).
    pub last_seen: i64,
    /// Its last segment in the folder, and the last applied here (this device: pushed).
    pub head: u64,
    pub applied: u64,
    pub own: bool,
}

/// The longest server address, user name and password kept.
const MAX_SERVER_FIELD: usize = 2048;

/// One change not pushed yet.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Outgoing {
    at: i64,
    deleted: bool,
}

type Outbox = BTreeMap<String, Outgoing>;

/// An object to write to the folder: its name and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncObject {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What setting sync up gives to write: the meta object (`If-None-Match: *`) and this
/// device's record in slot 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSetup {
    pub meta: SyncObject,
    pub device: SyncObject,
}

/// Where sync stands on this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub device: String,
    pub slot: u32,
    pub label: String,
    pub pushed: u64,
    /// Conversations changed here since the last push.
    pub outbox: usize,
    /// A sealed segment waits for the folder to take it.
    pub pending: bool,
    /// The passphrase changed here; the folder's `meta` object is to be written again.
    pub meta_stale: bool,
    /// Per other device: the last segment applied.
    pub applied: BTreeMap<String, u64>,
    pub epoch: u64,
    /// Where the folder's newest snapshot is at least: the highest epoch a device record
    /// named (a reader goes there directly, however many compactions it missed).
    pub folder_epoch: u64,
    /// Segments applied or pushed here that the snapshot applied last does not cover
    /// (what a compaction would make obsolete, the previous snapshot aside).
    pub since_snapshot: u64,
    /// When the snapshot applied last was made (0: none yet).
    pub snapshot_at: i64,
    /// The folder's devices as their records said at the last sync (kept in this
    /// record, so known at once after the worker restarts).
    pub devices: Vec<ListedDevice>,
}

/// What a device record says, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub device: String,
    pub label: String,
    pub head: u64,
    /// The last of its segments applied here (this device: the last pushed).
    pub applied: u64,
    /// This device's own record.
    pub own: bool,
}

/// What applying a segment or a snapshot did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum SegmentApplied {
    /// Merged: how many conversations it wrote and deleted here.
    Applied { written: usize, deleted: usize },
    /// Applied before (a replay, or covered by a snapshot): nothing changed.
    AlreadyApplied,
    /// Segments are missing before it: apply `expected` first. Nothing changed.
    Gap { expected: u64 },
}

/// What to do about the compaction lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockStep {
    /// Write `bytes` to `name` with the condition (`None`: `If-None-Match: *`;
    /// `Some(etag)`: `If-Match: etag`).
    Take { name: String, if_match: Option<String>, bytes: Vec<u8> },
    /// Another device holds it until `until`.
    Wait { until: i64 },
}

/// What the holder of the compaction lock does about it while it compacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockRenewal {
    /// Nothing yet.
    NotDue,
    /// Read the folder's lock and ask again with it.
    Due,
    /// Write `bytes` to `name` `If-Match: if_match`, read it back; hold `bytes` from then.
    Renew { name: String, if_match: String, bytes: Vec<u8> },
    /// Not ours any more: stop compacting, delete nothing, leave the lock alone.
    Lost,
}

fn sync_error(e: SyncError) -> VaultError {
    match e {
        SyncError::NewerVersion(_) => VaultError::NewerVersion,
        other => VaultError::Damaged(other.to_string()),
    }
}

fn not_set_up() -> VaultError {
    VaultError::InvalidInput("Sync is not set up on this device.".into())
}

fn device_id(hex_id: &str) -> Result<DeviceId, VaultError> {
    parse_hex(hex_id).ok_or_else(|| VaultError::InvalidInput("not a device id".into()))
}

fn known_key(k: &str) -> String {
    format!("{KNOWN_PREFIX}{k}")
}

impl SyncRecord {
    fn keys(&self, unlocked: &Unlocked) -> SyncKeys {
        SyncKeys::derive(&unlocked.data, &self.vault_id)
    }

    fn device_record(&self, now: i64) -> DeviceRecord {
        DeviceRecord {
            device: self.device,
            slot: self.slot,
            label: self.label.clone(),
            created_at: self.created_at,
            head: self.pushed,
            updated_at: now,
            epoch: self.epoch,
        }
    }
}

impl<S: Store> Vault<S> {
    // ----- the records -----

    async fn read_sealed<T: for<'de> Deserialize<'de>>(
        &self,
        keys: &Unlocked,
        key: &str,
    ) -> Result<Option<T>, VaultError> {
        match self.store.get(StoreName::Meta, key).await? {
            Some(sealed) => {
                Ok(Some(record_from(keys.data.open_record(StoreName::Meta.as_str(), key, &sealed), "the sync state")?))
            }
            None => Ok(None),
        }
    }

    async fn sync_record(&self, keys: &Unlocked) -> Result<SyncRecord, VaultError> {
        let rec: SyncRecord = self.read_sealed(keys, SYNC_KEY).await?.ok_or_else(not_set_up)?;
        if rec.format > SYNC_FORMAT {
            return Err(VaultError::NewerVersion);
        }
        Ok(rec)
    }

    async fn outbox(&self, keys: &Unlocked) -> Outbox {
        self.read_sealed(keys, OUTBOX_KEY).await.ok().flatten().unwrap_or_default()
    }

    /// The write that records `written` and `deleted` conversations in the outbox, for
    /// `Vault::commit`; `None` when sync is off (or its state does not open: then sync
    /// reports the damage, and the vault's own write goes on).
    pub(super) async fn outbox_op<'a>(
        &self,
        keys: &Unlocked,
        written: impl Iterator<Item = &'a str>,
        deleted: &[String],
    ) -> Option<Op> {
        if self.sync_on.get() == Some(false) {
            return None;
        }
        let on = matches!(self.store.get(StoreName::Meta, SYNC_KEY).await, Ok(Some(_)));
        self.sync_on.set(Some(on));
        if !on {
            return None;
        }
        let mut outbox = self.outbox(keys).await;
        let at = now_ms();
        for k in written {
            outbox.insert(k.to_owned(), Outgoing { at, deleted: false });
        }
        for k in deleted {
            outbox.insert(k.clone(), Outgoing { at, deleted: true });
        }
        Some(record_put(StoreName::Meta, OUTBOX_KEY.into(), &outbox))
    }

    async fn read_known(&self, keys: &Unlocked, ks: &[String]) -> Result<Vec<Known>, VaultError> {
        let names: Vec<String> = ks.iter().map(|k| known_key(k)).collect();
        let sealed = self.store.get_many(StoreName::Meta, &names).await?;
        names
            .iter()
            .zip(sealed)
            .map(|(name, sealed)| match sealed {
                Some(s) => record_from(keys.data.open_record(StoreName::Meta.as_str(), name, &s), "the sync state"),
                None => Ok(Known::default()),
            })
            .collect()
    }

    /// The change that makes every conversation of `known` what its registers resolve to
    /// (this device's unpushed changes in `outbox` taking part), and writes the
    /// registers back; how many conversations it writes and deletes.
    async fn settle(
        &self,
        keys: &Unlocked,
        own: &DeviceId,
        known: BTreeMap<String, Known>,
        outbox: &Outbox,
        change: &mut Change,
    ) -> Result<(usize, usize), VaultError> {
        let ks: Vec<String> = known.keys().cloned().collect();
        let stored = self.read_stored(&ks).await?;
        let (mut written, mut deleted) = (0, 0);
        let mut delta = 0i64;
        for ((k, known), stored) in known.into_iter().zip(stored) {
            let (local, count) = match stored {
                Stored::Whole(c) => {
                    let n = c.messages.len() as i64;
                    (Some(c), n)
                }
                Stored::Partial(p) => {
                    let n = p.record.message_count as i64;
                    (Some(p.record.into_conversation(p.blocks.into_iter().flatten().flatten().collect())), n)
                }
                Stored::DamagedRecord(_) | Stored::Missing => (None, 0),
            };
            let pending = outbox.get(&k).map(|o| match (&local, o.deleted) {
                (Some(conv), false) => Entry::Write { at: o.at, conversation: conv.clone() },
                _ => Entry::Tombstone { deleted_at: o.at },
            });
            let folded = resolve(&known, own, pending.as_ref());
            match folded.write {
                Some(w) if local.as_ref() != Some(&w.conversation) => {
                    let conv = w.conversation;
                    change.ops.push(Op::DeletePrefix { store: StoreName::Messages, prefix: format!("{k}:") });
                    change.write_conversation(keys, &k, &conv, 0..conv.messages.len());
                    change.replaced.push(k.clone());
                    delta += conv.messages.len() as i64 - count;
                    written += 1;
                }
                Some(_) => {}
                None if count > 0
                    || local.is_some()
                    || self.store.get(StoreName::Conversations, &k).await?.is_some() =>
                {
                    change.ops.push(Op::Delete { store: StoreName::Conversations, key: k.clone() });
                    change.ops.push(Op::DeletePrefix { store: StoreName::Messages, prefix: format!("{k}:") });
                    change.deleted.push(k.clone());
                    delta -= count;
                    deleted += 1;
                }
                None => {}
            }
            change.ops.push(if known.is_empty() {
                Op::Delete { store: StoreName::Meta, key: known_key(&k) }
            } else {
                record_put(StoreName::Meta, known_key(&k), &known)
            });
        }
        change.message_delta = Some(change.message_delta.unwrap_or(0) + delta);
        Ok((written, deleted))
    }

    /// Checks that a conversation received is whole, within the limits and stored under
    /// its own key.
    fn check_received(keys: &Unlocked, k: &str, entry: &mut Entry) -> Result<(), VaultError> {
        if let Entry::Write { conversation, .. } = entry {
            check_conversation(keys, k, conversation)?;
        }
        Ok(())
    }

    // ----- setting up and joining -----

    /// Sets sync up on this (unlocked) vault, the first device of a folder: a new vault
    /// id and device id, every stored conversation queued for the first push.
    ///
    /// # Errors
    /// [`VaultError::Locked`]; [`VaultError::AlreadyExists`] when sync is set up already.
    pub async fn sync_setup(&self, label: &str, now: i64) -> Result<SyncSetup, VaultError> {
        let keys = self.keys()?;
        if self.store.get(StoreName::Meta, SYNC_KEY).await?.is_some() {
            return Err(VaultError::AlreadyExists);
        }
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let mut vault_id = [0u8; 16];
        make_random(&mut vault_id).map_err(random_error)?;
        let rec = new_record(vault_id, 0, label, now)?;
        let sk = rec.keys(&keys);
        let proof = sk.seal(&format::aad(format::Kind::Meta, &vault_id, &[]), &[]).map_err(random_error)?;
        let server = ServerMeta {
            vault_id,
            proof: B64.encode(proof),
            vault: serde_json::to_value(&meta).expect("meta serialises"),
        };
        let at = now_ms();
        let outbox: Outbox = self
            .store
            .get_prefix(StoreName::Conversations, "")
            .await?
            .into_iter()
            .map(|(k, _)| (k, Outgoing { at, deleted: false }))
            .collect();
        let device = self.device_object(&keys, &rec, now)?;
        let ops = vec![
            record_put(StoreName::Meta, SYNC_KEY.into(), &rec),
            record_put(StoreName::Meta, OUTBOX_KEY.into(), &outbox),
        ];
        self.write(&keys, ops).await?;
        self.sync_on.set(Some(true));
        Ok(SyncSetup { meta: SyncObject { name: names::META.into(), bytes: format::encode_meta(&server) }, device })
    }

    /// Joins the folder whose `meta` object was read, on a browser profile with no vault
    /// yet: the passphrase unwraps the folder's data key, the vault is created here from
    /// the folder's meta and left unlocked, and this device's record for `slot` is made.
    ///
    /// # Errors
    /// [`VaultError::WrongPassphrase`]; [`VaultError::AlreadyExists`] when a vault exists
    /// here; [`VaultError::Damaged`] for a meta object that is malformed or whose proof
    /// does not open with the unwrapped key (another vault's id); nothing is written then.
    pub async fn sync_join(
        &self,
        meta: &[u8],
        passphrase: &str,
        label: &str,
        slot: u32,
        now: i64,
    ) -> Result<SyncObject, VaultError> {
        if self.read_meta().await?.is_some() {
            return Err(VaultError::AlreadyExists);
        }
        let server = format::decode_meta(meta).map_err(sync_error)?;
        let damaged = || VaultError::Damaged("the sync folder's meta".into());
        let version = server.vault.get("format").and_then(serde_json::Value::as_u64).ok_or_else(damaged)?;
        if version > META_FORMAT as u64 {
            return Err(VaultError::NewerVersion);
        }
        let vault: MetaRecord = serde_json::from_value(server.vault.clone()).map_err(|_| damaged())?;
        vault.kdf.check().map_err(super::lock::kdf_error)?;
        if passphrase.len() > MAX_PASSPHRASE_BYTES {
            return Err(VaultError::WrongPassphrase);
        }
        let b64 = |s: &str| B64.decode(s).map_err(|_| damaged());
        let salt: [u8; SALT_LEN] = b64(&vault.salt)?.try_into().map_err(|_| damaged())?;
        let kek = derive_kek(passphrase, &salt, &vault.kdf).map_err(super::lock::kdf_error)?;
        let data = DataKey::unwrap(&kek, &b64(&vault.wrapped_key)?).map_err(|e| match e {
            CryptoError::Decrypt => VaultError::WrongPassphrase,
            _ => damaged(),
        })?;
        let sk = SyncKeys::derive(&data, &server.vault_id);
        sk.open(&format::aad(format::Kind::Meta, &server.vault_id, &[]), &b64(&server.proof)?)
            .map_err(|_| damaged())?;
        let secret = Zeroizing::new(
            data.open_record(StoreName::Meta.as_str(), PRIVATE_KEY_SLOT, &b64(&vault.sealed_private_key)?)
                .map_err(|_| damaged())?,
        );
        let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| damaged())?;
        let box_pair = BoxKeyPair::from_secret_bytes(secret);
        if B64.encode(box_pair.public) != vault.public_key {
            return Err(damaged());
        }
        let keys = Rc::new(Unlocked { data, box_pair, sealer: BulkSealer::new() });
        let rec = new_record(server.vault_id, slot, label, now)?;
        let device = self.device_object(&keys, &rec, now)?;
        let ops = vec![
            Op::Put {
                store: StoreName::Meta,
                key: META_KEY.into(),
                value: serde_json::to_vec(&vault).expect("meta serialises"),
            },
            recent_list_put(&[]),
            record_put(StoreName::Meta, SYNC_KEY.into(), &rec),
        ];
        self.write(&keys, ops).await?;
        self.sync_on.set(Some(true));
        *self.unlocked.borrow_mut() = Some(keys);
        Ok(device)
    }

    /// This device's record, to write after a push (`If-Match`) or to claim `slot` when
    /// the one it had was taken (`If-None-Match: *`).
    pub async fn sync_device_record(&self, slot: Option<u32>, now: i64) -> Result<SyncObject, VaultError> {
        let keys = self.keys()?;
        let mut rec = self.sync_record(&keys).await?;
        if let Some(slot) = slot.filter(|&s| s != rec.slot) {
            rec.slot = slot;
            self.write(&keys, vec![record_put(StoreName::Meta, SYNC_KEY.into(), &rec)]).await?;
        }
        self.device_object(&keys, &rec, now)
    }

    fn device_object(&self, keys: &Unlocked, rec: &SyncRecord, now: i64) -> Result<SyncObject, VaultError> {
        let sk = rec.keys(keys);
        let bytes = format::seal(&sk, &rec.vault_id, Place::Device { slot: rec.slot }, &rec.device_record(now))
            .map_err(random_error)?;
        Ok(SyncObject { name: names::device(&sk, rec.slot), bytes })
    }

    /// Whether sync is set up on this device (its sealed state is stored).
    pub(super) async fn sync_set_up(&self) -> Result<bool, VaultError> {
        Ok(self.store.get(StoreName::Meta, SYNC_KEY).await?.is_some())
    }

    /// Whether sync is set up on this device; needs no key (the record's presence).
    pub async fn sync_configured(&self) -> Result<bool, VaultError> {
        self.sync_set_up().await
    }

    /// Keeps the folder's server and credentials in the sealed sync record.
    ///
    /// # Errors
    /// [`VaultError::Locked`]; [`VaultError::InvalidInput`] when sync is not set up or a
    /// field is too long.
    pub async fn sync_set_server(&self, server: SyncServer) -> Result<(), VaultError> {
        let keys = self.keys()?;
        let mut rec = self.sync_record(&keys).await?;
        if [&server.url, &server.username, &server.password].iter().any(|f| f.len() > MAX_SERVER_FIELD) {
            return Err(VaultError::InvalidInput("The server address, user name or password is too long.".into()));
        }
        rec.server = Some(server);
        self.write(&keys, vec![record_put(StoreName::Meta, SYNC_KEY.into(), &rec)]).await
    }

    /// The folder's server and credentials, `None` when none was kept (or sync is off).
    pub async fn sync_server(&self) -> Result<Option<SyncServer>, VaultError> {
        let keys = self.keys()?;
        if !self.sync_set_up().await? {
            return Ok(None);
        }
        Ok(self.sync_record(&keys).await?.server)
    }

    /// Where sync stands; `None` when it is not set up.
    pub async fn sync_status(&self) -> Result<Option<SyncStatus>, VaultError> {
        let keys = self.keys()?;
        if self.store.get(StoreName::Meta, SYNC_KEY).await?.is_none() {
            return Ok(None);
        }
        let rec = self.sync_record(&keys).await?;
        let own = hex(&rec.device);
        Ok(Some(SyncStatus {
            device: hex(&rec.device),
            slot: rec.slot,
            label: rec.label.clone(),
            pushed: rec.pushed.seq,
            outbox: self.outbox(&keys).await.len(),
            pending: self.store.get(StoreName::Meta, PENDING_KEY).await?.is_some(),
            meta_stale: self.store.get(StoreName::Meta, META_STALE_KEY).await?.is_some(),
            applied: rec.cursors.iter().map(|(d, h)| (d.clone(), h.seq)).collect(),
            epoch: rec.epoch,
            folder_epoch: rec.folder_epoch,
            since_snapshot: rec
                .cursors
                .iter()
                .map(|(d, h)| (d.as_str(), h.seq))
                .chain(std::iter::once((own.as_str(), rec.pushed.seq)))
                .map(|(d, seq)| seq.saturating_sub(rec.covers.get(d).copied().unwrap_or(0)))
                .sum(),
            snapshot_at: rec.snapshot_at,
            devices: rec
                .devices
                .iter()
                .map(|(d, k)| {
                    let own = *d == own;
                    ListedDevice {
                        device: d.clone(),
                        label: k.label.clone(),
                        last_seen: k.seen,
                        head: k.head,
                        applied: if own { rec.pushed.seq } else { rec.cursors.get(d).map_or(0, |h| h.seq) },
                        own,
                    }
                })
                .collect(),
        }))
    }

    /// Stops syncing on this device: its sync state goes; the vault stays as it is.
    pub async fn sync_leave(&self) -> Result<(), VaultError> {
        let keys = self.keys()?;
        let mut ops: Vec<Op> = [SYNC_KEY, OUTBOX_KEY, PENDING_KEY, PENDING_NEXT_KEY, META_STALE_KEY]
            .iter()
            .map(|k| Op::Delete { store: StoreName::Meta, key: (*k).into() })
            .collect();
        ops.push(Op::DeletePrefix { store: StoreName::Meta, prefix: KNOWN_PREFIX.into() });
        self.write(&keys, ops).await?;
        self.sync_on.set(Some(false));
        Ok(())
    }

    // ----- the passphrase -----

    /// For `Vault::change_passphrase`, in the same write as the new meta record: the flag
    /// saying the folder's `meta` object wraps the key under the old passphrase (`None`
    /// while sync is off).
    pub(super) async fn meta_stale_op(&self) -> Result<Option<Op>, VaultError> {
        Ok(self.sync_set_up().await?.then(|| Op::Put {
            store: StoreName::Meta,
            key: META_STALE_KEY.into(),
            value: vec![1],
        }))
    }

    /// After a passphrase change here: the meta object to write over the folder's
    /// (`current`, its bytes as read), wrapping the key under the new passphrase; `None`
    /// when there is nothing to write (no change since, or the folder's already holds
    /// this vault's meta record as it is here: then the flag goes). Write it with
    /// `If-Match`, read it back and give it here again: `None` says it landed.
    ///
    /// # Errors
    /// [`VaultError::Damaged`] when `current` is not this vault's meta object.
    pub async fn sync_meta_update(&self, current: &[u8]) -> Result<Option<SyncObject>, VaultError> {
        let keys = self.keys()?;
        if self.store.get(StoreName::Meta, META_STALE_KEY).await?.is_none() {
            return Ok(None);
        }
        let rec = self.sync_record(&keys).await?;
        let sk = rec.keys(&keys);
        let there = format::decode_meta(current).map_err(sync_error)?;
        let aad = format::aad(format::Kind::Meta, &rec.vault_id, &[]);
        let proof = B64.decode(&there.proof).ok();
        if there.vault_id != rec.vault_id || proof.is_none_or(|p| sk.open(&aad, &p).is_err()) {
            return Err(sync_error(SyncError::Refused("the meta object of another vault")));
        }
        let meta = serde_json::to_value(self.read_meta().await?.ok_or(VaultError::NoVault)?).expect("meta serialises");
        if there.vault == meta {
            self.write(&keys, vec![Op::Delete { store: StoreName::Meta, key: META_STALE_KEY.into() }]).await?;
            return Ok(None);
        }
        let proof = sk.seal(&aad, &[]).map_err(random_error)?;
        let server = ServerMeta { vault_id: rec.vault_id, proof: B64.encode(proof), vault: meta };
        Ok(Some(SyncObject { name: names::META.into(), bytes: format::encode_meta(&server) }))
    }

    // ----- names -----

    /// The name of `device`'s segment `seq` (hex device id).
    pub async fn sync_segment_name(&self, device: &str, seq: u64) -> Result<String, VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        Ok(names::segment(&rec.keys(&keys), &device_id(device)?, seq))
    }

    /// The names of device record slot `slot` and of the snapshot of `epoch`.
    pub async fn sync_names(&self, slot: u32, epoch: u64) -> Result<(String, String), VaultError> {
        let keys = self.keys()?;
        let sk = self.sync_record(&keys).await?.keys(&keys);
        Ok((names::device(&sk, slot), names::snapshot(&sk, epoch)))
    }

    // ----- pushing -----

    /// The segment to write next: the one sealed before if the folder does not have it
    /// yet, else the changes since the last push sealed as a new one (`None`: nothing to
    /// push). A segment holds at most `SEGMENT_CAP` (4 MiB) of plaintext (a conversation
    /// bigger than that goes alone); what does not fit stays in the outbox for the next
    /// segment. Sealing it records this device's entries and takes them out of the
    /// outbox in one atomic write; write it with `If-None-Match: *`, then
    /// [`Vault::sync_confirm_push`], then ask again until this gives `None`.
    pub async fn sync_prepare_push(&self, now: i64) -> Result<Option<SyncObject>, VaultError> {
        self.prepare_push_capped(now, SEGMENT_CAP).await
    }

    pub(super) async fn prepare_push_capped(&self, now: i64, cap: usize) -> Result<Option<SyncObject>, VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        let sk = rec.keys(&keys);
        if let Some(bytes) = self.store.get(StoreName::Meta, PENDING_KEY).await? {
            let behind = u64::from(self.store.get(StoreName::Meta, PENDING_NEXT_KEY).await?.is_some());
            return Ok(Some(SyncObject { name: names::segment(&sk, &rec.device, rec.pushed.seq - behind), bytes }));
        }
        self.seal_segment(&keys, rec, now, cap, PENDING_KEY).await
    }

    /// While the segment [`Vault::sync_prepare_push`] gave uploads: the one after it,
    /// sealed now (or before, when a push was cut short) so that sealing overlaps the
    /// upload. At most two segments wait at once; confirm them in order
    /// ([`Vault::sync_confirm_push`] confirms the older). With none waiting, as
    /// [`Vault::sync_prepare_push`]; `None` when nothing more is to be pushed.
    pub async fn sync_seal_next(&self, now: i64) -> Result<Option<SyncObject>, VaultError> {
        self.seal_next_capped(now, SEGMENT_CAP).await
    }

    pub(super) async fn seal_next_capped(&self, now: i64, cap: usize) -> Result<Option<SyncObject>, VaultError> {
        if self.store.get(StoreName::Meta, PENDING_KEY).await?.is_none() {
            return self.prepare_push_capped(now, cap).await;
        }
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        if let Some(bytes) = self.store.get(StoreName::Meta, PENDING_NEXT_KEY).await? {
            let sk = rec.keys(&keys);
            return Ok(Some(SyncObject { name: names::segment(&sk, &rec.device, rec.pushed.seq), bytes }));
        }
        self.seal_segment(&keys, rec, now, cap, PENDING_NEXT_KEY).await
    }

    /// Seals the next segment from the outbox and keeps it under `slot` until confirmed.
    async fn seal_segment(
        &self,
        keys: &Rc<Unlocked>,
        mut rec: SyncRecord,
        now: i64,
        cap: usize,
        slot: &str,
    ) -> Result<Option<SyncObject>, VaultError> {
        let keys = keys.clone();
        let sk = rec.keys(&keys);
        let mut outbox = self.outbox(&keys).await;
        if outbox.is_empty() {
            return Ok(None);
        }
        let all: Vec<String> = outbox.keys().cloned().collect();
        let mut ks = Vec::new();
        let mut entries = Vec::new();
        let mut size = 0usize;
        'fill: for batch in all.chunks(READ_BATCH) {
            for (k, stored) in batch.iter().zip(self.read_stored(batch).await?) {
                let out = outbox[k];
                let entry = match (out.deleted, stored) {
                    (false, Stored::Whole(conversation)) => Some(Entry::Write { at: out.at, conversation }),
                    (false, Stored::Partial(p)) => {
                        let readable = p.blocks.into_iter().flatten().flatten().collect();
                        Some(Entry::Write { at: out.at, conversation: p.record.into_conversation(readable) })
                    }
                    (false, Stored::DamagedRecord(_)) => None,
                    (true, _) | (false, Stored::Missing) => Some(Entry::Tombstone { deleted_at: out.at }),
                };
                let Some(entry) = entry else {
                    // Unreadable here: nothing to send (as before the cap), dropped from the outbox.
                    outbox.remove(k);
                    continue;
                };
                let entry = KeyedEntry { key: k.clone(), entry };
                let len = json_len(&entry);
                if !entries.is_empty() && size + len > cap {
                    break 'fill;
                }
                size += len;
                outbox.remove(k);
                ks.push(k.clone());
                entries.push(entry);
            }
        }
        if entries.is_empty() {
            self.write(&keys, vec![Op::Delete { store: StoreName::Meta, key: OUTBOX_KEY.into() }]).await?;
            return Ok(None);
        }
        let seq = rec.pushed.seq + 1;
        let body = SegmentBody { device: rec.device, seq, prev: rec.pushed.hash, at: now, entries };
        let bytes = format::seal(&sk, &rec.vault_id, Place::Segment { device: rec.device, seq }, &body)
            .map_err(random_error)?;
        rec.pushed = Head { seq, hash: chain::digest(&bytes) };
        let mut known: BTreeMap<String, Known> = ks.iter().cloned().zip(self.read_known(&keys, &ks).await?).collect();
        for e in body.entries {
            known.entry(e.key).or_default().learn(&rec.device, seq, e.entry);
        }
        let mut change = Change { from_sync: true, ..Change::default() };
        self.settle(&keys, &rec.device, known, &Outbox::new(), &mut change).await?;
        change.ops.push(if outbox.is_empty() {
            Op::Delete { store: StoreName::Meta, key: OUTBOX_KEY.into() }
        } else {
            record_put(StoreName::Meta, OUTBOX_KEY.into(), &outbox)
        });
        change.ops.push(Op::Put { store: StoreName::Meta, key: slot.into(), value: bytes.clone() });
        change.ops.push(record_put(StoreName::Meta, SYNC_KEY.into(), &rec));
        self.commit(&keys, change).await?;
        Ok(Some(SyncObject { name: names::segment(&sk, &rec.device, seq), bytes }))
    }

    /// The folder has the older waiting segment (the one [`Vault::sync_prepare_push`]
    /// gives): forget it (the one sealed after it, if any, becomes the older), and give
    /// this device's record naming the last segment sealed as the head (write it with
    /// `If-Match` once every waiting segment is confirmed).
    pub async fn sync_confirm_push(&self, now: i64) -> Result<SyncObject, VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        let mut ops = vec![Op::Delete { store: StoreName::Meta, key: PENDING_KEY.into() }];
        if let Some(next) = self.store.get(StoreName::Meta, PENDING_NEXT_KEY).await? {
            ops = vec![
                Op::Put { store: StoreName::Meta, key: PENDING_KEY.into(), value: next },
                Op::Delete { store: StoreName::Meta, key: PENDING_NEXT_KEY.into() },
            ];
        }
        self.write(&keys, ops).await?;
        self.device_object(&keys, &rec, now)
    }

    // ----- pulling -----

    /// Reads the device record of `slot`: checks its head against what was seen and
    /// applied (a record rolled back or contradicting the segments applied is refused)
    /// and remembers the head.
    ///
    /// # Errors
    /// [`VaultError::Damaged`] for a record that does not open at this slot, a rolled-back
    /// head or a fork.
    pub async fn sync_note_device(&self, slot: u32, bytes: &[u8]) -> Result<DeviceView, VaultError> {
        let keys = self.keys()?;
        let mut rec = self.sync_record(&keys).await?;
        let body: DeviceRecord =
            format::open(&rec.keys(&keys), &rec.vault_id, Place::Device { slot }, bytes).map_err(sync_error)?;
        if body.slot != slot {
            return Err(sync_error(SyncError::Refused("a device record of another slot")));
        }
        let d = hex(&body.device);
        let was = (rec.devices.clone(), rec.heads.clone());
        let own = body.device == rec.device;
        let (head, applied) = if own {
            if body.head.seq > rec.pushed.seq {
                return Err(sync_error(SyncError::Fork));
            }
            (body.head.seq, rec.pushed.seq)
        } else {
            let seen = rec.heads.get(&d).copied().unwrap_or_default();
            let cursor = rec.cursors.get(&d).copied().unwrap_or_default();
            let head = chain::check_head(&seen, &cursor, &body.head).map_err(sync_error)?;
            rec.heads.insert(d.clone(), head);
            (head.seq, cursor.seq)
        };
        let listed = KnownDevice { slot, label: body.label.clone(), seen: body.updated_at, head };
        if rec.devices.get(&d) != Some(&listed) {
            rec.devices.retain(|other, k| other == &d || k.slot != slot);
            rec.devices.insert(d.clone(), listed);
        }
        let folder_epoch = rec.folder_epoch.max(body.epoch);
        if (&rec.devices, &rec.heads, rec.folder_epoch) != (&was.0, &was.1, folder_epoch) {
            rec.folder_epoch = folder_epoch;
            self.write(&keys, vec![record_put(StoreName::Meta, SYNC_KEY.into(), &rec)]).await?;
        }
        Ok(DeviceView { device: d, label: body.label, head, applied, own })
    }

    /// After reading the folder's device records: the slots found; a device listed in
    /// another slot is no longer listed (it left sync: its record was removed). What was
    /// applied of it stays, and its segments still in the folder are still read.
    pub async fn sync_keep_devices(&self, slots: &[u32]) -> Result<(), VaultError> {
        let keys = self.keys()?;
        let mut rec = self.sync_record(&keys).await?;
        let before = rec.devices.len();
        rec.devices.retain(|_, k| slots.contains(&k.slot));
        if rec.devices.len() != before {
            self.write(&keys, vec![record_put(StoreName::Meta, SYNC_KEY.into(), &rec)]).await?;
        }
        Ok(())
    }

    /// Applies segment `seq` of `device` (hex id), read from its name: checked (it opens
    /// only at that name in this vault, it follows the segment applied before it) and
    /// merged into the vault through the write path, in one atomic write with the
    /// cursor. A segment applied before is a no-op; one past the next waits.
    ///
    /// # Errors
    /// [`VaultError::Damaged`] for a segment changed, moved, from another vault or
    /// forking the device's history; nothing is written then.
    pub async fn sync_apply_segment(&self, device: &str, seq: u64, bytes: &[u8]) -> Result<SegmentApplied, VaultError> {
        let keys = self.keys()?;
        let mut rec = self.sync_record(&keys).await?;
        let id = device_id(device)?;
        if id == rec.device {
            return if seq <= rec.pushed.seq {
                Ok(SegmentApplied::AlreadyApplied)
            } else {
                Err(sync_error(SyncError::Fork))
            };
        }
        let cursor = rec.cursors.get(device).copied().unwrap_or_default();
        match chain::order(&cursor, seq) {
            Order::Applied => return Ok(SegmentApplied::AlreadyApplied),
            Order::Gap { expected } => return Ok(SegmentApplied::Gap { expected }),
            Order::Next => {}
        }
        let body = format::open_segment(&rec.keys(&keys), &rec.vault_id, &id, seq, bytes).map_err(sync_error)?;
        chain::check_link(&cursor, &body.prev).map_err(sync_error)?;
        let ks: Vec<String> = body.entries.iter().map(|e| e.key.clone()).collect();
        let mut known: BTreeMap<String, Known> = ks.iter().cloned().zip(self.read_known(&keys, &ks).await?).collect();
        for mut e in body.entries {
            Self::check_received(&keys, &e.key, &mut e.entry)?;
            known.entry(e.key).or_default().learn(&id, seq, e.entry);
        }
        let outbox = self.outbox(&keys).await;
        // What sync brings is embedded after, in the backfill (the extension starts it
        // once a pull wrote something): a join of 100k messages would embed them all here.
        let mut change = Change { from_sync: true, embedding: Embedding::Backfill, ..Change::default() };
        let (written, deleted) = self.settle(&keys, &rec.device, known, &outbox, &mut change).await?;
        rec.cursors.insert(device.to_owned(), Head { seq, hash: chain::digest(bytes) });
        change.ops.push(record_put(StoreName::Meta, SYNC_KEY.into(), &rec));
        self.commit(&keys, change).await?;
        Ok(SegmentApplied::Applied { written, deleted })
    }

    /// The segment after the last applied of `device` is not in the folder: fine when
    /// its record's head is not further, or a snapshot covers it.
    ///
    /// # Errors
    /// [`VaultError::Damaged`] naming a truncated history.
    pub async fn sync_check_missing(&self, device: &str) -> Result<(), VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        let cursor = rec.cursors.get(device).copied().unwrap_or_default();
        let head = rec.heads.get(device).copied().unwrap_or_default();
        chain::check_missing(&cursor, &head, rec.covers.get(device).copied().unwrap_or(0)).map_err(sync_error)
    }

    // ----- compaction -----

    /// What to do about the compaction lock read from the folder (`current`: its bytes
    /// and ETag, `None` for none).
    pub async fn sync_lock(&self, current: Option<(&[u8], &str)>, now: i64) -> Result<LockStep, VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        let sk = rec.keys(&keys);
        match sync_lock::decide(&sk, &rec.vault_id, &rec.device, current, now) {
            LockDecision::Wait { until, .. } => Ok(LockStep::Wait { until }),
            LockDecision::Take { condition, body } => {
                let bytes = format::seal::<LockBody>(&sk, &rec.vault_id, Place::Lock, &body).map_err(random_error)?;
                let if_match = match condition {
                    Condition::IfNoneMatch => None,
                    Condition::IfMatch(etag) => Some(etag),
                };
                Ok(LockStep::Take { name: names::lock(&sk), if_match, bytes })
            }
        }
    }

    /// While compacting under the lock whose bytes this device wrote last (`held`): is a
    /// renewal due, and, given the folder's lock (`current`: `Some(None)` when there is
    /// none, `None` when not read yet), what to write. A lock that no longer holds is
    /// [`LockRenewal::Lost`] (see [`sync_lock::renew`]).
    ///
    /// # Errors
    /// [`VaultError::Locked`], or sync not set up.
    pub async fn sync_renew_lock(
        &self,
        held: &[u8],
        current: Option<Option<(&[u8], &str)>>,
        now: i64,
    ) -> Result<LockRenewal, VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        let sk = rec.keys(&keys);
        let Ok(ours) = format::open::<LockBody>(&sk, &rec.vault_id, Place::Lock, held) else {
            return Ok(LockRenewal::Lost);
        };
        Ok(match sync_lock::renew(&sk, &rec.vault_id, &rec.device, &ours, current, now) {
            Renewal::NotDue => LockRenewal::NotDue,
            Renewal::Due => LockRenewal::Due,
            Renewal::Lost => LockRenewal::Lost,
            Renewal::Renew { condition, body } => {
                let bytes = format::seal::<LockBody>(&sk, &rec.vault_id, Place::Lock, &body).map_err(random_error)?;
                let if_match = match condition {
                    Condition::IfMatch(etag) => etag,
                    Condition::IfNoneMatch => String::new(),
                };
                LockRenewal::Renew { name: names::lock(&sk), if_match, bytes }
            }
        })
    }

    /// The snapshot of compaction `epoch` (the one after the epoch applied here): every
    /// conversation folded from the registers (not this device's unpushed changes), and
    /// the names it makes obsolete (the segments it covers, the previous snapshot), to
    /// delete once it is written and applied.
    pub async fn sync_make_snapshot(&self, epoch: u64, now: i64) -> Result<(SyncObject, Vec<String>), VaultError> {
        let keys = self.keys()?;
        let rec = self.sync_record(&keys).await?;
        if epoch != rec.epoch + 1 {
            return Err(VaultError::InvalidInput(format!("The next snapshot here is {}.", rec.epoch + 1)));
        }
        let sk = rec.keys(&keys);
        let mut conversations = Vec::new();
        for (name, sealed) in self.store.get_prefix(StoreName::Meta, KNOWN_PREFIX).await? {
            let known: Known =
                record_from(keys.data.open_record(StoreName::Meta.as_str(), &name, &sealed), "the sync state")?;
            let folded = resolve(&known, &rec.device, None);
            if folded != Folded::default() {
                conversations.push(KeyedFolded { key: name[KNOWN_PREFIX.len()..].to_owned(), folded });
            }
        }
        let mut covers: Vec<Cover> = rec
            .cursors
            .iter()
            .filter_map(|(d, h)| Some(Cover { device: parse_hex(d)?, seq: h.seq, hash: h.hash }))
            .collect();
        covers.push(Cover { device: rec.device, seq: rec.pushed.seq, hash: rec.pushed.hash });
        let mut obsolete = Vec::new();
        for c in &covers {
            let from = rec.covers.get(&hex(&c.device)).copied().unwrap_or(0) + 1;
            obsolete.extend((from..=c.seq).map(|seq| names::segment(&sk, &c.device, seq)));
        }
        if rec.epoch > 0 {
            obsolete.push(names::snapshot(&sk, rec.epoch));
        }
        let body = SnapshotBody { epoch, by: rec.device, at: now, covers, conversations };
        let bytes = format::seal(&sk, &rec.vault_id, Place::Snapshot { epoch }, &body).map_err(random_error)?;
        Ok((SyncObject { name: names::snapshot(&sk, epoch), bytes }, obsolete))
    }

    /// Applies the snapshot of `epoch`: its base replaces what it covers, cursors move
    /// up to it. An older or the same epoch is a no-op.
    ///
    /// # Errors
    /// [`VaultError::Damaged`] for a snapshot that does not open at that epoch, or that
    /// says this device pushed more than it did or contradicts a segment applied.
    pub async fn sync_apply_snapshot(&self, epoch: u64, bytes: &[u8]) -> Result<SegmentApplied, VaultError> {
        let keys = self.keys()?;
        let mut rec = self.sync_record(&keys).await?;
        if epoch <= rec.epoch {
            return Ok(SegmentApplied::AlreadyApplied);
        }
        let body: SnapshotBody =
            format::open(&rec.keys(&keys), &rec.vault_id, Place::Snapshot { epoch }, bytes).map_err(sync_error)?;
        if body.epoch != epoch {
            return Err(sync_error(SyncError::Refused("a snapshot of another epoch")));
        }
        let mut covers = BTreeMap::new();
        for c in &body.covers {
            let d = hex(&c.device);
            if c.device == rec.device {
                if c.seq > rec.pushed.seq || c.seq == rec.pushed.seq && c.hash != rec.pushed.hash {
                    return Err(sync_error(SyncError::Fork));
                }
            } else {
                let cursor = rec.cursors.get(&d).copied().unwrap_or_default();
                if c.seq == cursor.seq && c.hash != cursor.hash {
                    return Err(sync_error(SyncError::Fork));
                }
                if c.seq > cursor.seq {
                    rec.cursors.insert(d.clone(), Head { seq: c.seq, hash: c.hash });
                }
            }
            covers.insert(d, c.seq);
        }
        let mut bases: BTreeMap<String, Folded> = BTreeMap::new();
        for mut kf in body.conversations {
            if !format::is_store_key(&kf.key) {
                return Err(sync_error(SyncError::Format("a key is not a store key")));
            }
            if let Some(w) = kf.folded.write.as_mut() {
                check_conversation(&keys, &kf.key, &mut w.conversation)?;
            }
            bases.insert(kf.key, kf.folded);
        }
        let mut ks: Vec<String> = self
            .store
            .get_prefix(StoreName::Meta, KNOWN_PREFIX)
            .await?
            .into_iter()
            .map(|(name, _)| name[KNOWN_PREFIX.len()..].to_owned())
            .chain(bases.keys().cloned())
            .collect();
        ks.sort();
        ks.dedup();
        let mut known: BTreeMap<String, Known> = ks.iter().cloned().zip(self.read_known(&keys, &ks).await?).collect();
        for (k, kn) in known.iter_mut() {
            kn.compact(bases.remove(k).unwrap_or_default(), |d| covers.get(d).copied().unwrap_or(0));
        }
        let outbox = self.outbox(&keys).await;
        // What sync brings is embedded after, in the backfill (the extension starts it
        // once a pull wrote something): a join of 100k messages would embed them all here.
        let mut change = Change { from_sync: true, embedding: Embedding::Backfill, ..Change::default() };
        let (written, deleted) = self.settle(&keys, &rec.device, known, &outbox, &mut change).await?;
        rec.epoch = epoch;
        rec.covers = covers;
        rec.snapshot_at = body.at;
        change.ops.push(record_put(StoreName::Meta, SYNC_KEY.into(), &rec));
        self.commit(&keys, change).await?;
        Ok(SegmentApplied::Applied { written, deleted })
    }
}

/// The length of `value` as JSON, without keeping the text.
fn json_len<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).expect("sync bodies serialise");
    count.0
}

/// A new sync record: random device id, nothing pushed or applied.
fn new_record(vault_id: [u8; 16], slot: u32, label: &str, now: i64) -> Result<SyncRecord, VaultError> {
    let mut device = [0u8; 16];
    make_random(&mut device).map_err(random_error)?;
    Ok(SyncRecord {
        format: SYNC_FORMAT,
        vault_id,
        device,
        slot,
        label: label.chars().take(100).collect(),
        created_at: now,
        pushed: Head::default(),
        cursors: BTreeMap::new(),
        heads: BTreeMap::new(),
        epoch: 0,
        covers: BTreeMap::new(),
        snapshot_at: 0,
        devices: BTreeMap::new(),
        folder_epoch: 0,
        server: None,
    })
}

/// A conversation received is within the vault's limits and stored under its own key.
fn check_conversation(keys: &Unlocked, k: &str, conv: &mut Conversation) -> Result<(), VaultError> {
    conv.fit_vault_limits()?;
    if keys.data.derive_store_key(&[conv.site.as_str(), &conv.conversation_id]) != k {
        return Err(sync_error(SyncError::Refused("a conversation under another's key")));
    }
    Ok(())
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
