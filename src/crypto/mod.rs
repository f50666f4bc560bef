//! Cryptography, in two parts as in Bitwarden's SDK:
//!
//! - `primitives`: the dangerous inner part (raw AES-256-GCM with a caller's nonce,
//!   HKDF, HMAC, randomness). Only this module's safe wrappers call it.
//! - `envelope`, `kdf`, `keys`, `sealed_box`, `stream`: misuse-resistant envelopes with
//!   random nonces (or, for `stream`, nonces it counts itself), versions and
//!   associated data. The rest of the crate uses only these.
//! - `sync_keys`: the keys of a sync folder (object names, sealed objects), derived
//!   from the data key.
//! - `bulk`: a write's records sealed at once into the same envelopes (in the
//!   browser by WebCrypto's AES-GCM, which is several times faster than ours in wasm).

pub mod bulk;
pub mod envelope;
pub mod kdf;
pub mod keys;
mod primitives;
pub mod sealed_box;
pub mod stream;
pub mod sync_keys;

use thiserror::Error;

/// What can go wrong in cryptography. Never carries keys or plaintext.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The tag did not verify: wrong key, changed bytes, or a record moved to
    /// another slot (its associated data differs).
    #[error("the data could not be decrypted: wrong key, or it was changed or moved")]
    Decrypt,
    /// The bytes are too short or otherwise not an envelope.
    #[error("the data is not in a format Threadkeeper knows: {0}")]
    Format(&'static str),
    /// A version byte this build does not know (written by a newer version).
    #[error("the data was written by a newer version of Threadkeeper (format {0})")]
    UnsupportedVersion(u8),
    /// Key-derivation parameters below the floor, or absurdly high.
    #[error("key-derivation parameters are unsafe: {0}")]
    WeakKdf(String),
    /// The key-derivation function itself failed.
    #[error("key derivation failed")]
    Kdf,
    /// The platform's random number generator failed.
    #[error("no secure randomness available")]
    Random,
}

/// Fills `buf` from the operating system's (or the browser's) secure generator.
pub fn make_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}
