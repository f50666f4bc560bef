//! Reading an archive from byte slices fed in order (format in `format.rs`).

use zeroize::Zeroizing;

use super::format::{
    self, Start, CHUNK_LEN, HEADER_LEN, MAX_RECORD, RECORD_CONTINUES, RECORD_CONVERSATION, RECORD_HEAD_LEN,
};
use super::ArchiveError;
use crate::crypto::envelope;
use crate::crypto::kdf::derive_kek;
use crate::crypto::stream::StreamOpener;
use crate::crypto::stream::NONCE_LEN;
use crate::crypto::CryptoError;
use crate::model::Conversation;

enum State {
    /// Waiting for the whole header.
    Header,
    /// Opening chunks.
    Body(Box<StreamOpener>),
    /// The chunk marked last was opened: nothing may follow.
    Done,
}

/// Turns an archive, fed as byte slices in order, back into conversations. It holds at
/// most one chunk of ciphertext and one partial record at a time.
///
/// Every conversation it yields has been authenticated and holds to the limits of the
/// vault's write path (an id out of bounds fails the file as damaged; a message over
/// 8 MiB comes cut with its marker), but only [`ArchiveReader::finish`]
/// says whether the file was complete: a caller that must not change anything for a
/// cut file (an import) checks the whole file first, then merges.
pub struct ArchiveReader {
    passphrase: Zeroizing<String>,
    state: State,
    /// Bytes fed but not yet used: part of the header or of a chunk.
    pending: Vec<u8>,
    /// Record-stream bytes not yet forming a whole record.
    records: Zeroizing<Vec<u8>>,
    bytes_fed: u64,
    /// Once an error is found it is the answer to every later call.
    failed: Option<ArchiveError>,
    /// The last conversation read, held until the next record says whether it
    /// continues (a conversation over 64 MiB is written in parts).
    held: Option<Conversation>,
    /// A [`RECORD_CONTINUES`] record was read: the next conversation record joins `held`.
    continues: bool,
    /// Once the header opened: the archive key, the nonce prefix and the header itself,
    /// so that [`ArchiveReader::reread`] can read the file again without the KDF.
    opened: Option<Opened>,
}

struct Opened {
    key: Zeroizing<[u8; 32]>,
    prefix: [u8; 7],
    header: Vec<u8>,
}

impl ArchiveReader {
    pub fn new(passphrase: &str) -> Self {
        ArchiveReader {
            passphrase: Zeroizing::new(passphrase.to_owned()),
            state: State::Header,
            pending: Vec::new(),
            records: Zeroizing::new(Vec::new()),
            bytes_fed: 0,
            failed: None,
            opened: None,
            held: None,
            continues: false,
        }
    }

    /// A reader for a second pass over the same file (an import checks the whole file,
    /// then reads it again to merge), with the key this one already derived: the
    /// passphrase is not stretched twice. The file must start with the very header
    /// this reader read, or the new reader fails with [`ArchiveError::Damaged`].
    /// `None` before this reader has read a header.
    pub fn reread(&self) -> Option<ArchiveReader> {
        let opened = self.opened.as_ref()?;
        let mut reader = Self::new("");
        reader.opened = Some(Opened { key: opened.key.clone(), prefix: opened.prefix, header: opened.header.clone() });
        Some(reader)
    }

    /// A reader past the header, with a known archive key: for fuzzing the chunk and
    /// record layers without Argon2 on every input.
    #[doc(hidden)]
    pub fn with_archive_key_for_fuzzing(archive_key: &[u8; 32], prefix: [u8; 7]) -> Self {
        let mut reader = Self::new("");
        reader.state = State::Body(Box::new(StreamOpener::new(archive_key, prefix)));
        reader
    }

    /// How many bytes were fed so far (for a progress bar against the file's size).
    pub fn bytes_fed(&self) -> u64 {
        self.bytes_fed
    }

