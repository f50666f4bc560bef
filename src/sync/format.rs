//! The byte formats of the sync folder's objects.
//!
//! # Every object
//!
//! ```text
//! offset  length  field
//! 0       4       magic "TKSY"
//! 4       1       kind: 'M' meta, 'S' segment, 'N' snapshot, 'D' device record, 'L' lock
//! 5       1       version: 0x01; device records 0x02 (0x01 still read, see below)
//! 6       n       body: for 'M', plain JSON (ServerMeta); for the others, a record
//!                 envelope v1 (crypto::envelope: 0x01, nonce(12), AES-256-GCM
//!                 ciphertext, tag(16)) of JSON under the folder's seal key
//! ```
//!
//! The associated data of a sealed body is not stored: the reader rebuilds it from the
//! name it fetched (so a moved object fails to open):
//!
//! ```text
//! "tk-sync1" 0x00 ‖ magic, kind, version (6 bytes, the version as read) ‖ vault id (16) ‖ place
//! place: segment   device id (16) ‖ seq (8, big-endian)
//!        snapshot  epoch (8, big-endian)
//!        device    slot (4, big-endian)
//!        lock      nothing
//!        proof     nothing (the meta's proof, kind 'M')
//! ```
//!
//! # Bodies (JSON, camelCase; ids and hashes as lowercase hex)
//!
//! ```json
//! segment:  { "device": "<32 hex>", "seq": 3, "prev": "<64 hex: SHA-256 of segment 2's whole object, zeros for seq 1>",
//!             "at": 1764000000000,
//!             "entries": [ { "key": "<32 hex: the conversation's store key>",
//!                            "entry": { "write": { "at": 1764000000000, "conversation": { ...model::Conversation } } } },
//!                          { "key": "...", "entry": { "tombstone": { "deletedAt": 1764000000000 } } } ] }
//! snapshot: { "epoch": 2, "by": "<device>", "at": ..., "covers": [ { "device": "...", "seq": 7, "hash": "<64 hex>" } ],
//!             "conversations": [ { "key": "...", "folded": { "deletedAt": ..., "write": { "at": ..., "conversation": {...} } } } ] }
//! device:   { "device": "...", "slot": 0, "label": "Firefox on the laptop", "createdAt": ...,
//!             "head": { "seq": 7, "hash": "<64 hex>" }, "updatedAt": ..., "epoch": 3 }
//! lock:     { "device": "...", "takenAt": ..., "expiresAt": ... }
//! meta:     { "vaultId": "<32 hex>", "proof": "<base64 envelope, kind 'M' place nothing, empty plaintext>",
//!             "vault": { ...the local meta record, format 1: see vault::records } }
//! ```
//!
//! A store key is `derive_store_key(site, conversationId)` under the id key, the same
//! on every device (they share the data key); the vault checks that a written
//! conversation's site and id give its key. The meta object is plain because it is read
//! before any key exists; it holds nothing secret (what the local meta record holds,
//! and a random vault id); its proof opens only with the data key and that vault id.
//!
//! # Device records: version 2 (written), version 1 (read)
//!
//! Version 2 adds `epoch`: the compaction (snapshot) the device had applied or written
//! when it wrote its record. Readers take the highest epoch named by any record as
//! where the folder's newest snapshot is at least, and go there directly, however many
//! compactions they missed. A version 1 record (no `epoch`; its associated data names
//! version 1) is still read, as epoch 0: it says nothing of snapshots, and readers then
//! probe for them as before. Every other kind stays version 1.
//!
//! Pinned by `segment_vector_v1_is_pinned`, `snapshot_device_and_lock_vectors_v1_are_pinned`,
//! `device_vector_v2_is_pinned` and `meta_vector_v1_is_pinned`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use super::merge::{DeviceId, Entry, Folded};
use super::SyncError;
use crate::crypto::sync_keys::SyncKeys;
use crate::crypto::CryptoError;

pub const MAGIC: &[u8; 4] = b"TKSY";
pub const VERSION_1: u8 = 0x01;
/// The device record's current version (adds `epoch`).
pub const VERSION_2: u8 = 0x02;
/// The largest sealed object a reader opens (a snapshot holds the whole vault).
pub const MAX_OBJECT_BYTES: usize = 1 << 30;

