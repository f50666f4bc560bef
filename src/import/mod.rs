//! Official data exports of AI sites, turned into conversations: ChatGPT's and Claude's
//! `conversations.json`, alone or inside the export's zip.
//!
//! Everything here is pure: bytes in, conversations out. Each imported message carries
//! its source in provenance (`import:chatgpt`, `import:claude`); merging them into the
//! vault is the vault's job.
//!
//! One conversation that cannot be read does not spoil the others: it is counted in
//! [`ParsedExport::skipped`] and left out.

mod chatgpt;
mod claude;
mod markdown;
pub mod site;
mod zip;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use thiserror::Error;

use crate::model::Conversation;

pub use self::zip::{MAX_ENTRY_BYTES, MAX_TOTAL_BYTES};

/// The largest `conversations.json` read, alone or inflated from a zip. The import
/// holds the file, the conversations read from it and their JSON for the vault
/// (each up to the file's size when a file is all text) in wasm's 4 GiB: 1 GiB keeps
/// that within reach, and is past any export we have seen (ChatGPT shards large ones).
pub const MAX_JSON_BYTES: u64 = 1024 * 1024 * 1024;

/// Why an export could not be imported. Never quotes the export's contents.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum ImportError {
    #[error("This file is not a ChatGPT or Claude export. Choose the conversations.json from the export, or the export's .zip as it was downloaded.")]
    NotAnExport,
    #[error("This is a Threadkeeper archive, not an official export: import it as an archive, with its passphrase.")]
    IsArchive,
    #[error("The export could not be read ({0}). Download it again from the site and retry.")]
    Damaged(String),
    #[error("The export is too large to import at once ({0}).")]
    TooLarge(String),
}

impl ImportError {
    /// The stable machine-readable code (the `code` of errors in the message API).
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::NotAnExport => "not_an_export",
            ImportError::IsArchive => "is_archive",
            ImportError::Damaged(_) => "damaged_export",
            ImportError::TooLarge(_) => "too_large",
        }
    }
}

/// Which site an export came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportSource {
    ChatGpt,
    Claude,
}

/// What an export held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedExport {
    pub conversations: Vec<Conversation>,
    /// Conversations present but unreadable (a shape this version does not know).
    pub skipped: usize,
}

/// Reads an official export: a `conversations.json` of ChatGPT or Claude, or the zip
/// the site sent (ChatGPT's sharded `conversations-000.json`... included). The file name
/// is only a hint; the bytes decide.
///
/// # Errors
/// [`ImportError::NotAnExport`] for any other file, [`ImportError::IsArchive`] for a
/// Threadkeeper archive, [`ImportError::Damaged`] for broken JSON or zip,
/// [`ImportError::TooLarge`] past the size limits (zip bombs included).
///
/// # Examples
/// ```
/// let json = br#"[{"uuid": "c1", "name": "Tea", "created_at": "2024-10-18T05:30:10Z",
///   "chat_messages": [{"sender": "human", "text": "Green tea?", "created_at": "2024-10-18T05:30:20Z"}]}]"#;
/// let chats = threadkeeper::import::parse_export(json, "conversations.json")?;
/// assert_eq!(chats[0].url, "https://claude.ai/chat/c1");
/// assert_eq!(chats[0].messages[0].markdown, "Green tea?");
/// # Ok::<(), threadkeeper::import::ImportError>(())
/// ```
pub fn parse_export(bytes: &[u8], file_name: &str) -> Result<Vec<Conversation>, ImportError> {
    Ok(read_export(bytes, file_name)?.conversations)
}

/// [`parse_export`], also counting the conversations it had to leave out.
///
/// # Errors
/// As [`parse_export`].
pub fn read_export(bytes: &[u8], _file_name: &str) -> Result<ParsedExport, ImportError> {
    if crate::archive::looks_like_archive(bytes) {
        return Err(ImportError::IsArchive);
    }
    let read = if zip::looks_like_zip(bytes) {
        let mut all = ParsedExport::default();
        zip::for_each_conversation_file(bytes, |json| {
            let part = parse_json(json)?;
            all.conversations.extend(part.conversations);
            all.skipped += part.skipped;
            Ok(())
        })?;
        all
    } else {
        parse_json(bytes)?
    };
    Ok(within_vault_limits(read))
}

