//! Claude's conversations.json parser: any bytes give conversations or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::Site;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = threadkeeper::import::parse_claude(data) {
        for c in &parsed.conversations {
            assert_eq!(c.site, Site::Claude);
            assert!(c.url.starts_with("https://claude.ai/chat/"));
            serde_json::to_vec(c).unwrap();
        }
    }
});