/// The kind byte of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Meta,
    Segment,
    Snapshot,
    Device,
    Lock,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Meta => b'M',
            Kind::Segment => b'S',
            Kind::Snapshot => b'N',
            Kind::Device => b'D',
            Kind::Lock => b'L',
        }
    }
}

impl Kind {
    /// The version this build writes.
    fn version(self) -> u8 {
        match self {
            Kind::Device => VERSION_2,
            _ => VERSION_1,
        }
    }
}

fn header(kind: Kind, version: u8) -> [u8; 6] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], kind.byte(), version]
}

/// The version and body of an object of `kind`, its magic, kind and version checked
/// (every version this build reads: 1 to the kind's current one).
fn body(kind: Kind, bytes: &[u8]) -> Result<(u8, &[u8]), SyncError> {
    if bytes.len() < 6 || &bytes[..4] != MAGIC {
        return Err(SyncError::Format("not a Threadkeeper sync file"));
    }
    if bytes[4] != kind.byte() {
        return Err(SyncError::Format("another kind of sync file"));
    }
    if !(VERSION_1..=kind.version()).contains(&bytes[5]) {
        return Err(SyncError::NewerVersion(bytes[5]));
    }
    Ok((bytes[5], &bytes[6..]))
}

/// The associated data of a sealed object of the current version (see the module docs).
pub fn aad(kind: Kind, vault_id: &[u8; 16], place: &[u8]) -> Vec<u8> {
    aad_of(kind, kind.version(), vault_id, place)
}

fn aad_of(kind: Kind, version: u8, vault_id: &[u8; 16], place: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + 6 + 16 + place.len());
    out.extend_from_slice(b"tk-sync1\0");
    out.extend_from_slice(&header(kind, version));
    out.extend_from_slice(vault_id);
    out.extend_from_slice(place);
    out
}

/// Where an object belongs, as its associated data names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Segment { device: DeviceId, seq: u64 },
    Snapshot { epoch: u64 },
    Device { slot: u32 },
    Lock,
    Proof,
}

impl Place {
    fn kind(self) -> Kind {
        match self {
            Place::Segment { .. } => Kind::Segment,
            Place::Snapshot { .. } => Kind::Snapshot,
            Place::Device { .. } => Kind::Device,
            Place::Lock => Kind::Lock,
            Place::Proof => Kind::Meta,
        }
    }

    fn bytes(self) -> Vec<u8> {
        match self {
            Place::Segment { device, seq } => [&device[..], &seq.to_be_bytes()].concat(),
            Place::Snapshot { epoch } => epoch.to_be_bytes().to_vec(),
            Place::Device { slot } => slot.to_be_bytes().to_vec(),
            Place::Lock | Place::Proof => Vec::new(),
        }
    }
}

/// Seals `body` as the object at `place` of the folder `vault_id`.
///
/// # Errors
/// Only when the platform has no secure randomness.
pub fn seal<T: Serialize>(
    keys: &SyncKeys,
    vault_id: &[u8; 16],
    place: Place,
    body: &T,
) -> Result<Vec<u8>, CryptoError> {
    let plain = Zeroizing::new(serde_json::to_vec(body).expect("sync bodies serialise"));
    let kind = place.kind();
    let mut out = header(kind, kind.version()).to_vec();
    out.extend_from_slice(&keys.seal(&aad(kind, vault_id, &place.bytes()), &plain)?);
    Ok(out)
}

/// [`seal`] with a fixed nonce, for test vectors only.
#[cfg(test)]
pub(crate) fn seal_with_nonce<T: Serialize>(keys: &SyncKeys, vault_id: &[u8; 16], place: Place, body: &T) -> Vec<u8> {
    seal_version(keys, vault_id, place, body, place.kind().version(), &[0x33; 12])
}

