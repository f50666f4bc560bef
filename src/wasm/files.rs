//! `#[wasm_bindgen]` exports for files: encrypted archives and official exports (see `crate::archive`, `crate::import`).
