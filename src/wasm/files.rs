//! `#[wasm_bindgen]` exports for files: encrypted archives (`crate::archive`) and
//! official exports (`crate::import`). Conversion only.
//!
//! Conversations cross as `{id, site, conversationId, title, url, messages: [{role,
//! markdown, ...}], ...}`: `id` is the site's conversation id on the way out; on the way
//! in `conversationId` wins and `id` (the vault's key, when a vault listing is passed)
//! is ignored. Errors are thrown as `{code, message}`.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::{conversations_from_json, conversations_to_json, thrown, to_js};
use crate::archive::{self, ArchiveError};
use crate::crypto::kdf::KdfParams;
use crate::error::VaultError;
use crate::import::{self, ImportError};
use crate::model::Conversation;

fn archive_err(e: ArchiveError) -> JsValue {
    thrown(&e)
}

fn import_err(e: ImportError) -> JsValue {
    thrown(&e)
}

fn invalid(what: &str) -> JsValue {
    thrown(&VaultError::InvalidInput(format!("{what} is not in the expected shape.")))
}

#[derive(Serialize)]
struct JsConversation<'a> {
    id: &'a str,
    #[serde(flatten)]
    conversation: &'a Conversation,
}

#[derive(Serialize)]
struct Conversations<'a> {
    conversations: Vec<JsConversation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<usize>,
}

fn conversations_out(list: &[Conversation], skipped: Option<usize>) -> Result<JsValue, JsValue> {
    to_js(&Conversations {
        conversations: list.iter().map(|c| JsConversation { id: &c.conversation_id, conversation: c }).collect(),
        skipped,
    })
}

fn conversation_in(value: JsValue) -> Result<Conversation, JsValue> {
    let mut json: Value = serde_wasm_bindgen::from_value(value).map_err(|_| invalid("a conversation"))?;
    if let Some(obj) = json.as_object_mut() {
        if obj.contains_key("conversationId") {
            obj.remove("id");
        }
    }
    serde_json::from_value(json).map_err(|_| invalid("a conversation"))
}

/// `{mKiB, t, p}`, or the default (m = 64 MiB, t = 3, p = 1) when absent.
fn params(value: JsValue) -> Result<KdfParams, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(KdfParams::default())
    } else {
        serde_wasm_bindgen::from_value(value).map_err(|_| invalid("the key settings"))
    }
}

/// `parseExport(bytes, fileName)`: an official ChatGPT or Claude export (JSON or zip)
/// to `{conversations, skipped}`.
#[wasm_bindgen(js_name = parseExport)]
pub fn parse_export(bytes: &[u8], file_name: &str) -> Result<JsValue, JsValue> {
    let parsed = import::read_export(bytes, file_name).map_err(import_err)?;
    conversations_out(&parsed.conversations, Some(parsed.skipped))
}

/// `parseExportJson(bytes, fileName, batchBytes)`: as `parseExport`, with the
/// conversations as JSON arrays of about `batchBytes` each, for `WasmVault.importJson`:
/// `{batches, conversations, skipped}`.
#[wasm_bindgen(js_name = parseExportJson)]
pub fn parse_export_json(bytes: &[u8], file_name: &str, batch_bytes: u32) -> Result<JsValue, JsValue> {
    let parsed = import::read_export(bytes, file_name).map_err(import_err)?;
    #[derive(Serialize)]
    struct Batches {
        batches: Vec<String>,
        conversations: usize,
        skipped: usize,
    }
    let mut batches = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, c) in parsed.conversations.iter().enumerate() {
        size += c.messages.iter().map(|m| m.markdown.len()).sum::<usize>() + 256;
        if size >= batch_bytes as usize || i + 1 == parsed.conversations.len() {
            batches.push(conversations_to_json(&parsed.conversations[start..=i]));
            (start, size) = (i + 1, 0);
        }
    }
    to_js(&Batches { batches, conversations: parsed.conversations.len(), skipped: parsed.skipped })
}

