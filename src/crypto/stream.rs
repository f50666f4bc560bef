//! STREAM: AES-256-GCM over a sequence of chunks, as in Hoang, Reyhanitabar, Rogaway
//! and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance"
//! (CRYPTO 2015), the construction `age` and Tink's streaming AEAD also use.
//!
//! Each chunk is sealed under one key with the nonce
//!
//! ```text
//! offset  length  field
//! 0       7       nonce prefix (random, per stream; stored by the caller)
//! 7       4       chunk counter, big-endian, starting at 0
//! 11      1       0x01 for the last chunk, 0x00 otherwise
//! ```
//!
//! so a chunk opens only at its own position (reordering fails), only as the kind it was
//! sealed as (dropping the end fails: the new final chunk is not marked last), and only
//! under its own stream's key (splicing from another stream fails). The counter is
//! owned here, so a caller cannot reuse a nonce.
//!
//! A stream key must seal one stream only: callers make a fresh random key per stream.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use super::primitives::KEY_LEN;
pub use super::primitives::NONCE_LEN;
use super::{make_random, CryptoError};

pub const PREFIX_LEN: usize = 7;

fn nonce(prefix: &[u8; PREFIX_LEN], counter: u32, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..PREFIX_LEN].copy_from_slice(prefix);
    n[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&counter.to_be_bytes());
    n[NONCE_LEN - 1] = u8::from(last);
    n
}

/// Seals the chunks of one stream, in order.
pub struct StreamSealer {
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX_LEN],
    counter: u32,
    finished: bool,
}

impl StreamSealer {
    /// A sealer with a fresh random nonce prefix.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the platform has no secure randomness.
    pub fn make(key: &[u8; KEY_LEN]) -> Result<Self, CryptoError> {
        let mut prefix = [0u8; PREFIX_LEN];
        make_random(&mut prefix)?;
        Ok(Self::with_prefix(key, prefix))
    }

    /// A sealer with a chosen prefix: for test vectors only.
    pub(crate) fn with_prefix(key: &[u8; KEY_LEN], prefix: [u8; PREFIX_LEN]) -> Self {
        StreamSealer { cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)), prefix, counter: 0, finished: false }
    }

    /// The nonce prefix, which the reader needs (it is not secret).
    pub fn prefix(&self) -> [u8; PREFIX_LEN] {
        self.prefix
    }

    /// Seals the next chunk; returns ciphertext followed by the 16-byte tag.
    ///
    /// # Errors
    /// [`CryptoError::Format`] after the last chunk, or past 2^32 chunks.
    pub fn seal_chunk(&mut self, plaintext: &[u8], last: bool) -> Result<Vec<u8>, CryptoError> {
        if self.finished {
            return Err(CryptoError::Format("the stream is already finished"));
        }
        let n = nonce(&self.prefix, self.counter, last);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(n), Payload { msg: plaintext, aad: &[] })
            .map_err(|_| CryptoError::Format("chunk too large"))?;
        if last {
            self.finished = true;
        } else {
            self.counter = self.counter.checked_add(1).ok_or(CryptoError::Format("stream too long"))?;
        }
        Ok(sealed)
    }
}

/// Opens the chunks of one stream, in order.
pub struct StreamOpener {
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX_LEN],
    counter: u32,
    finished: bool,
}

/// What [`StreamOpener::open_chunk`] found.
#[derive(Debug, PartialEq, Eq)]
pub struct OpenedChunk {
    pub plaintext: Vec<u8>,
    pub last: bool,
}

