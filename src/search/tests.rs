//! Relevance and robustness of search, as a person would describe them.

use super::*;

fn doc(id: &str, conv: &str, title: &str, text: &str) -> Doc {
    Doc {
        id: id.into(),
        conversation_id: conv.into(),
        title: title.into(),
        text: text.into(),
        site: "chatgpt".into(),
        role: "user".into(),
        ts: 1_700_000_000_000,
    }
}

fn ids(r: &SearchResults) -> Vec<&str> {
    r.hits.iter().map(|h| h.id.as_str()).collect()
}

fn sample() -> SearchIndex {
    let mut ix = SearchIndex::new();
    let d = |id: &str, site: &str, role: &str, ts: i64, text: &str| Doc {
        site: site.into(),
        role: role.into(),
        ts,
        ..doc(id, &format!("c-{site}"), "Notes", text)
    };
    ix.add(d("m1", "claude", "user", 1_704_067_200_000, "how do I bake sourdough bread")); // 2024-01-01
    ix.add(d("m2", "claude", "assistant", 1_706_745_600_000, "feed the sourdough starter daily")); // 2024-02-01
    ix.add(d("m3", "chatgpt", "user", 1_709_251_200_000, "sourdough pizza at home")); // 2024-03-01
    ix.add(d("m4", "gemini", "assistant", 1_711_929_600_000, "pizza stone or steel")); // 2024-04-01
    ix
}

#[test]
fn an_exact_phrase_ranks_first() {
    let mut ix = SearchIndex::new();
    ix.add(doc("scattered", "c1", "t", "the key is rotated; the store holds every key for the vault"));
    ix.add(doc("exact", "c2", "t", "we store the vault key in session storage then"));
    ix.add(doc("other", "c3", "t", "a vault of words and a key store elsewhere key vault"));
    let r = ix.search("vault key ", 10);
    assert_eq!(r.total, 3);
    assert_eq!(r.hits[0].id, "exact");
    let quoted = ix.search("\"vault key\"", 10);
    assert_eq!(ids(&quoted), ["exact"]);
}

#[test]
fn a_word_in_the_title_ranks_above_the_same_word_in_the_text() {
    let mut ix = SearchIndex::new();
    ix.add(doc("in-text", "c1", "Weekend plans", "maybe we could try kayaking on the lake this weekend if it is warm"));
    ix.add(doc("in-title", "c2", "Kayaking trip", "what should we pack for the lake if it is warm this weekend"));
    let r = ix.search("kayaking ", 10);
    assert_eq!(ids(&r), ["in-title", "in-text"]);
}

#[test]
fn every_word_must_match() {
    let mut ix = sample();
    assert_eq!(ids(&ix.search("sourdough pizza ", 10)), ["m3"]);
    assert_eq!(ix.search("sourdough ", 10).total, 3);
}

#[test]
fn site_filter_keeps_only_that_site() {
    let mut ix = sample();
    let r = ix.search("sourdough site:claude", 10);
    assert_eq!(r.total, 2);
    assert!(r.hits.iter().all(|h| h.conversation_id == "c-claude"));
    assert_eq!(ix.search("site:gemini", 10).total, 1);
    assert_eq!(ix.search("site:Gemini", 10).total, 1);
    ix.add(Doc { site: "Perplexity".into(), ..doc("m9", "c9", "t", "pizza") });
    assert_eq!(ix.search("pizza site:perplexity", 10).total, 1);
    assert_eq!(ix.search("pizza site:nowhere", 10).total, 0);
}

#[test]
fn role_filter_keeps_only_that_role() {
    let mut ix = sample();
    assert_eq!(ids(&ix.search("sourdough role:assistant", 10)), ["m2"]);
    assert_eq!(ids(&ix.search("pizza role:USER", 10)), ["m3"]);
}

#[test]
fn before_and_after_filters_keep_only_those_days() {
    let mut ix = sample();
    assert_eq!(ids(&ix.search("sourdough before:2024-02-01", 10)), ["m1"]);
    let mut after = ids(&ix.search("sourdough after:2024-02-01", 10)).into_iter().map(String::from).collect::<Vec<_>>();
    after.sort();
    assert_eq!(after, ["m2", "m3"]);
    assert_eq!(ix.search("after:2024-03-01 before:2024-04-02", 10).total, 2);
}

#[test]
fn filters_alone_list_the_newest_messages_first() {
    let mut ix = sample();
    assert_eq!(ids(&ix.search("after:2024-01-01", 2)), ["m4", "m3"]);
}

#[test]
fn the_word_being_typed_matches_as_a_prefix() {
    let mut ix = SearchIndex::new();
    ix.add(doc("a", "c", "t", "encryption at rest"));
    ix.add(doc("b", "c", "t", "encrypted archive"));
    ix.add(doc("c", "c", "t", "encoding tables"));
    assert_eq!(ix.search("encr", 10).total, 2);
    assert_eq!(ix.search("enc", 10).total, 3);
    // Once a space follows, the word is whole.
    assert_eq!(ix.search("encr ", 10).total, 0);
    assert_eq!(ix.search("archive encryp", 10).total, 1);
}

