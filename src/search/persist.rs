//! The index sealed in the `index` store, loaded piece by piece.
//!
//! A stopped service worker must answer its first query without decrypting the whole
//! index (bulk AES-GCM in wasm runs at about 38 MiB/s here), so the index is split
//! the way pagefind splits its own:
//!
//! | key            | holds                                                  | read when                |
//! |----------------|--------------------------------------------------------|--------------------------|
//! | `m`            | [manifest](Manifest): counts, deleted documents, the first term of every chunk, the deltas | [`PersistentIndex::open`] |
//! | `a.{k}`        | attributes (length, site, role, time) of documents `k*8192..` | the first search     |
//! | `d.{k}`        | message and conversation ids of documents `k*1024..`   | a hit falls in it; every update |
//! | `t.{gen}.{i}`  | a [`Segment`] of the terms from chunk `i`'s first term up to the next chunk's | a query names a term in it |
//! | `x.{seq}`      | a [`Segment`] of the documents of one update (a delta)  | the first search         |
//! | `p`            | nothing (sealed empty): a bulk import is under way and the rest is behind | [`PersistentIndex::open`]: present means rebuild |
//!
//! Updates write a delta, the attribute and id chunks of the new documents and the
//! manifest. Deltas are size-tiered: the newest are merged together while they
//! outweigh the next older one (or there would be more than [`MAX_DELTAS`]); once the
//! deltas add up to an eighth of the index (at least [`MERGE_DELTA_BYTES`]) they are
//! merged into a new generation of term chunks and deleted documents are dropped from
//! the postings.
//!
//! A bulk import defers all that ([`Merges::Deferred`]): its batches' documents are
//! indexed in memory only, and the first batch writes the marker `p`. The next
//! [`Merges::Normal`] update (the end of the import, or any other change) writes them
//! in one go, merged straight into the chunks when they add an eighth or more, and
//! removes the marker: nothing is sealed and written twice. A worker stopped in
//! between leaves the marker, and the index is rebuilt from the records.
//!
//! Every value is written as an [`Op::Seal`] of its plaintext, which the vault seals
//! with the rest of its batch (`DataKey`'s record key, associated data `("index", key)`:
//! see `crypto::bulk`), so a chunk moved to another key fails to open, like a changed one:
//! [`SearchError::Damaged`], after which the vault rebuilds with
//! [`PersistentIndex::rebuild_ops`]. If a batch of ops fails to apply, drop this
//! value and [`PersistentIndex::open`] again.
//!
//! Chunk size: [`CHUNK_BYTES`] = 128 KiB of plaintext, about 3.4 ms to decrypt at
//! 38 MiB/s; a word query reads one chunk, a typed prefix one to three.

use super::codec::{self, Bad, Reader};
use super::docs::DocTable;
use super::engine::{self, Terms};
use super::index::{hits, index_doc, merge_live, Merged, Scratch};
use super::postings::{merge_sorted, MutTerms, PostingRef, Segment};
use super::query::{self, Clause, Query};
use super::{Doc, SearchError, SearchResults};
use crate::crypto::keys::DataKey;
use crate::crypto::CryptoError;
use crate::store::{Op, Plain, Store, StoreName};
use zeroize::Zeroizing;

pub const CHUNK_BYTES: usize = 128 * 1024;
pub const ATTR_CHUNK_DOCS: u32 = 8192;
pub const ID_CHUNK_DOCS: u32 = 1024;
pub const MAX_DELTAS: usize = 16;
pub const MERGE_DELTA_BYTES: usize = 2 * 1024 * 1024;

/// When an update merges deltas (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merges {
    /// Written at once: size-tiered deltas, a full merge past an eighth of the index.
    Normal,
    /// Kept in memory until the next [`Merges::Normal`] update: for the batches of a
    /// bulk import, which ends with one.
    Deferred,
}

const STORE: StoreName = StoreName::Index;
const MANIFEST_KEY: &str = "m";
const PENDING_KEY: &str = "p";
const MANIFEST_MAGIC: &[u8; 4] = b"TKMF";
const MANIFEST_VERSION: u8 = 1;
const ATTRS_MAGIC: &[u8; 4] = b"TKDA";
const IDS_MAGIC: &[u8; 4] = b"TKDI";
const DOCS_VERSION: u8 = 1;

