//! The browser's Store: one IndexedDB database, one object store per [`StoreName`],
//! string keys, `Uint8Array` values.
//!
//! # Schema versions
//! - 1: `meta`, `conversations`, `messages`.
//! - 2: adds `inbox` (captures sealed while locked) and `index` (search segments).
//!
//! An upgrade creates what is missing and never touches existing records. A database
//! written by a newer schema is refused before anything is read or written.

use idb::{Database, DatabaseEvent, Error as IdbError, Factory, KeyRange, Query, TransactionMode, TransactionResult};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use super::{prefix_end, Op, Store, StoreError, StoreName};

pub const SCHEMA_VERSION: u32 = 2;
pub const DEFAULT_DB_NAME: &str = "threadkeeper";

pub struct IndexedDbStore {
    db: Database,
}

fn describe(err: &IdbError) -> String {
    // idb's messages name the failing operation and the DOMException; they never
    // contain record values (which are sealed anyway).
    err.to_string()
}

fn write_error(err: IdbError) -> StoreError {
    let text = describe(&err);
    if text.contains("QuotaExceeded") {
        StoreError::QuotaExceeded
    } else {
        StoreError::Write(text)
    }
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the database `name`.
    ///
    /// # Errors
    /// [`StoreError::NewerSchema`] when a newer version wrote it; [`StoreError::Open`]
    /// when IndexedDB is unavailable (private windows of some browsers, a full disk).
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let factory = Factory::new().map_err(|e| StoreError::Open(describe(&e)))?;
        let mut request = factory.open(name, Some(SCHEMA_VERSION)).map_err(|e| StoreError::Open(describe(&e)))?;
        request.on_upgrade_needed(|event| {
            let Ok(db) = event.database() else { return };
            let existing = db.store_names();
            for store in StoreName::ALL {
                if !existing.iter().any(|n| n == store.as_str()) {
                    // A failure here aborts the upgrade; `open` then reports it.
                    let _ = db.create_object_store(store.as_str(), idb::ObjectStoreParams::new());
                }
            }
        });
        match request.await {
            Ok(db) => Ok(IndexedDbStore { db }),
            Err(err) => {
                let text = describe(&err);
                if text.contains("VersionError") {
                    let found = Self::stored_version(&factory, name).await.unwrap_or(0);
                    Err(StoreError::NewerSchema { found, known: SCHEMA_VERSION })
                } else {
                    Err(StoreError::Open(text))
                }
            }
        }
    }

    async fn stored_version(factory: &Factory, name: &str) -> Option<u32> {
        let db = factory.open(name, None).ok()?.await.ok()?;
        let version = db.version().ok();
        db.close();
        version
    }

    pub fn close(&self) {
        self.db.close();
    }

    fn read_tx(&self, store: StoreName) -> Result<idb::ObjectStore, StoreError> {
        let tx = self
            .db
            .transaction(&[store.as_str()], TransactionMode::ReadOnly)
            .map_err(|e| StoreError::Read(describe(&e)))?;
        tx.object_store(store.as_str()).map_err(|e| StoreError::Read(describe(&e)))
    }
}

fn bytes_of(value: JsValue) -> Result<Vec<u8>, StoreError> {
    value
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| StoreError::Read("a record is not a byte array".into()))
}

fn key_range(prefix: &str) -> Result<KeyRange, StoreError> {
    KeyRange::bound(&JsValue::from_str(prefix), &JsValue::from_str(&prefix_end(prefix)), Some(false), Some(true))
        .map_err(|e| StoreError::Read(describe(&e)))
}

impl Store for IndexedDbStore {
    async fn get(&self, store: StoreName, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let os = self.read_tx(store)?;
        let value = os
            .get(JsValue::from_str(key))
            .map_err(|e| StoreError::Read(describe(&e)))?
            .await
            .map_err(|e| StoreError::Read(describe(&e)))?;
        value.map(bytes_of).transpose()
    }

