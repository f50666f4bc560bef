//! The export zips the sites send, read with limits so a hostile zip cannot exhaust
//! memory: only the conversation files are inflated, one at a time (each is parsed and
//! dropped before the next is inflated), each to at most [`MAX_ENTRY_BYTES`], all
//! together to at most [`MAX_TOTAL_BYTES`], and at most [`MAX_RATIO`] times their
//! compressed size (zip bombs reach thousands). Sizes the zip declares are not trusted:
//! reading stops at the limit.
//!
//! Conversation files: `conversations.json`, or ChatGPT's newer shards
//! `conversations-000.json`, `conversations-001.json`... (in name order), in any folder.

use std::io::{Cursor, Read};

use super::ImportError;

/// One conversations file inflated: no more than the import takes as a file alone
/// ([`super::MAX_JSON_BYTES`]).
pub const MAX_ENTRY_BYTES: u64 = super::MAX_JSON_BYTES;
/// All of a zip's conversations files: no more JSON than one file alone may be, so a
/// zip costs what the largest `conversations.json` costs. (The conversations parsed
/// so far stay in memory while the next file is read; beyond this the import would
/// not fit beside them in wasm's 4 GiB.) A bigger sharded export can be unzipped and
/// its files imported one by one.
pub const MAX_TOTAL_BYTES: u64 = super::MAX_JSON_BYTES;
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

/// Gives `each` the inflated conversation files of an export zip, in order, one at a
/// time: a file is dropped when `each` returns, before the next is inflated.
///
/// # Errors
/// [`ImportError::Damaged`] for a broken or encrypted zip, [`ImportError::NotAnExport`]
/// when it holds no conversations file, [`ImportError::TooLarge`] past the limits; and
/// the first error of `each`.
pub fn for_each_conversation_file(
    bytes: &[u8],
    each: impl FnMut(&[u8]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    read_within(bytes, MAX_ENTRY_BYTES, MAX_TOTAL_BYTES, each)
}

/// [`for_each_conversation_file`] with the limits given (tests use small ones).
fn read_within(
    bytes: &[u8],
    max_entry: u64,
    max_total: u64,
    mut each: impl FnMut(&[u8]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
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
    for i in chosen {
        let file = archive.by_index(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(_) => {
                ImportError::Damaged("the zip is encrypted or uses a compression Threadkeeper cannot read".into())
            }
            _ => damaged(),
        })?;
        let by_ratio = file.compressed_size().saturating_mul(MAX_RATIO).saturating_add(1024 * 1024);
        let left = max_total - total;
        let limit = max_entry.min(by_ratio).min(left);
        let mut data = Vec::with_capacity(file.size().min(limit).min(64 * 1024 * 1024) as usize);
        file.take(limit + 1).read_to_end(&mut data).map_err(|_| damaged())?;
        if data.len() as u64 > limit {
            return Err(ImportError::TooLarge(if left < max_entry.min(by_ratio) {
                format!(
                    "its conversations files inflate past {} MiB together: unzip it and import them one by one",
                    max_total / (1024 * 1024)
                )
            } else {
                format!("a conversations file inflates past {} MiB", limit / (1024 * 1024))
            }));
        }
        total += data.len() as u64;
        each(&data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn each_file_and_all_together_stop_at_their_limits() {
        const MIB: u64 = 1024 * 1024;
        let shard = vec![b' '; MIB as usize];
        let zip = zip_of(&[("conversations-000.json", &shard), ("conversations-001.json", &shard)]);
        let sizes = |max_entry, max_total| {
            let mut sizes = Vec::new();
            let result = read_within(&zip, max_entry, max_total, |json| {
                sizes.push(json.len());
                Ok(())
            });
            (sizes, result)
        };
        assert_eq!(sizes(MIB, 2 * MIB), (vec![MIB as usize; 2], Ok(())));

        // The second file would pass the total: refused, and said so.
        let (read, result) = sizes(MIB, 3 * MIB / 2);
        assert_eq!(read, [MIB as usize]);
        let Err(ImportError::TooLarge(why)) = result else { panic!("{result:?}") };
        assert!(why.contains("together"), "{why}");

        let (read, result) = sizes(MIB - 1, 4 * MIB);
        assert!(read.is_empty());
        assert!(matches!(result, Err(ImportError::TooLarge(ref why)) if !why.contains("together")), "{result:?}");
    }
}