/// The manifest (plaintext of `m`).
///
/// ```text
/// manifest := "TKMF" version:u8=1 gen:varint next_seq:varint head
///             chunk_count:varint { first_term:bytes }*chunk_count   ascending
///             delta_count:varint { seq:varint }*delta_count         oldest first
/// ```
/// `head` is `DocTable::encode_head`'s (counts, sites, roles, deleted documents).
/// Attribute chunks: `"TKDA" 1 attrs`, id chunks: `"TKDI" 1 ids` (`DocTable`'s
/// encodings of their document ranges).
#[derive(Debug, Clone, Default)]
struct Manifest {
    gen: u32,
    next_seq: u32,
    chunk_first: Vec<Vec<u8>>,
    deltas: Vec<u32>,
}

impl Manifest {
    fn encode(&self, docs: &DocTable) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MANIFEST_MAGIC);
        out.push(MANIFEST_VERSION);
        codec::put_u32(&mut out, self.gen);
        codec::put_u32(&mut out, self.next_seq);
        docs.encode_head(&mut out);
        codec::put_u32(&mut out, self.chunk_first.len() as u32);
        for t in &self.chunk_first {
            codec::put_bytes(&mut out, t);
        }
        codec::put_u32(&mut out, self.deltas.len() as u32);
        for &s in &self.deltas {
            codec::put_u32(&mut out, s);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<(Manifest, DocTable), Bad> {
        let mut r = Reader::new(bytes);
        r.header(MANIFEST_MAGIC, MANIFEST_VERSION)?;
        let gen = r.u32()?;
        let next_seq = r.u32()?;
        // The manifest is authenticated; its documents live in other chunks.
        let docs = DocTable::decode_head(&mut r, usize::MAX)?;
        let n = r.count()?;
        let mut chunk_first: Vec<Vec<u8>> = Vec::with_capacity(n);
        for _ in 0..n {
            let t = r.bytes()?;
            if chunk_first.last().is_some_and(|p| p.as_slice() >= t) {
                return Err("chunks out of order");
            }
            chunk_first.push(t.to_vec());
        }
        let n = r.count()?;
        let deltas = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
        r.end()?;
        Ok((Manifest { gen, next_seq, chunk_first, deltas }, docs))
    }
}

/// The search index of a vault, persisted in sealed chunks (see the module docs).
pub struct PersistentIndex {
    manifest: Manifest,
    docs: DocTable,
    attrs_loaded: bool,
    ids_loaded: Vec<bool>,
    chunks: Vec<Option<Segment>>,
    deltas: Option<Vec<Segment>>,
    chunk_bytes: usize,
    /// Deltas are merged into the chunks past this many bytes (or an eighth of the
    /// chunks' bytes, whichever is larger).
    merge_bytes: usize,
    scratch: Scratch,
    /// Terms of documents added by [`Merges::Deferred`] updates, not written yet, and the
    /// first of those documents.
    pending: Option<(MutTerms, u32)>,
}

/// The write of an index record, sealed by the vault with the rest of its batch.
fn seal(store_key: &str, plaintext: &[u8]) -> Op {
    Op::Seal { store: STORE, key: store_key.to_owned(), plain: Plain(Zeroizing::new(plaintext.to_vec())) }
}

fn open_sealed(key: &DataKey, store_key: &str, sealed: &[u8]) -> Result<Vec<u8>, SearchError> {
    key.open_record(STORE.as_str(), store_key, sealed).map_err(|e| match e {
        CryptoError::UnsupportedVersion(_) => SearchError::NewerVersion,
        _ => SearchError::Damaged(format!("search index segment {store_key}")),
    })
}

async fn read<S: Store>(store: &S, key: &DataKey, store_key: &str) -> Result<Vec<u8>, SearchError> {
    match store.get(STORE, store_key).await? {
        Some(sealed) => open_sealed(key, store_key, &sealed),
        None => Err(SearchError::Damaged(format!("search index segment {store_key} is missing"))),
    }
}

fn bad(store_key: &str) -> impl Fn(Bad) -> SearchError + '_ {
    move |b| SearchError::from_bad(&format!("search index segment {store_key}"), b)
}

fn chunk_key(gen: u32, i: usize) -> String {
    format!("t.{gen}.{i}")
}

/// The loaded pieces, as the engine sees them.
struct Loaded<'a> {
    chunk_first: &'a [Vec<u8>],
    chunks: &'a [Option<Segment>],
    deltas: &'a [Segment],
}

/// The chunk whose range holds `term`.
fn chunk_of(chunk_first: &[Vec<u8>], term: &[u8]) -> Option<usize> {
    chunk_first.partition_point(|f| f.as_slice() <= term).checked_sub(1)
}