/// `sealArchive(conversations, passphrase, params?)`: the whole archive as bytes.
#[wasm_bindgen(js_name = sealArchive)]
pub fn seal_archive(conversations: Vec<JsValue>, passphrase: &str, params_value: JsValue) -> Result<Vec<u8>, JsValue> {
    let list = conversations.into_iter().map(conversation_in).collect::<Result<Vec<_>, _>>()?;
    archive::seal_archive(&list, passphrase, params(params_value)?).map_err(archive_err)
}

/// `openArchive(bytes, passphrase)`: `{conversations}`, after checking the whole file.
#[wasm_bindgen(js_name = openArchive)]
pub fn open_archive(bytes: &[u8], passphrase: &str) -> Result<JsValue, JsValue> {
    let list = archive::open_archive(bytes, passphrase).map_err(archive_err)?;
    conversations_out(&list, None)
}

/// Streaming export: `new ArchiveWriter(passphrase, params?)`, then append `header()`,
/// each `push(conversation)` and `finish()`, in that order.
#[wasm_bindgen(js_name = ArchiveWriter)]
pub struct WasmArchiveWriter {
    inner: Option<archive::ArchiveWriter>,
    header: Vec<u8>,
    messages: f64,
}

#[wasm_bindgen(js_class = ArchiveWriter)]
impl WasmArchiveWriter {
    #[wasm_bindgen(constructor)]
    pub fn new(passphrase: &str, params_value: JsValue) -> Result<WasmArchiveWriter, JsValue> {
        let (inner, header) = archive::ArchiveWriter::new(passphrase, params(params_value)?).map_err(archive_err)?;
        Ok(WasmArchiveWriter { inner: Some(inner), header, messages: 0.0 })
    }

    /// The file's first bytes.
    pub fn header(&self) -> Vec<u8> {
        self.header.clone()
    }

    /// Bytes to append after adding `conversation` (often empty).
    pub fn push(&mut self, conversation: JsValue) -> Result<Vec<u8>, JsValue> {
        let conversation = conversation_in(conversation)?;
        let inner = self.inner.as_mut().ok_or_else(finished)?;
        self.messages += conversation.messages.len() as f64;
        inner.push(&conversation).map_err(archive_err)
    }

    /// Bytes to append after adding the conversations of a JSON array (as
    /// `WasmVault.exportJson` gives).
    #[wasm_bindgen(js_name = pushJson)]
    pub fn push_json(&mut self, json: &str) -> Result<Vec<u8>, JsValue> {
        let list = conversations_from_json(json)?;
        let inner = self.inner.as_mut().ok_or_else(finished)?;
        let mut out = Vec::new();
        for conversation in &list {
            self.messages += conversation.messages.len() as f64;
            out.extend(inner.push(conversation).map_err(archive_err)?);
        }
        Ok(out)
    }

    /// How many messages were added so far.
    #[wasm_bindgen(getter)]
    pub fn messages(&self) -> f64 {
        self.messages
    }

    /// The last bytes of the file; the writer cannot be used after.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        self.inner.take().ok_or_else(finished)?.finish().map_err(archive_err)
    }
}

fn finished() -> JsValue {
    thrown(&VaultError::InvalidInput("This archive was already finished.".into()))
}

/// Streaming import: `new ArchiveReader(passphrase)`, `feed(bytes)` with the file's
/// slices in order (each gives the conversations they completed), then `finish()`,
/// which throws `truncated` unless the file was whole.
#[wasm_bindgen(js_name = ArchiveReader)]
pub struct WasmArchiveReader {
    inner: Option<archive::ArchiveReader>,
    fed: u64,
}

#[wasm_bindgen(js_class = ArchiveReader)]
impl WasmArchiveReader {
    #[wasm_bindgen(constructor)]
    pub fn new(passphrase: &str) -> WasmArchiveReader {
        WasmArchiveReader { inner: Some(archive::ArchiveReader::new(passphrase)), fed: 0 }
    }

