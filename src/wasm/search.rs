//! `#[wasm_bindgen]` exports of the search index (see `crate::search`): the node
//! contract of DESIGN.md. Conversion only.

use wasm_bindgen::prelude::*;

use std::cell::RefCell;
use std::sync::Arc;

use super::{err, from_js, to_js};
use crate::search::meaning::Model;
use crate::search::{self, Doc};

thread_local! {
    /// The model of recall by meaning, once the page or worker has handed its bytes.
    static MODEL: RefCell<Option<Arc<Model>>> = const { RefCell::new(None) };
}

/// `loadMeaningModel(bytes)`: the model file shipped with the extension or package
/// (`meaning.tkem`), for every index made after it.
#[wasm_bindgen(js_name = loadMeaningModel)]
pub fn load_meaning_model(bytes: &[u8]) -> Result<(), JsValue> {
    let model = Model::from_bytes(bytes).map_err(|e| err(e.into()))?;
    MODEL.with(|m| *m.borrow_mut() = Some(Arc::new(model)));
    Ok(())
}

/// The loaded model, or an error saying it is missing.
pub(crate) fn meaning_model() -> Result<Arc<Model>, JsValue> {
    MODEL.with(|m| m.borrow().clone()).ok_or_else(|| {
        err(crate::error::VaultError::InvalidInput("the model for search by meaning is not loaded".into()))
    })
}

/// `new SearchIndex()` (`new SearchIndex({meaning: true})` adds the meaning leg, with
/// the model of [`load_meaning_model`]; the setter `meaningWeight` its weight in the fusion), `add({id, conversationId, title, text, site,
/// role, ts})`, `search(query, limit)` → `{total, hits: [{id, conversationId, score,
/// byMeaning?}], hint?}`, `toBytes()`, `SearchIndex.fromBytes(bytes)`.
#[wasm_bindgen(js_name = SearchIndex)]
pub struct WasmSearchIndex {
    inner: search::SearchIndex,
}

#[wasm_bindgen(js_class = SearchIndex)]
impl WasmSearchIndex {
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<WasmSearchIndex, JsValue> {
        let meaning = options.is_object()
            && js_sys::Reflect::get(&options, &JsValue::from_str("meaning")).is_ok_and(|v| v.is_truthy());
        let inner =
            if meaning { search::SearchIndex::with_meaning(meaning_model()?) } else { search::SearchIndex::new() };
        Ok(WasmSearchIndex { inner })
    }

    /// The meaning leg's weight in the fusion (the words weigh 1).
    #[wasm_bindgen(setter, js_name = meaningWeight)]
    pub fn set_meaning_weight(&mut self, weight: f64) {
        if weight.is_finite() && weight >= 0.0 {
            self.inner.set_meaning_weight(weight as f32);
        }
    }

    /// Bytes held by the vectors of the meaning leg (0 without it).
    #[wasm_bindgen(getter, js_name = vectorBytes)]
    pub fn vector_bytes(&self) -> usize {
        self.inner.vector_memory()
    }

    pub fn add(&mut self, doc: JsValue) -> Result<(), JsValue> {
        self.inner.add(doc_from_js(&doc)?);
        Ok(())
    }

    #[wasm_bindgen(js_name = removeConversation)]
    pub fn remove_conversation(&mut self, conversation_id: &str) -> usize {
        self.inner.remove_conversation(conversation_id)
    }

    /// Messages that can be found.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }

    pub fn search(&mut self, query: &str, limit: usize) -> Result<JsValue, JsValue> {
        to_js(&self.inner.search(query, limit))
    }

    /// `searchByMeaning(query, limit)`: the meaning leg alone (for benchmarks), the
    /// same shape as `search`.
    #[wasm_bindgen(js_name = searchByMeaning)]
    pub fn search_by_meaning(&mut self, query: &str, limit: usize) -> Result<JsValue, JsValue> {
        to_js(&self.inner.search_by_meaning(query, limit))
    }

    /// `toBytes()`, the name of the node package's contract (DESIGN.md); it takes `&mut`
    /// because the index sorts its terms before it is written.
    #[wasm_bindgen(js_name = toBytes)]
    #[allow(clippy::wrong_self_convention)]
    pub fn to_bytes(&mut self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<WasmSearchIndex, JsValue> {
        let inner = search::SearchIndex::from_vec(bytes).map_err(|e| err(e.into()))?;
        Ok(WasmSearchIndex { inner })
    }
}

// Field names made into JS strings once: serde-wasm-bindgen makes them anew for
// every message, and at 100k messages V8 then spends most of the time in
// mark-compact collections (measured: 12 s to add 100k messages instead of 4 s).
thread_local! {
    static KEYS: [JsValue; 7] =
        ["id", "conversationId", "title", "text", "site", "role", "ts"].map(JsValue::from_str);
}

/// `{id, conversationId, title, text, site, role, ts}`; only the ids are required.
fn doc_from_js(value: &JsValue) -> Result<Doc, JsValue> {
    if !value.is_object() {
        return Err(err(crate::error::VaultError::InvalidInput("the message is not an object".into())));
    }
    KEYS.with(|keys| {
        let get = |i: usize| js_sys::Reflect::get(value, &keys[i]).unwrap_or(JsValue::UNDEFINED);
        let text = |i: usize| get(i).as_string().unwrap_or_default();
        let required = |i: usize, what: &str| {
            get(i)
                .as_string()
                .ok_or_else(|| err(crate::error::VaultError::InvalidInput(format!("the message has no {what} string"))))
        };
        Ok(Doc {
            id: required(0, "id")?,
            conversation_id: required(1, "conversationId")?,
            title: text(2),
            text: text(3),
            site: text(4),
            role: text(5),
            ts: get(6).as_f64().unwrap_or(0.0) as i64,
        })
    })
}

/// `{text, ranges: [[start, end]]}`: an extract of `text` around the matches of
/// `query`, ranges in UTF-16 code units.
#[wasm_bindgen]
pub fn snippet(text: &str, query: &str, max_chars: usize) -> Result<JsValue, JsValue> {
    to_js(&search::snippet(text, query, max_chars))
}

/// Hits grouped by conversation, best first: `[{conversationId, score, hits}]`.
#[wasm_bindgen(js_name = groupByConversation)]
pub fn group_by_conversation(hits: JsValue) -> Result<JsValue, JsValue> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct H {
        id: String,
        conversation_id: String,
        score: f32,
        #[serde(default)]
        by_meaning: bool,
    }
    let hits: Vec<H> = from_js(hits, "the hits")?;
    let hits: Vec<search::Hit> = hits
        .into_iter()
        .map(|h| search::Hit { id: h.id, conversation_id: h.conversation_id, score: h.score, by_meaning: h.by_meaning })
        .collect();
    to_js(&search::group_by_conversation(&hits))
}
