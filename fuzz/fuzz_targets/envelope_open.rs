//! Record envelopes, inbox boxes and the vault's meta record: any bytes give the
//! plaintext or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use threadkeeper::crypto::envelope;
use threadkeeper::crypto::sealed_box::BoxKeyPair;

/// The recipient's key pair is made once: deriving its public half is not decoding.
static RECIPIENT: OnceLock<BoxKeyPair> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let aad = envelope::record_aad("messages", "k");
    let _ = envelope::open(&[7; 32], &aad, data);
    let _ = RECIPIENT.get_or_init(|| BoxKeyPair::from_secret_bytes([9; 32])).open(&aad, data);
});
