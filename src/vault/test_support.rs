//! What the vault's tests share: a vault, conversations and snapshots to put in it,
//! and views of what the store holds.

use std::sync::Arc;

use super::Vault;
use crate::capture::{Snapshot, SnapshotMessage};
use crate::crypto::kdf::KdfParams;
use crate::model::{Conversation, Message, Role, Site};
use crate::search::meaning::model::tests::tiny;
use crate::search::meaning::{Model, Vectors};
use crate::store::memory::MemoryStore;
use crate::store::StoreName;

pub const PASS: &str = "correct horse battery staple";

/// A new vault on the memory store, unlocked, with the cheapest allowed KDF.
pub fn unlocked() -> Vault<MemoryStore> {
    let v = Vault::new(MemoryStore::new());
    pollster::block_on(v.create(PASS, KdfParams::MINIMUM, 1)).unwrap();
    v
}

/// A new vault, locked, over a copy of what `v` stored (a restarted worker).
pub fn reopened(v: &Vault<MemoryStore>) -> Vault<MemoryStore> {
    let copy = Vault::new(MemoryStore::new());
    *copy.store().data_for_tests() = v.store().data_for_tests().clone();
    copy
}

/// The stored bytes of one record, if it is there.
pub fn raw_record(v: &Vault<MemoryStore>, store: StoreName, key: &str) -> Option<Vec<u8>> {
    v.store().raw().into_iter().find(|(s, k, _)| *s == store && k == key).map(|(_, _, value)| value)
}

/// Role of the `i`th turn of a chat: user, assistant, user...
fn role(i: usize) -> Role {
    [Role::User, Role::Assistant][i % 2]
}

/// A ChatGPT conversation `id` with a model, whose turns alternate user, assistant.
pub fn conversation(id: &str, texts: &[&str]) -> Conversation {
    Conversation {
        site: Site::ChatGpt,
        conversation_id: id.into(),
        title: format!("Title of {id}"),
        url: format!("https://chatgpt.com/c/{id}"),
        model: Some("gpt-5-2".into()),
        created_at: 1_000,
        updated_at: 2_000,
        messages: texts.iter().enumerate().map(|(i, t)| Message::new(role(i), *t)).collect(),
    }
}

/// A snapshot of `site`'s conversation `id` whose turns alternate user, assistant.
pub fn snapshot(site: Site, id: &str, texts: &[&str]) -> Snapshot {
    Snapshot {
        url: format!("https://example.invalid/{}/{id}", site.as_str()),
        site,
        conversation_id: id.into(),
        title: format!("Chat {id}"),
        model: None,
        messages: texts
            .iter()
            .enumerate()
            .map(|(i, t)| SnapshotMessage { role: role(i), markdown: (*t).into(), turn_id: None, streaming: false })
            .collect(),
    }
}

/// A snapshot of a long ChatGPT thread of `n` turns with ids, "message i" but the
/// last, which reads `last` and is still streaming.
pub fn snapshot_of_len(n: usize, last: &str) -> Snapshot {
    Snapshot {
        site: Site::ChatGpt,
        conversation_id: "long".into(),
        url: "https://chatgpt.com/c/long".into(),
        title: "Long".into(),
        model: None,
        messages: (0..n)
            .map(|i| SnapshotMessage {
                role: role(i),
                markdown: if i + 1 == n { last.into() } else { format!("message {i}") },
                turn_id: Some(format!("t{i}")),
                streaming: i + 1 == n,
            })
            .collect(),
    }
}

/// A Claude snapshot of conversation `id` with the roles given.
pub fn claude_snapshot(id: &str, turns: &[(Role, &str)]) -> Snapshot {
    let mut s = snapshot(Site::Claude, id, &turns.iter().map(|(_, t)| *t).collect::<Vec<_>>());
    for (m, (role, _)) in s.messages.iter_mut().zip(turns) {
        m.role = *role;
    }
    s
}

/// The tiny model of the model's tests ("tax" and "levy" mean nearly the same; "bread"
/// something else), for recall by meaning.
pub fn meaning_model() -> Arc<Model> {
    Arc::new(Model::from_bytes(&tiny()).unwrap())
}

/// The vector chunks stored, opened, decoded.
pub fn stored_vectors(v: &Vault<MemoryStore>) -> Vectors {
    let keys = v.keys().unwrap();
    let names: Vec<String> = v
        .store()
        .raw()
        .into_iter()
        .filter(|(s, k, _)| *s == StoreName::Index && k.starts_with("v."))
        .map(|(_, k, _)| k)
        .collect();
    assert!(!names.is_empty(), "vector chunks are stored");
    let mut vectors = Vectors::default();
    for (_, plain) in pollster::block_on(v.open_index_segments(&keys, names)).unwrap() {
        let plain = plain.unwrap();
        vectors.decode_into(&mut crate::search::codec::Reader::new(&plain)).unwrap();
    }
    vectors
}

/// Documents with a vector.
pub fn with_vector(vectors: &Vectors) -> usize {
    (0..vectors.slots()).filter(|&d| vectors.has(d)).count()
}

/// Documents waiting for their vector (the backfill's).
pub fn waiting(vectors: &Vectors) -> usize {
    (0..vectors.slots()).filter(|&d| vectors.is_pending(d)).count()
}
