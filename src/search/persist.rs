//! The index sealed in the `index` store, loaded piece by piece.
//!
//! A stopped service worker must answer its first query without decrypting the whole
//! index (bulk AES-GCM in wasm runs at about 38 MiB/s here), so the index is split
//! the way pagefind splits its own:
//!
//! | key            | holds                                                  | read when                |
//! |----------------|--------------------------------------------------------|--------------------------|
//! | `m`            | the manifest (`Manifest`): counts, deleted documents, the first term of every chunk and of every delta's parts | [`PersistentIndex::open`] |
//! | `a.{k}`        | attributes (length, site, role, time) of documents `k*8192..` | the first search     |
//! | `d.{k}`        | message and conversation ids of documents `k*1024..`   | a hit falls in it; every update |
//! | `t.{gen}.{i}`  | a `Segment` of the terms from chunk `i`'s first term up to the next chunk's | a query names a term in it |
//! | `x.{seq}.{j}`  | a `Segment`: part `j` of the documents of one update (a delta), split by term range like the chunks | a query names a term in it; every update |
//! | `p`            | nothing (sealed empty): a bulk import is under way and the rest is behind | [`PersistentIndex::open`]: present means rebuild |
//! | `v.{k}`        | the vectors of documents `k*8192..` (`meaning::Vectors`, recall by meaning) | a query or an update, with a model set |
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
//! The index never touches the store or a key (like pagefind's web side, it is handed
//! bytes and asks for bytes): it names the segments a step needs ([`Step::Need`]), is
//! handed them opened ([`PersistentIndex::load`]: plaintext, `None` for one not stored)
//! and returns its writes as plain data ([`Writes`]). The vault reads every segment a
//! step needs at once, opens them at once and seals the writes with the rest of its
//! batch (`DataKey`'s record key, associated data `("index", name)`: see the vault's
//! search facet and `crypto::bulk`), so a segment moved to another name fails to open,
//! like a changed one: [`SearchError::Damaged`], after which the vault rebuilds with
//! [`PersistentIndex::rebuild`]. If the vault's write of an update fails, drop this
//! value and [`PersistentIndex::open`] again.
//!
//! A query: [`PersistentIndex::search`] until it is [`Step::Done`] (a cold one asks for
//! the attributes, its term chunks and the parts of each delta that may hold its terms,
//! then for the id chunks of its hits). Deltas were read whole by every cold query
//! before they had parts: at 100k messages up to 5.6 MiB, more than the rest of a
//! query's reads together.
//! An update: [`PersistentIndex::stage_needs`] loaded, [`PersistentIndex::stage`] (the
//! documents go into memory), then [`PersistentIndex::writes`] until it is done (a full
//! merge asks for every term chunk).
//!
//! Recall by meaning ([`PersistentIndex::set_model`]): every document staged gets its
//! vector then ([`Embedding::Inline`]) or is marked as waiting for it
//! ([`Embedding::Backfill`], bulk writes), and the vector chunks of the documents an
//! update adds or deletes are written with the same [`Writes`] (a deleted message's
//! vector is zeroed in them, a waiting one stays waiting): the text index and the
//! vectors never disagree. Documents indexed without the model (a vault from before
//! it) or staged for the backfill wait for theirs ([`PersistentIndex::embed_needs`],
//! [`PersistentIndex::embed`]: the vault's resumable backfill); a vector chunk that is
//! missing or does not decode is not an error: its documents wait for their vectors
//! again and it is written anew.
//!
//! Chunk size: [`CHUNK_BYTES`] = 128 KiB of plaintext, about 3.4 ms to decrypt at
//! 38 MiB/s (AES-GCM in wasm, the fallback; the vault opens them with WebCrypto, faster);
//! a word query reads one chunk, a typed prefix one to three, and as much of each delta.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::codec::{self, Bad, Reader};
use super::docs::{DocTable, IdReader, IdWriter, RawIds};
use super::engine::{self, Terms};
use super::index::{add_doc, hits, merge_live, Merged, Scratch};
use super::meaning::{self, fuse::Fused, Meaning, Model, Vectors};
use super::postings::{merge_sorted, FxMap, MutTerms, PostingRef, Segment};
use super::query::{self, Clause, Query};
use super::{Doc, Hit, SearchError, SearchResults};

pub const CHUNK_BYTES: usize = 128 * 1024;
pub const ATTR_CHUNK_DOCS: u32 = 8192;
pub const ID_CHUNK_DOCS: u32 = 1024;
pub const MAX_DELTAS: usize = 16;
pub const MERGE_DELTA_BYTES: usize = 2 * 1024 * 1024;
/// Documents per vector chunk: 8192 x 68 bytes (64 dimensions) = 544 KiB.
pub const VECTOR_CHUNK_DOCS: u32 = 8192;

/// When an update merges deltas (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merges {
    /// Written at once: size-tiered deltas, a full merge past an eighth of the index.
    Normal,
    /// Kept in memory until the next [`Merges::Normal`] update: for the batches of a
    /// bulk import, which ends with one.
    Deferred,
}

/// When the documents staged get their vectors (with a model set; without one they
/// get none either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// Computed as they are staged, written with them: a capture is found by meaning at
    /// once.
    Inline,
    /// Marked as waiting ([`Vectors::set_pending`]) and written so: the vault's
    /// resumable backfill ([`PersistentIndex::embed_needs`], [`PersistentIndex::embed`])
    /// embeds them after the write. For bulk writes (an import's batches, what sync
    /// brings): embedding the 100k messages of a join inside its writes took about 20 s
    /// of its 37.5 s.
    Backfill,
}

/// What a step of the index asks for, or its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T> {
    /// These segments, opened, before the same call again (see [`PersistentIndex::load`]).
    Need(Vec<String>),
    Done(T),
}

