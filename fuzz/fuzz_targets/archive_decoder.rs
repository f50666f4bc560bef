//! Any bytes, fed in any slicing, give conversations or an error: never a panic, never
//! a hang, and never success for a file that did not end with its last chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::archive::ArchiveReader;

fn feed_all(mut reader: ArchiveReader, data: &[u8], step: usize) {
    let mut ok = true;
    for slice in data.chunks(step) {
        if reader.feed(slice).is_err() {
            ok = false;
            break;
        }
    }
    let finished = reader.finish();
    if !ok {
        assert!(finished.is_err(), "an error must stick");
    }
}

fuzz_target!(|data: &[u8]| {
    let step = 1 + data.first().copied().unwrap_or(0) as usize * 97;
    // The header path (Argon2 runs only for inputs whose header check matches).
    feed_all(ArchiveReader::new("fuzz"), data, step);
    // The chunk and record layers, past the header.
    feed_all(ArchiveReader::with_archive_key_for_fuzzing(&[7; 32], [1; 7]), data, step);
});
