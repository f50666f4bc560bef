//! The archive's bytes, version 1. Writer and reader share every constant here.
//!
//! # File
//!
//! ```text
//! header (113 bytes) || chunk 0 || chunk 1 || ... || chunk k (marked last)
//! ```
//!
//! Every chunk has the same length, so a file's length after the header is always a
//! multiple of [`CHUNK_LEN`]; a file cut anywhere is told from a changed one.
//!
//! # Header
//!
//! ```text
//! offset  length  field
//! 0       8       magic 89 54 4B 41 52 0D 0A 1A ("\x89TKAR\r\n\x1a": non-ASCII first
//!                 byte, and line endings that a text-mode copy would change)
//! 8       1       format version = 0x01
//! 9       4       Argon2id memory in KiB, u32 big-endian
//! 13      4       Argon2id iterations, u32 big-endian
//! 17      4       Argon2id lanes, u32 big-endian
//! 21      16      Argon2id salt (random)
//! 37      7       STREAM nonce prefix (random)
//! 44      61      archive key, wrapped: a v1 envelope (crypto::envelope: version 0x01,
//!                 nonce 12, ciphertext 32, tag 16) under
//!                 KEK = Argon2id(passphrase, salt, parameters above),
//!                 associated data = "tkarchive\0" || header bytes 0..44
//! 105     8       check: the first 8 bytes of SHA-256(header bytes 0..105)
//! ```
//!
//! The check is not a MAC (anyone can recompute it): it only tells a header damaged
//! by accident ("damaged") from a wrong passphrase, which the envelope alone cannot.
//! Deliberate changes are caught by the parameter floor and by the envelope, whose
//! associated data covers every earlier header byte.
//!
//! The archive key is 32 random bytes made for this archive only.
//!
//! # Chunks
//!
//! Each chunk is [`CHUNK_LEN`] = 65 552 bytes: AES-256-GCM under the archive key, nonce
//! = prefix || counter (u32 BE, from 0) || last flag (0x01 on the final chunk), no
//! associated data (see `crypto::stream`), of a [`CHUNK_PLAIN`] = 65 536-byte plaintext:
//!
//! ```text
//! offset  length  field
//! 0       4       n = number of data bytes used, u32 big-endian, n <= 65 532
//! 4       n       data: the next n bytes of the record stream
//! 4+n     ...     zero padding (only the last chunk has any)
//! ```
//!
//! # Record stream
//!
//! The data bytes of all chunks, joined in order, are a sequence of records:
//!
//! ```text
//! offset  length  field
//! 0       1       kind: 0x01 = a conversation, as the JSON of `model::Conversation`
//! 1       4       payload length, u32 big-endian, at most 64 MiB
//! 5       len     payload
//! ```
//!
//! A reader refuses unknown kinds below 0x80 (a newer version wrote them) and skips
//! unknown kinds from 0x80 up (optional extras). The stream must end exactly at a
//! record boundary in the last chunk.
//!
//! One optional kind is known: 0x81 = "the next record continues the conversation
//! before it" (payload empty). A conversation whose JSON is over 64 MiB is written as
//! several conversation records, each with the conversation's fields and the next
//! consecutive messages, every one after the first preceded by a 0x81 record; a reader
//! that knows 0x81 joins them into one conversation, one that does not (written before
//! it) reads the parts as separate conversations with the same id, which an import
//! merges. Every archive without a conversation over 64 MiB is byte for byte as before.

use sha2::{Digest, Sha256};

use super::ArchiveError;
use crate::crypto::envelope;
use crate::crypto::kdf::{KdfParams, SALT_LEN};
use crate::crypto::stream::PREFIX_LEN;

pub const MAGIC: [u8; 8] = [0x89, b'T', b'K', b'A', b'R', 0x0D, 0x0A, 0x1A];
pub const VERSION_1: u8 = 0x01;
/// The wrapped archive key: an envelope of a 32-byte key.
pub const WRAPPED_KEY_LEN: usize = envelope::OVERHEAD + 32;
/// Bytes covered by the wrapped key's associated data.
pub const WRAP_AAD_END: usize = 8 + 1 + 12 + SALT_LEN + PREFIX_LEN;
pub const CHECK_START: usize = WRAP_AAD_END + WRAPPED_KEY_LEN;
pub const HEADER_LEN: usize = CHECK_START + 8;
pub const WRAP_AAD_TAG: &[u8] = b"tkarchive\0";

pub const CHUNK_PLAIN: usize = 64 * 1024;
pub const CHUNK_DATA: usize = CHUNK_PLAIN - 4;
pub const CHUNK_LEN: usize = CHUNK_PLAIN + 16;

pub const RECORD_CONVERSATION: u8 = 0x01;
/// Optional: the next conversation record continues the one before (see "Record stream").
pub const RECORD_CONTINUES: u8 = 0x81;
pub const RECORD_HEAD_LEN: usize = 5;
pub const MAX_RECORD: usize = 64 * 1024 * 1024;

/// The header's fields, before the passphrase is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub params: KdfParams,
    pub salt: [u8; SALT_LEN],
    pub prefix: [u8; PREFIX_LEN],
    pub wrapped_key: [u8; WRAPPED_KEY_LEN],
}

impl Header {
    /// The header's bytes, check included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_unwrapped_part();
        out.extend_from_slice(&self.wrapped_key);
        let check = check_of(&out);
        out.extend_from_slice(&check);
        out
    }

    /// Bytes 0..44, which the wrapped key's associated data covers.
    pub fn encode_unwrapped_part(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION_1);
        out.extend_from_slice(&self.params.memory_kib.to_be_bytes());
        out.extend_from_slice(&self.params.iterations.to_be_bytes());
        out.extend_from_slice(&self.params.parallelism.to_be_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.prefix);
        out
    }

    /// The associated data of the wrapped archive key.
    pub fn wrap_aad(&self) -> Vec<u8> {
        let mut aad = WRAP_AAD_TAG.to_vec();
        aad.extend_from_slice(&self.encode_unwrapped_part());
        aad
    }
}