    /// Feeds the next bytes of the file; returns the conversations they completed.
    ///
    /// # Errors
    /// [`ArchiveError::NotAnArchive`], [`ArchiveError::NewerVersion`] and
    /// [`ArchiveError::WeakKdf`] from the header, [`ArchiveError::WrongPassphrase`] once
    /// the header is complete, [`ArchiveError::Damaged`] for any changed, moved or
    /// foreign chunk and for bytes after the end. After an error, every call repeats it.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Conversation>, ArchiveError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        self.bytes_fed += bytes.len() as u64;
        let result = self.feed_inner(bytes);
        self.keep_failure(result)
    }

    /// Once an error is found, it is the answer to every later call.
    fn keep_failure(
        &mut self,
        result: Result<Vec<Conversation>, ArchiveError>,
    ) -> Result<Vec<Conversation>, ArchiveError> {
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.pending = Vec::new();
        }
        result
    }

    /// Says whether the file was whole: it must have ended with the chunk marked last.
    ///
    /// # Errors
    /// [`ArchiveError::Truncated`] when the file ended early (anywhere: in the header,
    /// inside a chunk, or at a chunk boundary before the last chunk),
    /// [`ArchiveError::NotAnArchive`] for an empty file, or the error already found.
    pub fn finish(self) -> Result<(), ArchiveError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match self.state {
            State::Done => Ok(()),
            State::Header if self.bytes_fed == 0 => Err(ArchiveError::NotAnArchive),
            State::Header | State::Body(_) => Err(ArchiveError::Truncated),
        }
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<Vec<Conversation>, ArchiveError> {
        let mut out = Vec::new();
        if let State::Done = self.state {
            return if bytes.is_empty() { Ok(out) } else { Err(ArchiveError::Damaged) };
        }
        self.pending.extend_from_slice(bytes);
        let mut used = 0;
        if let State::Header = self.state {
            if format::read_start(&self.pending)? == Start::NeedMore || self.pending.len() < HEADER_LEN {
                return Ok(out);
            }
            let opener = match &self.opened {
                Some(known) if known.header[..] == self.pending[..HEADER_LEN] => {
                    StreamOpener::new(&known.key, known.prefix)
                }
                Some(_) => return Err(ArchiveError::Damaged),
                None => self.open_header()?,
            };
            self.state = State::Body(Box::new(opener));
            used = HEADER_LEN;
        }
        while self.pending.len() - used >= CHUNK_LEN {
            let State::Body(opener) = &mut self.state else {
                // Only the chunk marked last ends the body: anything after it is foreign.
                return Err(ArchiveError::Damaged);
            };
            let chunk = opener.open_chunk(&self.pending[used..used + CHUNK_LEN])?;
            used += CHUNK_LEN;
            let plain = Zeroizing::new(chunk.plaintext);
            self.take_chunk(&plain, chunk.last, &mut out)?;
        }
        if let State::Done = self.state {
            if self.pending.len() > used {
                return Err(ArchiveError::Damaged);
            }
        }
        self.pending.drain(..used);
        Ok(out)
    }

    /// The records of an opened chunk's plaintext.
    fn take_chunk(&mut self, plain: &[u8], last: bool, out: &mut Vec<Conversation>) -> Result<(), ArchiveError> {
        self.records.extend_from_slice(format::chunk_data(plain, last)?);
        decode_records(&mut self.records, &mut self.held, &mut self.continues, last, out)?;
        if last {
            if !self.records.is_empty() {
                return Err(ArchiveError::Damaged);
            }
            self.state = State::Done;
        }
        Ok(())
    }

    /// The opener of the next chunk, when the header is read and no part of a chunk
    /// is waiting (chunks opened elsewhere must start on a chunk boundary).
    fn opener_at_boundary(&mut self) -> Result<&mut StreamOpener, ArchiveError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match &mut self.state {
            State::Body(opener) if self.pending.is_empty() => Ok(opener),
            _ => Err(ArchiveError::Damaged),
        }
    }

    /// The archive key, once the header is read: for a caller that opens the chunks
    /// with another AES-GCM (WebCrypto in the browser, about ten times faster than
    /// this code compiled to wasm) and gives each plaintext to
    /// [`ArchiveReader::feed_opened`]. The caller must not keep or show it.
    pub fn chunk_key(&self) -> Option<Zeroizing<[u8; 32]>> {
        match (&self.state, &self.opened) {
            (State::Body(_), Some(opened)) => Some(opened.key.clone()),
            _ => None,
        }
    }

    /// The AES-GCM nonce (no associated data) of the chunk `ahead` places after the
    /// next one, sealed as the file's last chunk or not. Only the chunk at its own
    /// position and of its own kind opens with it.
    ///
    /// # Errors
    /// [`ArchiveError::Damaged`] before the header, after the last chunk, with part of
    /// a chunk fed, or after an error (then that error).
    pub fn chunk_nonce(&mut self, ahead: u32, last: bool) -> Result<[u8; NONCE_LEN], ArchiveError> {
        Ok(self.opener_at_boundary()?.nonce_ahead(ahead, last)?)
    }

    /// Takes the next chunk, opened (its tag checked) by the caller with the nonce
    /// `chunk_nonce(0, last)` gave; returns the conversations it completed. A chunk
    /// that opens with neither nonce is fed to [`ArchiveReader::feed`] instead, which
    /// says what is wrong with it.
    ///
    /// # Errors
    /// As [`ArchiveReader::feed`], and [`ArchiveError::Damaged`] for a plaintext that is
    /// not a whole chunk's.
    pub fn feed_opened(&mut self, plain: &[u8], last: bool) -> Result<Vec<Conversation>, ArchiveError> {
        let result = self.feed_opened_inner(plain, last);
        self.keep_failure(result)
    }

    fn feed_opened_inner(&mut self, plain: &[u8], last: bool) -> Result<Vec<Conversation>, ArchiveError> {
        // A plaintext that is not a whole chunk's is refused by `format::chunk_data`.
        self.opener_at_boundary()?.opened_elsewhere(last)?;
        self.bytes_fed += CHUNK_LEN as u64;
        let mut out = Vec::new();
        self.take_chunk(plain, last, &mut out)?;
        Ok(out)
    }

    /// Decodes the complete header and unwraps the archive key with the passphrase.
    fn open_header(&mut self) -> Result<StreamOpener, ArchiveError> {
        let header = format::decode_header(&self.pending)?;
        let kek = derive_kek(&self.passphrase, &header.salt, &header.params)?;
        let key = envelope::open(&kek, &header.wrap_aad(), &header.wrapped_key).map_err(|e| match e {
            // The check matched, so the header is as written: the passphrase is wrong.
            CryptoError::Decrypt => ArchiveError::WrongPassphrase,
            other => ArchiveError::from(other),
        })?;
        let key = Zeroizing::new(key);
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(key.as_slice().try_into().map_err(|_| ArchiveError::Damaged)?);
        let opener = StreamOpener::new(&key, header.prefix);
        self.opened = Some(Opened { key, prefix: header.prefix, header: self.pending[..HEADER_LEN].to_vec() });
        Ok(opener)
    }
}