/// The write path's limits, applied while the file is checked (before anything is
/// written): a conversation the vault would refuse (an id out of bounds, too many
/// messages) is left out and counted in `skipped`; an oversized message is cut with a
/// marker, as capture cuts it (`Conversation::fit_vault_limits`).
fn within_vault_limits(mut read: ParsedExport) -> ParsedExport {
    let before = read.conversations.len();
    read.conversations.retain_mut(|c| c.fit_vault_limits().is_ok());
    read.skipped += before - read.conversations.len();
    read
}

/// Reads ChatGPT's `conversations.json` (or one conversation object, as its backend
/// serves it) only.
///
/// # Errors
/// [`ImportError::NotAnExport`] when the JSON is not ChatGPT's, [`ImportError::Damaged`]
/// when it is not JSON.
pub fn parse_chatgpt(bytes: &[u8]) -> Result<ParsedExport, ImportError> {
    only(parse_json(bytes)?, "chatgpt")
}

/// Reads Claude's `conversations.json` only.
///
/// # Errors
/// As [`parse_chatgpt`].
pub fn parse_claude(bytes: &[u8]) -> Result<ParsedExport, ImportError> {
    only(parse_json(bytes)?, "claude")
}

fn only(parsed: ParsedExport, site: &str) -> Result<ParsedExport, ImportError> {
    if parsed.conversations.iter().any(|c| c.site.as_str() != site) {
        return Err(ImportError::NotAnExport);
    }
    Ok(parsed)
}

/// The positions of `keys` in ascending order of key (keys are unique, so the order is
/// total). One sort instance serves every importer, which keeps the wasm small.
fn order_by_key(keys: Vec<(i64, u64)>) -> Vec<usize> {
    let mut indexed: Vec<(i64, u64, usize)> = keys.into_iter().enumerate().map(|(i, (a, b))| (a, b, i)).collect();
    indexed.sort_unstable();
    indexed.into_iter().map(|(_, _, i)| i).collect()
}

/// One element of an export: which site's shape it has.
fn convert(value: Value) -> Option<Result<Conversation, ()>> {
    let obj = value.as_object()?;
    if obj.contains_key("mapping") {
        Some(chatgpt::convert(value))
    } else if obj.contains_key("chat_messages") {
        Some(claude::convert(value))
    } else {
        None
    }
}

/// What a JSON export held, element by element (each element is parsed, converted and
/// dropped before the next, so the whole export never sits in memory as a tree).
#[derive(Default)]
struct Collected {
    parsed: ParsedExport,
    unknown: usize,
}

impl Collected {
    fn take(&mut self, value: Value) {
        match convert(value) {
            Some(Ok(conversation)) => self.parsed.conversations.push(conversation),
            Some(Err(())) => self.parsed.skipped += 1,
            None => self.unknown += 1,
        }
    }
}

struct ExportVisitor;

impl<'de> Visitor<'de> for ExportVisitor {
    type Value = Collected;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Collected, A::Error> {
        let mut collected = Collected::default();
        while let Some(value) = seq.next_element::<Value>()? {
            collected.take(value);
        }
        Ok(collected)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Collected, A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        let mut collected = Collected::default();
        collected.take(value);
        Ok(collected)
    }
}

use serde::Deserialize;

fn parse_json(bytes: &[u8]) -> Result<ParsedExport, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') | Some(b'{') => {}
        _ => return Err(ImportError::NotAnExport),
    }
    if bytes.len() as u64 > MAX_JSON_BYTES {
        return Err(ImportError::TooLarge(format!("a conversations file past {} MiB", MAX_JSON_BYTES / (1024 * 1024))));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let collected = de
        .deserialize_any(ExportVisitor)
        .and_then(|c| de.end().map(|()| c))
        // Position only: serde's message could quote the file's text.
        .map_err(|e| ImportError::Damaged(format!("invalid JSON at line {}, column {}", e.line(), e.column())))?;
    if collected.unknown > 0 && collected.parsed.conversations.is_empty() && collected.parsed.skipped == 0 {
        return Err(ImportError::NotAnExport);
    }
    Ok(collected.parsed)
}
