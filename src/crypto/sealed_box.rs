//! Sealing to the vault's public key, so capture can go on while the vault is locked.
//!
//! The vault has an X25519 key pair: the public key is stored in plain, the private
//! key sealed under the data key. A sender that holds only the public key seals:
//!
//! ```text
//! ephemeral secret e, E = X25519(e, base)
//! shared  = X25519(e, vault public key)
//! key     = HKDF-SHA256(salt = E || vault public key, ikm = shared, info = "threadkeeper/v1/inbox")
//! box     = version 0x01 || E (32 bytes) || envelope v1 under key, aad = caller's
//! ```
//!
//! Only the holder of the private key (an unlocked vault) can open it.

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::envelope;
use super::primitives::hkdf_sha256;
use super::{make_random, CryptoError};

pub const BOX_VERSION_1: u8 = 0x01;
const INFO: &[u8] = b"threadkeeper/v1/inbox";

/// The vault's X25519 key pair.
pub struct BoxKeyPair {
    secret: StaticSecret,
    pub public: [u8; 32],
}

impl BoxKeyPair {
    pub fn make() -> Result<Self, CryptoError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        make_random(raw.as_mut())?;
        Ok(Self::from_secret_bytes(*raw))
    }

    pub fn from_secret_bytes(raw: [u8; 32]) -> Self {
        let secret = StaticSecret::from(raw);
        let public = PublicKey::from(&secret).to_bytes();
        BoxKeyPair { secret, public }
    }

    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// Opens a box sealed to this key pair's public key.
    ///
    /// # Errors
    /// [`CryptoError::Decrypt`] for a box sealed to another key or changed bytes.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Format("empty box"))?;
        if version != BOX_VERSION_1 {
            return Err(CryptoError::UnsupportedVersion(version));
        }
        if rest.len() < 32 {
            return Err(CryptoError::Format("box too short"));
        }
        let (eph, env) = rest.split_at(32);
        let eph: [u8; 32] = eph.try_into().expect("32 bytes");
        let shared = Zeroizing::new(self.secret.diffie_hellman(&PublicKey::from(eph)).to_bytes());
        let key = Zeroizing::new(derive_box_key(&eph, &self.public, &shared));
        envelope::open(&key, aad, env)
    }
}

fn derive_box_key(eph: &[u8; 32], recipient: &[u8; 32], shared: &[u8; 32]) -> [u8; 32] {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph);
    salt[32..].copy_from_slice(recipient);
    hkdf_sha256(Some(&salt), shared, INFO)
}

/// Seals `plaintext` so that only the holder of `recipient`'s private key opens it.
pub fn seal_to(recipient: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let eph = BoxKeyPair::make()?;
    let shared = Zeroizing::new(eph.secret.diffie_hellman(&PublicKey::from(*recipient)).to_bytes());
    let key = Zeroizing::new(derive_box_key(&eph.public, recipient, &shared));
    let mut out = Vec::with_capacity(33 + envelope::OVERHEAD + plaintext.len());
    out.push(BOX_VERSION_1);
    out.extend_from_slice(&eph.public);
    out.extend_from_slice(&envelope::seal(&key, aad, plaintext)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_a_box() {
        let vault = BoxKeyPair::make().unwrap();
        let other = BoxKeyPair::make().unwrap();
        let sealed = seal_to(&vault.public, b"inbox", b"captured turn").unwrap();
        assert_eq!(vault.open(b"inbox", &sealed).unwrap(), b"captured turn");
        assert_eq!(other.open(b"inbox", &sealed), Err(CryptoError::Decrypt));
        assert_eq!(vault.open(b"other", &sealed), Err(CryptoError::Decrypt));
        assert!(!sealed.windows(8).any(|w| w == b"captured"));
    }

    #[test]
    fn a_key_pair_comes_back_from_its_secret() {
        let a = BoxKeyPair::make().unwrap();
        let b = BoxKeyPair::from_secret_bytes(*a.secret_bytes());
        assert_eq!(a.public, b.public);
    }
}