    async fn get_many(&self, store: StoreName, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let os = self.read_tx(store)?;
        // Every request is queued (and its future armed) before the first is awaited.
        let mut pending = Vec::with_capacity(keys.len());
        for key in keys {
            let request = os.get(JsValue::from_str(key)).map_err(|e| StoreError::Read(describe(&e)))?;
            pending.push(std::future::IntoFuture::into_future(request));
        }
        let mut out = Vec::with_capacity(keys.len());
        for request in pending {
            let value = request.await.map_err(|e| StoreError::Read(describe(&e)))?;
            out.push(value.map(bytes_of).transpose()?);
        }
        Ok(out)
    }

    async fn get_prefix(&self, store: StoreName, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let os = self.read_tx(store)?;
        let range = key_range(prefix)?;
        // Both requests run in one transaction, so keys and values describe one snapshot.
        let keys =
            os.get_all_keys(Some(Query::KeyRange(range.clone())), None).map_err(|e| StoreError::Read(describe(&e)))?;
        let values = os.get_all(Some(Query::KeyRange(range)), None).map_err(|e| StoreError::Read(describe(&e)))?;
        let keys = keys.await.map_err(|e| StoreError::Read(describe(&e)))?;
        let values = values.await.map_err(|e| StoreError::Read(describe(&e)))?;
        keys.into_iter()
            .zip(values)
            .map(|(k, v)| {
                let k = k.as_string().ok_or_else(|| StoreError::Read("a record key is not text".into()))?;
                Ok((k, bytes_of(v)?))
            })
            .collect()
    }

    async fn count(&self, store: StoreName) -> Result<u32, StoreError> {
        let os = self.read_tx(store)?;
        os.count(None).map_err(|e| StoreError::Read(describe(&e)))?.await.map_err(|e| StoreError::Read(describe(&e)))
    }

    async fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        if !Op::all_sealed(&ops) {
            return Err(StoreError::Write("a record was not sealed".into()));
        }
        let mut names: Vec<&str> = ops
            .iter()
            .map(|op| match op {
                Op::Put { store, .. }
                | Op::Delete { store, .. }
                | Op::DeletePrefix { store, .. }
                | Op::Seal { store, .. } => store.as_str(),
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        let tx = self.db.transaction(&names, TransactionMode::ReadWrite).map_err(write_error)?;
        // Keep a handle to read why the browser aborted, if it does.
        let raw = web_sys::IdbTransaction::from(tx);
        let tx = idb::Transaction::from(raw.clone());
        // Requests are queued without awaiting each one: the transaction commits all
        // of them or, on any failure, none.
        for op in ops {
            match op {
                Op::Put { store, key, value } => {
                    let os = tx.object_store(store.as_str()).map_err(write_error)?;
                    let bytes = Uint8Array::from(value.as_slice());
                    os.put(&bytes, Some(&JsValue::from_str(&key))).map_err(write_error)?;
                }
                Op::Delete { store, key } => {
                    let os = tx.object_store(store.as_str()).map_err(write_error)?;
                    os.delete(JsValue::from_str(&key)).map_err(write_error)?;
                }
                Op::DeletePrefix { store, prefix } => {
                    let os = tx.object_store(store.as_str()).map_err(write_error)?;
                    os.delete(Query::KeyRange(key_range(&prefix)?)).map_err(write_error)?;
                }
                Op::Seal { .. } => unreachable!("refused above"),
            }
        }
        let aborted = |raw: &web_sys::IdbTransaction| match raw.error().map(|e| e.name()) {
            Some(name) if name == "QuotaExceededError" => StoreError::QuotaExceeded,
            Some(name) => StoreError::Write(format!("the browser aborted the save: {name}")),
            None => StoreError::Write("the browser aborted the save".into()),
        };
        match tx.await {
            Ok(TransactionResult::Committed) => Ok(()),
            Ok(TransactionResult::Aborted) => Err(aborted(&raw)),
            Err(err) => match raw.error() {
                Some(_) => Err(aborted(&raw)),
                None => Err(write_error(err)),
            },
        }
    }
}