#[test]
fn a_chinese_word_is_found_inside_unspaced_text() {
    let mut ix = SearchIndex::new();
    ix.add(doc("zh", "c", "t", "我们今天讨论数据库的索引设计和查询优化"));
    ix.add(doc("ja", "c", "t", "東京で機械学習の勉強会があります"));
    ix.add(doc("none", "c", "t", "数字和据说不是那个词"));
    assert_eq!(ids(&ix.search("数据库", 10)), ["zh"]);
    assert_eq!(ids(&ix.search("索引", 10)), ["zh"]);
    assert_eq!(ids(&ix.search("機械学習", 10)), ["ja"]);
    assert_eq!(ix.search("据", 10).total, 2);
    assert_eq!(ix.search("库的索", 10).total, 1);
}

#[test]
fn accents_and_case_do_not_matter() {
    let mut ix = SearchIndex::new();
    ix.add(doc("fr", "c", "t", "Le CAFÉ près de la gare, crème brûlée"));
    ix.add(doc("de", "c", "t", "Die Straße ist schön"));
    assert_eq!(ids(&ix.search("cafe ", 10)), ["fr"]);
    assert_eq!(ids(&ix.search("Créme BRULEE ", 10)), ["fr"]);
    assert_eq!(ids(&ix.search("strasse schon", 10)), ["de"]);
}

#[test]
fn deleting_a_conversation_removes_its_messages_from_results() {
    let mut ix = sample();
    assert_eq!(ix.remove_conversation("c-claude"), 2);
    assert_eq!(ids(&ix.search("sourdough ", 10)), ["m3"]);
    assert_eq!(ix.len(), 2);
    // And from what is saved.
    let mut back = SearchIndex::from_bytes(&ix.to_bytes()).unwrap();
    assert_eq!(ids(&back.search("sourdough ", 10)), ["m3"]);
}

#[test]
fn adding_a_message_with_the_same_id_replaces_it() {
    let mut ix = SearchIndex::new();
    ix.add(doc("m", "c", "t", "streaming partial ans"));
    ix.add(doc("m", "c", "t", "streaming partial answer complete"));
    assert_eq!(ix.search("streaming ", 10).total, 1);
    assert_eq!(ix.search("complete", 10).total, 1);
    assert_eq!(ix.search("ans ", 10).total, 0);
    // Also after saving and loading.
    let mut back = SearchIndex::from_bytes(&ix.to_bytes()).unwrap();
    back.add(doc("m", "c", "t", "rewritten entirely"));
    assert_eq!((back.search("streaming ", 10).total, back.search("rewritten", 10).total, back.len()), (0, 1, 1));
}

#[test]
fn a_saved_index_finds_the_same_after_loading_and_keeps_growing() {
    let mut ix = sample();
    let bytes = ix.to_bytes();
    let mut back = SearchIndex::from_bytes(&bytes).unwrap();
    for q in ["sourdough ", "piz", "\"sourdough pizza\"", "site:claude", "stone pizza"] {
        assert_eq!(back.search(q, 10), ix.search(q, 10), "{q}");
    }
    back.add(doc("m5", "c9", "Pizza night", "pizza dough recipe"));
    assert_eq!(back.search("pizza ", 10).total, 3);
    assert_eq!(back.search("pizza ", 10).hits[0].id, "m5");
    let again = SearchIndex::from_bytes(&back.to_bytes()).unwrap().search("pizza ", 10);
    assert_eq!(again, back.search("pizza ", 10));
}

#[test]
fn bad_queries_give_an_answer_or_a_hint_never_a_panic() {
    let mut ix = sample();
    let empty = ix.search("", 10);
    assert_eq!((empty.total, empty.hint.is_some()), (0, true));
    assert_eq!(ix.search("   ", 10).total, 0);
    let long = "sourdough ".repeat(1000);
    let r = ix.search(&long, 10);
    assert!(r.hint.unwrap().contains("first"));
    let r = ix.search("\"sourdough pizza", 10);
    assert_eq!((r.total, r.hint.is_some()), (1, true));
    let r = ix.search("color:red pizza", 10);
    assert!(r.hint.unwrap().contains("not a filter"));
    let r = ix.search("pizza before:2024-02-31", 10);
    assert_eq!((r.total, r.hint.is_some()), (2, true));
    for q in [
        "\"",
        "\"\"",
        ":",
        "site:",
        "role:",
        "before:",
        "a",
        "\u{0301}",
        "ｆｕｌｌ",
        "🦀🦀",
        "\0",
        "x".repeat(10_000).as_str(),
    ] {
        let _ = ix.search(q, 10);
    }
    assert_eq!(ix.search("pizza ", 0).total, 2);
}

