//! `#[wasm_bindgen]` exports of the restore block (see `crate::restore`).

use wasm_bindgen::prelude::*;

use super::{conversation_from_js, from_js, to_js};
use crate::restore::{self, RestoreOptions};

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Block {
    text: String,
    tokens: usize,
    verbatim: usize,
    shortened: usize,
    left_out: usize,
    cut: bool,
}

/// `restoreBlock(conversation, {budgetTokens?, shortenedChars?})` gives `{text, tokens,
/// verbatim, shortened, leftOut, cut}`; `conversation` is `{site, conversationId | id,
/// title, url, createdAt, updatedAt, messages: [{role, markdown}]}`, for instance as
/// `WasmVault.getConversation` gives it.
#[wasm_bindgen(js_name = restoreBlock)]
pub fn restore_block(conversation: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let conv = conversation_from_js(conversation)?;
    let opts: RestoreOptions = if options.is_undefined() || options.is_null() {
        RestoreOptions::default()
    } else {
        from_js(options, "the restore options")?
    };
    let b = restore::build_restore_block(&conv, &opts);
    to_js(&Block {
        text: b.text,
        tokens: b.tokens,
        verbatim: b.verbatim,
        shortened: b.shortened,
        left_out: b.left_out,
        cut: b.cut,
    })
}

/// `estimateTokens(text)`: see `crate::restore::estimate_tokens`.
#[wasm_bindgen(js_name = estimateTokens)]
pub fn estimate_tokens(text: &str) -> usize {
    restore::estimate_tokens(text)
}