/// An object of an older `version` (as earlier builds wrote it), for tests only.
#[cfg(test)]
pub(crate) fn seal_version<T: Serialize>(
    keys: &SyncKeys,
    vault_id: &[u8; 16],
    place: Place,
    body: &T,
    version: u8,
    nonce: &[u8; 12],
) -> Vec<u8> {
    let plain = serde_json::to_vec(body).unwrap();
    let mut out = header(place.kind(), version).to_vec();
    out.extend_from_slice(&keys.seal_with_nonce(
        nonce,
        &aad_of(place.kind(), version, vault_id, &place.bytes()),
        &plain,
    ));
    out
}

/// Opens the object fetched from `place`'s name.
///
/// # Errors
/// [`SyncError::Format`] for another kind of file or a malformed body,
/// [`SyncError::NewerVersion`], and [`SyncError::Refused`] when it does not open (changed,
/// moved from another name, or from another vault).
pub fn open<T: DeserializeOwned>(
    keys: &SyncKeys,
    vault_id: &[u8; 16],
    place: Place,
    bytes: &[u8],
) -> Result<T, SyncError> {
    if bytes.len() > MAX_OBJECT_BYTES {
        return Err(SyncError::Format("too large"));
    }
    let (version, sealed) = body(place.kind(), bytes)?;
    let plain = Zeroizing::new(keys.open(&aad_of(place.kind(), version, vault_id, &place.bytes()), sealed).map_err(
        |e| match e {
            CryptoError::UnsupportedVersion(v) => SyncError::NewerVersion(v),
            CryptoError::Format(_) => SyncError::Format("too short"),
            _ => SyncError::Refused("it does not open here"),
        },
    )?);
    serde_json::from_slice(&plain).map_err(|_| SyncError::Format("malformed content"))
}

/// A segment: one device's changes since its previous segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentBody {
    #[serde(with = "hex_bytes")]
    pub device: DeviceId,
    pub seq: u64,
    #[serde(with = "hex_bytes")]
    pub prev: [u8; 32],
    pub at: i64,
    pub entries: Vec<KeyedEntry>,
}

/// One conversation's entry in a segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedEntry {
    pub key: String,
    pub entry: Entry,
}

/// Opens segment `seq` of `device` and checks that it says so inside, and that every
/// key is a store key.
///
/// # Errors
/// As [`open`]; [`SyncError::Refused`] when the body names another device or number.
pub fn open_segment(
    keys: &SyncKeys,
    vault_id: &[u8; 16],
    device: &DeviceId,
    seq: u64,
    bytes: &[u8],
) -> Result<SegmentBody, SyncError> {
    let body: SegmentBody = open(keys, vault_id, Place::Segment { device: *device, seq }, bytes)?;
    if body.device != *device || body.seq != seq {
        return Err(SyncError::Refused("another device's or number's segment"));
    }
    if !body.entries.iter().all(|e| is_store_key(&e.key)) {
        return Err(SyncError::Format("a key is not a store key"));
    }
    Ok(body)
}

/// Whether `k` has the shape of a store key (32 lowercase hex digits).
pub fn is_store_key(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// How far a snapshot covers a device's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cover {
    #[serde(with = "hex_bytes")]
    pub device: DeviceId,
    pub seq: u64,
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

/// A compaction snapshot: every conversation folded as of `covers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotBody {
    pub epoch: u64,
    #[serde(with = "hex_bytes")]
    pub by: DeviceId,
    pub at: i64,
    pub covers: Vec<Cover>,
    pub conversations: Vec<KeyedFolded>,
}

/// One conversation in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedFolded {
    pub key: String,
    pub folded: Folded,
}

/// The last segment a device pushed (seq 0 and zeros before its first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

/// A device record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    #[serde(with = "hex_bytes")]
    pub device: DeviceId,
    pub slot: u32,
    pub label: String,
    pub created_at: i64,
    pub head: Head,
    pub updated_at: i64,
    /// The compaction the device had applied or written (version 2; 0 in a version 1
    /// record, which does not say).
    #[serde(default)]
    pub epoch: u64,
}

/// The compaction lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBody {
    #[serde(with = "hex_bytes")]
    pub device: DeviceId,
    pub taken_at: i64,
    pub expires_at: i64,
}