/// The chunks whose ranges hold terms starting with `prefix`.
fn chunks_of_prefix(chunk_first: &[Vec<u8>], prefix: &[u8]) -> std::ops::Range<usize> {
    let start = chunk_of(chunk_first, prefix).unwrap_or(0);
    let mut end = start;
    while end < chunk_first.len() && (end == start || chunk_first[end].starts_with(prefix)) {
        end += 1;
    }
    start..end.max(start)
}

impl Terms for Loaded<'_> {
    fn postings<'s>(&'s self, term: &[u8], out: &mut Vec<PostingRef<'s>>) {
        if let Some(Some(seg)) = chunk_of(self.chunk_first, term).map(|i| &self.chunks[i]) {
            out.extend(seg.get(term));
        }
        out.extend(self.deltas.iter().filter_map(|d| d.get(term)));
    }

    fn prefix<'s>(&'s self, prefix: &[u8]) -> Vec<&'s [u8]> {
        let mut lists = Vec::new();
        for i in chunks_of_prefix(self.chunk_first, prefix) {
            if let Some(seg) = &self.chunks[i] {
                let mut l = Vec::new();
                seg.with_prefix(prefix, &mut l);
                lists.push(l);
            }
        }
        for d in self.deltas {
            let mut l = Vec::new();
            d.with_prefix(prefix, &mut l);
            lists.push(l);
        }
        merge_sorted(lists)
    }
}

