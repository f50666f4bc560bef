use std::sync::Arc;

use super::fuse::{fuse, Fused};
use super::model::tests::tiny;
use super::*;
use crate::search::{Doc, SearchIndex};

fn doc(id: &str, conv: &str, text: &str) -> Doc {
    Doc {
        id: id.into(),
        conversation_id: conv.into(),
        title: String::new(),
        text: text.into(),
        site: "claude".into(),
        role: "user".into(),
        ts: 1_700_000_000_000,
    }
}

fn index(meaning: bool) -> SearchIndex {
    let model = Arc::new(Model::from_bytes(&tiny()).unwrap());
    let mut index = if meaning { SearchIndex::with_meaning(model) } else { SearchIndex::new() };
    index.add(doc("m1", "c-levy", "a levy on imports"));
    index.add(doc("m2", "c-bread", "bread bread bread"));
    index
}

#[test]
fn a_message_with_other_words_of_the_same_meaning_is_found_only_with_the_meaning_leg() {
    assert_eq!(index(false).search("tax", 10).total, 0);
    let found = index(true).search("tax", 10);
    assert_eq!(found.hits[0].id, "m1");
    assert!(found.hits[0].by_meaning);
}

#[test]
fn a_message_with_the_words_ranks_first_and_is_not_marked_by_meaning() {
    let found = index(true).search("bread", 10);
    assert_eq!(found.hits[0].id, "m2");
    assert!(!found.hits[0].by_meaning);
    assert_eq!((found.total, found.hits.len()), (1, 1), "no hit found only by meaning when the words match");
    assert_eq!(index(false).search("bread", 10).hits[0].id, "m2");
}

#[test]
fn filters_apply_to_the_meaning_leg_too() {
    assert_eq!(index(true).search("tax site:chatgpt", 10).hits, vec![]);
    assert_eq!(index(true).search("tax role:user", 10).hits[0].id, "m1");
}

#[test]
fn a_removed_conversation_is_not_found_by_meaning_and_its_vector_is_gone() {
    let mut index = index(true);
    let before = index.vector_memory();
    index.remove_conversation("c-levy");
    assert!(index.search("tax", 10).hits.iter().all(|h| h.id != "m1"));
    assert_eq!(index.vector_memory(), before, "the table keeps its slots");
    assert!(!index.meaning.as_ref().unwrap().vectors.has(0), "the vector itself is zeroed");
}

#[test]
fn fusion_puts_the_word_legs_best_before_a_hit_found_only_by_meaning() {
    let words = [(1, 9.0), (2, 5.0)];
    let meaning = [(3, 0.9), (2, 0.8)];
    let fused = fuse(&words, &meaning, &[false, true], fuse::MEANING_WEIGHT, 10);
    let order: Vec<u32> = fused.iter().map(|f| f.doc).collect();
    assert_eq!(order, vec![2, 1, 3], "found by both legs first, then the words' best");
    assert_eq!(fused[2], Fused { doc: 3, score: fuse::MEANING_WEIGHT / (fuse::K + 1.0), by_meaning: true });
    assert!(
        fuse(&words, &meaning, &[true, true], fuse::MEANING_WEIGHT, 10).iter().all(|f| !f.by_meaning),
        "matched by words"
    );
}

#[test]
fn vectors_round_trip_without_deleted_ones_and_refuse_damage() {
    let mut v = Vectors::new(2);
    v.set(0, Some(&[0.6, 0.8]));
    v.set(2, Some(&[1.0, 0.0]));
    let mut bytes = Vec::new();
    v.encode(0, 3, |d| d != 2, &mut bytes);
    let mut back = Vectors::default();
    let range = back.decode_into(&mut crate::search::codec::Reader::new(&bytes)).unwrap();
    assert_eq!(range, 0..3);
    assert!(back.has(0) && !back.has(1) && !back.has(2));
    assert_eq!(back.nearest(&[0.6, 0.8], 5, |_| true)[0].0, 0);
    let mut cut = Vectors::default();
    assert!(cut.decode_into(&mut crate::search::codec::Reader::new(&bytes[..bytes.len() - 1])).is_err());
}

#[test]
fn the_vectors_format_is_pinned_by_a_test_vector() {
    let mut v = Vectors::new(2);
    v.set(1, Some(&[0.6, 0.8]));
    let mut bytes = Vec::new();
    v.encode(0, 2, |_| true, &mut bytes);
    assert_eq!(hex::encode(bytes), PINNED_VECTORS);
}

const PINNED_VECTORS: &str = "544b56450102000200000000a069ce3b00005f7f";
