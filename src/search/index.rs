//! [`SearchIndex`]: the whole index in memory (node package, tests, and the in-memory
//! half of the persisted index), and how one document becomes postings.

use std::sync::Arc;

use super::codec::{self, Bad, Reader};
use super::docs::DocTable;
use super::engine::{self, Terms};
use super::meaning::{self, fuse::Fused, Meaning, Model};
use super::postings::{merge_sorted, MutPostings, MutTerms, PosCursor, PostingRef, Segment};
use super::query;
use super::tokenize::{self, Run};
use super::{Doc, Hit, SearchError, SearchResults};

/// A title word counts as this many words of text.
pub const TITLE_WEIGHT: u32 = 3;

/// Scratch space reused between documents.
#[derive(Default, Debug, Clone)]
pub(crate) struct Scratch {
    buf: String,
    /// `term id << 32 | position << 1 | from the title`, sorted to group by term.
    tokens: Vec<u64>,
    positions: Vec<u32>,
}

/// Tokenizes a document and appends its postings to `terms` under number `doc`;
/// returns its length (text words plus weighted title words).
fn index_doc(terms: &mut MutTerms, s: &mut Scratch, doc: u32, title: &str, text: &str) -> u32 {
    s.tokens.clear();
    let mut pos = 0u32;
    let mut len = 0u32;
    for (field, is_title) in [(title, true), (text, false)] {
        let Scratch { buf, tokens, .. } = &mut *s;
        let weight = if is_title { TITLE_WEIGHT } else { 1 };
        let flag = is_title as u64;
        tokenize::runs(field, buf, &mut |run| match run {
            Run::Word { term, .. } => {
                tokens.push((terms.intern(term) as u64) << 32 | (pos as u64) << 1 | flag);
                pos += 1;
                len += weight;
            }
            Run::Cjk { text, .. } => {
                tokenize::cjk_terms(text, |k, t| {
                    tokens.push((terms.intern(t) as u64) << 32 | ((pos + k as u32) as u64) << 1 | flag);
                });
                let n = text.chars().count() as u32;
                pos += n;
                len += weight * n;
            }
        });
        // A gap, so that a phrase never spans the title and the text.
        pos += 1;
        if pos >= 1 << 30 {
            break;
        }
    }
    s.tokens.sort_unstable();
    let mut i = 0;
    while i < s.tokens.len() {
        let id = (s.tokens[i] >> 32) as u32;
        let mut tf = 0;
        s.positions.clear();
        while i < s.tokens.len() && (s.tokens[i] >> 32) as u32 == id {
            let t = s.tokens[i] as u32;
            tf += if t & 1 == 1 { TITLE_WEIGHT } else { 1 };
            s.positions.push(t >> 1);
            i += 1;
        }
        terms.push_id(id, doc, tf, &s.positions);
    }
    len
}

/// Adds one document to `docs` and its postings to `terms` under the next number,
/// marking a live document of the same id deleted (replaced): what every index does
/// with a document, [`SearchIndex::add`] and the persisted index's updates and rebuild.
pub(crate) fn add_doc(docs: &mut DocTable, terms: &mut MutTerms, scratch: &mut Scratch, doc: &Doc) {
    if let Some(old) = docs.doc_of(&doc.id) {
        docs.delete(old);
    }
    let n = docs.slots();
    let len = index_doc(terms, scratch, n, &doc.title, &doc.text);
    docs.push(&doc.id, &doc.conversation_id, &doc.site, &doc.role, doc.ts, len);
}