/// Takes every whole record off the front of `buf`. A conversation is held back until
/// the next record says whether it continues ([`RECORD_CONTINUES`]) or the stream ends
/// (`last`), then given in `out` once whole and within the vault's limits.
fn decode_records(
    buf: &mut Vec<u8>,
    held: &mut Option<Conversation>,
    continues: &mut bool,
    last: bool,
    out: &mut Vec<Conversation>,
) -> Result<(), ArchiveError> {
    let mut at = 0;
    while buf.len() - at >= RECORD_HEAD_LEN {
        let kind = buf[at];
        let len = u32::from_be_bytes(buf[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
        if len > MAX_RECORD {
            return Err(ArchiveError::Damaged);
        }
        let start = at + RECORD_HEAD_LEN;
        if buf.len() - start < len {
            break;
        }
        let payload = &buf[start..start + len];
        match kind {
            RECORD_CONVERSATION => {
                let conv: Conversation = serde_json::from_slice(payload).map_err(|_| ArchiveError::Damaged)?;
                match held {
                    Some(whole) if *continues => {
                        if whole.site != conv.site || whole.conversation_id != conv.conversation_id {
                            return Err(ArchiveError::Damaged);
                        }
                        whole.messages.extend(conv.messages);
                    }
                    _ => {
                        if let Some(done) = held.replace(conv) {
                            out.push(within_limits(done)?);
                        }
                    }
                }
                *continues = false;
            }
            RECORD_CONTINUES => {
                if held.is_none() || *continues {
                    return Err(ArchiveError::Damaged);
                }
                *continues = true;
            }
            0x80..=0xFF => {} // an optional extra of a newer version
            _ => return Err(ArchiveError::NewerVersion),
        }
        at = start + len;
    }
    buf.drain(..at);
    if last {
        if *continues {
            return Err(ArchiveError::Damaged);
        }
        if let Some(done) = held.take() {
            out.push(within_limits(done)?);
        }
    }
    Ok(())
}

/// A conversation of the file within the limits of the vault's write path (the same
/// function as capture and import: [`Conversation::fit_vault_limits`]), checked while
/// the file is read, so that the check pass of an import refuses a file the import
/// would refuse part way: an id or a site name out of bounds, too many messages. A
/// message over the size limit is cut with its marker, as capture cuts it.
fn within_limits(mut conv: Conversation) -> Result<Conversation, ArchiveError> {
    conv.fit_vault_limits().map_err(|_| ArchiveError::Damaged)?;
    Ok(conv)
}
