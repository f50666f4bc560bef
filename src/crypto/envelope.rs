//! The sealed-record envelope: every record the vault stores is one of these.
//!
//! # Format, version 1
//!
//! ```text
//! offset  length  field
//! 0       1       version = 0x01
//! 1       12      nonce (random, never reused under one key)
//! 13      n       AES-256-GCM ciphertext of the plaintext
//! 13+n    16      GCM tag
//! ```
//!
//! The associated data is not stored: the reader rebuilds it from where the record
//! sits (see [`record_aad`]), so a record copied into another slot fails to open.
//! The test `envelope_vector_v1_is_pinned` pins these bytes.

use super::primitives::{aes_gcm_open, aes_gcm_seal, KEY_LEN, NONCE_LEN, TAG_LEN};
use super::{make_random, CryptoError};

pub const VERSION_1: u8 = 0x01;
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Associated data for a record: the format tag, the store's name and the record's key,
/// NUL-separated (`tk1\0store\0key`). Store names and keys never hold NUL.
pub fn record_aad(store: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(5 + store.len() + key.len());
    aad.extend_from_slice(b"tk1\0");
    aad.extend_from_slice(store.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// Seals `plaintext` under `key` with a fresh random nonce.
///
/// # Errors
/// Only when the platform has no secure randomness.
pub fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    make_random(&mut nonce)?;
    Ok(seal_with_nonce(key, &nonce, aad, plaintext))
}

/// Deterministic sealing for test vectors only; reusing a nonce breaks GCM.
pub(crate) fn seal_with_nonce(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION_1);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&aes_gcm_seal(key, nonce, aad, plaintext));
    out
}

/// Opens an envelope written by [`seal`].
///
/// # Errors
/// [`CryptoError::Format`] when the bytes are too short to be an envelope,
/// [`CryptoError::UnsupportedVersion`] for an unknown version byte, and
/// [`CryptoError::Decrypt`] for a wrong key, changed bytes or other associated data.
pub fn open(key: &[u8; KEY_LEN], aad: &[u8], envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (&version, rest) = envelope.split_first().ok_or(CryptoError::Format("empty record"))?;
    if version != VERSION_1 {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Format("record too short"));
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    aes_gcm_open(key, &nonce, aad, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [0x11; 32];

    #[test]
    fn seal_then_open_gives_back_the_plaintext() {
        let aad = record_aad("conversations", "k1");
        let sealed = seal(&KEY, &aad, b"hello").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 5);
        assert_eq!(open(&KEY, &aad, &sealed).unwrap(), b"hello");
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let aad = record_aad("s", "k");
        assert_ne!(seal(&KEY, &aad, b"x").unwrap(), seal(&KEY, &aad, b"x").unwrap());
    }

    #[test]
    fn a_wrong_key_fails_to_open() {
        let aad = record_aad("s", "k");
        let sealed = seal(&KEY, &aad, b"secret").unwrap();
        assert_eq!(open(&[0x12; 32], &aad, &sealed), Err(CryptoError::Decrypt));
    }

    #[test]
    fn any_flipped_bit_fails_to_open() {
        let aad = record_aad("s", "k");
        let sealed = seal(&KEY, &aad, b"secret text").unwrap();
        for i in 1..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                assert_eq!(open(&KEY, &aad, &bad), Err(CryptoError::Decrypt), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn a_record_moved_to_another_slot_fails_to_open() {
        let sealed = seal(&KEY, &record_aad("messages", "a"), b"secret").unwrap();
        assert_eq!(open(&KEY, &record_aad("messages", "b"), &sealed), Err(CryptoError::Decrypt));
        assert_eq!(open(&KEY, &record_aad("conversations", "a"), &sealed), Err(CryptoError::Decrypt));
    }

    #[test]
    fn unknown_versions_and_short_records_are_named() {
        let aad = record_aad("s", "k");
        let mut sealed = seal(&KEY, &aad, b"x").unwrap();
        assert_eq!(open(&KEY, &aad, &[]), Err(CryptoError::Format("empty record")));
        assert_eq!(open(&KEY, &aad, &sealed[..20]), Err(CryptoError::Format("record too short")));
        sealed[0] = 2;
        assert_eq!(open(&KEY, &aad, &sealed), Err(CryptoError::UnsupportedVersion(2)));
    }

    /// Pins format version 1: if this changes, stored vaults no longer open.
    #[test]
    fn envelope_vector_v1_is_pinned() {
        let aad = record_aad("conversations", "0123abcd");
        let sealed = seal_with_nonce(&KEY, &[0x22; 12], &aad, b"hello threadkeeper");
        let expected = PINNED_V1;
        assert_eq!(hex::encode(&sealed), expected);
        let bytes = hex::decode(expected).unwrap();
        assert_eq!(open(&KEY, &aad, &bytes).unwrap(), b"hello threadkeeper");
    }

    const PINNED_V1: &str =
        "012222222222222222222222227f926b25afefeb37975abf5823c38ca57ae1a16590945a66f0940afd90b8468741d4";
}
