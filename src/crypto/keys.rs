//! The key hierarchy.
//!
//! ```text
//! passphrase --Argon2id(salt, params)--> KEK --unwraps--> data key (random, 256 bits)
//! data key --HKDF-SHA256 "threadkeeper/v1/records"--> record key (AES-256-GCM records)
//! data key --HKDF-SHA256 "threadkeeper/v1/ids"-----> id key (HMAC-SHA256 store keys)
//! ```
//!
//! Changing the passphrase re-wraps the data key; no record is re-encrypted. Re-encrypting
//! everything (the vault's `rekey` facet) makes a new data key and seals every record again.

use zeroize::Zeroizing;

use super::envelope;
use super::primitives::{hkdf_sha256, hmac_sha256, KEY_LEN};
use super::{make_random, CryptoError};

/// Associated data of the wrapped data key in the vault's meta record.
pub const WRAPPED_KEY_AAD: &[u8] = b"tk1\0meta\0data-key";

/// The vault's random data key and the subkeys derived from it. Zeroed on drop.
pub struct DataKey {
    raw: Zeroizing<[u8; KEY_LEN]>,
    record_key: Zeroizing<[u8; KEY_LEN]>,
    id_key: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    /// A fresh random data key.
    pub fn make() -> Result<Self, CryptoError> {
        let mut raw = [0u8; KEY_LEN];
        make_random(&mut raw)?;
        Ok(Self::from_bytes(raw))
    }

    /// Rebuilds the key from its raw bytes (unwrapped, or kept for the session).
    pub fn from_bytes(raw: [u8; KEY_LEN]) -> Self {
        let raw = Zeroizing::new(raw);
        DataKey {
            record_key: Zeroizing::new(hkdf_sha256(None, raw.as_ref(), b"threadkeeper/v1/records")),
            id_key: Zeroizing::new(hkdf_sha256(None, raw.as_ref(), b"threadkeeper/v1/ids")),
            raw,
        }
    }

    /// The raw key, for keeping it in the browser's session storage only.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        self.raw.clone()
    }

    /// The record key, for sealing many records at once (`bulk`).
    pub(crate) fn record_key(&self) -> &[u8; KEY_LEN] {
        &self.record_key
    }

    /// Seals a record stored under `store`/`key`.
    pub fn seal_record(&self, store: &str, key: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        envelope::seal(&self.record_key, &envelope::record_aad(store, key), plaintext)
    }

    /// Opens a record stored under `store`/`key`.
    pub fn open_record(&self, store: &str, key: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        envelope::open(&self.record_key, &envelope::record_aad(store, key), sealed)
    }

    /// A store key that reveals nothing: the first 16 bytes of HMAC-SHA256 under the
    /// id key of the NUL-joined parts, as 32 lowercase hex digits.
    pub fn derive_store_key(&self, parts: &[&str]) -> String {
        let mut joined: Vec<&[u8]> = Vec::with_capacity(parts.len() * 2);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                joined.push(b"\0");
            }
            joined.push(part.as_bytes());
        }
        let mac = hmac_sha256(&self.id_key, &joined);
        let mut out = String::with_capacity(32);
        for byte in &mac[..16] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// Wraps the data key under a key-encryption key (an envelope, see `envelope`).
    pub fn wrap(&self, kek: &[u8; KEY_LEN]) -> Result<Vec<u8>, CryptoError> {
        envelope::seal(kek, WRAPPED_KEY_AAD, self.raw.as_ref())
    }

    /// Unwraps a data key.
    ///
    /// # Errors
    /// [`CryptoError::Decrypt`] when the KEK is wrong (a wrong passphrase) or the bytes changed.
    pub fn unwrap(kek: &[u8; KEY_LEN], wrapped: &[u8]) -> Result<Self, CryptoError> {
        let raw = Zeroizing::new(envelope::open(kek, WRAPPED_KEY_AAD, wrapped)?);
        let raw: [u8; KEY_LEN] =
            raw.as_slice().try_into().map_err(|_| CryptoError::Format("data key has the wrong length"))?;
        Ok(Self::from_bytes(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_unwraps_only_with_its_kek() {
        let key = DataKey::make().unwrap();
        let wrapped = key.wrap(&[1; 32]).unwrap();
        let back = DataKey::unwrap(&[1; 32], &wrapped).unwrap();
        assert_eq!(*back.to_bytes(), *key.to_bytes());
        assert!(matches!(DataKey::unwrap(&[2; 32], &wrapped), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn store_keys_are_stable_opaque_and_separate_the_parts() {
        let key = DataKey::from_bytes([9; 32]);
        let a = key.derive_store_key(&["chatgpt", "abc"]);
        assert_eq!(a, key.derive_store_key(&["chatgpt", "abc"]));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("abc"));
        assert_ne!(a, key.derive_store_key(&["chatgp", "tabc"]));
        assert_ne!(a, DataKey::from_bytes([8; 32]).derive_store_key(&["chatgpt", "abc"]));
    }

    #[test]
    fn records_and_ids_use_different_subkeys_than_the_raw_key() {
        let key = DataKey::from_bytes([3; 32]);
        let sealed = key.seal_record("s", "k", b"x").unwrap();
        assert!(envelope::open(&[3; 32], &envelope::record_aad("s", "k"), &sealed).is_err());
        assert_eq!(key.open_record("s", "k", &sealed).unwrap(), b"x");
    }
}
