//! A chunk of message vectors (`TKVE` v1, src/search/meaning/vectors.rs): any bytes give
//! a chunk or an error, never a panic (nor memory beyond the chunk's own documents); a
//! chunk that loads is scanned, and written again it reads back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::search::meaning::Vectors;

fuzz_target!(|data: &[u8]| {
    let mut v = Vectors::default();
    let Ok(range) = v.decode_chunk(data) else { return };
    assert!(v.memory() <= data.len() * 2, "a chunk holds no more than its own documents");
    let query: Vec<f32> = (0..v.dims()).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
    let _ = v.nearest(&query, 10, |d| d % 3 != 0);
    let mut once = Vec::new();
    v.encode(range.start, range.end, |_| true, &mut once);
    let mut back = Vectors::default();
    assert_eq!(back.decode_chunk(&once), Ok(range.clone()));
    let mut twice = Vec::new();
    back.encode(range.start, range.end, |_| true, &mut twice);
    assert_eq!(once, twice);
});