/// Re-encodes the postings of `sources` without deleted documents.
pub(crate) fn live_postings(sources: &[PostingRef<'_>], docs: &DocTable) -> MutPostings {
    let mut out = MutPostings::default();
    let mut c = PosCursor::new(sources);
    let mut pos = Vec::new();
    while let Some((d, tf)) = c.next_doc() {
        if docs.is_live(d) {
            c.positions(&mut pos);
            out.push(d, tf, &pos);
        }
    }
    out
}

/// A search index held whole in memory.
///
/// # Examples
/// ```
/// use threadkeeper::search::{Doc, SearchIndex};
///
/// let mut index = SearchIndex::new();
/// index.add(Doc {
///     id: "m1".into(),
///     conversation_id: "c1".into(),
///     title: "Sourdough".into(),
///     text: "Feed the starter every day".into(),
///     site: "claude".into(),
///     role: "user".into(),
///     ts: 1_717_000_000_000,
/// });
/// let results = index.search("starter site:claude", 10);
/// assert_eq!((results.total, results.hits[0].id.as_str()), (1, "m1"));
/// let again = SearchIndex::from_bytes(&index.to_bytes()).unwrap();
/// assert_eq!(again.len(), 1);
/// ```
#[derive(Default, Debug, Clone)]
pub struct SearchIndex {
    pub(crate) docs: DocTable,
    /// What [`SearchIndex::from_bytes`] loaded (documents below those in `terms`).
    frozen: Option<Segment>,
    terms: MutTerms,
    scratch: Scratch,
    /// The meaning leg, when the index was made [with a model](SearchIndex::with_meaning).
    pub(crate) meaning: Option<Meaning>,
}

struct Sources<'a> {
    frozen: Option<&'a Segment>,
    terms: &'a MutTerms,
}

impl Terms for Sources<'_> {
    fn postings<'s>(&'s self, term: &[u8], out: &mut Vec<PostingRef<'s>>) {
        out.extend(self.frozen.and_then(|f| f.get(term)));
        out.extend(self.terms.get(term));
    }

    fn prefix<'s>(&'s self, prefix: &[u8]) -> Vec<&'s [u8]> {
        let mut lists = vec![Vec::new(), Vec::new()];
        if let Some(f) = self.frozen {
            f.with_prefix(prefix, &mut lists[0]);
        }
        self.terms.with_prefix(prefix, &mut lists[1]);
        merge_sorted(lists)
    }
}

