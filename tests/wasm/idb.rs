//! The IndexedDB store in a real browser (headless Chromium through chromedriver):
//! `cargo test --target wasm32-unknown-unknown --test idb`.
#![cfg(target_arch = "wasm32")]

use idb::{DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use threadkeeper::crypto::kdf::KdfParams;
use threadkeeper::model::{Conversation, Message, Role, Site};
use threadkeeper::store::indexeddb::{IndexedDbStore, SCHEMA_VERSION};
use threadkeeper::store::{Op, Store, StoreError, StoreName};
use threadkeeper::{Vault, VaultError, VaultState};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn db_name(test: &str) -> String {
    format!("tk-test-{test}-{}", js_sys::Math::random())
}

async fn delete_db(name: &str) {
    Factory::new().unwrap().delete(name).unwrap().await.unwrap();
}

fn put(store: StoreName, key: &str, value: &[u8]) -> Op {
    Op::Put { store, key: key.into(), value: value.to_vec() }
}

#[wasm_bindgen_test]
async fn records_survive_closing_and_reopening_the_database() {
    let name = db_name("reopen");
    let store = IndexedDbStore::open(&name).await.unwrap();
    store
        .apply(vec![
            put(StoreName::Conversations, "k1", b"one"),
            put(StoreName::Messages, "k1:a", b"m1"),
            put(StoreName::Messages, "k1:b", b"m2"),
            put(StoreName::Messages, "k2:a", b"other"),
        ])
        .await
        .unwrap();
    store.close();

    let store = IndexedDbStore::open(&name).await.unwrap();
    assert_eq!(store.get(StoreName::Conversations, "k1").await.unwrap(), Some(b"one".to_vec()));
    assert_eq!(store.get(StoreName::Conversations, "nope").await.unwrap(), None);
    let prefixed = store.get_prefix(StoreName::Messages, "k1:").await.unwrap();
    assert_eq!(prefixed, vec![("k1:a".to_string(), b"m1".to_vec()), ("k1:b".to_string(), b"m2".to_vec())]);
    assert_eq!(store.count(StoreName::Messages).await.unwrap(), 3);
    let many = store.get_many(StoreName::Messages, &["k2:a".into(), "missing".into(), "k1:a".into()]).await.unwrap();
    assert_eq!(many, vec![Some(b"other".to_vec()), None, Some(b"m1".to_vec())]);
    store.apply(vec![Op::DeletePrefix { store: StoreName::Messages, prefix: "k1:".into() }]).await.unwrap();
    assert_eq!(store.count(StoreName::Messages).await.unwrap(), 1);
    store.close();
    delete_db(&name).await;
}

#[wasm_bindgen_test]
async fn an_older_schema_upgrades_and_keeps_its_records() {
    let name = db_name("upgrade");
    // Write a schema-1 database by hand: three stores and one record.
    let factory = Factory::new().unwrap();
    let mut req = factory.open(&name, Some(1)).unwrap();
    req.on_upgrade_needed(|event| {
        let db = event.database().unwrap();
        for s in ["meta", "conversations", "messages"] {
            db.create_object_store(s, ObjectStoreParams::new()).unwrap();
        }
    });
    let db = req.await.unwrap();
    let tx = db.transaction(&["conversations"], TransactionMode::ReadWrite).unwrap();
    let os = tx.object_store("conversations").unwrap();
    os.put(&Uint8Array::from(&b"old record"[..]), Some(&JsValue::from_str("k"))).unwrap();
    tx.await.unwrap();
    db.close();

    let store = IndexedDbStore::open(&name).await.unwrap();
    assert_eq!(store.get(StoreName::Conversations, "k").await.unwrap(), Some(b"old record".to_vec()));
    assert_eq!(store.count(StoreName::Inbox).await.unwrap(), 0);
    store.apply(vec![put(StoreName::Index, "seg", b"x"), put(StoreName::Inbox, "i", b"y")]).await.unwrap();
    store.close();
    let db = factory.open(&name, None).unwrap().await.unwrap();
    assert_eq!(db.version().unwrap(), SCHEMA_VERSION);
    db.close();
    delete_db(&name).await;
}

#[wasm_bindgen_test]
async fn a_database_from_a_newer_version_is_refused_and_left_alone() {
    let name = db_name("newer");
    let factory = Factory::new().unwrap();
    let mut req = factory.open(&name, Some(SCHEMA_VERSION + 5)).unwrap();
    req.on_upgrade_needed(|event| {
        event.database().unwrap().create_object_store("future", ObjectStoreParams::new()).unwrap();
    });
    req.await.unwrap().close();

    match IndexedDbStore::open(&name).await {
        Err(StoreError::NewerSchema { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 5, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {:?}", other.map(|_| ())),
    }
    let err: VaultError = IndexedDbStore::open(&name).await.err().unwrap().into();
    assert!(err.to_string().contains("newer version"));
    let db = factory.open(&name, None).unwrap().await.unwrap();
    assert_eq!(db.version().unwrap(), SCHEMA_VERSION + 5);
    assert_eq!(db.store_names(), vec!["future".to_string()]);
    db.close();
    delete_db(&name).await;
}

#[wasm_bindgen_test]
async fn a_vault_in_indexeddb_stores_encrypted_and_reopens() {
    let name = db_name("vault");
    let vault = Vault::new(IndexedDbStore::open(&name).await.unwrap());
    vault.create("correct horse battery staple", KdfParams::MINIMUM, 1).await.unwrap();
    let mut conv = Conversation {
        site: Site::Claude,
        conversation_id: "abc".into(),
        title: "Pelican plans".into(),
        url: "https://claude.ai/chat/abc".into(),
        model: None,
        created_at: 1,
        updated_at: 2,
        messages: vec![Message::new(Role::User, "zebra crossing secret"), Message::new(Role::Assistant, "ok")],
    };
    let id = vault.put_conversation(&conv).await.unwrap();
    for (k, v) in vault.store().get_prefix(StoreName::Messages, "").await.unwrap() {
        assert!(!String::from_utf8_lossy(&v).contains("zebra"), "plaintext in {k}");
    }
    vault.store().close();

    let vault = Vault::new(IndexedDbStore::open(&name).await.unwrap());
    assert_eq!(vault.status().await.unwrap().state, VaultState::Locked);
    assert_eq!(vault.unlock("wrong passphrase").await, Err(VaultError::WrongPassphrase));
    vault.unlock("correct horse battery staple").await.unwrap();
    conv.messages[1].markdown = "ok".into();
    assert_eq!(vault.get_conversation(&id).await.unwrap(), conv);
    vault.store().close();
    delete_db(&name).await;
}

#[wasm_bindgen_test]
async fn records_sealed_in_webcrypto_are_v1_envelopes_that_open_with_the_record_key() {
    use threadkeeper::crypto::bulk::{BulkSealer, ToSeal};
    use threadkeeper::crypto::keys::DataKey;
    let data = DataKey::from_bytes([9; 32]);
    let sealer = BulkSealer::new();
    let big = vec![0xA5u8; 300_000];
    let items = [
        ToSeal { store: "conversations", key: "k1", plain: b"first record" },
        ToSeal { store: "messages", key: "k1:0000", plain: &big },
        ToSeal { store: "index", key: "p", plain: b"" },
    ];
    for round in 0..2 {
        // The second round reuses the imported CryptoKey.
        let sealed = sealer.seal_in_webcrypto(&data, &items).await.unwrap();
        assert_eq!(sealed.len(), 3);
        for (item, envelope) in items.iter().zip(&sealed) {
            assert_eq!(envelope[0], 0x01, "version 1");
            assert_eq!(envelope.len(), 1 + 12 + item.plain.len() + 16, "round {round}");
            assert_eq!(data.open_record(item.store, item.key, envelope).unwrap(), item.plain);
            // The associated data binds it to its slot, as the Rust envelope does.
            assert!(data.open_record(item.store, "elsewhere", envelope).is_err());
        }
        assert_ne!(sealed[0][1..13], sealer.seal_in_webcrypto(&data, &items).await.unwrap()[0][1..13], "fresh nonces");
    }
    // What the vault calls gives the same kind of envelope.
    let sealed = sealer.seal_all(&data, &items).await.unwrap();
    assert_eq!(data.open_record("messages", "k1:0000", &sealed[1]).unwrap(), big);
}

#[wasm_bindgen_test]
async fn records_open_in_webcrypto_and_every_fault_is_named_by_the_rust_code() {
    use threadkeeper::crypto::bulk::{BulkSealer, ToOpen};
    use threadkeeper::crypto::keys::DataKey;
    use threadkeeper::crypto::CryptoError;
    let data = DataKey::from_bytes([3; 32]);
    let sealer = BulkSealer::new();
    let good = data.seal_record("messages", "k:0", b"a block of messages").unwrap();
    let mut flipped = good.clone();
    flipped[20] ^= 1;
    let mut newer = good.clone();
    newer[0] = 2;
    let items = [
        ToOpen { store: "messages", key: "k:0", sealed: &good },
        ToOpen { store: "messages", key: "k:1", sealed: &good }, // moved to another slot
        ToOpen { store: "messages", key: "k:0", sealed: &flipped },
        ToOpen { store: "messages", key: "k:0", sealed: &newer },
        ToOpen { store: "messages", key: "k:0", sealed: &good[..10] },
    ];
    // WebCrypto opens the good one (sealed by the Rust code) and refuses the rest.
    let raw = sealer.open_in_webcrypto(&data, &items).await.unwrap();
    assert_eq!(raw[0].as_deref(), Some(&b"a block of messages"[..]));
    assert!(raw[1..].iter().all(Option::is_none));
    // What the vault calls names each fault as the Rust envelope does.
    let opened = sealer.open_all(&data, &items).await;
    assert_eq!(opened[0].as_deref(), Ok(&b"a block of messages"[..]));
    assert_eq!(opened[1], Err(CryptoError::Decrypt));
    assert_eq!(opened[2], Err(CryptoError::Decrypt));
    assert_eq!(opened[3], Err(CryptoError::UnsupportedVersion(2)));
    assert!(matches!(opened[4], Err(CryptoError::Format(_))));
}
