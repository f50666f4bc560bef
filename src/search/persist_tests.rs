//! The persisted index: what a cold service worker reads, updates, damage.

use std::cell::RefCell;

use pollster::block_on;

use super::*;
use crate::search::SearchIndex;
use crate::store::memory::MemoryStore;
use crate::store::StoreError;

/// A store that remembers which keys were read.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    reads: RefCell<Vec<String>>,
}

impl Counting {
    fn take_reads(&self) -> Vec<String> {
        std::mem::take(&mut *self.reads.borrow_mut())
    }
}

impl Store for Counting {
    async fn get(&self, store: StoreName, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.reads.borrow_mut().push(key.to_owned());
        self.inner.get(store, key).await
    }
    async fn get_prefix(&self, store: StoreName, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let out = self.inner.get_prefix(store, prefix).await?;
        self.reads.borrow_mut().extend(out.iter().map(|(k, _)| k.clone()));
        Ok(out)
    }
    async fn count(&self, store: StoreName) -> Result<u32, StoreError> {
        self.inner.count(store).await
    }
    async fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.inner.apply(ops).await
    }
}

const WORDS: [&str; 24] = [
    "vault", "archive", "passphrase", "encryption", "sourdough", "kayak", "lattice", "quantum", "garden", "harbor",
    "violin", "pepper", "glacier", "compiler", "borrow", "checker", "meadow", "saffron", "orbit", "tunnel", "cobalt",
    "ember", "fjord", "nectar",
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

fn key() -> DataKey {
    DataKey::from_bytes([7; 32])
}

/// An index of `docs` built anew and written to `store`.
fn stored_index(store: &MemoryStore, docs: Vec<Doc>, chunk_bytes: usize) -> PersistentIndex {
    let (ix, ops) = PersistentIndex::rebuild_with(docs, chunk_bytes).unwrap();
    block_on(store.apply(sealed(ops))).unwrap();
    ix
}

/// Seals a batch as the vault does before writing it (natively: `envelope::seal`).
fn sealed(ops: Vec<Op>) -> Vec<Op> {
    let data = key();
    ops.into_iter()
        .map(|op| match op {
            Op::Seal { store, key, plain } => {
                let value = data.seal_record(store.as_str(), &key, &plain.0).unwrap();
                Op::Put { store, key, value }
            }
            other => other,
        })
        .collect()
}

fn ids(r: &SearchResults) -> Vec<String> {
    let mut v: Vec<String> = r.hits.iter().map(|h| h.id.clone()).collect();
    v.sort();
    v
}

const QUERIES: [&str; 8] = ["vault ", "w123 ", "harb", "\"unique w12\"", "数据库索引", "site:claude glacier", "kayak role:assistant", "w1"];

#[test]
fn the_persisted_index_finds_what_the_in_memory_index_finds() {
    let store = MemoryStore::new();
    let docs = corpus(600);
    stored_index(&store, docs.clone(), 4096);
    let mut mem = SearchIndex::new();
    docs.into_iter().for_each(|d| mem.add(d));
    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    for q in QUERIES {
        let a = block_on(cold.search(&store, &key(), q, 1000)).unwrap();
        let b = mem.search(q, 1000);
        assert!(a.total > 0, "{q}");
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
}

#[test]
fn a_cold_open_reads_the_manifest_and_a_query_reads_only_the_chunks_it_needs() {
    let store = Counting::default();
    let (_, ops) = PersistentIndex::rebuild_with(corpus(3000), 8192).unwrap();
    let chunks = ops.iter().filter(|op| matches!(op, Op::Seal { key, .. } if key.starts_with("t."))).count();
    assert!(chunks >= 10, "{chunks} chunks");
    block_on(store.apply(sealed(ops))).unwrap();

    let mut ix = block_on(PersistentIndex::open(&store, &key())).unwrap();
    // One read of two keys: the manifest and the marker of an unfinished import.
    assert_eq!(store.take_reads(), ["m", "p"]);

    let r = block_on(ix.search(&store, &key(), "w1234 ", 10)).unwrap();
    assert_eq!(ids(&r), ["m1234"]);
    let reads = store.take_reads();
    let term_reads: Vec<&String> = reads.iter().filter(|k| k.starts_with("t.")).collect();
    assert_eq!(term_reads.len(), 1, "{reads:?}");
    assert_eq!(reads.iter().filter(|k| k.starts_with("d.")).collect::<Vec<_>>(), ["d.1"]);

    // What was loaded stays loaded.
    block_on(ix.search(&store, &key(), "w1234 ", 10)).unwrap();
    assert!(store.take_reads().is_empty());
}

#[test]
fn updates_write_a_small_delta_and_are_found_after_a_cold_open() {
    let store = MemoryStore::new();
    let mut ix = stored_index(&store, corpus(2000), 8192);

    let new = Doc { text: "a zeppelin over the harbor".into(), ..corpus(1).remove(0) };
    let ops = block_on(ix.update_ops(&store, &key(), vec![new], &[], Merges::Normal)).unwrap();
    let keys: Vec<&str> = ops.iter().map(|op| if let Op::Seal { key, .. } = op { key.as_str() } else { "delete" }).collect();
    assert!(!keys.iter().any(|k| k.starts_with("t.") || *k == "delete"), "{keys:?}");
    block_on(store.apply(sealed(ops))).unwrap();

    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(ids(&block_on(cold.search(&store, &key(), "zeppelin harb", 10)).unwrap()), ["m0"]);
    // The same id replaced the first message (m0).
    assert_eq!(block_on(cold.search(&store, &key(), "w0 ", 10)).unwrap().total, 0);
}

#[test]
fn a_bulk_import_is_indexed_in_memory_and_written_once_at_the_end() {
    let store = MemoryStore::new();
    let docs = corpus(400);
    let mut ix = stored_index(&store, docs[..100].to_vec(), 2048);
    let before = store.raw();
    for (i, batch) in docs[100..].chunks(30).enumerate() {
        let ops = block_on(ix.update_ops(&store, &key(), batch.to_vec(), &[], Merges::Deferred)).unwrap();
        // The first batch writes only the marker; the others nothing at all.
        let written: Vec<&str> = ops.iter().map(|op| match op {
            Op::Seal { key, .. } => key.as_str(),
            _ => "other",
        }).collect();
        assert_eq!(written, if i == 0 { vec!["p"] } else { vec![] }, "batch {i}");
        block_on(store.apply(sealed(ops))).unwrap();
    }
    assert!(ix.has_pending());
    assert_eq!(store.raw().len(), before.len() + 1);
    // A worker stopped now would find the marker: the index must be rebuilt.
    assert!(matches!(block_on(PersistentIndex::open(&store, &key())), Err(SearchError::Damaged(_))));

    // The end of the import: 300 new documents against 100 are merged into the chunks.
    let ops = block_on(ix.update_ops(&store, &key(), Vec::new(), &[], Merges::Normal)).unwrap();
    assert!(ops.iter().any(|op| matches!(op, Op::DeletePrefix { prefix, .. } if prefix.starts_with("t."))));
    assert!(ops.iter().any(|op| matches!(op, Op::Delete { key, .. } if key == "p")));
    block_on(store.apply(sealed(ops))).unwrap();
    assert!(!ix.has_pending());

    let mut mem = SearchIndex::new();
    docs.into_iter().for_each(|d| mem.add(d));
    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(cold.len(), 400);
    for q in QUERIES.iter().chain(&["w175 ", "w399 ", "unique "]) {
        let a = block_on(cold.search(&store, &key(), q, 1000)).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
}

#[test]
fn a_small_bulk_import_becomes_one_delta_and_any_normal_update_writes_it() {
    let store = MemoryStore::new();
    let docs = corpus(420);
    let mut ix = stored_index(&store, docs[..400].to_vec(), 2048);
    for batch in docs[400..410].chunks(5) {
        let ops = block_on(ix.update_ops(&store, &key(), batch.to_vec(), &[], Merges::Deferred)).unwrap();
        block_on(store.apply(sealed(ops))).unwrap();
    }
    assert!(matches!(block_on(PersistentIndex::open(&store, &key())), Err(SearchError::Damaged(_))), "the marker is there");
    // A capture arrives before the import is finished: everything is written with it.
    let ops = block_on(ix.update_ops(&store, &key(), docs[410..].to_vec(), &[], Merges::Normal)).unwrap();
    assert!(ops.iter().any(|op| matches!(op, Op::Delete { key, .. } if key == "p")), "and the marker goes");
    assert!(!ops.iter().any(|op| matches!(op, Op::DeletePrefix { .. })), "20 documents against 400: a delta");
    let deltas = ops.iter().filter(|op| matches!(op, Op::Seal { key, .. } if key.starts_with("x."))).count();
    assert_eq!(deltas, 1);
    block_on(store.apply(sealed(ops))).unwrap();
    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(cold.len(), 420);
    for id in [403, 409, 415] {
        assert_eq!(ids(&block_on(cold.search(&store, &key(), &format!("w{id} "), 10)).unwrap()), [format!("m{id}")]);
    }
}

#[test]
fn many_updates_merge_into_new_chunks_and_deletions_persist() {
    let store = MemoryStore::new();
    let docs = corpus(400);
    let (mut ix, ops) = PersistentIndex::rebuild_with(docs[..100].to_vec(), 2048).unwrap();
    ix.merge_bytes = 24 * 1024;
    block_on(store.apply(sealed(ops))).unwrap();
    let (mut compacted, mut merged) = (false, false);
    for batch in docs[100..].chunks(10) {
        let ops = block_on(ix.update_ops(&store, &key(), batch.to_vec(), &[], Merges::Normal)).unwrap();
        let full = ops.iter().any(|op| matches!(op, Op::DeletePrefix { prefix, .. } if prefix.starts_with("t.")));
        merged |= full;
        compacted |= !full && ops.iter().any(|op| matches!(op, Op::Delete { key, .. } if key.starts_with("x.")));
        block_on(store.apply(sealed(ops))).unwrap();
    }
    assert!(compacted, "30 updates should have merged newer deltas together");
    assert!(merged, "30 updates should have merged the deltas into the chunks");
    let ops = block_on(ix.update_ops(&store, &key(), Vec::new(), &["c7".to_owned(), "c30".to_owned()], Merges::Normal)).unwrap();
    block_on(store.apply(sealed(ops))).unwrap();

    let mut mem = SearchIndex::new();
    docs.into_iter().for_each(|d| mem.add(d));
    mem.remove_conversation("c7");
    mem.remove_conversation("c30");
    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(cold.len(), 380);
    for q in QUERIES.iter().chain(&["w75 ", "w305 ", "unique "]) {
        let a = block_on(cold.search(&store, &key(), q, 1000)).unwrap();
        let b = mem.search(q, 1000);
        assert_eq!((a.total, ids(&a)), (b.total, ids(&b)), "{q}");
    }
    // No chunk of an older generation or merged delta is left behind.
    let stale = store.raw().into_iter().filter(|(_, k, _)| k.starts_with("t.1.") || k.starts_with("x.0")).count();
    assert_eq!(stale, 0);
}

#[test]
fn a_damaged_or_moved_chunk_is_reported_as_damaged() {
    let store = MemoryStore::new();
    stored_index(&store, corpus(1000), 4096);
    let raw = store.raw();
    let chunk_keys: Vec<&String> = raw.iter().map(|(_, k, _)| k).filter(|k| k.starts_with("t.1.")).collect();
    assert!(chunk_keys.len() > 2);

    let firsts = block_on(PersistentIndex::open(&store, &key())).unwrap().manifest.chunk_first;
    assert_eq!(firsts.len(), chunk_keys.len());
    for (i, first) in firsts.iter().enumerate() {
        let target = format!("t.1.{i}");
        let good = raw.iter().find(|(_, k, _)| *k == target).unwrap().2.clone();
        let mut bytes = good.clone();
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        store.put_raw(StoreName::Index, &target, bytes);
        let mut ix = block_on(PersistentIndex::open(&store, &key())).unwrap();
        // A query for the chunk's first term reads it.
        let query = format!("{} ", String::from_utf8(first.clone()).unwrap());
        match block_on(ix.search(&store, &key(), &query, 10)) {
            Err(SearchError::Damaged(what)) => assert!(what.contains(&target), "{what}"),
            other => panic!("{target}: {other:?}"),
        }
        store.put_raw(StoreName::Index, &target, good);
    }

    // A chunk moved into another chunk's slot fails too (its associated data names its key).
    let (a, b) = (chunk_keys[0], chunk_keys[1]);
    store.put_raw(StoreName::Index, b, raw.iter().find(|(_, k, _)| k == a).unwrap().2.clone());
    let mut ix = block_on(PersistentIndex::open(&store, &key())).unwrap();
    let query = format!("{} ", String::from_utf8(firsts[1].clone()).unwrap());
    assert!(matches!(block_on(ix.search(&store, &key(), &query, 10)), Err(SearchError::Damaged(_))));

    // And a rebuild repairs it.
    let (mut fixed, ops) = PersistentIndex::rebuild_ops(corpus(1000)).unwrap();
    block_on(store.apply(sealed(ops))).unwrap();
    assert_eq!(block_on(fixed.search(&store, &key(), "w999 ", 10)).unwrap().total, 1);
    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(block_on(cold.search(&store, &key(), "w999 ", 10)).unwrap().total, 1);
}

#[test]
fn a_damaged_manifest_or_a_wrong_key_is_reported_as_damaged() {
    let store = MemoryStore::new();
    stored_index(&store, corpus(50), 4096);
    assert!(matches!(block_on(PersistentIndex::open(&store, &DataKey::from_bytes([8; 32]))), Err(SearchError::Damaged(_))));
    let mut m = block_on(store.get(StoreName::Index, "m")).unwrap().unwrap();
    m[20] ^= 0x80;
    store.put_raw(StoreName::Index, "m", m);
    assert!(matches!(block_on(PersistentIndex::open(&store, &key())), Err(SearchError::Damaged(_))));
}

#[test]
fn a_vault_without_an_index_opens_empty() {
    let store = MemoryStore::new();
    let mut ix = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(block_on(ix.search(&store, &key(), "anything", 10)).unwrap().total, 0);
    let ops = block_on(ix.update_ops(&store, &key(), corpus(3), &[], Merges::Normal)).unwrap();
    block_on(store.apply(sealed(ops))).unwrap();
    let mut cold = block_on(PersistentIndex::open(&store, &key())).unwrap();
    assert_eq!(block_on(cold.search(&store, &key(), "unique", 10)).unwrap().total, 3);
}

#[test]
fn the_manifest_format_is_pinned() {
    let mut docs = DocTable::default();
    docs.push("m1", "c1", "claude", "user", 1_700_000_000_000, 5);
    docs.push("m2", "c1", "claude", "assistant", 1_700_000_060_000, 7);
    docs.delete(0);
    let m = Manifest { gen: 3, next_seq: 9, chunk_first: vec![b"alpha".to_vec(), b"kayak".to_vec()], deltas: vec![7, 8] };
    let bytes = m.encode(&docs);
    let pinned = "544b4d460103090201070106636c6175646502047573657209617373697374616e7401000205616c706861056b6179616b020708";
    assert_eq!(hex::encode(&bytes), pinned);
    let (back, table) = Manifest::decode(&hex::decode(pinned).unwrap()).unwrap();
    assert_eq!((back.gen, back.next_seq, back.chunk_first, back.deltas), (3, 9, m.chunk_first, vec![7, 8]));
    assert_eq!((table.slots(), table.live, table.total_len), (2, 1, 7));
    assert!(!table.is_live(0) && table.is_live(1));
}

/// Figures for bench/search/README.md, not a check: how much a cold worker decrypts.
/// `cargo test --release --lib cold_query_figures -- --ignored --nocapture` after
/// `node bench/search/run.mjs` made bench/out/corpus-100k.jsonl.
#[test]
#[ignore]
fn cold_query_figures() {
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
    let sealed_bytes = |ops: &[Op]| ops.iter().map(|o| if let Op::Seal { plain, .. } = o { plain.0.len() + crate::crypto::envelope::OVERHEAD } else { 0 }).sum::<usize>();
    let kib = |n: usize| n as f64 / 1024.0;
    let store = Counting::default();
    let (_, ops) = PersistentIndex::rebuild_ops(docs.clone()).unwrap();
    let chunks = ops.iter().filter(|o| matches!(o, Op::Seal { key, .. } if key.starts_with("t."))).count();
    println!("index: {} records, {chunks} term chunks, {:.1} MiB sealed", ops.len(), kib(sealed_bytes(&ops)) / 1024.0);
    block_on(store.apply(sealed(ops))).unwrap();
    let read = |keys: &[String]| -> usize {
        keys.iter().map(|k| store.inner.raw().iter().find(|(_, rk, _)| rk == k).map_or(0, |r| r.2.len())).sum()
    };
    for q in ["spreadsheet ", "encryp", "con", "those ", "site:chatgpt after:2024-03-01"] {
        let mut ix = block_on(PersistentIndex::open(&store, &key())).unwrap();
        let opened = store.take_reads();
        let r = block_on(ix.search(&store, &key(), q, 10)).unwrap();
        let reads = store.take_reads();
        println!("{q:?}: open reads {:.1} KiB; the first query reads {} records, {:.0} KiB ({} hits)", kib(read(&opened)), reads.len(), kib(read(&reads)), r.total);
    }
    let mut ix = block_on(PersistentIndex::open(&store, &key())).unwrap();
    for round in 0..2 {
        let new: Vec<Doc> = docs[round * 20..round * 20 + 20].iter().map(|d| Doc { id: format!("new{}", d.id), ..d.clone() }).collect();
        let ops = block_on(ix.update_ops(&store, &key(), new, &[], Merges::Normal)).unwrap();
        let reads = store.take_reads();
        println!("update of 20 messages: reads {:.0} KiB, writes {} records, {:.0} KiB", kib(read(&reads)), ops.len(), kib(sealed_bytes(&ops)));
        block_on(store.apply(sealed(ops))).unwrap();
    }
}