/// Segments handed to the index: each name with its plaintext, `None` for one not stored.
pub type Opened = Vec<(String, Option<Vec<u8>>)>;

/// One deletion of [`Writes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Segment(String),
    /// Every segment whose name starts with it (`""`: every segment).
    Prefix(String),
}

/// What an update writes, as plain data: the removals first, then the segments put
/// (name, plaintext), all in the same atomic write as the records it indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    pub removed: Vec<Removal>,
    pub put: Vec<(String, Vec<u8>)>,
}

impl Writes {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.put.is_empty()
    }
}

const MANIFEST_KEY: &str = "m";
const PENDING_KEY: &str = "p";
const MANIFEST_MAGIC: &[u8; 4] = b"TKMF";
/// Version 2 splits each delta into term-range parts; version 1 (one segment a delta) is
/// still read.
const MANIFEST_VERSION: u8 = 2;
const ATTRS_MAGIC: &[u8; 4] = b"TKDA";
const IDS_MAGIC: &[u8; 4] = b"TKDI";
const DOCS_VERSION: u8 = 1;
/// Id chunks: version 2 is `DocTable`'s compact form; version 1 (each document's two
/// ids in full) is still read.
const IDS_VERSION: u8 = 2;

/// The manifest (plaintext of `m`).
///
/// ```text
/// manifest := "TKMF" version:u8=2 gen:varint next_seq:varint head
///             chunk_count:varint { first_term:bytes }*chunk_count   ascending
///             delta_count:varint { delta }*delta_count              oldest first
/// delta    := seq:varint part_count:varint { first_term:bytes }*part_count   ascending
/// ```
/// Part `j` of delta `seq` is stored as `x.{seq}.{j}` and holds the delta's terms from
/// its first term up to the next part's, as the term chunks do: a query reads only the
/// parts that may hold its terms.
///
/// Version 1 (written before deltas had parts) is read too: there a delta is
/// `seq:varint` alone and is one segment, `x.{seq}`, read whole. Such a delta is kept
/// as it is until it is merged, written in version 2 with `part_count` 0 (a delta that
/// has terms always has a part).
///
/// `head` is `DocTable::encode_head`'s (counts, sites, roles, deleted documents).
/// Attribute chunks: `"TKDA" 1 attrs` (`DocTable::encode_attrs`), id chunks: `"TKDI" 2
/// ids` (`docs::IdWriter`: a conversation's id once for its run of documents, a message
/// id as its position; about 3 KiB for 1,024 messages against 70 KiB with each id in
/// full, version 1, which is still read: `DocTable::encode_ids`), each for its range of
/// documents.
#[derive(Debug, Clone, Default)]
struct Manifest {
    gen: u32,
    next_seq: u32,
    chunk_first: Vec<Vec<u8>>,
    deltas: Vec<Delta>,
}

/// A delta as the manifest lists it (see [`Manifest`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Delta {
    seq: u32,
    /// The first term of each part, ascending (one empty term for a `whole` delta).
    part_first: Vec<Vec<u8>>,
    /// Listed by a version-1 manifest: one segment, `x.{seq}`.
    whole: bool,
}

