//! The keys of sync, derived from the data key and the sync folder's random vault id.
//!
//! ```text
//! data key --HKDF-SHA256(salt = vault id, "threadkeeper/v1/sync/names")--> name key (HMAC-SHA256 object names)
//! data key --HKDF-SHA256(salt = vault id, "threadkeeper/v1/sync/seal")---> seal key (AES-256-GCM objects)
//! ```
//!
//! Every device of the vault holds the same data key (a joining device unwraps it with
//! the passphrase), so each derives the same keys. The vault id (16 random bytes made
//! when sync is set up, stored in plain in the folder's meta object) salts both: the
//! same vault synced to two folders names and seals its objects differently in each,
//! so an object copied from one folder to the other fails to open. Neither key is the
//! record key or the id key: nothing on the server opens with what the local store
//! uses, and the other way round.

use zeroize::Zeroizing;

use super::envelope;
use super::keys::DataKey;
#[cfg(test)]
use super::primitives::NONCE_LEN;
use super::primitives::{hkdf_sha256, hmac_sha256, KEY_LEN};
use super::CryptoError;

/// The label of the name key (HKDF info).
pub const NAMES_LABEL: &[u8] = b"threadkeeper/v1/sync/names";
/// The label of the seal key (HKDF info).
pub const SEAL_LABEL: &[u8] = b"threadkeeper/v1/sync/seal";

/// The two keys of one vault's sync folder. Zeroed on drop.
pub struct SyncKeys {
    names: Zeroizing<[u8; KEY_LEN]>,
    seal: Zeroizing<[u8; KEY_LEN]>,
}

impl SyncKeys {
    /// The keys of the folder whose vault id is `vault_id`.
    pub fn derive(data: &DataKey, vault_id: &[u8; 16]) -> Self {
        let raw = data.to_bytes();
        SyncKeys {
            names: Zeroizing::new(hkdf_sha256(Some(vault_id), raw.as_ref(), NAMES_LABEL)),
            seal: Zeroizing::new(hkdf_sha256(Some(vault_id), raw.as_ref(), SEAL_LABEL)),
        }
    }

    /// An object name that reveals nothing: the first 16 bytes of HMAC-SHA256 under the
    /// name key of the parts, each preceded by its length (4 bytes, big-endian), as 32
    /// lowercase hex digits.
    pub fn derive_name(&self, parts: &[&[u8]]) -> String {
        let lens: Vec<[u8; 4]> = parts.iter().map(|p| (p.len() as u32).to_be_bytes()).collect();
        let mut joined: Vec<&[u8]> = Vec::with_capacity(parts.len() * 2);
        for (len, part) in lens.iter().zip(parts) {
            joined.push(len);
            joined.push(part);
        }
        let mac = hmac_sha256(&self.names, &joined);
        mac[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Seals `plaintext` under the seal key (a v1 envelope, fresh random nonce).
    ///
    /// # Errors
    /// Only when the platform has no secure randomness.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        envelope::seal(&self.seal, aad, plaintext)
    }

    /// Deterministic sealing for test vectors only; reusing a nonce breaks GCM.
    #[cfg(test)]
    pub(crate) fn seal_with_nonce(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        envelope::seal_with_nonce(&self.seal, nonce, aad, plaintext)
    }

    /// Opens an envelope sealed by [`SyncKeys::seal`] with the same associated data.
    ///
    /// # Errors
    /// As [`envelope::open`]: [`CryptoError::Decrypt`] for another key, folder or
    /// associated data, or changed bytes.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        envelope::open(&self.seal, aad, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_opaque_and_depend_on_the_folder_and_the_parts() {
        let data = DataKey::from_bytes([7; 32]);
        let keys = SyncKeys::derive(&data, &[1; 16]);
        let a = keys.derive_name(&[b"segment", b"dev", b"1"]);
        assert_eq!(a.len(), 32);
        assert_eq!(a, keys.derive_name(&[b"segment", b"dev", b"1"]));
        assert_ne!(a, keys.derive_name(&[b"segment", b"de", b"v1"]));
        assert_ne!(a, SyncKeys::derive(&data, &[2; 16]).derive_name(&[b"segment", b"dev", b"1"]));
        assert_ne!(a, data.derive_store_key(&["segment", "dev", "1"]));
    }

    #[test]
    fn an_object_of_one_folder_does_not_open_in_another_or_with_the_record_key() {
        let data = DataKey::from_bytes([7; 32]);
        let sealed = SyncKeys::derive(&data, &[1; 16]).seal(b"ad", b"text").unwrap();
        assert_eq!(SyncKeys::derive(&data, &[1; 16]).open(b"ad", &sealed).unwrap(), b"text");
        assert_eq!(SyncKeys::derive(&data, &[2; 16]).open(b"ad", &sealed), Err(CryptoError::Decrypt));
        assert_eq!(data.open_record("x", "y", &sealed), Err(CryptoError::Decrypt));
    }
}
