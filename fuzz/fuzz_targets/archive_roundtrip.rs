//! Whatever conversations go in come back out, whatever the slicing of the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::archive::{ArchiveReader, ArchiveWriter};
use threadkeeper::{Conversation, Message, Role, Site};

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else { return };
    // Each NUL-separated piece is one conversation; its lines are messages.
    let conversations: Vec<Conversation> = rest
        .split(|&b| b == 0)
        .enumerate()
        .map(|(i, piece)| {
            let text = String::from_utf8_lossy(piece);
            Conversation {
                site: Site::Other(format!("s{i}")),
                conversation_id: i.to_string(),
                title: text.chars().take(20).collect(),
                url: String::new(),
                model: None,
                created_at: i as i64,
                updated_at: -(i as i64),
                messages: text.lines().map(|l| Message::new(Role::User, l)).collect(),
            }
        })
        .collect();
    let mut writer = ArchiveWriter::with_archive_key_for_fuzzing(&[9; 32], [2; 7]);
    let mut file = Vec::new();
    for c in &conversations {
        file.extend(writer.push(c).unwrap());
    }
    file.extend(writer.finish().unwrap());

    let mut reader = ArchiveReader::with_archive_key_for_fuzzing(&[9; 32], [2; 7]);
    let mut back = Vec::new();
    for slice in file.chunks(1 + step as usize * 301) {
        back.extend(reader.feed(slice).unwrap());
    }
    reader.finish().unwrap();
    assert_eq!(back, conversations);
});