impl Delta {
    fn part_key(&self, j: usize) -> String {
        if self.whole {
            format!("x.{}", self.seq)
        } else {
            format!("x.{}.{j}", self.seq)
        }
    }
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
        for d in &self.deltas {
            codec::put_u32(&mut out, d.seq);
            // A whole delta (read from a version-1 manifest) stays whole: one part under
            // its old name, which it keeps until it is merged.
            codec::put_u32(&mut out, if d.whole { 0 } else { d.part_first.len() as u32 });
            for t in d.part_first.iter().filter(|_| !d.whole) {
                codec::put_bytes(&mut out, t);
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<(Manifest, DocTable), Bad> {
        let mut r = Reader::new(bytes);
        let version = r.header_upto(MANIFEST_MAGIC, MANIFEST_VERSION)?;
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
        let mut deltas = Vec::with_capacity(n);
        for _ in 0..n {
            let seq = r.u32()?;
            if deltas.iter().any(|d: &Delta| d.seq == seq) {
                return Err("a delta listed twice");
            }
            if version == 1 {
                deltas.push(Delta { seq, part_first: vec![Vec::new()], whole: true });
                continue;
            }
            let parts = r.count()?;
            if parts == 0 {
                // Written for a whole delta (one of a version-1 manifest, kept as it was).
                deltas.push(Delta { seq, part_first: vec![Vec::new()], whole: true });
                continue;
            }
            let mut part_first: Vec<Vec<u8>> = Vec::with_capacity(parts);
            for _ in 0..parts {
                let t = r.bytes()?;
                if part_first.last().is_some_and(|p| p.as_slice() >= t) {
                    return Err("delta parts out of order");
                }
                part_first.push(t.to_vec());
            }
            deltas.push(Delta { seq, part_first, whole: false });
        }
        r.end()?;
        Ok((Manifest { gen, next_seq, chunk_first, deltas }, docs))
    }
}

/// The search index of a vault, persisted in sealed chunks (see the module docs).
pub struct PersistentIndex {
    manifest: Manifest,
    docs: DocTable,
    attrs_loaded: Vec<bool>,
    /// Id chunks whose documents are named in `docs`.
    ids_loaded: Vec<bool>,
    /// Id chunks read for a query's hits and kept as read (named when an update needs them).
    ids_raw: FxMap<usize, RawIds>,
    /// A query's ranking kept while it waits for its hits' id chunks (query, limit, ranking).
    ranked: Option<(String, usize, (usize, Vec<Fused>))>,
    chunks: Vec<Option<Segment>>,
    /// The parts of each delta of `manifest.deltas`, each once loaded.
    deltas: Vec<Vec<Option<Segment>>>,
    chunk_bytes: usize,
    /// The size of a delta's parts ([`CHUNK_BYTES`]; smaller in tests).
    part_bytes: usize,
    /// Deltas are merged into the chunks past this many bytes (or an eighth of the
    /// chunks' bytes, whichever is larger).
    merge_bytes: usize,
    scratch: Scratch,
    /// Documents staged and not written yet.
    pending: Option<Pending>,
    /// The meaning leg, once a model is [set](PersistentIndex::set_model).
    meaning: Option<Meaning>,
    /// Which vector chunks are loaded (with a model only).
    vectors_loaded: Vec<bool>,
    /// Vector chunks to write with the next writes.
    vectors_dirty: BTreeSet<usize>,
}

/// Documents staged by [`PersistentIndex::stage`], not written yet.
struct Pending {
    terms: MutTerms,
    /// The first of those documents.
    first: u32,
    /// Whether a [`Merges::Deferred`] update wrote the marker `p` for them.
    marked: bool,
}

/// The index's stored segments (name, plaintext) with every conversation renamed by
/// `rename`, for a re-encryption: conversations get new ids (HMACs under the new key),
/// and a message's id is `<conversation>:<position>`. Only the id chunks (`d.{k}`)
/// change; every other segment holds document numbers and words, and passes as it is.
///
/// # Errors
/// [`SearchError::Damaged`] for an id chunk that does not decode (the caller builds
/// the index again instead).
pub fn rename_conversations(
    segments: Vec<(String, Vec<u8>)>,
    rename: &dyn Fn(&str) -> String,
) -> Result<Vec<(String, Vec<u8>)>, SearchError> {
    segments
        .into_iter()
        .map(|(name, plain)| {
            if !name.starts_with("d.") {
                return Ok((name, plain));
            }
            let mut r = Reader::new(&plain);
            let version = r.header_upto(IDS_MAGIC, IDS_VERSION).map_err(bad(&name))?;
            let mut pairs = Vec::new();
            let mut ids = IdReader::default();
            while r.remaining() > 0 {
                pairs.push(if version == 1 {
                    (r.str().map_err(bad(&name))?.to_owned(), r.str().map_err(bad(&name))?)
                } else {
                    ids.next(&mut r).map_err(bad(&name))?
                });
            }
            let mut renamed = Vec::with_capacity(pairs.len());
            for (id, conv) in &pairs {
                let new = rename(conv);
                let position = id
                    .strip_prefix(conv)
                    .and_then(|p| p.strip_prefix(':'))
                    .ok_or_else(|| SearchError::Damaged(format!("search index segment {name}")))?;
                renamed.push((format!("{new}:{position}"), new));
            }
            let mut out = Vec::with_capacity(plain.len());
            out.extend_from_slice(IDS_MAGIC);
            out.push(IDS_VERSION);
            let mut w = IdWriter::default();
            for (id, conv) in &renamed {
                w.put(id, conv, &mut out);
            }
            Ok((name, out))
        })
        .collect()
}

fn bad(store_key: &str) -> impl Fn(Bad) -> SearchError + '_ {
    move |b| SearchError::from_bad(&format!("search index segment {store_key}"), b)
}

fn chunk_key(gen: u32, i: usize) -> String {
    format!("t.{gen}.{i}")
}

fn attrs_key(k: usize) -> String {
    format!("a.{k}")
}

fn ids_key(k: usize) -> String {
    format!("d.{k}")
}

fn vectors_key(k: usize) -> String {
    format!("v.{k}")
}

/// The loaded pieces, as the engine sees them.
struct Loaded<'a> {
    chunk_first: &'a [Vec<u8>],
    chunks: &'a [Option<Segment>],
    delta_meta: &'a [Delta],
    deltas: &'a [Vec<Option<Segment>>],
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
        for (meta, parts) in self.delta_meta.iter().zip(self.deltas) {
            if let Some(Some(seg)) = chunk_of(&meta.part_first, term).map(|j| &parts[j]) {
                out.extend(seg.get(term));
            }
        }
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
        for (meta, parts) in self.delta_meta.iter().zip(self.deltas) {
            let mut l = Vec::new();
            for seg in parts[chunks_of_prefix(&meta.part_first, prefix)].iter().flatten() {
                seg.with_prefix(prefix, &mut l);
            }
            lists.push(l);
        }
        merge_sorted(lists)
    }
}

/// Terms with their lists, in term order, as segments are written from them.
type TermLists<'a> = [(&'a [u8], PostingRef<'a>)];