pub const INDEX_MAGIC: &[u8; 4] = b"TKIX";
pub const INDEX_VERSION: u8 = 1;

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index that also finds messages by meaning: each message added gets a vector
    /// from `model`, and searches fuse both legs ([`super::meaning`]).
    pub fn with_meaning(model: Arc<Model>) -> Self {
        SearchIndex { meaning: Some(Meaning::new(model)), ..Self::default() }
    }

    /// Sets the meaning leg's weight in the fusion (the words weigh 1); nothing
    /// without the meaning leg.
    pub fn set_meaning_weight(&mut self, weight: f32) {
        if let Some(m) = &mut self.meaning {
            m.weight = weight;
        }
    }

    /// Bytes held by the vectors of the meaning leg.
    pub fn vector_memory(&self) -> usize {
        self.meaning.as_ref().map_or(0, |m| m.vectors.memory())
    }

    /// Documents that can be found (not deleted or replaced).
    pub fn len(&self) -> usize {
        self.docs.live as usize
    }

    pub fn is_empty(&self) -> bool {
        self.docs.live == 0
    }

    /// Adds a message; a message with the same `id` is replaced.
    pub fn add(&mut self, doc: Doc) {
        if self.docs.slots().is_multiple_of(1024) {
            grow_heap_in_steps();
        }
        if let Some(m) = &mut self.meaning {
            let v = m.embed_doc(&doc.title, &doc.text);
            m.vectors.set(self.docs.slots(), v.as_deref());
        }
        add_doc(&mut self.docs, &mut self.terms, &mut self.scratch, &doc);
        self.forget_deleted_vectors();
    }

    /// A replaced or deleted message's vector is dropped with it.
    fn forget_deleted_vectors(&mut self) {
        if let Some(m) = &mut self.meaning {
            if self.docs.live < m.vectors.slots() {
                let docs = &self.docs;
                m.vectors.retain(|d| docs.is_live(d));
            }
        }
    }

    /// Removes every message of a conversation; returns how many.
    pub fn remove_conversation(&mut self, conversation_id: &str) -> usize {
        let n = self.docs.remove_conversation(conversation_id);
        self.forget_deleted_vectors();
        n
    }

    /// Searches; see the crate's query syntax in [`super::query`]. Never fails: input
    /// that cannot be used is explained in [`SearchResults::hint`].
    pub fn search(&mut self, query: &str, limit: usize) -> SearchResults {
        self.terms.sort();
        let q = query::parse(query);
        let sources = Sources { frozen: self.frozen.as_ref(), terms: &self.terms };
        let (total, top) = meaning::rank(&q, self.meaning.as_ref(), &self.docs, limit, |depth, probe| {
            engine::run(&q, &sources, &self.docs, depth, probe)
        });
        SearchResults { total, hits: hits(&self.docs, &top), hint: q.hint, meaning_loading: false }
    }

    /// The meaning leg alone (for the benchmark's comparison): the messages nearest
    /// to the query's words, filters applied, all marked `by_meaning`; nothing without
    /// a model.
    pub fn search_by_meaning(&mut self, query: &str, limit: usize) -> SearchResults {
        let q = query::parse(query);
        let top = meaning::nearest(&q, self.meaning.as_ref(), &self.docs, limit);
        let top: Vec<Fused> = top.into_iter().map(|(doc, score)| Fused { doc, score, by_meaning: true }).collect();
        SearchResults { total: top.len(), hits: hits(&self.docs, &top), hint: q.hint, meaning_loading: false }
    }

    /// The whole index as bytes.
    ///
    /// ```text
    /// index := "TKIX" version:u8=1 head attrs ids segment:bytes
    /// ```
    /// `head`, `attrs` and `ids` (all documents) are `DocTable`'s, `segment` is
    /// `postings::Segment`'s, deleted documents already left out of it.
    pub fn to_bytes(&mut self) -> Vec<u8> {
        self.terms.sort();
        let mut out = Vec::new();
        out.extend_from_slice(INDEX_MAGIC);
        out.push(INDEX_VERSION);
        self.docs.encode_head(&mut out);
        let slots = self.docs.slots();
        self.docs.encode_attrs(0, slots, &mut out);
        self.docs.encode_ids(0, slots, &mut out);
        let segment = if self.frozen.is_none() && self.docs.live == slots {
            Segment::encode(self.terms.iter_sorted().collect::<Vec<_>>().into_iter())
        } else {
            let merged = merge_live(self.frozen.iter().map(|s| vec![s]).collect(), &self.terms, &self.docs);
            Segment::encode(merged.iter().map(|(t, p)| (t.as_slice(), p.as_ref())).collect::<Vec<_>>().into_iter())
        };
        codec::put_bytes(&mut out, &segment);
        out
    }

    /// Loads what [`SearchIndex::to_bytes`] wrote.
    ///
    /// # Errors
    /// [`SearchError::Damaged`] when the bytes are not such an index or were changed;
    /// [`SearchError::NewerVersion`] for a version this build does not know.
    pub fn from_bytes(bytes: &[u8]) -> Result<SearchIndex, SearchError> {
        Self::from_vec(bytes.to_vec())
    }

    /// [`SearchIndex::from_bytes`] keeping `bytes` as the postings' buffer.
    ///
    /// # Errors
    /// As [`SearchIndex::from_bytes`].
    pub fn from_vec(bytes: Vec<u8>) -> Result<SearchIndex, SearchError> {
        Self::decode(bytes).map_err(|e| SearchError::from_bad("saved search index", e))
    }

    fn decode(bytes: Vec<u8>) -> Result<SearchIndex, Bad> {
        let mut r = Reader::new(&bytes);
        r.header(INDEX_MAGIC, INDEX_VERSION)?;
        // Each document's attributes and ids take at least 6 bytes of what follows.
        let max_slots = r.remaining() / 6;
        let mut docs = DocTable::decode_head(&mut r, max_slots)?;
        let slots = docs.slots();
        docs.decode_attrs(0, slots, &mut r)?;
        docs.decode_ids(0, slots, &mut r)?;
        let len = r.u32()? as usize;
        let start = r.at;
        if bytes.len() - start != len {
            return Err("the segment does not end the index");
        }
        let segment = Segment::decode_from(bytes, start)?;
        Ok(SearchIndex { docs, frozen: Some(segment), ..Self::default() })
    }
}

