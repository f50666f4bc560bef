//! The encrypted export archive, as a person meets it: what goes in comes out, and
//! every kind of bad file is refused with its own reason.

use threadkeeper::archive::format::{CHUNK_LEN, HEADER_LEN};
use threadkeeper::archive::{open_archive, seal_archive, ArchiveError, ArchiveReader, ArchiveWriter};
use threadkeeper::crypto::kdf::KdfParams;
use threadkeeper::{Conversation, Message, Role, Site};

const PASS: &str = "export passphrase, typed twice";
const FAST: KdfParams = KdfParams::MINIMUM;

/// `count` conversations of `per` messages each, with distinct texts.
fn conversations(count: usize, per: usize) -> Vec<Conversation> {
    (0..count)
        .map(|c| {
            let site = if c % 2 == 0 { Site::ChatGpt } else { Site::Claude };
            let mut conv = Conversation {
                site,
                conversation_id: format!("conv-{c}"),
                title: format!("Conversation {c} — ünïcode ✓ 会话"),
                url: format!("https://chatgpt.com/c/conv-{c}"),
                model: Some("gpt-4o".into()),
                created_at: 1_700_000_000_000 + c as i64,
                updated_at: 1_700_000_100_000 + c as i64,
                messages: Vec::new(),
            };
            for m in 0..per {
                let role = if m % 2 == 0 { Role::User } else { Role::Assistant };
                let mut msg = Message::new(
                    role,
                    format!("Message {m} of conversation {c}: some **markdown** and `code`, then a longer tail of words to give it weight."),
                );
                msg.turn_id = Some(format!("t{c}-{m}"));
                if m == 1 {
                    msg.versions.push("an earlier answer".into());
                    msg.metadata.insert("thoughts".into(), "reasoning kept aside".into());
                }
                conv.messages.push(msg);
            }
            conv
        })
        .collect()
}

fn small_archive() -> (Vec<Conversation>, Vec<u8>) {
    let convs = conversations(30, 40); // about 5 chunks
    let bytes = seal_archive(&convs, PASS, FAST).unwrap();
    (convs, bytes)
}

fn chunk_count(bytes: &[u8]) -> usize {
    assert_eq!((bytes.len() - HEADER_LEN) % CHUNK_LEN, 0);
    (bytes.len() - HEADER_LEN) / CHUNK_LEN
}

#[test]
fn ten_thousand_messages_come_back_exactly_as_they_went_in() {
    let convs = conversations(200, 50);
    assert_eq!(convs.iter().map(|c| c.messages.len()).sum::<usize>(), 10_000);
    let bytes = seal_archive(&convs, PASS, FAST).unwrap();
    assert!(chunk_count(&bytes) > 20);
    assert_eq!(open_archive(&bytes, PASS).unwrap(), convs);
}

#[test]
fn streaming_in_odd_slices_gives_the_same_as_whole_buffers() {
    let convs = conversations(40, 30);
    let (mut writer, mut file) = ArchiveWriter::new(PASS, FAST).unwrap();
    let mut largest_step = 0;
    for c in &convs {
        let step = writer.push(c).unwrap();
        largest_step = largest_step.max(step.len());
        file.extend(step);
    }
    file.extend(writer.finish().unwrap());
    assert!(largest_step <= 2 * CHUNK_LEN, "the writer holds back at most a chunk");

    let mut reader = ArchiveReader::new(PASS);
    let mut back = Vec::new();
    for slice in file.chunks(7_777) {
        back.extend(reader.feed(slice).unwrap());
    }
    assert_eq!(reader.bytes_fed(), file.len() as u64);
    reader.finish().unwrap();
    assert_eq!(back, convs);
}

#[test]
fn an_empty_vault_makes_an_archive_that_opens_empty() {
    let bytes = seal_archive(&[], PASS, FAST).unwrap();
    assert_eq!(chunk_count(&bytes), 1);
    assert_eq!(open_archive(&bytes, PASS).unwrap(), vec![]);
}

#[test]
fn two_exports_of_the_same_vault_differ() {
    let convs = conversations(1, 2);
    assert_ne!(seal_archive(&convs, PASS, FAST).unwrap(), seal_archive(&convs, PASS, FAST).unwrap());
}

#[test]
fn a_wrong_passphrase_is_named_as_such() {
    let (_, bytes) = small_archive();
    assert_eq!(open_archive(&bytes, "export passphrase, typed twicE"), Err(ArchiveError::WrongPassphrase));
    assert_eq!(open_archive(&bytes, ""), Err(ArchiveError::WrongPassphrase));
}

