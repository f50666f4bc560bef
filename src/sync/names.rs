//! Object names in the sync folder: HMACs under the folder's name key
//! (`crypto::sync_keys`), 32 hex digits, except the meta object, which must be found
//! before any key exists.

use super::merge::DeviceId;
use crate::crypto::sync_keys::SyncKeys;

/// The name of the meta object.
pub const META: &str = "meta";

/// The name of `device`'s segment `seq`.
pub fn segment(keys: &SyncKeys, device: &DeviceId, seq: u64) -> String {
    keys.derive_name(&[b"segment", device, &seq.to_be_bytes()])
}

/// The name of the snapshot of compaction `epoch` (1, 2, ...).
pub fn snapshot(keys: &SyncKeys, epoch: u64) -> String {
    keys.derive_name(&[b"snapshot", &epoch.to_be_bytes()])
}

/// The name of device record slot `slot` (0, 1, ...: a reader finds every device by
/// reading slots until one is missing).
pub fn device(keys: &SyncKeys, slot: u32) -> String {
    keys.derive_name(&[b"device", &slot.to_be_bytes()])
}

/// The name of the compaction lock.
pub fn lock(keys: &SyncKeys) -> String {
    keys.derive_name(&[b"lock"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::DataKey;

    #[test]
    fn every_object_has_its_own_opaque_name() {
        let keys = SyncKeys::derive(&DataKey::from_bytes([7; 32]), &[1; 16]);
        let names = [
            segment(&keys, &[2; 16], 1),
            segment(&keys, &[2; 16], 2),
            segment(&keys, &[3; 16], 1),
            snapshot(&keys, 1),
            device(&keys, 0),
            device(&keys, 1),
            lock(&keys),
        ];
        let mut unique = names.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
