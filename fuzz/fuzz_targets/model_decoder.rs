//! The model of recall by meaning (`TKEM` v1, src/search/meaning/model): any bytes give
//! a model or an error, never a panic; a model that loads embeds text and queries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper::search::meaning::Model;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = Model::from_bytes(data) {
        for text in ["tax levy bread", "Taxes, breadless ##es", "税金 naïve café", ""] {
            if let Some(v) = model.embed(text) {
                assert_eq!(v.len(), model.dims());
            }
            let _ = model.embed_query(text);
        }
    }
});