/// Makes the wasm memory grow in steps of 8 MiB instead of the 64 KiB the allocator
/// asks for when it runs out: V8 (node 20) runs a full mark-compact collection on
/// most `memory.grow`, and with a large JS heap (the corpus of the benchmark, or a
/// page's) adding 100k messages took 12 s instead of about 4. Allocating and freeing a
/// block grows the memory once; the allocator then serves later requests from it.
fn grow_heap_in_steps() {
    #[cfg(target_arch = "wasm32")]
    drop(std::hint::black_box(Vec::<u8>::with_capacity(8 << 20)));
}

/// A term's postings after [`merge_live`].
pub(crate) enum Merged<'a> {
    /// The only source's list as it was: nothing to join, no deleted document to drop.
    Kept(PostingRef<'a>),
    /// Decoded and written again.
    Rebuilt(MutPostings),
}

impl Merged<'_> {
    pub fn as_ref(&self) -> PostingRef<'_> {
        match self {
            Merged::Kept(p) => *p,
            Merged::Rebuilt(p) => p.as_ref(),
        }
    }
}

/// Every term of `streams` and `terms`, with its live postings, in term order. A stream
/// is segments read one after another, so their terms must ascend across them (the
/// term chunks, whose ranges are disjoint, are one stream; each delta is one); the
/// streams, then `terms`, hold documents in ascending order. A term found in one
/// source only, in an index without deleted documents, keeps its list as it is.
///
/// Streams are walked side by side, not looked up term by term: with some 500 chunks
/// at 100k messages, a binary search of every chunk for every term took 14 s in wasm.
pub(crate) fn merge_live<'a>(
    streams: Vec<Vec<&'a Segment>>,
    terms: &'a MutTerms,
    docs: &DocTable,
) -> Vec<(Vec<u8>, Merged<'a>)> {
    type Stream<'a> = Box<dyn Iterator<Item = (&'a [u8], PostingRef<'a>)> + 'a>;
    let mut its: Vec<std::iter::Peekable<Stream<'a>>> = streams
        .into_iter()
        .map(|segments| Box::new(segments.into_iter().flat_map(|s| s.iter())) as Stream<'a>)
        .chain(std::iter::once(Box::new(terms.iter_sorted()) as Stream<'a>))
        .map(Iterator::peekable)
        .collect();
    let none_deleted = docs.live as usize == docs.slots() as usize;
    let mut out = Vec::new();
    let mut srcs = Vec::new();
    while let Some(t) = its.iter_mut().filter_map(|it| it.peek().map(|&(t, _)| t)).min() {
        srcs.clear();
        for it in &mut its {
            if let Some((_, p)) = it.next_if(|&(u, _)| u == t) {
                srcs.push(p);
            }
        }
        let p = match srcs[..] {
            [only] if none_deleted => Merged::Kept(only),
            _ => Merged::Rebuilt(live_postings(&srcs, docs)),
        };
        if p.as_ref().df > 0 {
            out.push((t.to_vec(), p));
        }
    }
    out
}

pub(crate) fn hits(docs: &DocTable, top: &[Fused]) -> Vec<Hit> {
    top.iter()
        .map(|f| Hit {
            id: docs.ids[f.doc as usize].to_string(),
            conversation_id: docs.conversation_of(f.doc).to_owned(),
            score: f.score,
            by_meaning: f.by_meaning,
        })
        .collect()
}