impl StreamOpener {
    pub fn new(key: &[u8; KEY_LEN], prefix: [u8; PREFIX_LEN]) -> Self {
        StreamOpener { cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)), prefix, counter: 0, finished: false }
    }

    /// Whether the chunk marked last has been opened.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The nonce of the chunk `ahead` places after the next one, sealed as the last
    /// chunk or not: for a caller that opens chunks with another AES-GCM (WebCrypto in
    /// the browser) and then reports each with [`StreamOpener::opened_elsewhere`].
    ///
    /// # Errors
    /// [`CryptoError::Format`] after the last chunk or past 2^32 chunks.
    pub fn nonce_ahead(&self, ahead: u32, last: bool) -> Result<[u8; NONCE_LEN], CryptoError> {
        if self.finished {
            return Err(CryptoError::Format("data after the end of the stream"));
        }
        let counter = self.counter.checked_add(ahead).ok_or(CryptoError::Format("stream too long"))?;
        Ok(nonce(&self.prefix, counter, last))
    }

    /// Moves past the next chunk, which the caller opened with the nonce
    /// `nonce_ahead(0, last)` gave (its tag checked by that AES-GCM).
    ///
    /// # Errors
    /// [`CryptoError::Format`] after the last chunk or past 2^32 chunks.
    pub fn opened_elsewhere(&mut self, last: bool) -> Result<(), CryptoError> {
        if self.finished {
            return Err(CryptoError::Format("data after the end of the stream"));
        }
        if last {
            self.finished = true;
        } else {
            self.counter = self.counter.checked_add(1).ok_or(CryptoError::Format("stream too long"))?;
        }
        Ok(())
    }

    /// Opens the next chunk, whether it was sealed as the last one or not.
    ///
    /// # Errors
    /// [`CryptoError::Decrypt`] when the chunk is not this stream's next chunk (changed,
    /// moved, or from another stream); [`CryptoError::Format`] after the last chunk.
    pub fn open_chunk(&mut self, sealed: &[u8]) -> Result<OpenedChunk, CryptoError> {
        if self.finished {
            return Err(CryptoError::Format("data after the end of the stream"));
        }
        for last in [false, true] {
            let n = nonce(&self.prefix, self.counter, last);
            if let Ok(plaintext) = self.cipher.decrypt(&Nonce::from(n), Payload { msg: sealed, aad: &[] }) {
                if last {
                    self.finished = true;
                } else {
                    self.counter = self.counter.checked_add(1).ok_or(CryptoError::Decrypt)?;
                }
                return Ok(OpenedChunk { plaintext, last });
            }
        }
        Err(CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [0x42; 32];

    fn sealed_stream(parts: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = StreamSealer::with_prefix(&KEY, [7; 7]);
        parts.iter().enumerate().map(|(i, p)| s.seal_chunk(p, i + 1 == parts.len()).unwrap()).collect()
    }

    #[test]
    fn chunks_open_in_order_and_the_last_is_marked() {
        let chunks = sealed_stream(&[b"one", b"two", b"three"]);
        let mut o = StreamOpener::new(&KEY, [7; 7]);
        assert_eq!(o.open_chunk(&chunks[0]).unwrap(), OpenedChunk { plaintext: b"one".to_vec(), last: false });
        assert!(!o.open_chunk(&chunks[1]).unwrap().last);
        assert_eq!(o.open_chunk(&chunks[2]).unwrap(), OpenedChunk { plaintext: b"three".to_vec(), last: true });
        assert!(o.is_finished());
        assert!(o.open_chunk(&chunks[2]).is_err());
    }

    #[test]
    fn reordered_or_foreign_chunks_fail() {
        let chunks = sealed_stream(&[b"one", b"two", b"three"]);
        let mut o = StreamOpener::new(&KEY, [7; 7]);
        assert_eq!(o.open_chunk(&chunks[1]), Err(CryptoError::Decrypt));
        let mut o = StreamOpener::new(&KEY, [8; 7]);
        assert_eq!(o.open_chunk(&chunks[0]), Err(CryptoError::Decrypt));
        let mut o = StreamOpener::new(&[0x43; 32], [7; 7]);
        assert_eq!(o.open_chunk(&chunks[0]), Err(CryptoError::Decrypt));
    }

    #[test]
    fn chunks_opened_elsewhere_use_the_nonces_given_in_order() {
        let chunks = sealed_stream(&[b"one", b"two", b"three"]);
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(KEY));
        let open = |n: [u8; NONCE_LEN], c: &[u8]| cipher.decrypt(&Nonce::from(n), Payload { msg: c, aad: &[] }).ok();
        let mut o = StreamOpener::new(&KEY, [7; 7]);
        // Nonces ahead of the next chunk open the later chunks; the kind must match.
        assert_eq!(open(o.nonce_ahead(2, true).unwrap(), &chunks[2]).as_deref(), Some(&b"three"[..]));
        assert_eq!(open(o.nonce_ahead(2, false).unwrap(), &chunks[2]), None);
        assert_eq!(open(o.nonce_ahead(1, false).unwrap(), &chunks[0]), None);
        assert_eq!(open(o.nonce_ahead(0, false).unwrap(), &chunks[0]).as_deref(), Some(&b"one"[..]));
        o.opened_elsewhere(false).unwrap();
        assert_eq!(open(o.nonce_ahead(0, false).unwrap(), &chunks[1]).as_deref(), Some(&b"two"[..]));
        o.opened_elsewhere(false).unwrap();
        // The opener's own path continues where the outside one left off.
        assert_eq!(o.open_chunk(&chunks[2]).unwrap(), OpenedChunk { plaintext: b"three".to_vec(), last: true });
        assert!(o.nonce_ahead(0, false).is_err() && o.opened_elsewhere(false).is_err());
    }

    #[test]
    fn nothing_is_sealed_after_the_last_chunk() {
        let mut s = StreamSealer::with_prefix(&KEY, [0; 7]);
        s.seal_chunk(b"end", true).unwrap();
        assert!(s.seal_chunk(b"more", false).is_err());
    }
}