/// The meta object (plain).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerMeta {
    #[serde(with = "hex_bytes")]
    pub vault_id: [u8; 16],
    /// Base64 of an envelope of nothing under the seal key, place [`Place::Proof`].
    pub proof: String,
    /// The vault's meta record, as the local store holds it.
    pub vault: serde_json::Value,
}

/// The bytes of the meta object.
pub fn encode_meta(meta: &ServerMeta) -> Vec<u8> {
    let mut out = header(Kind::Meta, VERSION_1).to_vec();
    out.extend_from_slice(&serde_json::to_vec(meta).expect("meta serialises"));
    out
}

/// The meta object from its bytes (its proof is checked once the data key is known).
///
/// # Errors
/// [`SyncError::Format`] or [`SyncError::NewerVersion`].
pub fn decode_meta(bytes: &[u8]) -> Result<ServerMeta, SyncError> {
    if bytes.len() > 1 << 20 {
        return Err(SyncError::Format("too large"));
    }
    serde_json::from_slice(body(Kind::Meta, bytes)?.1).map_err(|_| SyncError::Format("malformed meta"))
}

/// Lowercase hex for fixed-size byte arrays in the JSON bodies.
pub(crate) mod hex_bytes {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom("not lowercase hex of the right length");
        if s.len() != 2 * N || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad());
        }
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(out)
    }
}

