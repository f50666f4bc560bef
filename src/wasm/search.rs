//! `#[wasm_bindgen]` exports of the search index (see `crate::search`).
