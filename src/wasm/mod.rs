//! The browser's face of the core: `#[wasm_bindgen]` exports that convert types and
//! hold no logic. Errors cross as plain objects `{code, message}`.
//!
//! One file per facet: this one the vault, `search` the search index, `files` the
//! archive and official-export imports.

mod files;
mod limits;
mod restore;
mod search;
mod sync;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::capture::Snapshot;
use crate::crypto::kdf::KdfParams;
use crate::error::{Coded, VaultError};
use crate::import::site::parse_thread;
use crate::model::{Conversation, Site};
use crate::sites;
use crate::store::indexeddb::IndexedDbStore;
use crate::store::StoreError;
use crate::vault::{self, Vault};

#[derive(Serialize)]
struct JsError<'a> {
    code: &'a str,
    message: String,
}

pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| error(&VaultError::InvalidInput("a value could not be converted".into())))
}

/// The one way an error of the core crosses to JavaScript: `{code, message}`.
pub(crate) fn thrown(err: &dyn Coded) -> JsValue {
    JsError { code: err.code(), message: err.to_string() }
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

pub(crate) fn error(err: &VaultError) -> JsValue {
    thrown(err)
}

pub(crate) fn err(e: VaultError) -> JsValue {
    thrown(&e)
}

pub(crate) fn from_js<T: for<'de> serde::Deserialize<'de>>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| err(VaultError::InvalidInput(format!("{what} is not in the expected shape: {e}"))))
}

/// A conversation from JS. What `getConversation` gives carries the vault's key as `id`
/// beside the site's `conversationId`; as `id` is also accepted as the name of the
/// site's id (official exports), it is set aside when both are present.
pub(crate) fn conversation_from_js(value: JsValue) -> Result<Conversation, JsValue> {
    let has = |key: &str| js_sys::Reflect::has(&value, &JsValue::from_str(key)).unwrap_or(false);
    let value = if value.is_object() && has("id") && has("conversationId") {
        let copy = js_sys::Object::assign(&js_sys::Object::new(), value.unchecked_ref());
        js_sys::Reflect::delete_property(&copy, &JsValue::from_str("id"))?;
        copy.into()
    } else {
        value
    };
    from_js(value, "the conversation")
}

/// Conversations from a JSON array. The error never quotes the input (it is private).
pub(crate) fn conversations_from_json(json: &str) -> Result<Vec<Conversation>, JsValue> {
    serde_json::from_str(json)
        .map_err(|_| err(VaultError::InvalidInput("the conversations are not in the expected shape".into())))
}

pub(crate) fn conversations_to_json(list: &[Conversation]) -> String {
    serde_json::to_string(list).expect("conversations serialise")
}

fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// Argon2id parameters as `{mKiB, t, p}`; absent means the default.
fn params(value: JsValue) -> Result<KdfParams, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(KdfParams::default())
    } else {
        from_js(value, "the key settings")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WithId<'a> {
    id: &'a str,
    #[serde(flatten)]
    conversation: &'a Conversation,
}

/// What `exportJsonReport` gives.
#[derive(Serialize)]
struct Exported {
    json: String,
    skipped: usize,
    damaged: Vec<String>,
}

#[wasm_bindgen]
pub struct WasmVault {
    inner: Vault<IndexedDbStore>,
}

#[wasm_bindgen]
impl WasmVault {
    /// Opens the vault stored in the IndexedDB database `dbName`.
    pub async fn open(db_name: String) -> Result<WasmVault, JsValue> {
        let store = IndexedDbStore::open(&db_name).await.map_err(|e: StoreError| err(e.into()))?;
        Ok(WasmVault { inner: Vault::new(store) })
    }

