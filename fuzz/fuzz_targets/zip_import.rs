//! The export import through its zip path: hostile zips give an error, within the size
//! limits, never a panic or an allocation past them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Most mutations of arbitrary bytes never look like a zip: make them one.
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend_from_slice(data);
    let _ = threadkeeper::import::parse_export(&bytes, "export.zip");
    let _ = threadkeeper::import::parse_export(data, "export.zip");
});
