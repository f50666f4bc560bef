//! The encrypted export archive of the whole vault: one file that moves every
//! conversation to another machine, readable only with the passphrase chosen for it.
//!
//! The byte format is documented beside its decoder, in [`format`]. In short: a header
//! (magic, version, Argon2id parameters, salt, a fresh random archive key wrapped by the
//! export passphrase), then fixed-size chunks sealed with AES-256-GCM in the STREAM
//! construction ([`crate::crypto::stream`]), carrying a stream of length-prefixed records,
//! one per conversation.
//!
//! Both directions stream: [`ArchiveWriter`] turns conversations into bytes to append,
//! [`ArchiveReader`] turns byte slices, fed in order, back into conversations, so a
//! vault of 100k messages never sits in memory twice. [`seal_archive`] and
//! [`open_archive`] do the same over whole buffers.
//!
//! # Examples
//! ```
//! use threadkeeper::archive::{open_archive, seal_archive, ArchiveError};
//! use threadkeeper::crypto::kdf::KdfParams;
//! use threadkeeper::{Conversation, Message, Role, Site};
//!
//! let mut chat = Conversation {
//!     site: Site::Claude, conversation_id: "abc".into(), title: "Tea".into(),
//!     url: "https://claude.ai/chat/abc".into(), model: None, created_at: 0, updated_at: 0,
//!     messages: vec![Message::new(Role::User, "How long do I steep green tea?")],
//! };
//! let file = seal_archive(&[chat.clone()], "a long export passphrase", KdfParams::MINIMUM)?;
//! assert_eq!(open_archive(&file, "a long export passphrase")?, vec![chat]);
//! assert_eq!(open_archive(&file, "another passphrase"), Err(ArchiveError::WrongPassphrase));
//! # Ok::<(), ArchiveError>(())
//! ```

pub mod format;
mod reader;
mod writer;

use thiserror::Error;

use crate::crypto::kdf::KdfParams;
use crate::crypto::CryptoError;
use crate::model::Conversation;

pub use reader::ArchiveReader;
pub use writer::ArchiveWriter;

/// Why an archive could not be written or opened. Each says what a person can do;
/// none carries keys, passphrases or the archive's contents.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum ArchiveError {
    #[error("Wrong passphrase for this archive. Check it (it may differ from your vault's) and try again.")]
    WrongPassphrase,
    #[error("This file was changed or is damaged. Nothing was imported from it.")]
    Damaged,
    #[error("This file is incomplete: it ends too early. Copy or download it again, then retry.")]
    Truncated,
    #[error(
        "This is not a Threadkeeper archive. ChatGPT and Claude exports are imported as official exports instead."
    )]
    NotAnArchive,
    #[error("This archive was written by a newer version of Threadkeeper. Update the extension to open it.")]
    NewerVersion,
    #[error("This archive's key settings are unsafe and were refused: {0}.")]
    WeakKdf(String),
    #[error("A conversation is too large to put in an archive ({0} MiB; the limit is 64 MiB).")]
    TooLarge(usize),
    #[error("No secure random numbers are available in this browser.")]
    Random,
}

impl ArchiveError {
    /// The stable machine-readable code (the `code` of errors in the message API).
    pub fn code(&self) -> &'static str {
        match self {
            ArchiveError::WrongPassphrase => "wrong_passphrase",
            ArchiveError::Damaged => "damaged",
            ArchiveError::Truncated => "truncated",
            ArchiveError::NotAnArchive => "not_an_archive",
            ArchiveError::NewerVersion => "newer_version",
            ArchiveError::WeakKdf(_) => "weak_kdf",
            ArchiveError::TooLarge(_) => "too_large",
            ArchiveError::Random => "random",
        }
    }
}

impl From<CryptoError> for ArchiveError {
    /// Crypto failures seen while reading chunks; the header's own failures are mapped
    /// where they happen (a failed unwrap there means a wrong passphrase).
    fn from(err: CryptoError) -> Self {
        match err {
            CryptoError::WeakKdf(why) => ArchiveError::WeakKdf(why),
            CryptoError::UnsupportedVersion(_) => ArchiveError::NewerVersion,
            CryptoError::Random => ArchiveError::Random,
            CryptoError::Decrypt | CryptoError::Format(_) | CryptoError::Kdf => ArchiveError::Damaged,
        }
    }
}