fn term_lists<'a>(merged: &'a [(Vec<u8>, Merged<'a>)]) -> Vec<(&'a [u8], PostingRef<'a>)> {
    merged.iter().map(|(t, p)| (t.as_slice(), p.as_ref())).collect()
}

/// Splits terms into chunks of about `target` bytes.
fn split_chunks(merged: &TermLists<'_>, target: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, (t, p)) in merged.iter().enumerate() {
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

/// Terms split into segments of about `target` bytes: each one's first term and bytes.
fn encode_parts(terms: &TermLists<'_>, target: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    split_chunks(terms, target)
        .into_iter()
        .map(|r| (terms[r.start].0.to_vec(), Segment::encode(terms[r].iter().copied())))
        .collect()
}

impl PersistentIndex {
    fn empty(chunk_bytes: usize) -> Self {
        PersistentIndex {
            manifest: Manifest::default(),
            docs: DocTable::default(),
            attrs_loaded: Vec::new(),
            ids_loaded: Vec::new(),
            ids_raw: FxMap::default(),
            ranked: None,
            chunks: Vec::new(),
            deltas: Vec::new(),
            chunk_bytes,
            part_bytes: CHUNK_BYTES,
            merge_bytes: MERGE_DELTA_BYTES,
            scratch: Scratch::default(),
            pending: None,
            meaning: None,
            vectors_loaded: Vec::new(),
            vectors_dirty: BTreeSet::new(),
        }
    }

    /// Turns recall by meaning on: from now on documents staged get their vectors,
    /// searches fuse the meaning leg, and queries and updates load the vector chunks.
    pub fn set_model(&mut self, model: Arc<Model>) {
        if self.meaning.is_none() {
            self.meaning = Some(Meaning::new(model));
            self.vectors_loaded = vec![false; self.docs.slots().div_ceil(VECTOR_CHUNK_DOCS) as usize];
        }
    }

    /// The vector chunks not loaded yet (none without a model).
    fn missing_vectors(&self, out: &mut Vec<String>) {
        out.extend(self.vectors_loaded.iter().enumerate().filter(|(_, l)| !**l).map(|(k, _)| vectors_key(k)));
    }

    /// Takes in vector chunk `k` (`None`: not stored). One missing or damaged leaves
    /// its documents waiting for their vectors, and is written anew.
    fn load_vectors(&mut self, k: usize, plain: Option<Vec<u8>>) {
        let (Some(m), Some(false)) = (self.meaning.as_mut(), self.vectors_loaded.get(k).copied()) else { return };
        let from = k as u32 * VECTOR_CHUNK_DOCS;
        let to = (from + VECTOR_CHUNK_DOCS).min(self.docs.slots());
        let decoded = plain.as_deref().map(|p| {
            let mut r = Reader::new(p);
            let mut v = Vectors::new(m.vectors.dims());
            v.decode_into(&mut r).and_then(|range| r.end().map(|_| range)).map(|range| (v, range))
        });
        match decoded {
            Some(Ok((v, range))) if range == (from..to) => {
                for d in range {
                    m.vectors.copy_from(&v, d);
                }
            }
            _ => {
                m.vectors.set_pending(from..to);
                if plain.is_some() {
                    self.vectors_dirty.insert(k);
                }
            }
        }
        self.vectors_loaded[k] = true;
    }

    /// The segments [`PersistentIndex::open`] takes: the manifest and the marker of an
    /// unfinished import.
    pub fn open_needs() -> Vec<String> {
        vec![MANIFEST_KEY.to_owned(), PENDING_KEY.to_owned()]
    }

    /// The index from its manifest only, as [`PersistentIndex::open_needs`] found it. A
    /// vault without an index gets an empty one.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] when the manifest does not decode or an import stopped
    /// before the index took it in (rebuild).
    pub fn open(opened: Opened) -> Result<Self, SearchError> {
        let mut manifest = None;
        for (name, plain) in opened {
            match name.as_str() {
                PENDING_KEY if plain.is_some() => {
                    return Err(SearchError::Damaged("an import stopped before the search index took it in".into()));
                }
                MANIFEST_KEY => manifest = plain,
                _ => {}
            }
        }
        let Some(plain) = manifest else {
            return Ok(Self::empty(CHUNK_BYTES));
        };
        let (manifest, docs) = Manifest::decode(&plain).map_err(bad(MANIFEST_KEY))?;
        let slots = docs.slots();
        Ok(PersistentIndex {
            chunks: vec![None; manifest.chunk_first.len()],
            deltas: manifest.deltas.iter().map(|d| vec![None; d.part_first.len()]).collect(),
            ids_loaded: vec![false; slots.div_ceil(ID_CHUNK_DOCS) as usize],
            ids_raw: FxMap::default(),
            ranked: None,
            attrs_loaded: vec![false; slots.div_ceil(ATTR_CHUNK_DOCS) as usize],
            manifest,
            docs,
            chunk_bytes: CHUNK_BYTES,
            part_bytes: CHUNK_BYTES,
            merge_bytes: MERGE_DELTA_BYTES,
            scratch: Scratch::default(),
            pending: None,
            meaning: None,
            vectors_loaded: Vec::new(),
            vectors_dirty: BTreeSet::new(),
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

    /// Takes in segments a [`Step::Need`] asked for. Segments it did not ask for (or no
    /// longer needs) are ignored.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] when one is missing, does not decode or holds terms
    /// outside its range; [`SearchError::NewerVersion`] for a newer format.
    pub fn load(&mut self, opened: Opened) -> Result<(), SearchError> {
        for (name, plain) in opened {
            if let Some(k) = name.strip_prefix("v.").and_then(|k| k.parse::<usize>().ok()) {
                self.load_vectors(k, plain);
                continue;
            }
            let plain = plain.ok_or_else(|| SearchError::Damaged(format!("search index segment {name} is missing")))?;
            self.load_one(&name, plain)?;
        }
        Ok(())
    }

    fn load_one(&mut self, name: &str, plain: Vec<u8>) -> Result<(), SearchError> {
        let Some((kind, rest)) = name.split_once('.') else { return Ok(()) };
        match kind {
            "a" => {
                let Some(k) = rest.parse::<usize>().ok().filter(|&k| self.attrs_loaded.get(k) == Some(&false)) else {
                    return Ok(());
                };
                let from = k as u32 * ATTR_CHUNK_DOCS;
                let to = (from + ATTR_CHUNK_DOCS).min(self.docs.slots());
                let mut r = Reader::new(&plain);
                r.header(ATTRS_MAGIC, DOCS_VERSION)
                    .and_then(|_| self.docs.decode_attrs(from, to, &mut r))
                    .and_then(|_| r.end())
                    .map_err(bad(name))?;
                self.attrs_loaded[k] = true;
            }
            "d" => {
                let Some(k) = rest
                    .parse::<usize>()
                    .ok()
                    .filter(|&k| self.ids_loaded.get(k) == Some(&false) && !self.ids_raw.contains_key(&k))
                else {
                    return Ok(());
                };
                // Checked whole now, kept as read: a query names only its hits.
                let from = k as u32 * ID_CHUNK_DOCS;
                let to = (from + ID_CHUNK_DOCS).min(self.docs.slots());
                let mut r = Reader::new(&plain);
                let raw = r
                    .header_upto(IDS_MAGIC, IDS_VERSION)
                    .and_then(|v| RawIds::check(v, to - from, &plain, r.at))
                    .map_err(bad(name))?;
                self.ids_raw.insert(k, raw);
            }
            "x" => {
                // `x.{seq}.{j}`, or `x.{seq}` for a whole delta (version 1).
                let (seq, part) = match rest.split_once('.') {
                    Some((seq, j)) => (seq, j.parse::<usize>().ok()),
                    None => (rest, None),
                };
                let at = seq.parse::<u32>().ok().and_then(|seq| self.manifest.deltas.iter().position(|d| d.seq == seq));
                let Some(i) = at else { return Ok(()) };
                let meta = &self.manifest.deltas[i];
                let j = match (meta.whole, part) {
                    (true, None) => 0,
                    (false, Some(j)) if j < meta.part_first.len() => j,
                    _ => return Ok(()),
                };
                if self.deltas[i][j].is_some() {
                    return Ok(());
                }
                let seg = Segment::decode(plain).map_err(bad(name))?;
                // A part, like a chunk, must hold only terms of its own range.
                if seg.first_term().is_some_and(|t| chunk_of(&meta.part_first, t) != Some(j)) {
                    return Err(SearchError::Damaged(format!("search index segment {name}: terms outside its range")));
                }
                self.deltas[i][j] = Some(seg);
            }
            "t" => {
                let Some((gen, i)) = rest.split_once('.') else { return Ok(()) };
                let (Ok(gen), Ok(i)) = (gen.parse::<u32>(), i.parse::<usize>()) else { return Ok(()) };
                if gen != self.manifest.gen || self.chunks.get(i).is_none_or(|c| c.is_some()) {
                    return Ok(());
                }
                let seg = Segment::decode(plain).map_err(bad(name))?;
                // A chunk must hold only terms of its own range.
                let first_ok = seg.first_term().is_none_or(|t| chunk_of(&self.manifest.chunk_first, t) == Some(i));
                if !first_ok {
                    return Err(SearchError::Damaged(format!("search index segment {name}: terms outside its range")));
                }
                self.chunks[i] = Some(seg);
            }
            _ => {}
        }
        Ok(())
    }

    /// The attribute chunks not loaded yet (what every query and update needs).
    fn missing_attrs(&self, out: &mut Vec<String>) {
        out.extend(self.attrs_loaded.iter().enumerate().filter(|(_, l)| !**l).map(|(k, _)| attrs_key(k)));
    }

    /// The parts of the deltas not loaded yet: those that may hold the terms of `q`, or
    /// all of them.
    fn missing_delta_parts(&self, q: Option<&Query>, out: &mut Vec<String>) {
        for (meta, parts) in self.manifest.deltas.iter().zip(&self.deltas) {
            let js = match q {
                Some(q) => Self::needed_ranges(&meta.part_first, q),
                None => (0..parts.len()).collect(),
            };
            for j in js {
                let name = meta.part_key(j);
                if parts.get(j).is_some_and(Option::is_none) && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }

    fn missing_chunks(&self, chunks: impl IntoIterator<Item = usize>, out: &mut Vec<String>) {
        for i in chunks {
            let name = chunk_key(self.manifest.gen, i);
            if self.chunks.get(i).is_some_and(Option::is_none) && !out.contains(&name) {
                out.push(name);
            }
        }
    }

    /// The ranges (of chunks, or of a delta's parts, given their first terms) that may
    /// hold the terms of `q`.
    fn needed_ranges(first: &[Vec<u8>], q: &Query) -> Vec<usize> {
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

    /// Searches with what is loaded, or names the segments the query needs first (which
    /// stay loaded): call again once they are [loaded](PersistentIndex::load).
    ///
    /// # Errors
    /// None today; the `Result` is the engine's to use.
    pub fn search(&mut self, query: &str, limit: usize) -> Result<Step<SearchResults>, SearchError> {
        let q = query::parse(query);
        if q.clauses.is_empty() && !q.has_filters() {
            return Ok(Step::Done(SearchResults { total: 0, hits: Vec::new(), hint: q.hint, meaning_loading: false }));
        }
        let mut need = Vec::new();
        self.missing_attrs(&mut need);
        self.missing_delta_parts(Some(&q), &mut need);
        self.missing_chunks(Self::needed_ranges(&self.manifest.chunk_first, &q), &mut need);
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        // Asked again once its hits' id chunks are loaded: the ranking is the same.
        let kept = self.ranked.take().filter(|(q0, l0, _)| q0 == query && *l0 == limit).map(|(_, _, r)| r);
        let ranked = if let Some(ranked) = kept {
            ranked
        } else {
            let loaded = Loaded {
                chunk_first: &self.manifest.chunk_first,
                chunks: &self.chunks,
                delta_meta: &self.manifest.deltas,
                deltas: &self.deltas,
            };
            let words = |depth, probe: &[u32]| engine::run(&q, &loaded, &self.docs, depth, probe);
            if self.vectors_loaded.contains(&false) {
                // A cold worker: the vectors (6.8 MB at 100k) are not loaded yet. Words
                // that match answer at once, ranked by themselves (see
                // `SearchResults::meaning_loading`); a query they do not match waits for
                // the vectors when its words have one: only meaning can find it then.
                let by_words = words(limit, &[]);
                let no_vector = self.meaning.as_ref().is_none_or(|m| m.embed_query(&q).is_none());
                if by_words.total == 0 && !no_vector {
                    self.missing_vectors(&mut need);
                    return Ok(Step::Need(need));
                }
                meaning::by_words(by_words)
            } else {
                meaning::rank(&q, self.meaning.as_ref(), &self.docs, limit, words)
            }
        };
        for &Fused { doc: d, .. } in &ranked.1 {
            let k = (d / ID_CHUNK_DOCS) as usize;
            if self.ids_loaded.get(k) == Some(&false) && !self.ids_raw.contains_key(&k) && !need.contains(&ids_key(k)) {
                need.push(ids_key(k));
            }
        }
        if !need.is_empty() {
            self.ranked = Some((query.to_owned(), limit, ranked));
            return Ok(Step::Need(need));
        }
        let (total, top) = ranked;
        let hits = self.name_hits(&top)?;
        let meaning_loading = self.vectors_loaded.contains(&false);
        Ok(Step::Done(SearchResults { total, hits, hint: q.hint, meaning_loading }))
    }

    /// The hits named: from `docs` where their id chunk is named there, else from the
    /// chunk as read.
    fn name_hits(&self, top: &[Fused]) -> Result<Vec<Hit>, SearchError> {
        let mut named = Vec::with_capacity(top.len());
        for f in top {
            let k = (f.doc / ID_CHUNK_DOCS) as usize;
            match self.ids_raw.get(&k) {
                Some(raw) if self.ids_loaded.get(k) == Some(&false) => {
                    let (id, conversation_id) = raw.name(f.doc % ID_CHUNK_DOCS).map_err(bad(&ids_key(k)))?;
                    named.push(Hit { id, conversation_id, score: f.score, by_meaning: f.by_meaning });
                }
                _ => named.extend(hits(&self.docs, std::slice::from_ref(f))),
            }
        }
        Ok(named)
    }

    /// Names in `docs` the documents of every id chunk kept as read (an update needs them all).
    fn name_raw_ids(&mut self) -> Result<(), SearchError> {
        for (k, raw) in std::mem::take(&mut self.ids_raw) {
            if self.ids_loaded.get(k) == Some(&false) {
                raw.name_all(&mut self.docs, k as u32 * ID_CHUNK_DOCS).map_err(bad(&ids_key(k)))?;
                self.ids_loaded[k] = true;
            }
        }
        Ok(())
    }

    /// The vector chunks a fused query needs and does not have yet (none without a
    /// model): a worker loads them after a query answered by its words alone.
    pub fn meaning_needs(&self) -> Vec<String> {
        let mut need = Vec::new();
        self.missing_vectors(&mut need);
        need
    }

    /// What every query needs before its own terms (the documents' attributes), for a
    /// worker to load ahead of the first query; loaded with [`PersistentIndex::load`].
    pub fn warm_needs(&self) -> Vec<String> {
        let mut need = Vec::new();
        self.missing_attrs(&mut need);
        need
    }

    /// The segments [`PersistentIndex::stage`] needs loaded: the document attributes and
    /// ids (a replaced message is found by its id) and the deltas.
    pub fn stage_needs(&self) -> Vec<String> {
        let mut need = Vec::new();
        self.missing_attrs(&mut need);
        self.missing_delta_parts(None, &mut need);
        need.extend(
            self.ids_loaded
                .iter()
                .enumerate()
                .filter(|&(k, l)| !*l && !self.ids_raw.contains_key(&k))
                .map(|(k, _)| ids_key(k)),
        );
        self.missing_vectors(&mut need);
        need
    }

    /// Takes in captured messages (a message with a known id replaces it) and deleted
    /// conversations, in memory: [`PersistentIndex::writes`] writes them. With a model,
    /// `embedding` says whether the messages get their vectors now or wait for the
    /// backfill.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] if [`PersistentIndex::stage_needs`] are not loaded (nothing
    /// is changed then).
    pub fn stage(
        &mut self,
        added: Vec<Doc>,
        removed_conversations: &[String],
        embedding: Embedding,
    ) -> Result<(), SearchError> {
        if let Some(name) = self.stage_needs().into_iter().next() {
            return Err(SearchError::Damaged(format!("search index segment {name} was not loaded")));
        }
        self.name_raw_ids()?;
        self.ranked = None;
        // The documents this update deletes (their vectors go with them).
        let mut deleted = Vec::new();
        for c in removed_conversations {
            deleted.extend(self.docs.conversation_docs(c));
            self.docs.remove_conversation(c);
        }
        let slots = self.docs.slots();
        let pending =
            self.pending.get_or_insert_with(|| Pending { terms: MutTerms::default(), first: slots, marked: false });
        for doc in &added {
            // A replaced message: its chunk is written again with a model, and left
            // as it is without one (its vector is of the same message).
            if self.meaning.is_some() {
                deleted.extend(self.docs.doc_of(&doc.id));
            }
            let n = self.docs.slots();
            if let Some(m) = &mut self.meaning {
                match embedding {
                    Embedding::Inline => {
                        let v = m.embed_doc(&doc.title, &doc.text);
                        m.vectors.set(n, v.as_deref());
                    }
                    Embedding::Backfill => m.vectors.set_pending(n..n + 1),
                }
                self.vectors_dirty.insert((n / VECTOR_CHUNK_DOCS) as usize);
            }
            add_doc(&mut self.docs, &mut pending.terms, &mut self.scratch, doc);
        }
        for d in deleted {
            if let Some(m) = &mut self.meaning {
                m.vectors.set(d, None);
            }
            self.vectors_dirty.insert((d / VECTOR_CHUNK_DOCS) as usize);
        }
        let slots = self.docs.slots();
        self.attrs_loaded.resize(slots.div_ceil(ATTR_CHUNK_DOCS) as usize, true);
        self.ids_loaded.resize(slots.div_ceil(ID_CHUNK_DOCS) as usize, true);
        if self.meaning.is_some() {
            self.vectors_loaded.resize(slots.div_ceil(VECTOR_CHUNK_DOCS) as usize, true);
        }
        Ok(())
    }

    /// The vector chunks this index changed: written with a model, removed without one
    /// (they held the vectors of deleted documents; the backfill embeds the rest again).
    fn write_vectors(&mut self, writes: &mut Writes) {
        let slots = self.docs.slots();
        for k in std::mem::take(&mut self.vectors_dirty) {
            let name = vectors_key(k);
            match &self.meaning {
                Some(m) => {
                    let from = k as u32 * VECTOR_CHUNK_DOCS;
                    let to = (from + VECTOR_CHUNK_DOCS).min(slots);
                    let mut out = Vec::new();
                    m.vectors.encode(from, to, |d| self.docs.is_live(d), &mut out);
                    writes.put.push((name, out));
                }
                None => writes.removed.push(Removal::Segment(name)),
            }
        }
    }

    /// Recall by meaning's backfill: how many live messages have their vector (or have
    /// none to have), of how many. Meaningful once a query or update loaded the vectors.
    pub fn embed_progress(&self) -> (usize, usize) {
        let Some(m) = &self.meaning else { return (0, 0) };
        let total = self.docs.live as usize;
        let waiting = (0..self.docs.slots()).filter(|&d| self.docs.is_live(d) && m.vectors.is_pending(d)).count();
        (total - waiting, total)
    }

    /// The ids of up to `max` messages waiting for their vectors (for the vault to read
    /// them and hand them to [`PersistentIndex::embed`]), or the segments needed first.
    ///
    /// # Errors
    /// None today; the `Result` is the engine's to use.
    pub fn embed_needs(&mut self, max: usize) -> Result<Step<Vec<String>>, SearchError> {
        let Some(m) = &self.meaning else { return Ok(Step::Done(Vec::new())) };
        let mut need = Vec::new();
        self.missing_attrs(&mut need);
        self.missing_vectors(&mut need);
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        let waiting: Vec<u32> =
            (0..self.docs.slots()).filter(|&d| self.docs.is_live(d) && m.vectors.is_pending(d)).take(max).collect();
        for &d in &waiting {
            let k = (d / ID_CHUNK_DOCS) as usize;
            if self.ids_loaded.get(k) == Some(&false) && !self.ids_raw.contains_key(&k) && !need.contains(&ids_key(k)) {
                need.push(ids_key(k));
            }
        }
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        self.name_raw_ids()?; // `embed` finds them by id
        Ok(Step::Done(waiting.into_iter().map(|d| self.docs.ids[d as usize].to_string()).collect()))
    }

    /// Embeds the messages [`PersistentIndex::embed_needs`] named: `asked` their ids,
    /// `docs` those the vault could read (one it could not gets no vector, so the
    /// backfill never asks for it again). Returns the vector chunks to write.
    ///
    /// # Errors
    /// None today; the `Result` is the engine's to use.
    pub fn embed(&mut self, asked: &[String], docs: &[Doc]) -> Result<Writes, SearchError> {
        let mut writes = Writes::default();
        let Some(m) = &mut self.meaning else { return Ok(writes) };
        for id in asked {
            let Some(d) = self.docs.doc_of(id).filter(|&d| m.vectors.is_pending(d)) else { continue };
            let v = docs.iter().find(|doc| &doc.id == id).and_then(|doc| m.embed_doc(&doc.title, &doc.text));
            m.vectors.set(d, v.as_deref());
            self.vectors_dirty.insert((d / VECTOR_CHUNK_DOCS) as usize);
        }
        self.write_vectors(&mut writes);
        Ok(writes)
    }

    /// The writes of what was staged, to go into the same atomic write as the records,
    /// or the segments they need first (every term chunk, when the deltas are merged
    /// into them): call again once they are [loaded](PersistentIndex::load).
    ///
    /// # Errors
    /// [`SearchError::Damaged`] if [`PersistentIndex::stage_needs`] are not loaded, or if
    /// a segment just encoded does not decode (a bug).
    pub fn writes(&mut self, merges: Merges) -> Result<Step<Writes>, SearchError> {
        let need = self.stage_needs();
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        let slots = self.docs.slots();
        let pending =
            self.pending.get_or_insert_with(|| Pending { terms: MutTerms::default(), first: slots, marked: false });
        let mut writes = Writes::default();
        if merges == Merges::Deferred {
            if !pending.marked {
                pending.marked = true;
                writes.put.push((PENDING_KEY.to_owned(), Vec::new()));
            }
            return Ok(Step::Done(writes));
        }
        let (bulk, old_slots) = (pending.marked, pending.first);
        let sizes: Vec<usize> =
            self.deltas.iter().map(|parts| parts.iter().flatten().map(Segment::byte_len).sum()).collect();
        let delta_bytes: usize = sizes.iter().sum();
        // Deltas are merged into the term chunks only once they add up to an eighth of the
        // index (at least MERGE_DELTA_BYTES): a full merge rewrites every chunk, which at
        // 100k messages is tens of MiB.
        let full_merge_bytes = self.merge_bytes.max(self.chunks.len() * self.chunk_bytes / 8);
        // Documents of a bulk import that add an eighth or more are merged straight in.
        let bulk_is_large = bulk && (slots - old_slots) as usize * 8 >= self.docs.live as usize;
        let full_merge = delta_bytes > full_merge_bytes || bulk_is_large;
        if full_merge {
            let mut need = Vec::new();
            self.missing_chunks(0..self.chunks.len(), &mut need);
            if !need.is_empty() {
                return Ok(Step::Need(need));
            }
        }
        let Some(Pending { terms: mut fresh, .. }) = self.pending.take() else { unreachable!("set above") };
        fresh.sort();
        if bulk {
            writes.removed.push(Removal::Segment(PENDING_KEY.into()));
        }
        if full_merge {
            // Taken out: the merged lists may borrow them while the new chunks are set.
            let (chunks, deltas) = (std::mem::take(&mut self.chunks), std::mem::take(&mut self.deltas));
            let mut streams = vec![chunks.iter().flatten().collect::<Vec<&Segment>>()];
            streams.extend(deltas.iter().map(|parts| parts.iter().flatten().collect()));
            let merged = merge_live(streams, &fresh, &self.docs);
            writes.removed.push(Removal::Prefix(format!("t.{}.", self.manifest.gen)));
            writes.removed.push(Removal::Prefix("x.".into()));
            self.write_chunks(&merged, self.manifest.gen + 1, &mut writes)?;
        } else if !fresh.is_empty() {
            // Size-tiered deltas (the logarithmic method): the newest deltas are merged
            // with this update while together they outweigh the next older one, or while
            // there would be too many. Each document is then rewritten O(log n) times, not
            // once per MAX_DELTAS updates.
            let fresh_parts = encode_parts(&fresh.iter_sorted().collect::<Vec<_>>(), self.part_bytes);
            let n = sizes.len();
            let (mut k, mut acc) = (0, fresh_parts.iter().map(|(_, b)| b.len()).sum::<usize>());
            while k < n && (acc >= sizes[n - 1 - k] || n - k + 1 > MAX_DELTAS) {
                acc += sizes[n - 1 - k];
                k += 1;
            }
            let parts = if k == 0 {
                fresh_parts
            } else {
                let newest = self.deltas[n - k..].iter().map(|parts| parts.iter().flatten().collect()).collect();
                encode_parts(&term_lists(&merge_live(newest, &fresh, &self.docs)), self.part_bytes)
            };
            for meta in self.manifest.deltas.drain(n - k..) {
                writes.removed.extend((0..meta.part_first.len()).map(|j| Removal::Segment(meta.part_key(j))));
            }
            self.deltas.truncate(n - k);
            // Every document merged may have been deleted since: no terms, no delta.
            if !parts.is_empty() {
                let mut meta = Delta { seq: self.manifest.next_seq, part_first: Vec::new(), whole: false };
                self.manifest.next_seq += 1;
                let mut segments = Vec::with_capacity(parts.len());
                for (j, (first, bytes)) in parts.into_iter().enumerate() {
                    let name = meta.part_key(j);
                    segments.push(Some(Segment::decode(bytes.clone()).map_err(bad(&name))?));
                    writes.put.push((name, bytes));
                    meta.part_first.push(first);
                }
                self.manifest.deltas.push(meta);
                self.deltas.push(segments);
            }
        }
        self.write_docs(old_slots, &mut writes);
        self.write_vectors(&mut writes);
        writes.put.push((MANIFEST_KEY.to_owned(), self.manifest.encode(&self.docs)));
        Ok(Step::Done(writes))
    }

    /// Replaces the term chunks by `merged` as generation `gen` (in memory too).
    fn write_chunks(
        &mut self,
        merged: &[(Vec<u8>, Merged<'_>)],
        gen: u32,
        writes: &mut Writes,
    ) -> Result<(), SearchError> {
        let parts = encode_parts(&term_lists(merged), self.chunk_bytes);
        self.manifest.gen = gen;
        self.manifest.deltas.clear();
        self.manifest.chunk_first = Vec::with_capacity(parts.len());
        self.chunks = Vec::with_capacity(parts.len());
        self.deltas = Vec::new();
        for (i, (first, bytes)) in parts.into_iter().enumerate() {
            let name = chunk_key(gen, i);
            self.chunks.push(Some(Segment::decode(bytes.clone()).map_err(bad(&name))?));
            writes.put.push((name, bytes));
            self.manifest.chunk_first.push(first);
        }
        Ok(())
    }

    /// Writes the attribute and id chunks of documents from `from` on.
    fn write_docs(&self, from: u32, writes: &mut Writes) {
        let slots = self.docs.slots();
        if from >= slots {
            return;
        }
        for (per, magic, version, prefix) in
            [(ATTR_CHUNK_DOCS, ATTRS_MAGIC, DOCS_VERSION, "a"), (ID_CHUNK_DOCS, IDS_MAGIC, IDS_VERSION, "d")]
        {
            for k in from / per..slots.div_ceil(per) {
                let (a, b) = (k * per, ((k + 1) * per).min(slots));
                let mut out = Vec::new();
                out.extend_from_slice(magic);
                out.push(version);
                if prefix == "a" {
                    self.docs.encode_attrs(a, b, &mut out);
                } else {
                    self.docs.encode_ids_compact(a, b, &mut out);
                }
                writes.put.push((format!("{prefix}.{k}"), out));
            }
        }
    }

    /// Builds the index anew from every message (after [`SearchError::Damaged`]): the
    /// index and the writes that replace every segment stored.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] only if a chunk just encoded does not decode (a bug).
    /// With a `model`, every document gets its vector.
    pub fn rebuild(docs: Vec<Doc>, model: Option<Arc<Model>>) -> Result<(Self, Writes), SearchError> {
        let mut ix = Self::empty(CHUNK_BYTES);
        if let Some(model) = model {
            ix.set_model(model);
        }
        ix.rebuild_from(docs)
    }

    #[cfg(test)]
    pub(crate) fn rebuild_with(docs: Vec<Doc>, chunk_bytes: usize) -> Result<(Self, Writes), SearchError> {
        Self::empty(chunk_bytes).rebuild_from(docs)
    }

    fn rebuild_from(self, docs: Vec<Doc>) -> Result<(Self, Writes), SearchError> {
        let mut ix = self;
        ix.stage(docs, &[], Embedding::Inline)?;
        let Some(Pending { terms: mut fresh, .. }) = ix.pending.take() else { unreachable!("staged") };
        fresh.sort();
        let merged = merge_live(Vec::new(), &fresh, &ix.docs);
        let mut writes = Writes { removed: vec![Removal::Prefix(String::new())], put: Vec::new() };
        ix.write_chunks(&merged, 1, &mut writes)?;
        ix.write_docs(0, &mut writes);
        ix.write_vectors(&mut writes);
        writes.put.push((MANIFEST_KEY.to_owned(), ix.manifest.encode(&ix.docs)));
        Ok((ix, writes))
    }
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