    pub async fn status(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.status().await.map_err(err)?)
    }

    /// Creates the vault; `params` is `{mKiB, t, p}` or undefined for the default.
    pub async fn create(&self, passphrase: String, params_value: JsValue) -> Result<(), JsValue> {
        self.inner.create(&passphrase, params(params_value)?, now()).await.map_err(err)
    }

    pub async fn unlock(&self, passphrase: String) -> Result<(), JsValue> {
        self.inner.unlock(&passphrase).await.map_err(err)
    }

    #[wasm_bindgen(js_name = unlockWithKey)]
    pub async fn unlock_with_key(&self, key: Vec<u8>) -> Result<(), JsValue> {
        self.inner.unlock_with_key(&key).await.map_err(err)
    }

    pub fn lock(&self) {
        self.inner.lock();
    }

    #[wasm_bindgen(js_name = isUnlocked)]
    pub fn is_unlocked(&self) -> bool {
        self.inner.is_unlocked()
    }

    #[wasm_bindgen(js_name = sessionKey)]
    pub fn session_key(&self) -> Result<Vec<u8>, JsValue> {
        Ok(self.inner.session_key().map_err(err)?.to_vec())
    }

    #[wasm_bindgen(js_name = changePassphrase)]
    pub async fn change_passphrase(&self, old: String, new: String, params_value: JsValue) -> Result<(), JsValue> {
        self.inner.change_passphrase(&old, &new, params(params_value)?).await.map_err(err)
    }

    /// `reencrypt(old, new, kdf, progress)`: every record under a new data key;
    /// `progress(phase, fraction)` hears how far it is. Resolves to the report.
    #[wasm_bindgen(js_name = reencrypt)]
    pub async fn reencrypt(
        &self,
        old: String,
        new: String,
        params_value: JsValue,
        progress: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let mut tell = |phase: vault::ReencryptPhase, at: f64| {
            let phase = to_js(&phase).unwrap_or(JsValue::NULL);
            let _ = progress.call2(&JsValue::NULL, &phase, &JsValue::from_f64(at));
        };
        to_js(&self.inner.reencrypt(&old, &new, params(params_value)?, &mut tell).await.map_err(err)?)
    }

    #[wasm_bindgen(js_name = putConversation)]
    pub async fn put_conversation(&self, conversation: JsValue) -> Result<String, JsValue> {
        self.inner.put_conversation(&conversation_from_js(conversation)?).await.map_err(err)
    }

    #[wasm_bindgen(js_name = getConversation)]
    pub async fn get_conversation(&self, id: String) -> Result<JsValue, JsValue> {
        let conversation = self.inner.get_conversation(&id).await.map_err(err)?;
        to_js(&WithId { id: &id, conversation: &conversation })
    }

    /// `recentConversations(limit)`: the first `limit` (at most 50) of `listConversations`.
    #[wasm_bindgen(js_name = recentConversations)]
    pub async fn recent_conversations(&self, limit: u32) -> Result<JsValue, JsValue> {
        to_js(&self.inner.recent_conversations(limit as usize).await.map_err(err)?)
    }

    #[wasm_bindgen(js_name = listConversations)]
    pub async fn list_conversations(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.list_conversations().await.map_err(err)?)
    }

    #[wasm_bindgen(js_name = deleteConversation)]
    pub async fn delete_conversation(&self, id: String) -> Result<(), JsValue> {
        self.inner.delete_conversation(&id).await.map_err(err)
    }

    #[wasm_bindgen(js_name = conversationKey)]
    pub fn conversation_key(&self, site: String, conversation_id: String) -> Result<String, JsValue> {
        self.inner.conversation_key(&Site::from(site), &conversation_id).map_err(err)
    }

    /// Takes a snapshot `{site, conversationId, url, title, model, messages}`; gives
    /// `{id, added, updated, queued}`.
    pub async fn capture(&self, snapshot: JsValue) -> Result<JsValue, JsValue> {
        let snapshot: Snapshot = from_js(snapshot, "the capture")?;
        to_js(&self.inner.capture(&snapshot, now()).await.map_err(err)?)
    }

    /// `captureThread(site, conversationId, url, replies)`: the site's own replies for
    /// the conversation open in a tab (the thread path). Gives `{more}` while the site
    /// has further pages to read, else what the merge did: `{id, added, updated, queued}`.
    /// A reply that cannot be read fails with the reader's code (`too_large`,
    /// `shape_changed`, `other_conversation`, `no_turns`), never quoting it.
    #[wasm_bindgen(js_name = captureThread)]
    pub async fn capture_thread(
        &self,
        site: String,
        conversation_id: String,
        url: String,
        replies: Vec<String>,
    ) -> Result<JsValue, JsValue> {
        let read = parse_thread(&Site::from(site), &conversation_id, &replies).map_err(|e| thrown(&e))?;
        drop(replies);
        if let Some(more) = read.more {
            return to_js(&serde_json::json!({ "more": more }));
        }
        let conversation = Conversation { url, ..read.conversation };
        to_js(&self.inner.capture_thread(conversation, now()).await.map_err(err)?)
    }

    /// Merges captures sealed while locked, in bounded batches until the inbox is empty;
    /// gives `{snapshots, added, updated, unreadable, batches}`.
    #[wasm_bindgen(js_name = drainInbox)]
    pub async fn drain_inbox(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.drain_inbox().await.map_err(err)?)
    }

    /// `importJson(batches)`: merges conversations read from a file, given as JSON
    /// arrays (what `ArchiveReader.feedJson` and `parseExportJson` give: strings cross
    /// between the page and the worker far faster than object graphs); gives
    /// `{addedConversations, updatedConversations, alreadyHere, addedMessages}`.
    #[wasm_bindgen(js_name = importJson)]
    pub async fn import_json(&self, batches: Vec<String>) -> Result<JsValue, JsValue> {
        let mut convs = Vec::new();
        for batch in &batches {
            convs.extend(conversations_from_json(batch)?);
        }
        to_js(&self.inner.import_conversations(convs).await.map_err(err)?)
    }

    /// Writes the search index of an import's batches, kept in memory so far (see
    /// `Vault::finish_import`).
    #[wasm_bindgen(js_name = finishImport)]
    pub async fn finish_import(&self) -> Result<(), JsValue> {
        self.inner.finish_import().await.map_err(err)
    }

    /// `exportJson(ids)`: these conversations as one JSON array (for `ArchiveWriter.pushJson`).
    /// A conversation that cannot be read whole (damaged) is left out, never failing the
    /// rest; `exportJsonReport` says which. An id not in the vault fails (`not_found`).
    #[wasm_bindgen(js_name = exportJson)]
    pub async fn export_json(&self, ids: Vec<String>) -> Result<String, JsValue> {
        Ok(self.export(&ids).await?.json)
    }

    /// `exportJsonReport(ids)`: as `exportJson`, as `{json, skipped, damaged}`: `json` the
    /// JSON array of the conversations read, `skipped` how many were left out because
    /// they are damaged, `damaged` their ids.
    #[wasm_bindgen(js_name = exportJsonReport)]
    pub async fn export_json_report(&self, ids: Vec<String>) -> Result<JsValue, JsValue> {
        to_js(&self.export(&ids).await?)
    }

    /// `{total, results: [{conversationId, site, title, url, updatedAt, hits: [{messageId,
    /// role, snippet, ranges, byMeaning?}]}], hint?, rebuilt}`.
    pub async fn search(&self, query: String, limit: u32) -> Result<JsValue, JsValue> {
        to_js(&self.inner.search(&query, limit as usize).await.map_err(err)?)
    }

    /// Hands the model of `loadMeaningModel` to the vault: searches fuse the meaning
    /// leg and captured messages get their vectors.
    #[wasm_bindgen(js_name = useMeaningModel)]
    pub fn use_meaning_model(&self) -> Result<(), JsValue> {
        self.inner.set_meaning_model(search::meaning_model()?);
        Ok(())
    }

    /// One step of recall by meaning's backfill (up to `max` messages): `{done, total}`.
    #[wasm_bindgen(js_name = embedStep)]
    pub async fn embed_step(&self, max: u32) -> Result<JsValue, JsValue> {
        to_js(&self.inner.embed_step(max as usize).await.map_err(err)?)
    }

    /// Loads what every search needs ahead of the first one (best effort, read-only).
    #[wasm_bindgen(js_name = warmSearch)]
    pub async fn warm_search(&self) {
        self.inner.warm_search().await
    }

    /// Loads recall by meaning's vectors after a query answered by its words alone
    /// (best effort, read-only).
    #[wasm_bindgen(js_name = warmMeaning)]
    pub async fn warm_meaning(&self) {
        self.inner.warm_meaning().await
    }

    /// Erases the whole vault.
    pub async fn wipe(&self) -> Result<(), JsValue> {
        self.inner.wipe().await.map_err(err)
    }

    /// Closes the database connection (tests reopen it).
    pub fn close(&self) {
        self.inner.store().close();
    }
}

