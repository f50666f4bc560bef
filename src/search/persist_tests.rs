//! The persisted index: what a cold service worker reads, updates, damage. The vault's
//! part (reading, opening, sealing and writing segments) is played by a map of bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use super::*;
use crate::search::SearchIndex;

/// The segments' plaintext by name, as the vault would hand them over, and every name
/// the index asked for.
#[derive(Default)]
struct Bytes {
    map: HashMap<String, Vec<u8>>,
    reads: RefCell<Vec<String>>,
}

impl Bytes {
    fn take_reads(&self) -> Vec<String> {
        std::mem::take(&mut *self.reads.borrow_mut())
    }

    fn give(&self, names: Vec<String>) -> Opened {
        self.reads.borrow_mut().extend(names.iter().cloned());
        names
            .into_iter()
            .map(|n| {
                let plain = self.map.get(&n).cloned();
                (n, plain)
            })
            .collect()
    }

    /// Applies writes as the vault's one atomic write does: removals, then puts.
    fn apply(&mut self, writes: Writes) {
        for r in writes.removed {
            match r {
                Removal::Segment(k) => {
                    self.map.remove(&k);
                }
                Removal::Prefix(p) => self.map.retain(|k, _| !k.starts_with(&p)),
            }
        }
        self.map.extend(writes.put);
    }

    fn open(&self) -> Result<PersistentIndex, SearchError> {
        PersistentIndex::open(self.give(PersistentIndex::open_needs()))
    }

    fn drive<T>(
        &self,
        ix: &mut PersistentIndex,
        mut step: impl FnMut(&mut PersistentIndex) -> Result<Step<T>, SearchError>,
    ) -> Result<T, SearchError> {
        for _ in 0..4 {
            match step(ix)? {
                Step::Done(t) => return Ok(t),
                Step::Need(names) => ix.load(self.give(names))?,
            }
        }
        panic!("the index asked again and again")
    }

    fn search(&self, ix: &mut PersistentIndex, q: &str, limit: usize) -> Result<SearchResults, SearchError> {
        self.drive(ix, |ix| ix.search(q, limit))
    }

    /// An update as the vault runs it: what staging needs, staging, then the writes.
    fn update(
        &self,
        ix: &mut PersistentIndex,
        added: Vec<Doc>,
        removed: &[String],
        merges: Merges,
    ) -> Result<Writes, SearchError> {
        ix.load(self.give(ix.stage_needs()))?;
        ix.stage(added, removed, Embedding::Inline)?;
        self.drive(ix, |ix| ix.writes(merges))
    }
}

const WORDS: [&str; 24] = [
    "vault",
    "archive",
    "passphrase",
    "encryption",
    "sourdough",
    "kayak",
    "lattice",
    "quantum",
    "garden",
    "harbor",
    "violin",
    "pepper",
    "glacier",
    "compiler",
    "borrow",
    "checker",
    "meadow",
    "saffron",
    "orbit",
    "tunnel",
    "cobalt",
    "ember",
    "fjord",
    "nectar",
];

/// `n` messages, 10 a conversation, each with a unique word `w{i}` and a few shared ones.
fn corpus(n: usize) -> Vec<Doc> {
    (0..n)
        .map(|i| Doc {
            id: format!("m{i}"),
            conversation_id: format!("c{}", i / 10),
            title: format!("Talk {} about {}", i / 10, WORDS[(i / 10) % WORDS.len()]),
            text: format!(
                "unique w{i} and {} with {} then {} 数据库{}",
                WORDS[i % WORDS.len()],
                WORDS[(i * 7 + 3) % WORDS.len()],
                WORDS[(i * 5 + 1) % WORDS.len()],
                if i % 3 == 0 { "索引" } else { "设计" }
            ),
            site: if i % 2 == 0 { "claude".into() } else { "chatgpt".into() },
            role: if i % 2 == 0 { "user".into() } else { "assistant".into() },
            ts: 1_700_000_000_000 + i as i64 * 60_000,
        })
        .collect()
}

/// An index of `docs` built anew and written to `store`.
fn stored_index(store: &mut Bytes, docs: Vec<Doc>, chunk_bytes: usize) -> PersistentIndex {
    let (ix, writes) = PersistentIndex::rebuild_with(docs, chunk_bytes).unwrap();
    store.apply(writes);
    ix
}

/// Each of `bad` in `target`'s place (`None`: removed) makes a query for `first` (a
/// term the segment holds) fail as damaged, naming `target`; then `target` is put back.
fn each_is_named_damaged<const N: usize>(store: &mut Bytes, target: &str, first: &[u8], bad: [Option<Vec<u8>>; N]) {
    let good = store.map[target].clone();
    let query = format!("{} ", String::from_utf8(first.to_vec()).unwrap());
    for bytes in bad {
        match bytes {
            Some(bytes) => store.map.insert(target.to_owned(), bytes),
            None => store.map.remove(target),
        };
        let mut ix = store.open().unwrap();
        match store.search(&mut ix, &query, 10) {
            Err(SearchError::Damaged(what)) => assert!(what.contains(target), "{what}"),
            other => panic!("{target}: {other:?}"),
        }
    }
    store.map.insert(target.to_owned(), good);
}

