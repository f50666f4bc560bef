//! ChatGPT's conversations.json parser: any bytes give conversations or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::Site;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = threadkeeper::import::parse_chatgpt(data) {
        for c in &parsed.conversations {
            assert_eq!(c.site, Site::ChatGpt);
            assert!(c.url.starts_with("https://chatgpt.com/c/"));
            // What is imported must serialise for the vault and the archive.
            serde_json::to_vec(c).unwrap();
        }
    }
});
