//! Recall by meaning in the vault: vectors sealed beside the index, written with it,
//! gone with their conversations, rebuilt when damaged, and the backfill of a vault
//! indexed before the model. The model is the tiny one of the model's tests ("tax"
//! and "levy" mean nearly the same; "bread" something else).

use pollster::block_on;

use super::test_support::{meaning_model as model, snapshot, stored_vectors, unlocked, with_vector, PASS};
use super::Vault;
use crate::model::Site;
use crate::store::memory::MemoryStore;
use crate::store::StoreName;

fn capture(v: &Vault<MemoryStore>, id: &str, texts: &[&str]) -> String {
    block_on(v.capture(&snapshot(Site::Claude, id, texts), 1)).unwrap().id.unwrap()
}

#[test]
fn a_conversation_with_other_words_of_the_same_meaning_is_found_and_marked() {
    let v = unlocked();
    v.set_meaning_model(model());
    capture(&v, "a", &["a levy on imports"]);
    capture(&v, "b", &["bread"]);
    let out = block_on(v.search("tax", 10)).unwrap();
    assert_eq!(out.results[0].title, "Chat a");
    assert!(out.results[0].hits[0].by_meaning);
    let words = block_on(v.search("bread", 10)).unwrap();
    assert!(!words.results[0].hits[0].by_meaning);
}

#[test]
fn vectors_are_written_with_the_index_sealed_and_a_deleted_conversations_are_gone() {
    let v = unlocked();
    v.set_meaning_model(model());
    let a = capture(&v, "a", &["a levy on imports", "tax tax"]);
    capture(&v, "b", &["bread"]);
    assert_eq!(with_vector(&stored_vectors(&v)), 3, "written in the capture's own write");
    // Sealed: the plaintext's magic appears in no stored value.
    for (s, k, value) in v.store().raw() {
        if s == StoreName::Index && k.starts_with("v.") {
            assert!(!value.windows(4).any(|w| w == b"TKVE"), "{k} is stored in plain");
        }
    }
    block_on(v.delete_conversation(&a)).unwrap();
    assert_eq!(with_vector(&stored_vectors(&v)), 1, "the deleted conversation's vectors are zeroed");
    assert!(block_on(v.search("tax", 10)).unwrap().results.iter().all(|r| r.title != "Chat a"));
}

#[test]
fn a_damaged_vector_chunk_is_embedded_again_and_search_goes_on() {
    let v = unlocked();
    v.set_meaning_model(model());
    capture(&v, "a", &["a levy on imports"]);
    v.lock();
    let (s, k, mut value) =
        v.store().raw().into_iter().find(|(s, k, _)| *s == StoreName::Index && k.starts_with("v.")).unwrap();
    let last = value.len() - 1;
    value[last] ^= 1;
    v.store().put_raw(s, &k, value);
    block_on(v.unlock(PASS)).unwrap();
    v.set_meaning_model(model());
    let out = block_on(v.search("levy", 10)).unwrap();
    assert_eq!((out.total, out.rebuilt), (1, false), "the words still work, the index is not rebuilt");
    let progress = block_on(v.embed_step(100)).unwrap();
    assert_eq!((progress.done, progress.total), (1, 1));
    assert_eq!(with_vector(&stored_vectors(&v)), 1, "written anew");
    assert!(block_on(v.search("tax", 10)).unwrap().results[0].hits[0].by_meaning);
}

#[test]
fn a_vault_indexed_before_the_model_is_embedded_in_resumable_steps() {
    let v = unlocked();
    capture(&v, "a", &["a levy on imports", "more on the levy"]);
    capture(&v, "b", &["bread", "bread again"]);
    v.set_meaning_model(model());
    assert!(block_on(v.search("tax", 10)).unwrap().results.is_empty(), "nothing embedded yet");
    let first = block_on(v.embed_step(1)).unwrap();
    assert_eq!((first.done, first.total), (1, 4));
    // A stopped worker: what was embedded is kept.
    v.lock();
    block_on(v.unlock(PASS)).unwrap();
    v.set_meaning_model(model());
    let mut last = first;
    while last.done < last.total {
        let next = block_on(v.embed_step(1)).unwrap();
        assert!(next.done > last.done, "{next:?} after {last:?}");
        last = next;
    }
    assert_eq!(last.done, 4);
    assert_eq!(with_vector(&stored_vectors(&v)), 4);
    assert_eq!(block_on(v.search("tax", 10)).unwrap().results[0].title, "Chat a");
}

#[test]
fn a_cold_query_the_words_match_answers_without_the_vectors_and_they_load_after() {
    let v = unlocked();
    v.set_meaning_model(model());
    capture(&v, "a", &["a levy on imports"]);
    capture(&v, "b", &["bread"]);
    // A worker started anew: the index is opened from the store, vectors not loaded.
    v.lock();
    block_on(v.unlock(PASS)).unwrap();
    v.set_meaning_model(model());
    let cold = block_on(v.search("bread", 10)).unwrap();
    assert_eq!((cold.total, cold.results[0].title.as_str()), (1, "Chat b"));
    assert!(cold.meaning_loading, "answered by the words while the vectors are not loaded");
    assert!(!cold.results[0].hits[0].by_meaning);
    block_on(v.warm_meaning());
    let warm = block_on(v.search("bread", 10)).unwrap();
    assert!(!warm.meaning_loading, "the vectors were loaded after the first answer");
    assert_eq!(warm.results, cold.results, "the same words rank the same");
    // A query only meaning can answer waits for the vectors instead.
    v.lock();
    block_on(v.unlock(PASS)).unwrap();
    v.set_meaning_model(model());
    let by_meaning = block_on(v.search("tax", 10)).unwrap();
    assert!(!by_meaning.meaning_loading);
    assert_eq!(by_meaning.results[0].title, "Chat a");
    assert!(by_meaning.results[0].hits[0].by_meaning);
}
