//! Writing an archive, one conversation at a time (format in `format.rs`).

use zeroize::Zeroizing;

use super::format::{self, Header, CHUNK_DATA, MAX_RECORD, RECORD_CONTINUES, RECORD_CONVERSATION};
use super::ArchiveError;
use crate::crypto::envelope;
use crate::crypto::kdf::{derive_kek, KdfParams, SALT_LEN};
use crate::crypto::make_random;
use crate::crypto::stream::{StreamSealer, PREFIX_LEN};
use crate::model::{Conversation, Message};

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

    /// Adds one conversation; returns the bytes to append now (often none). A
    /// conversation over [`MAX_RECORD`] of JSON is written in parts, never refused (see
    /// the record stream in `format.rs`, kind [`RECORD_CONTINUES`]).
    ///
    /// # Errors
    /// Only those of sealing ([`ArchiveError::Random`] cannot happen here in practice).
    pub fn push(&mut self, conversation: &Conversation) -> Result<Vec<u8>, ArchiveError> {
        // Serialising plain data to a Vec cannot fail.
        let json = Zeroizing::new(serde_json::to_vec(conversation).expect("a conversation serialises"));
        let mut out = Vec::new();
        if json.len() <= MAX_RECORD {
            self.write(&format::record_head(RECORD_CONVERSATION, json.len()), &mut out)?;
            self.write(&json, &mut out)?;
            return Ok(out);
        }
        drop(json);
        for (i, part) in parts(conversation).into_iter().enumerate() {
            if i > 0 {
                self.write(&format::record_head(RECORD_CONTINUES, 0), &mut out)?;
            }
            self.write(&format::record_head(RECORD_CONVERSATION, part.len()), &mut out)?;
            self.write(&part, &mut out)?;
        }
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

/// The JSON of `conversation` in parts of at most [`MAX_RECORD`] bytes, each the
/// conversation's fields with the next consecutive messages. A message too large for a
/// record on its own (only possible through many long earlier versions or metadata)
/// loses its oldest versions, then its metadata, then the end of its text, until it fits.
fn parts(conversation: &Conversation) -> Vec<Zeroizing<Vec<u8>>> {
    let empty = Conversation { messages: Vec::new(), ..conversation.clone() };
    // The fields, and the room they leave for messages (commas between them).
    let overhead = serde_json::to_vec(&empty).expect("a conversation serialises").len();
    let room = MAX_RECORD - overhead;
    let mut parts = Vec::new();
    let mut batch: Vec<Message> = Vec::new();
    let mut size = 0;
    let flush = |batch: &mut Vec<Message>, parts: &mut Vec<Zeroizing<Vec<u8>>>| {
        let part = Conversation { messages: std::mem::take(batch), ..empty.clone() };
        parts.push(Zeroizing::new(serde_json::to_vec(&part).expect("a conversation serialises")));
    };
    for m in &conversation.messages {
        let mut m = m.clone();
        let mut len = json_len(&m);
        while len > room {
            if !m.versions.is_empty() {
                m.versions.remove(0);
            } else if !m.metadata.is_empty() {
                m.metadata.clear();
            } else {
                let mut end = m.markdown.len() / 2;
                while !m.markdown.is_char_boundary(end) {
                    end -= 1;
                }
                m.markdown.truncate(end);
            }
            len = json_len(&m);
        }
        if !batch.is_empty() && size + 1 + len > room {
            flush(&mut batch, &mut parts);
            size = 0;
        }
        size += len + usize::from(!batch.is_empty());
        batch.push(m);
    }
    if !batch.is_empty() || parts.is_empty() {
        flush(&mut batch, &mut parts);
    }
    parts
}

fn json_len(m: &Message) -> usize {
    serde_json::to_vec(m).expect("a message serialises").len()
}