#[test]
fn a_file_cut_at_any_chunk_boundary_or_inside_a_chunk_is_truncated() {
    let (_, bytes) = small_archive();
    let chunks = chunk_count(&bytes);
    assert!(chunks >= 4);
    let mut cuts = vec![1, 5, 8, 9, 50, HEADER_LEN - 1];
    for k in 0..chunks {
        let boundary = HEADER_LEN + k * CHUNK_LEN;
        cuts.extend([boundary, boundary + 1, boundary + CHUNK_LEN / 2, boundary + CHUNK_LEN - 1]);
    }
    for cut in cuts {
        assert_eq!(open_archive(&bytes[..cut], PASS), Err(ArchiveError::Truncated), "cut at {cut}");
    }
}

#[test]
fn a_flipped_bit_anywhere_is_refused() {
    let (_, bytes) = small_archive();
    // Every bit of the header: each field has its own answer, none opens.
    for at in 0..HEADER_LEN {
        for bit in 0..8 {
            let mut bad = bytes.clone();
            bad[at] ^= 1 << bit;
            let got = open_archive(&bad, PASS).unwrap_err();
            let expected = match at {
                0..=7 => ArchiveError::NotAnArchive,
                8 if bit == 0 => ArchiveError::Damaged, // version 0
                8 => ArchiveError::NewerVersion,
                _ => ArchiveError::Damaged,
            };
            assert_eq!(got, expected, "header byte {at} bit {bit}");
        }
    }
    // In the chunks: the first and last bytes, the middle, and the tag of each.
    let chunks = chunk_count(&bytes);
    for k in 0..chunks {
        let start = HEADER_LEN + k * CHUNK_LEN;
        for at in [start, start + 4, start + CHUNK_LEN / 2, start + CHUNK_LEN - 17, start + CHUNK_LEN - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert_eq!(open_archive(&bad, PASS), Err(ArchiveError::Damaged), "chunk {k} byte {at}");
        }
    }
}

#[test]
fn two_chunks_swapped_are_refused() {
    let (_, bytes) = small_archive();
    let chunk = |k: usize| HEADER_LEN + k * CHUNK_LEN..HEADER_LEN + (k + 1) * CHUNK_LEN;
    let mut swapped = bytes[..HEADER_LEN].to_vec();
    swapped.extend_from_slice(&bytes[chunk(1)]);
    swapped.extend_from_slice(&bytes[chunk(0)]);
    swapped.extend_from_slice(&bytes[chunk(2).start..]);
    assert_eq!(swapped.len(), bytes.len());
    assert_eq!(open_archive(&swapped, PASS), Err(ArchiveError::Damaged));

    // The last chunk moved forward: the file also ends on a chunk not marked last.
    let n = chunk_count(&bytes);
    let mut last_first = bytes[..HEADER_LEN].to_vec();
    last_first.extend_from_slice(&bytes[chunk(n - 1)]);
    last_first.extend_from_slice(&bytes[chunk(0).start..chunk(n - 2).end]);
    assert_eq!(open_archive(&last_first, PASS), Err(ArchiveError::Damaged));
}

#[test]
fn chunks_spliced_from_another_archive_with_the_same_passphrase_are_refused() {
    let (_, a) = small_archive();
    let (_, b) = small_archive();
    let chunk = |k: usize| HEADER_LEN + k * CHUNK_LEN..HEADER_LEN + (k + 1) * CHUNK_LEN;

    let mut one_chunk_from_b = a.clone();
    one_chunk_from_b[chunk(1)].copy_from_slice(&b[chunk(1)]);
    assert_eq!(open_archive(&one_chunk_from_b, PASS), Err(ArchiveError::Damaged));

    let mut header_of_b = b[..HEADER_LEN].to_vec();
    header_of_b.extend_from_slice(&a[HEADER_LEN..]);
    assert_eq!(open_archive(&header_of_b, PASS), Err(ArchiveError::Damaged));

    let mut tail_of_b = a[..chunk(2).start].to_vec();
    tail_of_b.extend_from_slice(&b[chunk(2).start..]);
    assert_eq!(open_archive(&tail_of_b, PASS), Err(ArchiveError::Damaged));
}

#[test]
fn bytes_after_the_end_are_refused() {
    let (_, bytes) = small_archive();
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(open_archive(&longer, PASS), Err(ArchiveError::Damaged));
    let mut doubled = bytes.clone();
    doubled.extend_from_slice(&bytes[HEADER_LEN..HEADER_LEN + CHUNK_LEN]);
    assert_eq!(open_archive(&doubled, PASS), Err(ArchiveError::Damaged));
}

