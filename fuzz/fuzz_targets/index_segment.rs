//! The saved search index: any bytes give an index or an error, never a panic; an index
//! that loads answers queries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::search::SearchIndex;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut index) = SearchIndex::from_bytes(data) {
        let _ = index.search("a", 5);
        let _ = index.search("\"b c\" site:x", 5);
    }
});