#[test]
fn damaged_saved_bytes_are_refused_not_trusted() {
    let mut ix = sample();
    let bytes = ix.to_bytes();
    for cut in [0, 3, 5, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(SearchIndex::from_bytes(&bytes[..cut]), Err(SearchError::Damaged(_))));
    }
    let mut newer = bytes.clone();
    newer[4] = 99;
    assert_eq!(SearchIndex::from_bytes(&newer).unwrap_err(), SearchError::NewerVersion);
    // Flipping any byte never panics (the result may load or be refused).
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        if let Ok(mut ix) = SearchIndex::from_bytes(&b) {
            let _ = ix.search("sourdough piz", 10);
        }
    }
}

#[test]
fn a_few_bytes_claiming_millions_of_documents_are_refused_before_allocating() {
    // "TKIX" 1, then a head claiming 2^26 slots (varint) and nothing to back them.
    let mut bytes = b"TKIX\x01".to_vec();
    crate::search::codec::put_u32(&mut bytes, 1 << 26);
    bytes.extend_from_slice(&[0; 16]);
    let err = SearchIndex::from_bytes(&bytes).unwrap_err();
    assert_eq!(err, SearchError::Damaged("saved search index: too many documents".into()));
}

#[test]
fn hits_are_grouped_by_conversation_best_first() {
    let hit = |id: &str, c: &str, score| Hit { id: id.into(), conversation_id: c.into(), score, by_meaning: false };
    let groups =
        group_by_conversation(&[hit("a", "x", 3.0), hit("b", "y", 2.5), hit("c", "x", 2.0), hit("d", "z", 1.0)]);
    let shape: Vec<(&str, Vec<&str>)> =
        groups.iter().map(|g| (g.conversation_id.as_str(), g.hits.iter().map(|h| h.id.as_str()).collect())).collect();
    assert_eq!(shape, [("x", vec!["a", "c"]), ("y", vec!["b"]), ("z", vec!["d"])]);
}

#[test]
fn a_snippet_marks_matches_in_utf16_units() {
    let s = snippet("Ünïcode 🦀 crab: the crab walks", "crab", 100);
    assert_eq!(s.text, "Ünïcode 🦀 crab: the crab walks");
    let utf16: Vec<u16> = s.text.encode_utf16().collect();
    for &(a, b) in &s.ranges {
        assert_eq!(String::from_utf16(&utf16[a..b]).unwrap(), "crab");
    }
    assert_eq!(s.ranges.len(), 2);
}

#[test]
fn a_snippet_of_a_long_message_is_cut_around_the_match() {
    let text = format!("{} the needle is here {}", "filler words ".repeat(200), "more text ".repeat(200));
    let s = snippet(&text, "needle", 60);
    assert!(s.text.starts_with('…') && s.text.ends_with('…'));
    assert!(s.text.chars().count() <= 64);
    let utf16: Vec<u16> = s.text.encode_utf16().collect();
    assert_eq!(String::from_utf16(&utf16[s.ranges[0].0..s.ranges[0].1]).unwrap(), "needle");
}

#[test]
fn a_snippet_marks_cjk_words_and_typed_prefixes() {
    let s = snippet("我们讨论数据库设计", "数据库", 50);
    let utf16: Vec<u16> = s.text.encode_utf16().collect();
    assert_eq!(s.ranges.len(), 1);
    assert_eq!(String::from_utf16(&utf16[s.ranges[0].0..s.ranges[0].1]).unwrap(), "数据库");
    let s = snippet("Encryption keys", "encr", 50);
    assert_eq!(s.ranges, [(0, 10)]);
}

/// `SearchIndex::to_bytes` of one message; a change of the format must change this
/// vector on purpose (and the version byte).
const PINNED_INDEX: &str = concat!(
    "544b4958010101060106636c617564650104757365720006000080a0abfef962026d3102633140",
    "544b53470105026869010202047275737401020203e68dae01020203e695b001020206e695b0e68dae",
    "0102020003010000010102000101040001010300010103"
);

#[test]
fn the_saved_index_format_is_pinned() {
    let mut ix = SearchIndex::new();
    ix.add(Doc { site: "claude".into(), ts: 1_700_000_000_000, ..doc("m1", "c1", "Hi", "Rust 数据") });
    let bytes = ix.to_bytes();
    assert_eq!(hex::encode(&bytes), PINNED_INDEX);
    let mut back = SearchIndex::from_bytes(&hex::decode(PINNED_INDEX).unwrap()).unwrap();
    assert_eq!(ids(&back.search("rust 数据", 10)), ["m1"]);
    assert_eq!(ids(&back.search("hi site:claude role:user", 10)), ["m1"]);
}

#[test]
fn a_snippet_of_a_message_matching_thousands_of_times_stays_short_and_exact() {
    let text = format!("{}{}", "ok ".repeat(3000), "needle hay ".repeat(5000));
    let s = snippet(&text, "needle", 40);
    assert!(s.text.chars().count() <= 44, "{}", s.text);
    let utf16: Vec<u16> = s.text.encode_utf16().collect();
    assert!(s.ranges.len() >= 3);
    for &(a, b) in &s.ranges {
        assert_eq!(String::from_utf16(&utf16[a..b]).unwrap(), "needle");
    }
}