#[test]
fn a_foreign_file_is_not_an_archive() {
    let json = std::fs::read("tests/fixtures/real/claude/export-example-2024.json").unwrap();
    assert_eq!(open_archive(&json, PASS), Err(ArchiveError::NotAnArchive));
    let zip_start = b"PK\x03\x04\x14\x00\x00\x00\x08\x00";
    assert_eq!(open_archive(zip_start, PASS), Err(ArchiveError::NotAnArchive));
    assert_eq!(open_archive(b"", PASS), Err(ArchiveError::NotAnArchive));
    assert_eq!(open_archive(&[0u8; 500], PASS), Err(ArchiveError::NotAnArchive));
}

#[test]
fn a_newer_format_version_asks_for_an_update() {
    let (_, bytes) = small_archive();
    for version in [2u8, 9, 255] {
        let mut newer = bytes.clone();
        newer[8] = version;
        assert_eq!(open_archive(&newer, PASS), Err(ArchiveError::NewerVersion));
        // Known as soon as the ninth byte arrives, before any key work.
        let mut reader = ArchiveReader::new(PASS);
        assert_eq!(reader.feed(&newer[..9]), Err(ArchiveError::NewerVersion));
    }
}

/// Rewrites header fields as someone with the file could, check included.
fn with_header_fields(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = bytes.to_vec();
    out[at..at + value.len()].copy_from_slice(value);
    let check = Sha256::digest(&out[..105]);
    out[105..113].copy_from_slice(&check[..8]);
    out
}

#[test]
fn weakened_key_settings_in_the_header_are_refused() {
    let (_, bytes) = small_archive();
    let one_mib = with_header_fields(&bytes, 9, &1024u32.to_be_bytes());
    assert!(matches!(open_archive(&one_mib, PASS), Err(ArchiveError::WeakKdf(_))));
    let one_pass = with_header_fields(&bytes, 13, &1u32.to_be_bytes());
    assert!(matches!(open_archive(&one_pass, PASS), Err(ArchiveError::WeakKdf(_))));
    let huge = with_header_fields(&bytes, 9, &u32::MAX.to_be_bytes());
    assert!(matches!(open_archive(&huge, PASS), Err(ArchiveError::WeakKdf(_))));
    assert!(matches!(ArchiveWriter::new(PASS, KdfParams { iterations: 1, ..FAST }), Err(ArchiveError::WeakKdf(_))));
}

#[test]
fn other_header_changes_with_a_fixed_check_still_do_not_open() {
    let (_, bytes) = small_archive();
    // Stronger settings or another salt or nonce prefix: the key no longer unwraps.
    let stronger = with_header_fields(&bytes, 13, &3u32.to_be_bytes());
    assert_eq!(open_archive(&stronger, PASS), Err(ArchiveError::WrongPassphrase));
    let prefix = with_header_fields(&bytes, 37, &[0xAB]);
    assert_eq!(open_archive(&prefix, PASS), Err(ArchiveError::WrongPassphrase));
}

#[test]
fn errors_have_codes_and_carry_no_secrets() {
    let (convs, bytes) = small_archive();
    let mut cut = bytes.clone();
    cut.truncate(bytes.len() - 10);
    for (err, code) in [
        (open_archive(&bytes, "wrong").unwrap_err(), "wrong_passphrase"),
        (open_archive(&cut, PASS).unwrap_err(), "truncated"),
        (open_archive(b"{}", PASS).unwrap_err(), "not_an_archive"),
    ] {
        assert_eq!(err.code(), code);
        let text = err.to_string();
        assert!(!text.contains(PASS) && !text.contains(&convs[0].title), "{text}");
    }
}

#[test]
fn a_reader_that_failed_keeps_failing() {
    let (_, bytes) = small_archive();
    let mut bad = bytes.clone();
    bad[HEADER_LEN + 10] ^= 1;
    let mut reader = ArchiveReader::new(PASS);
    assert_eq!(reader.feed(&bad[..HEADER_LEN + CHUNK_LEN]), Err(ArchiveError::Damaged));
    assert_eq!(reader.feed(&bad[HEADER_LEN + CHUNK_LEN..]), Err(ArchiveError::Damaged));
    assert_eq!(reader.finish(), Err(ArchiveError::Damaged));
}