    /// `{conversations}` completed by these bytes.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        conversations_out(&self.completed(bytes)?, None)
    }

    /// As `feed`, giving the conversations as one JSON array (for `WasmVault.importJson`).
    #[wasm_bindgen(js_name = feedJson)]
    pub fn feed_json(&mut self, bytes: &[u8]) -> Result<String, JsValue> {
        Ok(conversations_to_json(&self.completed(bytes)?))
    }

    /// As `feed` for a first pass that only checks the file: gives how many
    /// conversations these bytes completed.
    pub fn verify(&mut self, bytes: &[u8]) -> Result<u32, JsValue> {
        Ok(self.completed(bytes)?.len() as u32)
    }

    /// The archive key once the header was fed (else `undefined`), for opening the
    /// chunks with WebCrypto's AES-GCM; see `archive::ArchiveReader::chunk_key`.
    #[wasm_bindgen(js_name = chunkKey)]
    pub fn chunk_key(&self) -> Option<Vec<u8>> {
        self.inner.as_ref()?.chunk_key().map(|key| key.to_vec())
    }

    /// The nonce of the chunk `ahead` places after the next one, sealed last or not.
    #[wasm_bindgen(js_name = chunkNonce)]
    pub fn chunk_nonce(&mut self, ahead: u32, last: bool) -> Result<Vec<u8>, JsValue> {
        let inner = self.inner.as_mut().ok_or_else(finished)?;
        inner.chunk_nonce(ahead, last).map(|n| n.to_vec()).map_err(archive_err)
    }

    /// As `feedJson`, for the next chunk's plaintext, opened with `chunkNonce(0, last)`.
    #[wasm_bindgen(js_name = feedOpenedJson)]
    pub fn feed_opened_json(&mut self, plain: &[u8], last: bool) -> Result<String, JsValue> {
        Ok(conversations_to_json(&self.opened(plain, last)?))
    }

    /// As `verify`, for the next chunk's plaintext, opened with `chunkNonce(0, last)`.
    #[wasm_bindgen(js_name = verifyOpened)]
    pub fn verify_opened(&mut self, plain: &[u8], last: bool) -> Result<u32, JsValue> {
        Ok(self.opened(plain, last)?.len() as u32)
    }

    /// The header's length in bytes: the first slice to feed.
    #[wasm_bindgen(js_name = headerLength)]
    pub fn header_length() -> u32 {
        archive::format::HEADER_LEN as u32
    }

    /// A sealed chunk's length in bytes.
    #[wasm_bindgen(js_name = chunkLength)]
    pub fn chunk_length() -> u32 {
        archive::format::CHUNK_LEN as u32
    }

    /// A reader for a second pass over the same file, with the key this one derived
    /// (the passphrase is not stretched again); call it after the first pass read the
    /// whole file, before `finish`. A different file fails as damaged.
    pub fn reread(&self) -> Result<WasmArchiveReader, JsValue> {
        let inner = self.inner.as_ref().ok_or_else(finished)?;
        let again =
            inner.reread().ok_or_else(|| thrown(&VaultError::InvalidInput("This file was not read yet.".into())))?;
        Ok(WasmArchiveReader { inner: Some(again), fed: 0 })
    }

    /// Bytes fed so far, for a progress bar.
    #[wasm_bindgen(getter, js_name = bytesFed)]
    pub fn bytes_fed(&self) -> f64 {
        self.fed as f64
    }

    /// Throws unless the file ended with its last chunk.
    pub fn finish(&mut self) -> Result<(), JsValue> {
        self.inner.take().ok_or_else(finished)?.finish().map_err(archive_err)
    }
}

impl WasmArchiveReader {
    /// The conversations one step of the reader completed; keeps `bytesFed` current.
    fn step(
        &mut self,
        read: impl FnOnce(&mut archive::ArchiveReader) -> Result<Vec<Conversation>, ArchiveError>,
    ) -> Result<Vec<Conversation>, JsValue> {
        let inner = self.inner.as_mut().ok_or_else(finished)?;
        let list = read(inner).map_err(archive_err)?;
        self.fed = inner.bytes_fed();
        Ok(list)
    }

    fn opened(&mut self, plain: &[u8], last: bool) -> Result<Vec<Conversation>, JsValue> {
        self.step(|reader| reader.feed_opened(plain, last))
    }

    fn completed(&mut self, bytes: &[u8]) -> Result<Vec<Conversation>, JsValue> {
        self.step(|reader| reader.feed(bytes))
    }
}
