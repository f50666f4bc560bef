//! Recall by meaning with the real model (potion-base-2M, built into
//! build/meaning/model.tkem by scripts/model.sh, which `make` runs).

use std::sync::Arc;

use threadkeeper::search::meaning::Model;
use threadkeeper::search::{Doc, SearchIndex};

fn model() -> Arc<Model> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/build/meaning/model.tkem");
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}; run `make` (scripts/model.sh) first"));
    Arc::new(Model::from_bytes(&bytes).unwrap())
}

/// Conversations about different things, a message each, in plain words.
const CHATS: [(&str, &str, &str); 8] = [
    ("c-iso", "Exercising my ISOs", "I exercised incentive stock options this year and my accountant warned me about the alternative minimum tax. Should I sell some shares in January?"),
    ("c-bread", "Sourdough starter", "My starter smells like acetone and the loaf came out flat. How often should I feed it and at what flour to water ratio?"),
    ("c-rust", "Borrow checker", "The compiler says cannot borrow as mutable because it is also borrowed as immutable inside the loop over the vector."),
    ("c-trip", "Kyoto itinerary", "Plan four days in Kyoto with temples in the morning, a day trip to Nara and a ryokan with an onsen."),
    ("c-knee", "Knee pain", "My knee hurts after long runs, on the outside just above the joint. Is it the IT band and should I stop training for the marathon?"),
    ("c-cv", "Cover letter", "Rewrite my cover letter for a product manager job so it sounds confident but not arrogant, and keep it under one page."),
    ("c-plant", "Yellow leaves", "The leaves of my monstera are turning yellow and the soil stays wet for a week after watering."),
    ("c-car", "Strange noise", "There is a grinding sound from the front wheel when I brake, louder in the morning when it is cold."),
];

fn index(meaning: bool) -> SearchIndex {
    let mut index = if meaning { SearchIndex::with_meaning(model()) } else { SearchIndex::new() };
    for (conv, title, text) in CHATS {
        index.add(Doc {
            id: format!("{conv}-1"),
            conversation_id: conv.into(),
            title: title.into(),
            text: text.into(),
            site: "chatgpt".into(),
            role: "user".into(),
            ts: 1_700_000_000_000,
        });
    }
    index
}

/// Queries that share no word with the conversation they mean.
const PARAPHRASES: [(&str, &str); 4] = [
    ("paying less income levy on employee equity", "c-iso"),
    ("fermented dough feeding schedule", "c-bread"),
    ("indoor plant drowning", "c-plant"),
    ("squeaky brakes automobile", "c-car"),
];

#[test]
fn a_paraphrase_finds_its_conversation_only_with_the_meaning_leg() {
    let (mut words, mut both) = (index(false), index(true));
    for (query, conv) in PARAPHRASES {
        assert_eq!(words.search(query, 10).total, 0, "{query}: the words alone find nothing");
        let found = both.search(query, 3);
        let first = &found.hits[0];
        assert_eq!(first.conversation_id, conv, "{query}: {found:?}");
        assert!(first.by_meaning, "{query}");
    }
}

#[test]
fn a_query_with_the_exact_words_ranks_as_before() {
    let (mut words, mut both) = (index(false), index(true));
    for query in ["alternative minimum tax", "starter", "borrow mutable", "ryokan", "monstera leaves"] {
        let before: Vec<String> = words.search(query, 10).hits.into_iter().map(|h| h.id).collect();
        let after = both.search(query, 10);
        let after_words: Vec<&str> = after.hits.iter().filter(|h| !h.by_meaning).map(|h| h.id.as_str()).collect();
        assert_eq!(after_words, before, "{query}");
        assert_eq!(after.hits[0].id, before[0], "{query}: the word match stays first");
    }
}