/// Splits merged terms into chunks of about `target` bytes.
fn split_chunks(merged: &[(Vec<u8>, Merged<'_>)], target: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, (t, p)) in merged.iter().enumerate() {
        let p = p.as_ref();
        let s = t.len() + p.docs.len() + p.pos.len() + 8;
        if size > 0 && size + s > target {
            out.push(start..i);
            start = i;
            size = 0;
        }
        size += s;
    }
    if start < merged.len() {
        out.push(start..merged.len());
    }
    out
}

fn encode_range(merged: &[(Vec<u8>, Merged<'_>)]) -> Vec<u8> {
    Segment::encode(merged.iter().map(|(t, p)| (t.as_slice(), p.as_ref())).collect::<Vec<_>>().into_iter())
}

impl PersistentIndex {
    fn empty(chunk_bytes: usize) -> Self {
        PersistentIndex {
            manifest: Manifest::default(),
            docs: DocTable::default(),
            attrs_loaded: true,
            ids_loaded: Vec::new(),
            chunks: Vec::new(),
            deltas: Some(Vec::new()),
            chunk_bytes,
            merge_bytes: MERGE_DELTA_BYTES,
            scratch: Scratch::default(),
            pending: None,
        }
    }

    /// Reads the manifest only. A vault without an index gets an empty one.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] when the manifest does not open or decode (rebuild);
    /// [`SearchError::Storage`] when the store fails.
    pub async fn open<S: Store>(store: &S, key: &DataKey) -> Result<Self, SearchError> {
        let mut found = store.get_many(STORE, &[MANIFEST_KEY.to_owned(), PENDING_KEY.to_owned()]).await?;
        if found.pop().flatten().is_some() {
            return Err(SearchError::Damaged("an import stopped before the search index took it in".into()));
        }
        let Some(sealed) = found.pop().flatten() else {
            return Ok(Self::empty(CHUNK_BYTES));
        };
        let plain = open_sealed(key, MANIFEST_KEY, &sealed)?;
        let (manifest, docs) = Manifest::decode(&plain).map_err(bad(MANIFEST_KEY))?;
        let slots = docs.slots();
        Ok(PersistentIndex {
            chunks: vec![None; manifest.chunk_first.len()],
            ids_loaded: vec![false; slots.div_ceil(ID_CHUNK_DOCS) as usize],
            attrs_loaded: slots == 0,
            deltas: None,
            manifest,
            docs,
            chunk_bytes: CHUNK_BYTES,
            merge_bytes: MERGE_DELTA_BYTES,
            scratch: Scratch::default(),
            pending: None,
        })
    }

    /// Whether [`Merges::Deferred`] updates left documents that are not written yet
    /// (and cannot be found until the next [`Merges::Normal`] update).
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Messages that can be found.
    pub fn len(&self) -> usize {
        self.docs.live as usize
    }

    pub fn is_empty(&self) -> bool {
        self.docs.live == 0
    }

    async fn load_attrs<S: Store>(&mut self, store: &S, key: &DataKey) -> Result<(), SearchError> {
        if self.attrs_loaded {
            return Ok(());
        }
        let slots = self.docs.slots();
        for k in 0..slots.div_ceil(ATTR_CHUNK_DOCS) {
            let sk = format!("a.{k}");
            let plain = read(store, key, &sk).await?;
            let from = k * ATTR_CHUNK_DOCS;
            let to = (from + ATTR_CHUNK_DOCS).min(slots);
            let mut r = Reader::new(&plain);
            r.header(ATTRS_MAGIC, DOCS_VERSION)
                .and_then(|_| self.docs.decode_attrs(from, to, &mut r))
                .and_then(|_| r.end())
                .map_err(bad(&sk))?;
        }
        self.attrs_loaded = true;
        Ok(())
    }

    async fn load_ids<S: Store>(&mut self, store: &S, key: &DataKey, k: usize) -> Result<(), SearchError> {
        if self.ids_loaded.get(k).copied().unwrap_or(true) {
            return Ok(());
        }
        let sk = format!("d.{k}");
        let plain = read(store, key, &sk).await?;
        let from = k as u32 * ID_CHUNK_DOCS;
        let to = (from + ID_CHUNK_DOCS).min(self.docs.slots());
        let mut r = Reader::new(&plain);
        r.header(IDS_MAGIC, DOCS_VERSION).and_then(|_| self.docs.decode_ids(from, to, &mut r)).and_then(|_| r.end()).map_err(bad(&sk))?;
        self.ids_loaded[k] = true;
        Ok(())
    }

    async fn load_deltas<S: Store>(&mut self, store: &S, key: &DataKey) -> Result<(), SearchError> {
        if self.deltas.is_some() {
            return Ok(());
        }
        let mut deltas = Vec::with_capacity(self.manifest.deltas.len());
        for &seq in &self.manifest.deltas {
            let sk = format!("x.{seq}");
            deltas.push(Segment::decode(read(store, key, &sk).await?).map_err(bad(&sk))?);
        }
        self.deltas = Some(deltas);
        Ok(())
    }

    async fn load_chunk<S: Store>(&mut self, store: &S, key: &DataKey, i: usize) -> Result<(), SearchError> {
        if self.chunks.get(i).is_none_or(|c| c.is_some()) {
            return Ok(());
        }
        let sk = chunk_key(self.manifest.gen, i);
        let seg = Segment::decode(read(store, key, &sk).await?).map_err(bad(&sk))?;
        // A chunk must hold only terms of its own range.
        let first_ok = seg.first_term().is_none_or(|t| chunk_of(&self.manifest.chunk_first, t) == Some(i));
        if !first_ok {
            return Err(SearchError::Damaged(format!("search index segment {sk}: terms outside its range")));
        }
        self.chunks[i] = Some(seg);
        Ok(())
    }

    fn needed_chunks(&self, q: &Query) -> Vec<usize> {
        let first = &self.manifest.chunk_first;
        let mut need = Vec::new();
        for c in &q.clauses {
            match c {
                Clause::Term(t) => need.extend(chunk_of(first, t.as_bytes())),
                Clause::Phrase(p) => need.extend(p.iter().filter_map(|(t, _)| chunk_of(first, t.as_bytes()))),
                Clause::Prefix(p) => need.extend(chunks_of_prefix(first, p.as_bytes())),
            }
        }
        need
    }

    /// Searches, loading (and keeping) only the pieces the query needs.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] when a piece does not open or decode: rebuild with
    /// [`PersistentIndex::rebuild_ops`]. [`SearchError::Storage`] when the store fails.
    pub async fn search<S: Store>(&mut self, store: &S, key: &DataKey, query: &str, limit: usize) -> Result<SearchResults, SearchError> {
        let q = query::parse(query);
        if q.clauses.is_empty() && !q.has_filters() {
            return Ok(SearchResults { total: 0, hits: Vec::new(), hint: q.hint });
        }
        self.load_attrs(store, key).await?;
        self.load_deltas(store, key).await?;
        for i in self.needed_chunks(&q) {
            self.load_chunk(store, key, i).await?;
        }
        let ranked = {
            let loaded = Loaded {
                chunk_first: &self.manifest.chunk_first,
                chunks: &self.chunks,
                deltas: self.deltas.as_deref().unwrap_or(&[]),
            };
            engine::run(&q, &loaded, &self.docs, limit)
        };
        for &(d, _) in &ranked.top {
            self.load_ids(store, key, (d / ID_CHUNK_DOCS) as usize).await?;
        }
        Ok(SearchResults { total: ranked.total, hits: hits(&self.docs, &ranked.top), hint: q.hint })
    }

    /// Updates the index for captured messages (a message with a known id replaces
    /// it) and deleted conversations, and returns the writes, to go into the same
    /// atomic `Store::apply` as the records. Reads what it needs first (the document
    /// ids, and every chunk when deltas are merged).
    ///
    /// # Errors
    /// As [`PersistentIndex::search`].
    pub async fn update_ops<S: Store>(
        &mut self,
        store: &S,
        key: &DataKey,
        added: Vec<Doc>,
        removed_conversations: &[String],
        merges: Merges,
    ) -> Result<Vec<Op>, SearchError> {
        self.load_attrs(store, key).await?;
        self.load_deltas(store, key).await?;
        for k in 0..self.ids_loaded.len() {
            self.load_ids(store, key, k).await?;
        }
        for c in removed_conversations {
            self.docs.remove_conversation(c);
        }
        let bulk = self.pending.is_some();
        let (mut fresh, old_slots) = self.pending.take().unwrap_or_else(|| (MutTerms::default(), self.docs.slots()));
        for doc in added {
            if let Some(old) = self.docs.doc_of(&doc.id) {
                self.docs.delete(old);
            }
            let n = self.docs.slots();
            let len = index_doc(&mut fresh, &mut self.scratch, n, &doc.title, &doc.text);
            self.docs.push(&doc.id, &doc.conversation_id, &doc.site, &doc.role, doc.ts, len);
        }
        if merges == Merges::Deferred {
            self.pending = Some((fresh, old_slots));
            return Ok(if bulk { Vec::new() } else { vec![seal(PENDING_KEY, b"")] });
        }
        fresh.sort();
        let slots = self.docs.slots();
        self.ids_loaded.resize(slots.div_ceil(ID_CHUNK_DOCS) as usize, true);
        let mut ops = Vec::new();
        let delta_bytes: usize = self.deltas.as_deref().unwrap_or(&[]).iter().map(|d| d.byte_len()).sum();
        // Deltas are merged into the term chunks only once they add up to an eighth of the
        // index (at least MERGE_DELTA_BYTES): a full merge rewrites every chunk, which at
        // 100k messages is tens of MiB.
        let full_merge_bytes = self.merge_bytes.max(self.chunks.len() * self.chunk_bytes / 8);
        // Documents of a bulk import that add an eighth or more are merged straight in.
        let bulk_is_large = bulk && (slots - old_slots) as usize * 8 >= self.docs.live as usize;
        if bulk {
            ops.push(Op::Delete { store: STORE, key: PENDING_KEY.into() });
        }
        if delta_bytes > full_merge_bytes || bulk_is_large {
            for i in 0..self.chunks.len() {
                self.load_chunk(store, key, i).await?;
            }
            // Taken out: the merged lists may borrow them while the new chunks are set.
            let (chunks, deltas) = (std::mem::take(&mut self.chunks), self.deltas.take().unwrap_or_default());
            let mut streams = vec![chunks.iter().flatten().collect::<Vec<&Segment>>()];
            streams.extend(deltas.iter().map(|d| vec![d]));
            let merged = merge_live(streams, &fresh, &self.docs);
            ops.push(Op::DeletePrefix { store: STORE, prefix: format!("t.{}.", self.manifest.gen) });
            ops.push(Op::DeletePrefix { store: STORE, prefix: "x.".into() });
            self.write_chunks(&merged, self.manifest.gen + 1, &mut ops)?;
        } else if !fresh.is_empty() {
            // Size-tiered deltas (the logarithmic method): the newest deltas are merged
            // with this update while together they outweigh the next older one, or while
            // there would be too many. Each document is then rewritten O(log n) times, not
            // once per MAX_DELTAS updates.
            let fresh_bytes = Segment::encode(fresh.iter_sorted().collect::<Vec<_>>().into_iter());
            let sizes: Vec<usize> = self.deltas.as_deref().unwrap_or(&[]).iter().map(|d| d.byte_len()).collect();
            let n = sizes.len();
            let (mut k, mut acc) = (0, fresh_bytes.len());
            while k < n && (acc >= sizes[n - 1 - k] || n - k + 1 > MAX_DELTAS) {
                acc += sizes[n - 1 - k];
                k += 1;
            }
            let bytes = if k == 0 {
                fresh_bytes
            } else {
                let deltas = self.deltas.as_deref().unwrap_or(&[]);
                encode_range(&merge_live(deltas[n - k..].iter().map(|d| vec![d]).collect(), &fresh, &self.docs))
            };
            for seq in self.manifest.deltas.drain(n - k..) {
                ops.push(Op::Delete { store: STORE, key: format!("x.{seq}") });
            }
            if let Some(deltas) = self.deltas.as_mut() {
                deltas.truncate(n - k);
            }
            let seq = self.manifest.next_seq;
            self.manifest.next_seq += 1;
            let sk = format!("x.{seq}");
            ops.push(seal(&sk, &bytes));
            self.manifest.deltas.push(seq);
            self.deltas.get_or_insert_with(Vec::new).push(Segment::decode(bytes).map_err(bad(&sk))?);
        }
        self.write_docs(old_slots, &mut ops)?;
        ops.push(seal(MANIFEST_KEY, &self.manifest.encode(&self.docs)));
        Ok(ops)
    }

    /// Replaces the term chunks by `merged` as generation `gen` (in memory too).
    fn write_chunks(&mut self, merged: &[(Vec<u8>, Merged<'_>)], gen: u32, ops: &mut Vec<Op>) -> Result<(), SearchError> {
        let ranges = split_chunks(merged, self.chunk_bytes);
        self.manifest.gen = gen;
        self.manifest.deltas.clear();
        self.manifest.chunk_first = ranges.iter().map(|r| merged[r.start].0.clone()).collect();
        self.chunks = Vec::with_capacity(ranges.len());
        self.deltas = Some(Vec::new());
        for (i, r) in ranges.into_iter().enumerate() {
            let sk = chunk_key(gen, i);
            let bytes = encode_range(&merged[r]);
            ops.push(seal(&sk, &bytes));
            self.chunks.push(Some(Segment::decode(bytes).map_err(bad(&sk))?));
        }
        Ok(())
    }

    /// Writes the attribute and id chunks of documents from `from` on.
    fn write_docs(&self, from: u32, ops: &mut Vec<Op>) -> Result<(), SearchError> {
        let slots = self.docs.slots();
        if from >= slots {
            return Ok(());
        }
        for (per, magic, prefix) in [(ATTR_CHUNK_DOCS, ATTRS_MAGIC, "a"), (ID_CHUNK_DOCS, IDS_MAGIC, "d")] {
            for k in from / per..slots.div_ceil(per) {
                let (a, b) = (k * per, ((k + 1) * per).min(slots));
                let mut out = Vec::new();
                out.extend_from_slice(magic);
                out.push(DOCS_VERSION);
                if prefix == "a" {
                    self.docs.encode_attrs(a, b, &mut out);
                } else {
                    self.docs.encode_ids(a, b, &mut out);
                }
                ops.push(seal(&format!("{prefix}.{k}"), &out));
            }
        }
        Ok(())
    }

    /// Builds the index anew from every message (after [`SearchError::Damaged`]),
    /// replacing everything in the `index` store.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] only if a chunk just encoded does not decode (a bug).
    pub fn rebuild_ops(docs: Vec<Doc>) -> Result<(Self, Vec<Op>), SearchError> {
        Self::rebuild_with(docs, CHUNK_BYTES)
    }

    pub(crate) fn rebuild_with(docs: Vec<Doc>, chunk_bytes: usize) -> Result<(Self, Vec<Op>), SearchError> {
        let mut ix = Self::empty(chunk_bytes);
        let mut terms = MutTerms::default();
        for doc in docs {
            if let Some(old) = ix.docs.doc_of(&doc.id) {
                ix.docs.delete(old);
            }
            let n = ix.docs.slots();
            let len = index_doc(&mut terms, &mut ix.scratch, n, &doc.title, &doc.text);
            ix.docs.push(&doc.id, &doc.conversation_id, &doc.site, &doc.role, doc.ts, len);
        }
        terms.sort();
        let merged = merge_live(Vec::new(), &terms, &ix.docs);
        let mut ops = vec![Op::DeletePrefix { store: STORE, prefix: String::new() }];
        ix.write_chunks(&merged, 1, &mut ops)?;
        ix.write_docs(0, &mut ops)?;
        ix.ids_loaded = vec![true; ix.docs.slots().div_ceil(ID_CHUNK_DOCS) as usize];
        ops.push(seal(MANIFEST_KEY, &ix.manifest.encode(&ix.docs)));
        Ok((ix, ops))
    }
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
