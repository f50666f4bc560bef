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

/// A small deterministic generator (splitmix64) for the randomized tests below.
pub(crate) struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A unit vector of `dims` dimensions.
    pub fn unit(&mut self, dims: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dims).map(|_| (self.next() % 2001) as f32 / 1000.0 - 1.0).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter().map(|x| x / norm).collect()
    }
}

/// The scan as it was first written (one document at a time, plain i32 dot products,
/// the same bounded heap): the reference the blocked scan must agree with, and the
/// "before" of the benchmark below.
fn nearest_one_by_one(v: &Vectors, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    use std::cmp::Reverse;
    #[derive(PartialEq)]
    struct Score(f32);
    impl Eq for Score {}
    impl PartialOrd for Score {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Score {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }
    if query.len() != v.dims() || v.dims() == 0 || n == 0 {
        return Vec::new();
    }
    let (base, q, scale) = v.raw();
    let (qs, qq) = super::model::quantize(query);
    let mut heap: std::collections::BinaryHeap<Reverse<(Score, Reverse<u32>)>> = Default::default();
    for (i, (row, &sc)) in q.chunks_exact(v.dims()).zip(scale).enumerate() {
        if sc <= 0.0 {
            continue;
        }
        let dot: i32 = row.iter().zip(&qq).map(|(&a, &b)| a as i32 * b as i32).sum();
        let s = dot as f32 * sc * qs;
        if heap.len() == n && heap.peek().is_some_and(|Reverse((worst, _))| s <= worst.0) {
            continue;
        }
        let d = base + i as u32;
        if !keep(d) {
            continue;
        }
        heap.push(Reverse((Score(s), Reverse(d))));
        if heap.len() > n {
            heap.pop();
        }
    }
    let mut out: Vec<(u32, f32)> = heap.into_iter().map(|Reverse((s, Reverse(d)))| (d, s.0)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[test]
fn the_blocked_scan_finds_exactly_what_a_plain_scan_finds() {
    let mut rng = Rng(16);
    for (dims, docs) in [(64, 1000), (64, 67), (64, 3), (16, 130), (7, 261), (64, 0)] {
        let mut v = Vectors::new(dims);
        for d in 0..docs {
            match rng.below(10) {
                0 => v.set(d, None),
                1 => v.set_pending(d..d + 1),
                // Ties: a handful of vectors used again and again.
                2..=4 => v.set(d, Some(&Rng(rng.below(4) as u64).unit(dims))),
                _ => v.set(d, Some(&rng.unit(dims))),
            }
        }
        for n in [1, 5, 100, 2000] {
            let query = rng.unit(dims);
            let keep = |d: u32| d % 7 != 3;
            assert_eq!(
                v.nearest(&query, n, keep),
                nearest_one_by_one(&v, &query, n, keep),
                "{dims} dims, {docs} docs, n {n}"
            );
        }
    }
}

#[test]
fn a_chunk_of_high_document_numbers_read_alone_takes_only_its_own_room() {
    let mut v = Vectors::new(2);
    v.set(1_000_000, Some(&[0.6, 0.8]));
    v.set(1_000_001, Some(&[1.0, 0.0]));
    assert_eq!(v.memory(), 2 * (2 + 4), "only the two documents are held");
    let mut bytes = Vec::new();
    v.encode(1_000_000, 1_000_002, |_| true, &mut bytes);
    let mut alone = Vectors::new(2);
    assert_eq!(alone.decode_chunk(&bytes), Ok(1_000_000..1_000_002));
    assert_eq!((alone.memory(), alone.slots()), (12, 1_000_002));
    assert_eq!(alone.nearest(&[1.0, 0.0], 1, |_| true)[0].0, 1_000_001);
    // A chunk of lower numbers read after it goes before it, the table grown in front.
    let mut low = Vectors::new(2);
    low.set(0, Some(&[0.0, 1.0]));
    let mut lower = Vec::new();
    low.encode(0, 1, |_| true, &mut lower);
    assert_eq!(alone.decode_chunk(&lower), Ok(0..1));
    assert!(alone.has(0) && alone.has(1_000_001) && !alone.has(500));
    assert_eq!(alone.nearest(&[0.0, 1.0], 1, |_| true)[0].0, 0);
}

/// Random bytes, cuts and changed bytes of a valid chunk give a chunk or an error,
/// never a panic, and an accepted one can be searched and written again (the fuzz
/// target `vectors_chunk` does the same for longer).
#[test]
fn any_bytes_given_as_a_vector_chunk_are_refused_or_read_never_a_panic() {
    let mut v = Vectors::new(16);
    let mut rng = Rng(7);
    for d in 3..40 {
        v.set(d, Some(&rng.unit(16)));
    }
    v.set_pending(40..44);
    let mut valid = Vec::new();
    v.encode(3, 44, |_| true, &mut valid);
    let mut inputs: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
    for _ in 0..3000 {
        let mut changed = valid.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(changed.len());
            changed[at] = rng.next() as u8;
        }
        inputs.push(changed);
        let mut random = b"TKVE\x01".to_vec();
        let len = rng.below(200);
        random.extend(rng.bytes(len));
        inputs.push(random);
        let len = rng.below(64);
        inputs.push(rng.bytes(len));
    }
    let mut read = 0;
    for bytes in &inputs {
        let mut t = Vectors::default();
        if let Ok(range) = t.decode_chunk(bytes) {
            read += 1;
            let dims = t.dims();
            let _ = t.nearest(&rng.unit(dims), 10, |_| true);
            let mut again = Vec::new();
            t.encode(range.start, range.end, |_| true, &mut again);
            assert_eq!(Vectors::default().decode_chunk(&again), Ok(range));
        }
    }
    assert!(read > 100, "some changed chunks are still chunks ({read})");
    assert_eq!(Vectors::default().decode_chunk(&valid), Ok(3..44));
}

/// Figures for the README (bench/meaning, "Where a fused query's time goes"), not a
/// check: each part of a fused query at 100k messages, natively on the in-memory index
/// (the shared 200 queries and the 32 paraphrases, warm, 5 rounds), with the scan as
/// first written beside the blocked one (their results compared).
/// `cargo test --release --lib meaning_query_time_by_part -- --ignored --nocapture`
/// after `make` (build/meaning/model.tkem) and `node bench/meaning/chromium.mjs` or
/// `node bench/corpus/gen-corpus.mjs --messages 100000 --out bench/out/corpus-100000.jsonl`.
#[test]
#[ignore]
fn meaning_query_time_by_part() {
    use std::time::Instant;
    let root = env!("CARGO_MANIFEST_DIR");
    let corpus = std::env::var("CORPUS").unwrap_or_else(|_| format!("{root}/bench/out/corpus-100000.jsonl"));
    let (Ok(text), Ok(model)) =
        (std::fs::read_to_string(&corpus), std::fs::read(format!("{root}/build/meaning/model.tkem")))
    else {
        eprintln!("no corpus at {corpus} or no model in build/meaning");
        return;
    };
    let model = Arc::new(Model::from_bytes(&model).unwrap());
    let (mut words, mut fused) = (SearchIndex::new(), SearchIndex::with_meaning(model));
    for (i, l) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let d = Doc {
            id: format!("m{i}"),
            conversation_id: format!("c{}", v["cid"]),
            title: v["title"].as_str().unwrap_or_default().into(),
            text: v["text"].as_str().unwrap_or_default().into(),
            site: "chatgpt".into(),
            role: v["role"].as_str().unwrap_or_default().into(),
            ts: v["ts"].as_i64().unwrap_or_default(),
        };
        words.add(d.clone());
        fused.add(d);
    }
    let json = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/{p}")).unwrap()).unwrap()
    };
    let mut queries: Vec<String> = json("bench/out/queries.json")["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["q"].as_str().unwrap().to_owned())
        .collect();
    let planted = json("bench/meaning/planted.json");
    queries.extend(
        planted["conversations"].as_array().unwrap().iter().map(|c| c["paraphrase"].as_str().unwrap().to_owned()),
    );

    let mut parts: Vec<(&str, Vec<f64>)> = [
        "embed the query",
        "scan before (one by one)",
        "scan after (blocked)",
        "words, top 20",
        "words, top 100",
        "fused search, top 20",
    ]
    .into_iter()
    .map(|p| (p, Vec::new()))
    .collect();
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64() * 1000.0
    };
    let mut differ = 0;
    for _ in 0..5 {
        for q in &queries {
            let m = fused.meaning.as_ref().unwrap();
            let docs = &fused.docs;
            let parsed = crate::search::query::parse(q);
            let mut v = None;
            parts[0].1.push(time(&mut || v = m.embed_query(&parsed)));
            let Some(v) = v else { continue };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            parts[1].1.push(time(&mut || a = nearest_one_by_one(&m.vectors, &v, DEPTH, |d| docs.is_live(d))));
            parts[2].1.push(time(&mut || b = m.vectors.nearest(&v, DEPTH, |d| docs.is_live(d))));
            differ += usize::from(a != b);
            parts[3].1.push(time(&mut || drop(words.search(q, 20))));
            parts[4].1.push(time(&mut || drop(words.search(q, DEPTH))));
            parts[5].1.push(time(&mut || drop(fused.search(q, 20))));
        }
    }
    println!(
        "{} messages, {} queries x 5, vectors {:.1} MB",
        fused.len(),
        queries.len(),
        fused.vector_memory() as f64 / 1e6
    );
    for (name, mut t) in parts {
        t.sort_by(f64::total_cmp);
        let at = |f: f64| t[((t.len() - 1) as f64 * f) as usize];
        println!("{name}: p50 {:.3} ms, p95 {:.3} ms ({} timed)", at(0.5), at(0.95), t.len());
    }
    assert_eq!(differ, 0, "the blocked scan finds what the scan one by one finds");
}
