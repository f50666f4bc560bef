//! Writing an archive, one conversation at a time (format in `format.rs`).

use zeroize::Zeroizing;

use super::format::{self, Header, CHUNK_DATA, MAX_RECORD, RECORD_CONVERSATION};
use super::ArchiveError;
use crate::crypto::envelope;
use crate::crypto::kdf::{derive_kek, KdfParams, SALT_LEN};
use crate::crypto::make_random;
use crate::crypto::stream::{StreamSealer, PREFIX_LEN};
use crate::model::Conversation;

/// Streams conversations into an archive: the caller appends, in order, the header
/// from [`ArchiveWriter::new`], every [`ArchiveWriter::push`] result and the
/// [`ArchiveWriter::finish`] result. At most one chunk (64 KiB) is held back.
pub struct ArchiveWriter {
    sealer: StreamSealer,
    /// Record-stream bytes not yet sealed, always fewer than a chunk's worth.
    pending: Zeroizing<Vec<u8>>,
}

impl ArchiveWriter {
    /// Starts an archive under `passphrase`; returns the writer and the header bytes.
    ///
    /// # Errors
    /// [`ArchiveError::WeakKdf`] for parameters outside the allowed range,
    /// [`ArchiveError::Random`] without secure randomness.
    pub fn new(passphrase: &str, params: KdfParams) -> Result<(Self, Vec<u8>), ArchiveError> {
        params.check()?;
        let mut salt = [0u8; SALT_LEN];
        let mut key = Zeroizing::new([0u8; 32]);
        let mut prefix = [0u8; PREFIX_LEN];
        let mut wrap_nonce = [0u8; 12];
        for buf in [&mut salt[..], &mut key[..], &mut prefix[..], &mut wrap_nonce[..]] {
            make_random(buf).map_err(|_| ArchiveError::Random)?;
        }
        Self::with_secrets(passphrase, params, salt, &key, prefix, wrap_nonce)
    }

    /// Deterministic construction for the pinned test vector: every random input given.
    pub(crate) fn with_secrets(
        passphrase: &str,
        params: KdfParams,
        salt: [u8; SALT_LEN],
        archive_key: &[u8; 32],
        prefix: [u8; PREFIX_LEN],
        wrap_nonce: [u8; 12],
    ) -> Result<(Self, Vec<u8>), ArchiveError> {
        let kek = derive_kek(passphrase, &salt, &params)?;
        let mut header = Header { params, salt, prefix, wrapped_key: [0; format::WRAPPED_KEY_LEN] };
        let wrapped = envelope::seal_with_nonce(&kek, &wrap_nonce, &header.wrap_aad(), archive_key);
        header.wrapped_key.copy_from_slice(&wrapped);
        let writer = ArchiveWriter {
            sealer: StreamSealer::with_prefix(archive_key, prefix),
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_DATA)),
        };
        Ok((writer, header.encode()))
    }

    /// A writer with a known archive key and no header: for fuzzing the chunk and
    /// record layers together with [`super::ArchiveReader::with_archive_key_for_fuzzing`].
    #[doc(hidden)]
    pub fn with_archive_key_for_fuzzing(archive_key: &[u8; 32], prefix: [u8; PREFIX_LEN]) -> Self {
        ArchiveWriter {
            sealer: StreamSealer::with_prefix(archive_key, prefix),
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_DATA)),
        }
    }

    /// Adds one conversation; returns the bytes to append now (often none).
    ///
    /// # Errors
    /// [`ArchiveError::TooLarge`] for a conversation over 64 MiB of JSON.
    pub fn push(&mut self, conversation: &Conversation) -> Result<Vec<u8>, ArchiveError> {
        // Serialising plain data to a Vec cannot fail.
        let json = serde_json::to_vec(conversation).expect("a conversation serialises");
        if json.len() > MAX_RECORD {
            return Err(ArchiveError::TooLarge(json.len() / (1024 * 1024)));
        }
        let mut out = Vec::new();
        self.write(&format::record_head(RECORD_CONVERSATION, json.len()), &mut out)?;
        self.write(&json, &mut out)?;
        Ok(out)
    }

    /// Seals the last chunk; returns the final bytes to append.
    pub fn finish(mut self) -> Result<Vec<u8>, ArchiveError> {
        let plain = Zeroizing::new(format::chunk_plaintext(&self.pending));
        Ok(self.sealer.seal_chunk(&plain, true)?)
    }

    fn write(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), ArchiveError> {
        while !data.is_empty() {
            let take = (CHUNK_DATA - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == CHUNK_DATA {
                let plain = Zeroizing::new(format::chunk_plaintext(&self.pending));
                out.extend_from_slice(&self.sealer.seal_chunk(&plain, false)?);
                self.pending.clear();
            }
        }
        Ok(())
    }
}