#[test]
fn a_second_pass_rereads_the_file_without_the_passphrase_but_only_that_file() {
    let (convs, bytes) = small_archive();
    let mut first = ArchiveReader::new(PASS);
    assert!(first.reread().is_none(), "no key before the header");
    first.feed(&bytes).unwrap();
    let mut again = first.reread().unwrap();
    let mut back = Vec::new();
    for slice in bytes.chunks(1000) {
        back.extend(again.feed(slice).unwrap());
    }
    again.finish().unwrap();
    assert_eq!(back, convs);

    // The same chunks behind a changed header are refused, though the key would open
    // them: the second pass reads the file the first one checked, or nothing.
    let mut other_header = bytes.clone();
    other_header[30] ^= 1; // a byte of the salt
    assert_eq!(first.reread().unwrap().feed(&other_header).unwrap_err(), ArchiveError::Damaged);
    // Another archive (another salt and key), even with the same passphrase, is refused.
    let other = seal_archive(&convs, PASS, FAST).unwrap();
    assert_eq!(first.reread().unwrap().feed(&other).unwrap_err(), ArchiveError::Damaged);
    // So is this file with a changed chunk, as on the first pass.
    let mut changed = bytes.clone();
    changed[HEADER_LEN + 10] ^= 1;
    let mut reader = first.reread().unwrap();
    let result = reader.feed(&changed).and_then(|_| reader.finish());
    assert_eq!(result.unwrap_err(), ArchiveError::Damaged);
    first.finish().unwrap();
}

/// Opens a chunk the way the vault page does with WebCrypto: AES-256-GCM under the
/// reader's chunk key, with the nonce it gives, no associated data.
fn open_outside(key: &[u8; 32], nonce: [u8; 12], chunk: &[u8]) -> Option<Vec<u8>> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let cipher = aes_gcm::Aes256Gcm::new(&aes_gcm::Key::<aes_gcm::Aes256Gcm>::from(*key));
    cipher.decrypt(&aes_gcm::Nonce::from(nonce), Payload { msg: chunk, aad: &[] }).ok()
}

/// Reads `bytes` as the page does: the header through `feed`, then each chunk opened
/// outside (several nonces ahead at once) and fed as plaintext; a chunk that opens with
/// neither nonce goes to `feed`, which names the problem.
fn read_outside(reader: &mut ArchiveReader, bytes: &[u8]) -> Result<Vec<Conversation>, ArchiveError> {
    let mut back = reader.feed(&bytes[..HEADER_LEN.min(bytes.len())])?;
    let Some(key) = reader.chunk_key() else { return Ok(back) };
    let chunks: Vec<&[u8]> = bytes[HEADER_LEN..].chunks(CHUNK_LEN).collect();
    for group in chunks.chunks(3) {
        let mut opened = Vec::new();
        for (ahead, chunk) in group.iter().enumerate() {
            let ahead = ahead as u32;
            let plain = open_outside(&key, reader.chunk_nonce(ahead, false)?, chunk)
                .map(|p| (p, false))
                .or_else(|| open_outside(&key, reader.chunk_nonce(ahead, true).ok()?, chunk).map(|p| (p, true)));
            opened.push(plain);
        }
        for (chunk, plain) in group.iter().zip(opened) {
            match plain {
                Some((plain, last)) => back.extend(reader.feed_opened(&plain, last)?),
                None => back.extend(reader.feed(chunk)?),
            }
        }
    }
    Ok(back)
}