impl WasmVault {
    /// The conversations `ids` as a JSON array, the damaged left out and named.
    async fn export(&self, ids: &[String]) -> Result<Exported, JsValue> {
        let read = self.inner.read_conversations(ids).await.map_err(err)?;
        let mut list = Vec::with_capacity(ids.len());
        for (id, found) in ids.iter().zip(read.conversations) {
            match found {
                Some(conv) => list.push(conv),
                None if read.damaged.contains(id) => {}
                None => return Err(err(VaultError::NotFound("this conversation is not in the vault".into()))),
            }
        }
        Ok(Exported { json: conversations_to_json(&list), skipped: read.damaged.len(), damaged: read.damaged })
    }
}

/// One conversation as a Markdown document.
#[wasm_bindgen(js_name = conversationMarkdown)]
pub fn conversation_markdown(conversation: JsValue) -> Result<String, JsValue> {
    Ok(crate::transcript::to_markdown(&conversation_from_js(conversation)?))
}

/// `{site, conversationId, url}` for an AI site's address, or null.
#[wasm_bindgen(js_name = parseSiteUrl)]
pub fn parse_site_url(url: &str) -> Result<JsValue, JsValue> {
    match sites::parse_url(url) {
        Some(page) => to_js(&page),
        None => Ok(JsValue::NULL),
    }
}

/// `{score: 0..4, hint}` for a passphrase being chosen.
#[wasm_bindgen(js_name = passphraseStrength)]
pub fn passphrase_strength(passphrase: &str) -> Result<JsValue, JsValue> {
    to_js(&vault::passphrase_strength(passphrase))
}