/// A device record as version 1 wrote it (no epoch), for tests that plant one.
#[cfg(test)]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeviceRecordV1 {
    #[serde(with = "hex_bytes")]
    pub device: DeviceId,
    pub slot: u32,
    pub label: String,
    pub created_at: i64,
    pub head: Head,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::DataKey;
    use crate::model::{Conversation, Message, Role, Site};

    const VAULT: [u8; 16] = [0x51; 16];
    const DEV: DeviceId = [0xde; 16];

    fn keys() -> SyncKeys {
        SyncKeys::derive(&DataKey::from_bytes([7; 32]), &VAULT)
    }

    fn segment() -> SegmentBody {
        let conversation = Conversation {
            site: Site::Claude,
            conversation_id: "c1".into(),
            title: "Tides".into(),
            url: "https://claude.ai/chat/c1".into(),
            model: None,
            created_at: 1,
            updated_at: 2,
            messages: vec![Message::new(Role::User, "why tides?")],
        };
        SegmentBody {
            device: DEV,
            seq: 1,
            prev: [0; 32],
            at: 1_764_000_000_000,
            entries: vec![
                KeyedEntry { key: "a".repeat(32), entry: Entry::Write { at: 1_764_000_000_000, conversation } },
                KeyedEntry { key: "b".repeat(32), entry: Entry::Tombstone { deleted_at: 1_764_000_000_001 } },
            ],
        }
    }

    #[test]
    fn a_segment_opens_only_at_its_own_name_in_its_own_vault() {
        let k = keys();
        let bytes = seal(&k, &VAULT, Place::Segment { device: DEV, seq: 1 }, &segment()).unwrap();
        assert_eq!(open_segment(&k, &VAULT, &DEV, 1, &bytes).unwrap(), segment());
        let refused = SyncError::Refused("it does not open here");
        // Moved: another number, another device.
        assert_eq!(open_segment(&k, &VAULT, &DEV, 2, &bytes), Err(refused.clone()));
        assert_eq!(open_segment(&k, &VAULT, &[0xdf; 16], 1, &bytes), Err(refused.clone()));
        // Swapped in from another vault: another vault id, or another data key.
        let other = SyncKeys::derive(&DataKey::from_bytes([8; 32]), &VAULT);
        assert_eq!(open_segment(&other, &VAULT, &DEV, 1, &bytes), Err(refused.clone()));
        let other_folder = SyncKeys::derive(&DataKey::from_bytes([7; 32]), &[0x52; 16]);
        assert_eq!(open_segment(&other_folder, &[0x52; 16], &DEV, 1, &bytes), Err(refused.clone()));
        // Changed or cut short.
        let mut changed = bytes.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(open_segment(&k, &VAULT, &DEV, 1, &changed), Err(refused));
        assert!(open_segment(&k, &VAULT, &DEV, 1, &bytes[..bytes.len() - 20]).is_err());
        assert!(open_segment(&k, &VAULT, &DEV, 1, &bytes[..20]).is_err());
    }

    #[test]
    fn a_segment_that_names_another_place_inside_is_refused() {
        let k = keys();
        let mut body = segment();
        body.seq = 2;
        let bytes = seal(&k, &VAULT, Place::Segment { device: DEV, seq: 1 }, &body).unwrap();
        assert_eq!(
            open_segment(&k, &VAULT, &DEV, 1, &bytes),
            Err(SyncError::Refused("another device's or number's segment"))
        );
    }

    #[test]
    fn other_kinds_newer_versions_and_foreign_files_are_named() {
        let k = keys();
        let bytes = seal(&k, &VAULT, Place::Segment { device: DEV, seq: 1 }, &segment()).unwrap();
        let as_lock: Result<LockBody, _> = open(&k, &VAULT, Place::Lock, &bytes);
        assert_eq!(as_lock, Err(SyncError::Format("another kind of sync file")));
        let mut newer = bytes.clone();
        newer[5] = 2;
        assert_eq!(open_segment(&k, &VAULT, &DEV, 1, &newer), Err(SyncError::NewerVersion(2)));
        assert_eq!(
            open_segment(&k, &VAULT, &DEV, 1, b"<html>"),
            Err(SyncError::Format("not a Threadkeeper sync file"))
        );
    }

    /// Pins segment format 1: if this changes, folders written by earlier versions stop opening.
    #[test]
    fn segment_vector_v1_is_pinned() {
        let k = keys();
        let bytes = seal_with_nonce(&k, &VAULT, Place::Segment { device: DEV, seq: 1 }, &segment());
        assert_eq!(hex::encode(&bytes), PINNED_SEGMENT);
        let back = open_segment(&k, &VAULT, &DEV, 1, &hex::decode(PINNED_SEGMENT).unwrap()).unwrap();
        assert_eq!(back, segment());
    }

    /// Pins the snapshot, device record and lock formats 1.
    #[test]
    fn snapshot_device_and_lock_vectors_v1_are_pinned() {
        let k = keys();
        let snapshot = SnapshotBody {
            epoch: 1,
            by: DEV,
            at: 5,
            covers: vec![Cover { device: DEV, seq: 1, hash: [0xaa; 32] }],
            conversations: vec![KeyedFolded {
                key: "b".repeat(32),
                folded: Folded { deleted_at: Some(4), write: None },
            }],
        };
        let device = device_v2(0);
        let lock = LockBody { device: DEV, taken_at: 10, expires_at: 20 };
        let v1 = |place, body: &DeviceRecordV1| seal_version(&k, &VAULT, place, body, VERSION_1, &[0x33; 12]);
        let vectors = [
            (hex::encode(seal_with_nonce(&k, &VAULT, Place::Snapshot { epoch: 1 }, &snapshot)), PINNED_SNAPSHOT),
            (hex::encode(v1(Place::Device { slot: 0 }, &device_v1())), PINNED_DEVICE),
            (hex::encode(seal_with_nonce(&k, &VAULT, Place::Lock, &lock)), PINNED_LOCK),
        ];
        for (made, pinned) in &vectors {
            assert_eq!(made, pinned);
        }
        let open_hex = |place, pinned: &str| hex::decode(pinned).map(|b| (place, b)).unwrap();
        let (place, b) = open_hex(Place::Snapshot { epoch: 1 }, PINNED_SNAPSHOT);
        assert_eq!(open::<SnapshotBody>(&k, &VAULT, place, &b).unwrap(), snapshot);
        let (place, b) = open_hex(Place::Device { slot: 0 }, PINNED_DEVICE);
        assert_eq!(open::<DeviceRecord>(&k, &VAULT, place, &b).unwrap(), device);
        let (place, b) = open_hex(Place::Lock, PINNED_LOCK);
        assert_eq!(open::<LockBody>(&k, &VAULT, place, &b).unwrap(), lock);
    }

    fn device_v1() -> DeviceRecordV1 {
        DeviceRecordV1 {
            device: DEV,
            slot: 0,
            label: "laptop".into(),
            created_at: 1,
            head: Head { seq: 1, hash: [0xaa; 32] },
            updated_at: 2,
        }
    }

    fn device_v2(epoch: u64) -> DeviceRecord {
        DeviceRecord {
            device: DEV,
            slot: 0,
            label: "laptop".into(),
            created_at: 1,
            head: Head { seq: 1, hash: [0xaa; 32] },
            updated_at: 2,
            epoch,
        }
    }

    /// Pins the device record's format 2 (with the epoch), written from now on; version
    /// 1 (`PINNED_DEVICE`) still opens, as epoch 0; the version is authenticated.
    #[test]
    fn device_vector_v2_is_pinned() {
        let k = keys();
        let place = Place::Device { slot: 0 };
        let bytes = seal_with_nonce(&k, &VAULT, place, &device_v2(3));
        assert_eq!(bytes[5], VERSION_2);
        assert_eq!(hex::encode(&bytes), PINNED_DEVICE_V2);
        let pinned = hex::decode(PINNED_DEVICE_V2).unwrap();
        assert_eq!(open::<DeviceRecord>(&k, &VAULT, place, &pinned).unwrap(), device_v2(3));
        let v1 = hex::decode(PINNED_DEVICE).unwrap();
        assert_eq!(open::<DeviceRecord>(&k, &VAULT, place, &v1).unwrap(), device_v2(0));
        // A version 2 record relabelled 1 (or the other way) does not open; 3 is newer.
        let mut relabelled = pinned.clone();
        relabelled[5] = VERSION_1;
        assert_eq!(
            open::<DeviceRecord>(&k, &VAULT, place, &relabelled),
            Err(SyncError::Refused("it does not open here"))
        );
        let mut up = v1.clone();
        up[5] = VERSION_2;
        assert_eq!(open::<DeviceRecord>(&k, &VAULT, place, &up), Err(SyncError::Refused("it does not open here")));
        relabelled[5] = 3;
        assert_eq!(open::<DeviceRecord>(&k, &VAULT, place, &relabelled), Err(SyncError::NewerVersion(3)));
        // Other kinds stay at version 1.
        let mut lock = seal_with_nonce(&k, &VAULT, Place::Lock, &LockBody { device: DEV, taken_at: 1, expires_at: 2 });
        assert_eq!(lock[5], VERSION_1);
        lock[5] = VERSION_2;
        assert_eq!(open::<LockBody>(&k, &VAULT, Place::Lock, &lock), Err(SyncError::NewerVersion(2)));
    }

    /// Pins the meta object's format 1 (plain).
    #[test]
    fn meta_vector_v1_is_pinned() {
        let meta = decode_meta(PINNED_META.as_bytes()).unwrap();
        assert_eq!(meta.vault_id, VAULT);
        assert_eq!(meta.vault["format"], 1);
        assert_eq!(encode_meta(&meta), PINNED_META.as_bytes());
        assert_eq!(decode_meta(b"TKSYM\x02{}"), Err(SyncError::NewerVersion(2)));
    }

    const PINNED_META: &str =
        "TKSYM\u{1}{\"vaultId\":\"51515151515151515151515151515151\",\"proof\":\"AQ==\",\"vault\":{\"format\":1}}";
    const PINNED_SEGMENT: &str =
        "544b535953010133333333333333333333333345ae8e093a8e4c0827cffc9ce3719bc4e634bc2f73c624c12b30da74ca3fa349d147f2c01b9482846cf197f1c2dbc4c84b52ff59cff402a6e09e1b6d9d3036424dd7f5cd0c8a782c3012dc82eaf73a67435825f92123a64773a4ce06a75dac318b64f9ce506d8d5f2bd7969b89ff4381ebe853249381342e37e89704515c18cc11d00b18c91d048fc821672a2daf23ff908ffc157892c6f53f6413ea1c87775e056c13224cbfc211526397852e0bce3063ad51bb7e6a516a4d133f499f38684b9225065712d4abe2fd0962889bc73781004be2800092cd313df7207617d97442e48edb4ed58aaa59564523abba9b8de2db3b526949553742c0982544e319dfc2e69dfc587cee6cd7e3572c3b5978afcfc5a103028e73d3d2f696dd808b283d13898c3a29ee6a490415149a7b74694ca8515c6c3d48902251762dddbf9d1d934576bf35428dae14a572a5a71595103b1dcc6069af8788355e7e8719f8fe475229867623a255e5478c306eab02a7145d798b9ed23227b1d1eae84aca7705bfd2c6272bb9fb4b8e3f3f603fd1b45129714f080031fbcccb25c7554d600ce8b1579fb2c5aad73d10f3c7f447ae6c3be7854a4e4ecde4c734be952bdb314329b49bdcc0b6e11470a3a630678c86f1db8138fde012d3bb1be1eede2c12913c3ca07539b57ca66d8beb3773e41b1b59067fe4083ab2ea57e63e8c3c1f3e2157a54574509394dd894e9264e8f5756b88eba9033d229ce17a4b1bab67a11f0bc44347839e9cb954a1b47c8f229e441845cbb3d3d66df308609d68f47bc653e8940cce5fa85a";
    const PINNED_SNAPSHOT: &str =
        "544b53594e010133333333333333333333333345ae8f1c2384474f3fc4f2dae46cdc9aa134bc2f73c624c12b30da74ca3fa349d147f2c01b9482846cf197b78b9dd2c95f52e94a82a250eeb0c41b34d07663000ec5ffa647982c79764b8fd7f8fd2833160c70ad7477f31326f09b52f209f965de30ac9a0539d80b7e83c3cfdcab1693f7fa1071d2933e2f2bfacf55121616d452c54843994b53da9970367b7cfe72aec1c2bf117787d5fd3b7650b1269d3454017450790fbfc211526397852e0bce3063ad51bb7e6a516a4d133f499f38684b92661a6b5fd4e4aff6117388918479934d52e3cb4eac94292db038200fc12717b0d8891c87d8f80b041771e5fa9a80eecf3c42784a433c4fccd87d5da308949aa1d9a9167be76980bd492c731e77a5d5d6a03005cd3d8ec0e582c4417b1980ff3eef8a08d54d827f37f43f";
    const PINNED_DEVICE: &str =
        "544b535944010133333333333333333333333345ae8e093a8e4c0827cffc9ce3719bc4e634bc2f73c624c12b30da74ca3fa349d147f2c01b9482846cf197f1c2dbc4c15504e752d3fa50b8e48a5c3b9d3a241e1c97b1924c98643e635089d3aea26e16074a2ff83d31fe1222f0dc0cec4fef64ca76f3cf4c7fd50e688f84919bae12d0bab90275c2d0657f66b9c655001f558f11c54843994b53da9970367b7cfe72aec1c2bf117787d5fd3b7650b1269d3454017450790fbfc211526397852e48d27d20b940be7e7f556f6d067c12cc2480582f047a76d30f5dab4a46e794b757";
    const PINNED_DEVICE_V2: &str =
        "544b535944020133333333333333333333333345ae8e093a8e4c0827cffc9ce3719bc4e634bc2f73c624c12b30da74ca3fa349d147f2c01b9482846cf197f1c2dbc4c15504e752d3fa50b8e48a5c3b9d3a241e1c97b1924c98643e635089d3aea26e16074a2ff83d31fe1222f0dc0cec4fef64ca76f3cf4c7fd50e688f84919bae12d0bab90275c2d0657f66b9c655001f558f11c54843994b53da9970367b7cfe72aec1c2bf117787d5fd3b7650b1269d3454017450790fbfc211526397852e48d27d20b940be7e7f556f6d067c12cc752b4f832b045e51ccb4bd2b4109a3a05af8d8bc1617abf070cd8b";
    const PINNED_LOCK: &str =
        "544b53594c010133333333333333333333333345ae8e093a8e4c0827cffc9ce3719bc4e634bc2f73c624c12b30da74ca3fa349d147f2c01b9482846cf197f1c2dbc3cc5115ab2997f448e5b5c41b32c7706f00189484891e807a2c7dd6def4f784ae221916006887b542d64d";
}