fn put_names(w: &Writes) -> Vec<&str> {
    w.put.iter().map(|(k, _)| k.as_str()).collect()
}

fn removes_prefix(w: &Writes, start: &str) -> bool {
    w.removed.iter().any(|r| matches!(r, Removal::Prefix(p) if p.starts_with(start)))
}

fn removes(w: &Writes, f: impl Fn(&str) -> bool) -> bool {
    w.removed.iter().any(|r| matches!(r, Removal::Segment(k) if f(k)))
}

fn ids(r: &SearchResults) -> Vec<String> {
    let mut v: Vec<String> = r.hits.iter().map(|h| h.id.clone()).collect();
    v.sort();
    v
}

const QUERIES: [&str; 8] =
    ["vault ", "w123 ", "harb", "\"unique w12\"", "数据库索引", "site:claude glacier", "kayak role:assistant", "w1"];

#[test]
fn the_persisted_index_finds_what_the_in_memory_index_finds() {
    let mut store = Bytes::default();
    let docs = corpus(600);
    stored_index(&mut store, docs.clone(), 4096);
    let mut mem = SearchIndex::new();
    docs.into_iter().for_each(|d| mem.add(d));
    let mut cold = store.open().unwrap();
    for q in QUERIES {
        let a = store.search(&mut cold, q, 1000).unwrap();
        let b = mem.search(q, 1000);
        assert!(a.total > 0, "{q}");
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
}

#[test]
fn a_cold_open_reads_the_manifest_and_a_query_reads_only_the_chunks_it_needs() {
    let mut store = Bytes::default();
    let (_, writes) = PersistentIndex::rebuild_with(corpus(3000), 8192).unwrap();
    let chunks = put_names(&writes).iter().filter(|k| k.starts_with("t.")).count();
    assert!(chunks >= 10, "{chunks} chunks");
    store.apply(writes);

    let mut ix = store.open().unwrap();
    // One read of two keys: the manifest and the marker of an unfinished import.
    assert_eq!(store.take_reads(), ["m", "p"]);

    // Asked for in two steps: the attributes, deltas and the term's chunk; then the
    // ids of the hits.
    assert!(
        matches!(ix.search("w1234 ", 10).unwrap(), Step::Need(names) if names.iter().all(|n| !n.starts_with("d.")))
    );
    let r = store.search(&mut ix, "w1234 ", 10).unwrap();
    assert_eq!(ids(&r), ["m1234"]);
    let reads = store.take_reads();
    let term_reads: Vec<&String> = reads.iter().filter(|k| k.starts_with("t.")).collect();
    assert_eq!(term_reads.len(), 1, "{reads:?}");
    assert_eq!(reads.iter().filter(|k| k.starts_with("d.")).collect::<Vec<_>>(), ["d.1"]);

    // What was loaded stays loaded.
    store.search(&mut ix, "w1234 ", 10).unwrap();
    assert!(store.take_reads().is_empty());
}

#[test]
fn updates_write_a_small_delta_and_are_found_after_a_cold_open() {
    let mut store = Bytes::default();
    let mut ix = stored_index(&mut store, corpus(2000), 8192);

    let new = Doc { text: "a zeppelin over the harbor".into(), ..corpus(1).remove(0) };
    let writes = store.update(&mut ix, vec![new], &[], Merges::Normal).unwrap();
    let keys = put_names(&writes);
    assert!(!keys.iter().any(|k| k.starts_with("t.")) && writes.removed.is_empty(), "{keys:?}");
    store.apply(writes);

    let mut cold = store.open().unwrap();
    assert_eq!(ids(&store.search(&mut cold, "zeppelin harb", 10).unwrap()), ["m0"]);
    // The same id replaced the first message (m0).
    assert_eq!(store.search(&mut cold, "w0 ", 10).unwrap().total, 0);
}

#[test]
fn a_bulk_import_is_indexed_in_memory_and_written_once_at_the_end() {
    let mut store = Bytes::default();
    let docs = corpus(400);
    let mut ix = stored_index(&mut store, docs[..100].to_vec(), 2048);
    let before = store.map.len();
    for (i, batch) in docs[100..].chunks(30).enumerate() {
        let writes = store.update(&mut ix, batch.to_vec(), &[], Merges::Deferred).unwrap();
        // The first batch writes only the marker; the others nothing at all.
        assert!(writes.removed.is_empty(), "batch {i}");
        assert_eq!(put_names(&writes), if i == 0 { vec!["p"] } else { vec![] }, "batch {i}");
        store.apply(writes);
    }
    assert!(ix.has_pending());
    assert_eq!(store.map.len(), before + 1);
    // A worker stopped now would find the marker: the index must be rebuilt.
    assert!(matches!(store.open(), Err(SearchError::Damaged(_))));

    // The end of the import: 300 new documents against 100 are merged into the chunks.
    let writes = store.update(&mut ix, Vec::new(), &[], Merges::Normal).unwrap();
    assert!(removes_prefix(&writes, "t."));
    assert!(removes(&writes, |k| k == "p"));
    store.apply(writes);
    assert!(!ix.has_pending());

    let mut mem = SearchIndex::new();
    docs.into_iter().for_each(|d| mem.add(d));
    let mut cold = store.open().unwrap();
    assert_eq!(cold.len(), 400);
    for q in QUERIES.iter().chain(&["w175 ", "w399 ", "unique "]) {
        let a = store.search(&mut cold, q, 1000).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
}

#[test]
fn a_small_bulk_import_becomes_one_delta_and_any_normal_update_writes_it() {
    let mut store = Bytes::default();
    let docs = corpus(420);
    let mut ix = stored_index(&mut store, docs[..400].to_vec(), 2048);
    for batch in docs[400..410].chunks(5) {
        let writes = store.update(&mut ix, batch.to_vec(), &[], Merges::Deferred).unwrap();
        store.apply(writes);
    }
    assert!(matches!(store.open(), Err(SearchError::Damaged(_))), "the marker is there");
    // A capture arrives before the import is finished: everything is written with it.
    let writes = store.update(&mut ix, docs[410..].to_vec(), &[], Merges::Normal).unwrap();
    assert!(removes(&writes, |k| k == "p"), "and the marker goes");
    assert!(!writes.removed.iter().any(|r| matches!(r, Removal::Prefix(_))), "20 documents against 400: a delta");
    let deltas = put_names(&writes).iter().filter(|k| k.starts_with("x.")).count();
    assert_eq!(deltas, 1);
    store.apply(writes);
    let mut cold = store.open().unwrap();
    assert_eq!(cold.len(), 420);
    for id in [403, 409, 415] {
        assert_eq!(ids(&store.search(&mut cold, &format!("w{id} "), 10).unwrap()), [format!("m{id}")]);
    }
}

#[test]
fn a_cold_update_asks_for_the_ids_and_a_full_merge_for_every_chunk_first() {
    let mut store = Bytes::default();
    let docs = corpus(400);
    stored_index(&mut store, docs[..100].to_vec(), 2048);
    let chunks = store.map.keys().filter(|k| k.starts_with("t.1.")).count();
    let mut ix = store.open().unwrap();
    let needs = ix.stage_needs();
    assert!(needs.contains(&"a.0".to_owned()) && needs.contains(&"d.0".to_owned()), "{needs:?}");
    assert!(
        matches!(ix.stage(docs[100..].to_vec(), &[], Embedding::Inline), Err(SearchError::Damaged(_))),
        "not loaded yet"
    );
    ix.load(store.give(needs)).unwrap();
    ix.stage(docs[100..].to_vec(), &[], Embedding::Inline).unwrap();
    let deferred = store.drive(&mut ix, |ix| ix.writes(Merges::Deferred)).unwrap();
    store.apply(deferred);
    // 300 documents against 100: merged straight into the chunks, read first.
    match ix.writes(Merges::Normal).unwrap() {
        Step::Need(names) => assert_eq!(names.iter().filter(|n| n.starts_with("t.1.")).count(), chunks, "{names:?}"),
        Step::Done(_) => panic!("the chunks are not loaded"),
    }
    let writes = store.drive(&mut ix, |ix| ix.writes(Merges::Normal)).unwrap();
    assert!(removes_prefix(&writes, "t.1."));
    store.apply(writes);
    let mut cold = store.open().unwrap();
    assert_eq!(store.search(&mut cold, "w399 ", 10).unwrap().total, 1);
    assert_eq!(store.search(&mut cold, "unique ", 10).unwrap().total, 400);
}

#[test]
fn many_updates_merge_into_new_chunks_and_deletions_persist() {
    let mut store = Bytes::default();
    let docs = corpus(400);
    let (mut ix, writes) = PersistentIndex::rebuild_with(docs[..100].to_vec(), 2048).unwrap();
    ix.merge_bytes = 24 * 1024;
    store.apply(writes);
    let (mut compacted, mut merged) = (false, false);
    for batch in docs[100..].chunks(10) {
        let writes = store.update(&mut ix, batch.to_vec(), &[], Merges::Normal).unwrap();
        let full = removes_prefix(&writes, "t.");
        merged |= full;
        compacted |= !full && removes(&writes, |k| k.starts_with("x."));
        store.apply(writes);
    }
    assert!(compacted, "30 updates should have merged newer deltas together");
    assert!(merged, "30 updates should have merged the deltas into the chunks");
    let writes = store.update(&mut ix, Vec::new(), &["c7".to_owned(), "c30".to_owned()], Merges::Normal).unwrap();
    store.apply(writes);

    let mut mem = SearchIndex::new();
    docs.into_iter().for_each(|d| mem.add(d));
    mem.remove_conversation("c7");
    mem.remove_conversation("c30");
    let mut cold = store.open().unwrap();
    assert_eq!(cold.len(), 380);
    for q in QUERIES.iter().chain(&["w75 ", "w305 ", "unique "]) {
        let a = store.search(&mut cold, q, 1000).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
    // No chunk of an older generation or merged delta is left behind.
    let stale = store.map.keys().filter(|k| k.starts_with("t.1.") || k.starts_with("x.0")).count();
    assert_eq!(stale, 0);
}

/// A chunk that does not decode, is missing, or holds another chunk's terms (moved
/// into its slot) is damaged. (That a changed or moved segment does not even open, its
/// sealed name being its associated data, is the vault's test: `vault::search`.)
#[test]
fn a_damaged_or_moved_chunk_is_reported_as_damaged() {
    let mut store = Bytes::default();
    stored_index(&mut store, corpus(1000), 4096);
    let mut chunk_keys: Vec<String> = store.map.keys().filter(|k| k.starts_with("t.1.")).cloned().collect();
    chunk_keys.sort_by_key(|k| k[4..].parse::<usize>().unwrap());
    assert!(chunk_keys.len() > 2);

    let firsts = store.open().unwrap().manifest.chunk_first;
    assert_eq!(firsts.len(), chunk_keys.len());
    for (i, first) in firsts.iter().enumerate() {
        let target = format!("t.1.{i}");
        let good = store.map[&target].clone();
        // A query for the chunk's first term reads it.
        let cut = good[..good.len() / 2].to_vec();
        each_is_named_damaged(&mut store, &target, first, [Some(cut), None]);
    }

    // A chunk moved into another chunk's slot holds terms outside that slot's range.
    let (a, b) = (&chunk_keys[0], &chunk_keys[1]);
    store.map.insert(b.clone(), store.map[a].clone());
    let mut ix = store.open().unwrap();
    let query = format!("{} ", String::from_utf8(firsts[1].clone()).unwrap());
    assert!(matches!(store.search(&mut ix, &query, 10), Err(SearchError::Damaged(_))));

    // And a rebuild repairs it.
    let (mut fixed, writes) = PersistentIndex::rebuild(corpus(1000), None).unwrap();
    store.apply(writes);
    assert_eq!(store.search(&mut fixed, "w999 ", 10).unwrap().total, 1);
    let mut cold = store.open().unwrap();
    assert_eq!(store.search(&mut cold, "w999 ", 10).unwrap().total, 1);
}

/// A manifest that does not decode is damaged (one that does not open, changed or under
/// another key, is the vault's test: `vault::search`).
#[test]
fn a_damaged_manifest_or_a_wrong_key_is_reported_as_damaged() {
    let mut store = Bytes::default();
    stored_index(&mut store, corpus(50), 4096);
    let good = store.map["m"].clone();
    for bad in [good[..good.len() - 1].to_vec(), [&good[..], b"x"].concat(), b"TKMF\x02".to_vec()] {
        store.map.insert("m".into(), bad);
        assert!(matches!(store.open(), Err(SearchError::Damaged(_) | SearchError::NewerVersion)));
    }
}

#[test]
fn a_vault_without_an_index_opens_empty() {
    let store = Bytes::default();
    let mut ix = store.open().unwrap();
    assert_eq!(store.search(&mut ix, "anything", 10).unwrap().total, 0);
    let mut store = store;
    let writes = store.update(&mut ix, corpus(3), &[], Merges::Normal).unwrap();
    store.apply(writes);
    let mut cold = store.open().unwrap();
    assert_eq!(store.search(&mut cold, "unique", 10).unwrap().total, 3);
}

#[test]
fn the_manifest_format_is_pinned() {
    let mut docs = DocTable::default();
    docs.push("m1", "c1", "claude", "user", 1_700_000_000_000, 5);
    docs.push("m2", "c1", "claude", "assistant", 1_700_000_060_000, 7);
    docs.delete(0);
    let parted = Delta { seq: 7, part_first: vec![b"ant".to_vec(), b"moth".to_vec()], whole: false };
    // A delta read from a version-1 manifest and not merged yet.
    let whole = Delta { seq: 8, part_first: vec![Vec::new()], whole: true };
    let m = Manifest {
        gen: 3,
        next_seq: 9,
        chunk_first: vec![b"alpha".to_vec(), b"kayak".to_vec()],
        deltas: vec![parted.clone(), whole.clone()],
    };
    let bytes = m.encode(&docs);
    let pinned = "544b4d460203090201070106636c6175646502047573657209617373697374616e7401000205616c706861056b6179616b02070203616e74046d6f74680800";
    assert_eq!(hex::encode(&bytes), pinned);
    let (back, table) = Manifest::decode(&hex::decode(pinned).unwrap()).unwrap();
    assert_eq!((back.gen, back.next_seq, back.chunk_first), (3, 9, m.chunk_first));
    assert_eq!(back.deltas, [parted, whole]);
    assert_eq!((table.slots(), table.live, table.total_len), (2, 1, 7));
    assert!(!table.is_live(0) && table.is_live(1));
    let names: Vec<String> = back.deltas.iter().flat_map(|d| (0..d.part_first.len()).map(|j| d.part_key(j))).collect();
    assert_eq!(names, ["x.7.0", "x.7.1", "x.8"]);

    // Version 1, written before deltas had parts, still reads: each delta one segment.
    let v1 = "544b4d460103090201070106636c6175646502047573657209617373697374616e7401000205616c706861056b6179616b020708";
    let (back, table) = Manifest::decode(&hex::decode(v1).unwrap()).unwrap();
    let keys: Vec<String> = back.deltas.iter().map(|d| d.part_key(0)).collect();
    assert_eq!((back.gen, back.next_seq, keys), (3, 9, vec!["x.7".to_owned(), "x.8".to_owned()]));
    assert!(back.deltas.iter().all(|d| d.whole && d.part_first == [Vec::<u8>::new()]));
    assert_eq!((table.slots(), table.live, table.total_len), (2, 1, 7));
}

/// Figures for bench/search/README.md, not a check: how much a cold worker decrypts.
/// `cargo test --release --lib cold_query_figures -- --ignored --nocapture` after
/// `node bench/search/run.mjs` made bench/out/corpus-100k.jsonl.
#[test]
#[ignore]
fn cold_query_figures() {
    /// What sealing adds to a segment: the record envelope's version, nonce and tag.
    const ENVELOPE_OVERHEAD: usize = 1 + 12 + 16;
    let Ok(text) = std::fs::read_to_string("bench/out/corpus-100k.jsonl") else { return };
    let docs: Vec<Doc> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Doc {
                id: v["id"].to_string(),
                conversation_id: v["cid"].to_string(),
                title: v["title"].as_str().unwrap_or_default().into(),
                text: v["text"].as_str().unwrap_or_default().into(),
                site: "chatgpt".into(),
                role: v["role"].as_str().unwrap_or_default().into(),
                ts: v["ts"].as_i64().unwrap_or_default(),
            }
        })
        .collect();
    let sealed_bytes = |w: &Writes| w.put.iter().map(|(_, p)| p.len() + ENVELOPE_OVERHEAD).sum::<usize>();
    let kib = |n: usize| n as f64 / 1024.0;
    let mut store = Bytes::default();
    let (_, writes) = PersistentIndex::rebuild(docs.clone(), None).unwrap();
    let chunks = put_names(&writes).iter().filter(|k| k.starts_with("t.")).count();
    println!(
        "index: {} records, {chunks} term chunks, {:.1} MiB sealed",
        writes.put.len(),
        kib(sealed_bytes(&writes)) / 1024.0
    );
    store.apply(writes);
    let read = |store: &Bytes, keys: &[String]| -> usize {
        keys.iter().map(|k| store.map.get(k).map_or(0, |v| v.len() + ENVELOPE_OVERHEAD)).sum()
    };
    for q in ["spreadsheet ", "encryp", "con", "those ", "site:chatgpt after:2024-03-01"] {
        let mut ix = store.open().unwrap();
        let opened = store.take_reads();
        let r = store.search(&mut ix, q, 10).unwrap();
        let reads = store.take_reads();
        println!(
            "{q:?}: open reads {:.1} KiB; the first query reads {} records, {:.0} KiB ({} hits)",
            kib(read(&store, &opened)),
            reads.len(),
            kib(read(&store, &reads)),
            r.total
        );
    }
    let mut ix = store.open().unwrap();
    for round in 0..2 {
        let new: Vec<Doc> =
            docs[round * 20..round * 20 + 20].iter().map(|d| Doc { id: format!("new{}", d.id), ..d.clone() }).collect();
        let writes = store.update(&mut ix, new, &[], Merges::Normal).unwrap();
        let reads = store.take_reads();
        println!(
            "update of 20 messages: reads {:.0} KiB, writes {} records, {:.0} KiB",
            kib(read(&store, &reads)),
            writes.put.len() + writes.removed.len(),
            kib(sealed_bytes(&writes))
        );
        store.apply(writes);
    }
}

/// An index of 600 documents with deltas of small parts: the first 300 in the chunks,
/// then 30 updates of 10.
fn index_with_parted_deltas(store: &mut Bytes) -> PersistentIndex {
    let docs = corpus(600);
    let (mut ix, writes) = PersistentIndex::rebuild_with(docs[..300].to_vec(), 4096).unwrap();
    ix.part_bytes = 512;
    ix.merge_bytes = usize::MAX;
    store.apply(writes);
    for batch in docs[300..].chunks(10) {
        let writes = store.update(&mut ix, batch.to_vec(), &[], Merges::Normal).unwrap();
        store.apply(writes);
    }
    ix
}

#[test]
fn a_cold_query_reads_only_the_delta_parts_that_may_hold_its_terms() {
    let mut store = Bytes::default();
    index_with_parted_deltas(&mut store);
    let parts: Vec<&String> = store.map.keys().filter(|k| k.starts_with("x.")).collect();
    let deltas = store.open().unwrap().manifest.deltas.len();
    assert!(deltas >= 2 && parts.len() >= 4 * deltas, "{deltas} deltas, {} parts", parts.len());

    let mut ix = store.open().unwrap();
    store.take_reads();
    assert_eq!(ids(&store.search(&mut ix, "w555 ", 10).unwrap()), ["m555"]);
    let read = store.take_reads().into_iter().filter(|k| k.starts_with("x.")).count();
    assert!(read <= deltas, "one part a delta at most: {read} of {} parts", parts.len());

    // Every kind of query finds what the in-memory index finds, prefixes across parts too.
    let mut mem = SearchIndex::new();
    corpus(600).into_iter().for_each(|d| mem.add(d));
    let mut cold = store.open().unwrap();
    for q in QUERIES.iter().chain(&["w5", "w", "unique ", "w333 w444", "ha", "数据"]) {
        let a = store.search(&mut cold, q, 1000).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
}

/// The manifest of `ix` as version 1 wrote it, and its deltas each as one segment.
fn as_version_1(store: &mut Bytes) {
    let mut ix = store.open().unwrap();
    ix.load(store.give(ix.stage_needs())).unwrap();
    let mut m = Vec::new();
    m.extend_from_slice(b"TKMF\x01");
    codec::put_u32(&mut m, ix.manifest.gen);
    codec::put_u32(&mut m, ix.manifest.next_seq);
    ix.docs.encode_head(&mut m);
    codec::put_u32(&mut m, ix.manifest.chunk_first.len() as u32);
    for t in &ix.manifest.chunk_first {
        codec::put_bytes(&mut m, t);
    }
    codec::put_u32(&mut m, ix.manifest.deltas.len() as u32);
    for (meta, parts) in ix.manifest.deltas.iter().zip(&ix.deltas) {
        codec::put_u32(&mut m, meta.seq);
        let whole = Segment::encode(parts.iter().flatten().flat_map(|s| s.iter()).collect::<Vec<_>>().into_iter());
        store.map.retain(|k, _| !k.starts_with(&format!("x.{}.", meta.seq)));
        store.map.insert(format!("x.{}", meta.seq), whole);
    }
    store.map.insert("m".into(), m);
}

#[test]
fn an_index_written_before_deltas_had_parts_is_read_and_its_deltas_merged_away() {
    let mut store = Bytes::default();
    index_with_parted_deltas(&mut store);
    as_version_1(&mut store);
    let whole: Vec<String> = store.map.keys().filter(|k| k.starts_with("x.")).cloned().collect();
    assert!(whole.len() >= 2 && whole.iter().all(|k| k.matches('.').count() == 1), "{whole:?}");

    let mut mem = SearchIndex::new();
    corpus(600).into_iter().for_each(|d| mem.add(d));
    let mut cold = store.open().unwrap();
    for q in QUERIES.iter().chain(&["w555 ", "w5", "unique "]) {
        let a = store.search(&mut cold, q, 1000).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }

    // Updates keep the old deltas readable until they are merged, then remove them.
    let mut ix = store.open().unwrap();
    ix.merge_bytes = usize::MAX;
    let more = corpus(700).split_off(600);
    for batch in more.chunks(10) {
        let writes = store.update(&mut ix, batch.to_vec(), &[], Merges::Normal).unwrap();
        store.apply(writes);
        batch.iter().for_each(|d| mem.add(d.clone()));
        let mut cold = store.open().unwrap();
        assert_eq!(store.search(&mut cold, "unique ", 1000).unwrap().total, mem.search("unique ", 1000).total);
    }
    ix.merge_bytes = 0;
    let writes = store.update(&mut ix, Vec::new(), &["c3".to_owned()], Merges::Normal).unwrap();
    store.apply(writes);
    mem.remove_conversation("c3");
    assert!(!store.map.keys().any(|k| whole.contains(k)), "the old deltas are gone");
    let mut cold = store.open().unwrap();
    for q in QUERIES.iter().chain(&["w655 ", "w5", "unique "]) {
        let a = store.search(&mut cold, q, 1000).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
}

#[test]
fn a_damaged_missing_or_moved_delta_part_is_reported_as_damaged() {
    let mut store = Bytes::default();
    index_with_parted_deltas(&mut store);
    let meta = store.open().unwrap().manifest.deltas.last().unwrap().clone();
    assert!(meta.part_first.len() >= 3);
    for (j, first) in meta.part_first.iter().enumerate().skip(1) {
        let target = meta.part_key(j);
        let good = &store.map[&target];
        let cut = good[..good.len() / 2].to_vec();
        let moved = store.map[&meta.part_key(j - 1)].clone();
        each_is_named_damaged(&mut store, &target, first, [Some(cut), None, Some(moved)]);
    }
}

#[test]
fn the_id_chunk_format_is_pinned() {
    let mut out = Vec::new();
    let mut w = IdWriter::default();
    for (id, conv) in [("c1:0", "c1"), ("c1:1", "c1"), ("odd", "c1"), ("c2:007", "c2"), ("c2:12", "c2"), ("c1:2", "c1")]
    {
        w.put(id, conv, &mut out);
    }
    let pinned = "030263310400036f6464010263320663323a3030371a07026331";
    assert_eq!(hex::encode(&out), pinned);
    let bytes = hex::decode(pinned).unwrap();
    let mut r = Reader::new(&bytes);
    let mut ids = IdReader::default();
    let back: Vec<(String, String)> =
        (0..6).map(|_| ids.next(&mut r).map(|(i, c)| (i, c.to_owned())).unwrap()).collect();
    assert_eq!(r.remaining(), 0);
    let strs: Vec<(&str, &str)> = back.iter().map(|(i, c)| (i.as_str(), c.as_str())).collect();
    assert_eq!(
        strs,
        [("c1:0", "c1"), ("c1:1", "c1"), ("odd", "c1"), ("c2:007", "c2"), ("c2:12", "c2"), ("c1:2", "c1")]
    );
}

/// Documents named as the vault names them: `<conversation>:<position>`.
fn vault_corpus(n: usize) -> Vec<Doc> {
    corpus(n)
        .into_iter()
        .enumerate()
        .map(|(i, d)| Doc { id: format!("{}:{}", d.conversation_id, i % 10), ..d })
        .collect()
}

#[test]
fn id_chunks_are_compact_and_those_written_in_full_still_read_and_rename() {
    let mut store = Bytes::default();
    stored_index(&mut store, vault_corpus(3000), 8192);
    let d0 = store.map["d.0"].clone();
    assert!(d0.starts_with(b"TKDI\x02") && d0.len() < 1024 * 3, "{} bytes for 1,024 messages", d0.len());
    let mut cold = store.open().unwrap();
    let found = store.search(&mut cold, "w1234 ", 10).unwrap();
    assert_eq!(
        found.hits.iter().map(|h| (h.id.as_str(), h.conversation_id.as_str())).collect::<Vec<_>>(),
        [("c123:4", "c123")]
    );

    // Version 1: each document's ids in full.
    let mut all = store.open().unwrap();
    all.load(store.give(all.stage_needs())).unwrap();
    all.name_raw_ids().unwrap(); // as an update does before it writes
    let keys: Vec<String> = store.map.keys().filter(|k| k.starts_with("d.")).cloned().collect();
    for k in &keys {
        let at: u32 = k[2..].parse().unwrap();
        let (from, to) = (at * ID_CHUNK_DOCS, ((at + 1) * ID_CHUNK_DOCS).min(all.docs.slots()));
        let mut v1 = b"TKDI\x01".to_vec();
        all.docs.encode_ids(from, to, &mut v1);
        store.map.insert(k.clone(), v1);
    }
    let mut cold = store.open().unwrap();
    assert_eq!(ids(&store.search(&mut cold, "w1234 ", 10).unwrap()), ["c123:4"]);
    assert_eq!(ids(&store.search(&mut cold, "w2999 ", 10).unwrap()), ["c299:9"]);

    // A re-encryption renames both versions and writes the compact one.
    let segments: Vec<(String, Vec<u8>)> = vec![("d.0".into(), store.map["d.1"].clone()), ("d.1".into(), d0)];
    let renamed = rename_conversations(segments, &|c| format!("new-{c}")).unwrap();
    for (name, plain) in &renamed {
        assert!(plain.starts_with(b"TKDI\x02"), "{name}");
        let mut r = Reader::new(plain);
        r.header(IDS_MAGIC, IDS_VERSION).unwrap();
        let mut ids = IdReader::default();
        let (id, conv) = ids.next(&mut r).unwrap();
        let first = if name == "d.0" { ("new-c102:4", "new-c102") } else { ("new-c0:0", "new-c0") };
        assert_eq!((id.as_str(), conv), first, "{name}");
    }
}

#[test]
fn a_query_names_only_its_hits_and_an_update_after_it_names_the_rest() {
    let mut store = Bytes::default();
    stored_index(&mut store, vault_corpus(3000), 8192);
    let mut ix = store.open().unwrap();
    let found = store.search(&mut ix, "w1234 ", 10).unwrap();
    assert_eq!(ids(&found), ["c123:4"]);
    // The hit's id chunk was read and checked; none of its 1,024 documents is named in
    // the table (naming them all cost a cold query most of its time).
    assert!(ix.ids_raw.contains_key(&1));
    let named = (0..ix.docs.slots()).filter(|&d| ix.docs.conv[d as usize] != crate::search::docs::UNKNOWN).count();
    assert_eq!(named, 0);
    // An update that replaces a message of that chunk names them all first: the message
    // is replaced, not added twice.
    let mut doc = vault_corpus(3000).remove(1234);
    doc.text = "replaced with a zebra".into();
    let writes = store.update(&mut ix, vec![doc], &[], Merges::Normal).unwrap();
    store.apply(writes);
    let mut cold = store.open().unwrap();
    assert!(ids(&store.search(&mut cold, "w1234 ", 10).unwrap()).is_empty());
    assert_eq!(ids(&store.search(&mut cold, "zebra", 10).unwrap()), ["c123:4"]);
    assert_eq!(cold.len(), 3000);
}

/// Figures for the README ("Where the popup's time goes"), not a check: what a cold
/// worker's first query reads from an index filled as the vault fills it (one update
/// per conversation of 20 messages, vault-shaped ids), by kind of segment.
/// `cargo test --release --lib cold_query_reads_by_kind -- --ignored --nocapture` after
/// `node bench/search/popup.mjs` made bench/out/corpus-100000.jsonl.
#[test]
#[ignore]
fn cold_query_reads_by_kind() {
    const ENVELOPE_OVERHEAD: usize = 1 + 12 + 16;
    let path = std::env::var("CORPUS").unwrap_or_else(|_| "bench/out/corpus-100000.jsonl".into());
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let mut conversations: Vec<Vec<Doc>> = Vec::new();
    let mut last = String::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let cid = format!("{:A>43}", v["cid"].to_string()); // as long as the vault's HMAC ids
        if cid != last {
            conversations.push(Vec::new());
            last = cid.clone();
        }
        let conv = conversations.last_mut().unwrap();
        conv.push(Doc {
            id: format!("{cid}:{}", conv.len()),
            conversation_id: cid,
            title: v["title"].as_str().unwrap_or_default().into(),
            text: v["text"].as_str().unwrap_or_default().into(),
            site: "chatgpt".into(),
            role: v["role"].as_str().unwrap_or_default().into(),
            ts: v["ts"].as_i64().unwrap_or_default(),
        });
    }
    let mut store = Bytes::default();
    let mut ix = store.open().unwrap();
    for conv in conversations {
        let writes = store.update(&mut ix, conv, &[], Merges::Normal).unwrap();
        store.apply(writes);
    }
    store.take_reads();
    let size = |k: &String| store.map.get(k).map_or(0, |v| v.len() + ENVELOPE_OVERHEAD);
    let kib = |n: usize| n as f64 / 1024.0;
    for kind in ["a.", "d.", "t.", "x."] {
        let keys: Vec<&String> = store.map.keys().filter(|k| k.starts_with(kind)).collect();
        println!("stored {kind}: {} records, {:.0} KiB", keys.len(), kib(keys.iter().map(|k| size(k)).sum()));
    }
    let mut all = store.open().unwrap();
    all.load(store.give(all.stage_needs())).unwrap();
    all.name_raw_ids().unwrap(); // as an update does before it writes
    let mut v1 = Vec::new();
    all.docs.encode_ids(0, all.docs.slots(), &mut v1);
    println!("the same ids in full (id chunks version 1): {:.0} KiB", kib(v1.len()));
    for q in ["spreadsheet ", "encryp", "con", "those ", "data ", "hold attack", "site:chatgpt after:2024-03-01"] {
        let mut ix = store.open().unwrap();
        store.take_reads();
        let r = store.search(&mut ix, q, 160).unwrap();
        let reads = store.take_reads();
        let by: Vec<String> = ["a.", "d.", "t.", "x."]
            .iter()
            .map(|kind| {
                let ks: Vec<&String> = reads.iter().filter(|k| k.starts_with(kind)).collect();
                format!("{kind} {} / {:.0} KiB", ks.len(), kib(ks.iter().map(|k| size(k)).sum()))
            })
            .collect();
        println!("{q:?} ({} hits): {}", r.total, by.join(", "));
    }
    // CPU only (no store, no decryption): the warm-up's load, then each query on a warmed
    // index, as the worker runs them; medians of 5.
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for q in ["spreadsheet ", "encryp", "con", "those ", "data ", "hold attack", "generat"] {
        let (mut warm, mut query) = (Vec::new(), Vec::new());
        let times = std::env::var("ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
        for _ in 0..times {
            let t = std::time::Instant::now();
            let mut ix = store.open().unwrap();
            let needs = ix.warm_needs();
            ix.load(store.give(needs)).unwrap();
            warm.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = std::time::Instant::now();
            store.search(&mut ix, q, 160).unwrap();
            query.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{q:?}: open and warm-up {:.1} ms, query {:.1} ms (CPU, native)", median(warm), median(query));
    }
}