fn check_of(bytes: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// What the first bytes of a file say before the whole header has arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// Not enough bytes yet to tell.
    NeedMore,
    /// A version-1 header follows; it needs [`HEADER_LEN`] bytes.
    Version1,
}

/// Checks the magic and the version as soon as they are there.
///
/// # Errors
/// [`ArchiveError::NotAnArchive`] for other magic bytes, [`ArchiveError::NewerVersion`]
/// for a version above 1, [`ArchiveError::Damaged`] for version 0.
pub fn read_start(bytes: &[u8]) -> Result<Start, ArchiveError> {
    let seen = bytes.len().min(MAGIC.len());
    if bytes[..seen] != MAGIC[..seen] {
        return Err(ArchiveError::NotAnArchive);
    }
    match bytes.get(MAGIC.len()) {
        None => Ok(Start::NeedMore),
        Some(&VERSION_1) => Ok(Start::Version1),
        Some(0) => Err(ArchiveError::Damaged),
        Some(_) => Err(ArchiveError::NewerVersion),
    }
}

/// Decodes a complete version-1 header (`bytes` holds at least [`HEADER_LEN`] bytes and
/// passed [`read_start`]).
///
/// # Errors
/// [`ArchiveError::Damaged`] when the check does not match, [`ArchiveError::WeakKdf`]
/// for parameters outside the allowed range.
pub fn decode_header(bytes: &[u8]) -> Result<Header, ArchiveError> {
    let bytes = &bytes[..HEADER_LEN];
    if check_of(&bytes[..CHECK_START]) != bytes[CHECK_START..] {
        return Err(ArchiveError::Damaged);
    }
    let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let params = KdfParams { memory_kib: u32_at(9), iterations: u32_at(13), parallelism: u32_at(17) };
    params.check()?;
    Ok(Header {
        params,
        salt: bytes[21..37].try_into().expect("16 bytes"),
        prefix: bytes[37..44].try_into().expect("7 bytes"),
        wrapped_key: bytes[44..CHECK_START].try_into().expect("61 bytes"),
    })
}

/// Fills a chunk's plaintext: length, data, zero padding.
pub fn chunk_plaintext(data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len() <= CHUNK_DATA);
    let mut plain = vec![0u8; CHUNK_PLAIN];
    plain[..4].copy_from_slice(&(data.len() as u32).to_be_bytes());
    plain[4..4 + data.len()].copy_from_slice(data);
    plain
}

/// The data bytes of an opened chunk.
///
/// # Errors
/// [`ArchiveError::Damaged`] for a length past the chunk, non-zero padding, or a chunk
/// that is not full although more follow.
pub fn chunk_data(plain: &[u8], last: bool) -> Result<&[u8], ArchiveError> {
    if plain.len() != CHUNK_PLAIN {
        return Err(ArchiveError::Damaged);
    }
    let n = u32::from_be_bytes(plain[..4].try_into().expect("4 bytes")) as usize;
    if n > CHUNK_DATA || (!last && n != CHUNK_DATA) || plain[4 + n..].iter().any(|&b| b != 0) {
        return Err(ArchiveError::Damaged);
    }
    Ok(&plain[4..4 + n])
}

/// A record's head: kind and payload length.
pub fn record_head(kind: u8, len: usize) -> [u8; RECORD_HEAD_LEN] {
    let mut head = [0u8; RECORD_HEAD_LEN];
    head[0] = kind;
    head[1..].copy_from_slice(&(len as u32).to_be_bytes());
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_offsets_are_the_documented_ones() {
        assert_eq!(WRAP_AAD_END, 44);
        assert_eq!(WRAPPED_KEY_LEN, 61);
        assert_eq!(CHECK_START, 105);
        assert_eq!(HEADER_LEN, 113);
        assert_eq!(CHUNK_LEN, 65_552);
    }

    #[test]
    fn a_header_decodes_to_what_was_encoded() {
        let header =
            Header { params: KdfParams::MINIMUM, salt: [1; 16], prefix: [2; 7], wrapped_key: [3; WRAPPED_KEY_LEN] };
        let bytes = header.encode();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(read_start(&bytes), Ok(Start::Version1));
        assert_eq!(decode_header(&bytes), Ok(header));
    }

    #[test]
    fn the_start_of_a_file_is_judged_early() {
        assert_eq!(read_start(&MAGIC[..3]), Ok(Start::NeedMore));
        assert_eq!(read_start(&MAGIC), Ok(Start::NeedMore));
        assert_eq!(read_start(b"PK\x03\x04"), Err(ArchiveError::NotAnArchive));
        assert_eq!(read_start(b"[{\"title\""), Err(ArchiveError::NotAnArchive));
        let mut v2 = MAGIC.to_vec();
        v2.push(2);
        assert_eq!(read_start(&v2), Err(ArchiveError::NewerVersion));
    }

    #[test]
    fn chunk_data_refuses_inconsistent_lengths() {
        let plain = chunk_plaintext(b"abc");
        assert_eq!(chunk_data(&plain, true), Ok(&b"abc"[..]));
        assert_eq!(chunk_data(&plain, false), Err(ArchiveError::Damaged));
        let mut padded = plain.clone();
        padded[100] = 1;
        assert_eq!(chunk_data(&padded, true), Err(ArchiveError::Damaged));
    }
}
