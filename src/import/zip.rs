//! The export zips the sites send, read with limits so a hostile zip cannot exhaust
//! memory: only the conversation files are inflated, each to at most
//! [`MAX_ENTRY_BYTES`], all together to at most [`MAX_TOTAL_BYTES`], and at most
//! [`MAX_RATIO`] times their compressed size (zip bombs reach thousands). Sizes the zip
//! declares are not trusted: reading stops at the limit.
//!
//! Conversation files: `conversations.json`, or ChatGPT's newer shards
//! `conversations-000.json`, `conversations-001.json`... (in name order), in any folder.

use std::io::{Cursor, Read};

use super::ImportError;

pub const MAX_ENTRY_BYTES: u64 = 1024 * 1024 * 1024;
pub const MAX_TOTAL_BYTES: u64 = 1536 * 1024 * 1024;
/// JSON deflates about 5-20 times; anything past this is not an export.
pub const MAX_RATIO: u64 = 200;

pub fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

fn damaged() -> ImportError {
    // The zip crate's messages are about structure, but may name entries: keep ours.
    ImportError::Damaged("the zip file is damaged or incomplete".into())
}

/// `conversations-000.json` and the like: the shard number, for ordering.
fn shard_number(file_name: &str) -> Option<u32> {
    let digits = file_name.strip_prefix("conversations-")?.strip_suffix(".json")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The inflated conversation files of an export zip, in order.
///
/// # Errors
/// [`ImportError::Damaged`] for a broken or encrypted zip, [`ImportError::NotAnExport`]
/// when it holds no conversations file, [`ImportError::TooLarge`] past the limits.
pub fn conversation_entries(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| damaged())?;
    let mut whole = Vec::new();
    let mut shards = Vec::new();
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(|_| damaged())?;
        if file.is_dir() {
            continue;
        }
        let path = file.name().map_err(|_| damaged())?.into_owned();
        let name = path.rsplit('/').next().unwrap_or("");
        if name == "conversations.json" {
            whole.push((path.clone(), i));
        } else if let Some(n) = shard_number(name) {
            shards.push((n, path.clone(), i));
        }
    }
    let chosen: Vec<usize> = if !shards.is_empty() {
        let order = super::order_by_key(shards.iter().map(|&(n, _, i)| (i64::from(n), i as u64)).collect());
        order.into_iter().map(|k| shards[k].2).collect()
    } else {
        // The shallowest conversations.json is the export's own.
        whole.iter().min_by_key(|(name, _)| name.matches('/').count()).map(|&(_, i)| i).into_iter().collect()
    };
    if chosen.is_empty() {
        return Err(ImportError::NotAnExport);
    }

    let mut total = 0u64;
    let mut out = Vec::with_capacity(chosen.len());
    for i in chosen {
        let file = archive.by_index(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(_) => {
                ImportError::Damaged("the zip is encrypted or uses a compression Threadkeeper cannot read".into())
            }
            _ => damaged(),
        })?;
        let limit = MAX_ENTRY_BYTES
            .min(MAX_TOTAL_BYTES - total)
            .min(file.compressed_size().saturating_mul(MAX_RATIO).saturating_add(1024 * 1024));
        let mut data = Vec::with_capacity(file.size().min(limit).min(64 * 1024 * 1024) as usize);
        file.take(limit + 1).read_to_end(&mut data).map_err(|_| damaged())?;
        if data.len() as u64 > limit {
            return Err(ImportError::TooLarge(format!(
                "a conversations file inflates past {} MiB",
                limit / (1024 * 1024)
            )));
        }
        total += data.len() as u64;
        out.push(data);
    }
    Ok(out)
}