#[test]
fn chunks_opened_outside_the_reader_read_the_same_and_keep_every_check() {
    let (convs, bytes) = small_archive();
    let mut reader = ArchiveReader::new(PASS);
    assert!(reader.chunk_key().is_none(), "no key before the header");
    assert_eq!(reader.chunk_nonce(0, false), Err(ArchiveError::Damaged));
    let back = read_outside(&mut reader, &bytes).unwrap();
    assert_eq!(reader.bytes_fed(), bytes.len() as u64);
    assert_eq!(reader.chunk_nonce(0, true), Err(ArchiveError::Damaged), "nothing after the last chunk");
    reader.finish().unwrap();
    assert_eq!(back, convs);

    // The faults the reader finds on its own are found the same way.
    let n = chunk_count(&bytes);
    let chunk = |k: usize| HEADER_LEN + k * CHUNK_LEN..HEADER_LEN + (k + 1) * CHUNK_LEN;
    let read = |file: &[u8]| {
        let mut reader = ArchiveReader::new(PASS);
        read_outside(&mut reader, file).and_then(|_| reader.finish())
    };
    let mut swapped = bytes[..HEADER_LEN].to_vec();
    swapped.extend_from_slice(&bytes[chunk(1)]);
    swapped.extend_from_slice(&bytes[chunk(0)]);
    swapped.extend_from_slice(&bytes[chunk(2).start..]);
    assert_eq!(read(&swapped), Err(ArchiveError::Damaged));
    let mut flipped = bytes.clone();
    flipped[HEADER_LEN + 2 * CHUNK_LEN + 100] ^= 1;
    assert_eq!(read(&flipped), Err(ArchiveError::Damaged));
    assert_eq!(read(&bytes[..chunk(n - 2).end]), Err(ArchiveError::Truncated));
    assert_eq!(read(&bytes[..chunk(n - 1).start + 10]), Err(ArchiveError::Truncated));
    let mut extra = bytes.clone();
    extra.extend_from_slice(&bytes[chunk(0)]);
    assert_eq!(read(&extra), Err(ArchiveError::Damaged));
    assert_eq!(read(&with_header_fields(&bytes, 8, &[2])), Err(ArchiveError::NewerVersion));
    let mut wrong = ArchiveReader::new("not the passphrase");
    assert_eq!(read_outside(&mut wrong, &bytes), Err(ArchiveError::WrongPassphrase));

    // A plaintext that is not a whole chunk's, or fed mid-chunk, is refused.
    let mut reader = ArchiveReader::new(PASS);
    reader.feed(&bytes[..HEADER_LEN]).unwrap();
    assert_eq!(reader.feed_opened(&[0; 100], false), Err(ArchiveError::Damaged));
    let mut reader = ArchiveReader::new(PASS);
    reader.feed(&bytes[..HEADER_LEN + 10]).unwrap();
    assert_eq!(reader.chunk_nonce(0, false), Err(ArchiveError::Damaged));
}

/// What a message over 8 MiB ends with once cut (as capture cuts it).
const CUT_MARKER: &str = "\n\n[Threadkeeper: this message was cut at 8 MiB]";

#[test]
fn a_conversation_over_64_mib_is_exported_in_parts_and_comes_back_whole() {
    let mut big = conversations(1, 0).remove(0);
    // Nine messages of 7.5 MiB: about 68 MiB of JSON, over one record's 64 MiB.
    for m in 0..9u8 {
        let role = if m % 2 == 0 { Role::User } else { Role::Assistant };
        let mut msg = Message::new(role, format!("{m}").repeat(7 * 1024 * 1024 + 512 * 1024));
        msg.turn_id = Some(format!("big-{m}"));
        big.messages.push(msg);
    }
    let small = conversations(2, 3);
    let all = vec![small[0].clone(), big.clone(), small[1].clone()];
    let file = seal_archive(&all, PASS, FAST).unwrap();
    let back = open_archive(&file, PASS).unwrap();
    assert_eq!(back.len(), 3, "the parts are joined into one conversation");
    assert!(back[1] == big, "the big conversation comes back whole, in order");
    assert_eq!(back, all);
}

#[test]
fn a_file_breaking_the_vaults_limits_is_refused_by_the_check_pass_or_cut_as_capture_cuts() {
    // An id of 600 bytes: the vault would refuse it at import, so the reader refuses the
    // file, before any batch of it is written.
    let mut convs = conversations(3, 2);
    convs[2].conversation_id = "i".repeat(600);
    let file = seal_archive(&convs, PASS, FAST).unwrap();
    assert_eq!(open_archive(&file, PASS), Err(ArchiveError::Damaged));
    let mut reader = ArchiveReader::new(PASS);
    let mut first_pass = Ok(Vec::new());
    for slice in file.chunks(CHUNK_LEN) {
        first_pass = reader.feed(slice);
        if first_pass.is_err() {
            break;
        }
    }
    assert_eq!(first_pass, Err(ArchiveError::Damaged));

    // A message over 8 MiB is cut at 8 MiB with the marker, on a char boundary.
    let mut convs = conversations(2, 2);
    convs[0].messages[1].markdown = "é".repeat(4 * 1024 * 1024 + 7);
    let file = seal_archive(&convs, PASS, FAST).unwrap();
    let back = open_archive(&file, PASS).unwrap();
    let text = &back[0].messages[1].markdown;
    assert!(text.len() <= 8 * 1024 * 1024 && text.ends_with(CUT_MARKER));
    assert!(text.trim_end_matches(CUT_MARKER).chars().all(|c| c == 'é'));
    assert_eq!(back[1], convs[1]);
}