/// Seals conversations into one archive held in memory.
///
/// # Errors
/// [`ArchiveError::WeakKdf`] for parameters below the floor, [`ArchiveError::TooLarge`]
/// for a conversation over 64 MiB of JSON, [`ArchiveError::Random`] without randomness.
pub fn seal_archive(
    conversations: &[Conversation],
    passphrase: &str,
    params: KdfParams,
) -> Result<Vec<u8>, ArchiveError> {
    let (mut writer, mut out) = ArchiveWriter::new(passphrase, params)?;
    for conversation in conversations {
        out.extend_from_slice(&writer.push(conversation)?);
    }
    out.extend_from_slice(&writer.finish()?);
    Ok(out)
}

/// Opens a whole archive, checking every byte before returning anything.
///
/// # Errors
/// [`ArchiveError::WrongPassphrase`], [`ArchiveError::Damaged`], [`ArchiveError::Truncated`],
/// [`ArchiveError::NotAnArchive`], [`ArchiveError::NewerVersion`], [`ArchiveError::WeakKdf`].
pub fn open_archive(bytes: &[u8], passphrase: &str) -> Result<Vec<Conversation>, ArchiveError> {
    let mut reader = ArchiveReader::new(passphrase);
    let conversations = reader.feed(bytes)?;
    reader.finish()?;
    Ok(conversations)
}

/// Whether `bytes` start like an archive (for telling files apart, not for trusting them).
pub fn looks_like_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(&format::MAGIC)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::model::{Message, Role, Site};

    fn vector_conversation() -> Conversation {
        Conversation {
            site: Site::ChatGpt,
            conversation_id: "vector".into(),
            title: "Pinned".into(),
            url: "https://chatgpt.com/c/vector".into(),
            model: None,
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
            messages: vec![Message::new(Role::User, "hello archive"), Message::new(Role::Assistant, "hi")],
        }
    }

    fn vector_bytes() -> Vec<u8> {
        let (mut w, mut out) = ArchiveWriter::with_secrets(
            "correct horse battery staple",
            KdfParams::MINIMUM,
            [0x11; 16],
            &[0x22; 32],
            [0x33; 7],
            [0x44; 12],
        )
        .unwrap();
        out.extend(w.push(&vector_conversation()).unwrap());
        out.extend(w.finish().unwrap());
        out
    }

    /// Pins format version 1: if this changes, archives people saved no longer open.
    #[test]
    fn archive_vector_v1_is_pinned() {
        let bytes = vector_bytes();
        assert_eq!(bytes.len(), format::HEADER_LEN + format::CHUNK_LEN);
        assert_eq!(hex::encode(&bytes[..format::HEADER_LEN]), PINNED_HEADER);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), PINNED_SHA256);
        let opened = open_archive(&bytes, "correct horse battery staple").unwrap();
        assert_eq!(opened, vec![vector_conversation()]);
    }

    const PINNED_HEADER: &str = concat!(
        "89544b41520d0a1a",                                                 // magic
        "01",                                                               // version
        "00004c00",                                                         // memory KiB
        "00000002",                                                         // iterations
        "00000001",                                                         // lanes
        "11111111111111111111111111111111",                                 // salt
        "33333333333333",                                                   // nonce prefix
        "01444444444444444444444444",                                       // wrapped key: envelope version and nonce
        "ecf26733d988c55d42a89d666bc2b4c823956b3c41c17c83848ec12d750c531a", // wrapped key: ciphertext
        "7e56929a50742e18d1cece5ee97a6897",                                 // wrapped key: tag
        "0fa80bc7d0716505",                                                 // check
    );
    const PINNED_SHA256: &str = "53168370bb3277123318ec2aef40cf1a068050a9844bb869be2e0fc2747e57e0";
}
