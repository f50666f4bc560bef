//! Postings: for each term, the documents that hold it (with a weighted term
//! frequency) and the positions where it occurs, compressed as varint deltas.
//!
//! Two shapes share one encoding of a term's lists:
//! - [`MutTerms`]: growable, for documents being added (a hash map of terms);
//! - [`Segment`]: frozen and sorted, one byte buffer (a loaded chunk, a delta, the
//!   body of a saved index), searched by binary search without building anything.
//!
//! A term's lists (both shapes):
//! ```text
//! docs := { doc_delta:varint tf:varint }*df     doc_delta from the previous doc (the first from 0)
//!                                               tf = text count + TITLE_WEIGHT * title count
//! pos  := { n:varint { pos_delta:varint }*n }*df positions ascending, the first from 0
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::codec::{self, Bad, Reader};

/// FxHash (rustc's hasher): terms are short, SipHash would dominate indexing time.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits (hashbrown's bucket index) depending only on
        // the first bytes; rotating brings the well-mixed high bits down (as rustc-hash 2).
        self.0.rotate_left(26)
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One source of a term's postings (documents ascending, all above the previous
/// source's).
#[derive(Clone, Copy, Debug)]
pub struct PostingRef<'a> {
    pub docs: &'a [u8],
    pub pos: &'a [u8],
    pub df: u32,
}

#[derive(Default, Debug, Clone)]
pub struct MutPostings {
    pub docs: Vec<u8>,
    pub pos: Vec<u8>,
    pub df: u32,
    last: u32,
}

impl MutPostings {
    /// Appends a document above every one already held.
    pub fn push(&mut self, doc: u32, tf: u32, positions: &[u32]) {
        // Grow by a quarter, not double: at 100k messages the slack of doubling was
        // about a fifth of the index.
        for (v, need) in [(&mut self.docs, 10), (&mut self.pos, 5 + 5 * positions.len())] {
            if v.capacity() - v.len() < need {
                v.reserve_exact(need.max(v.len() / 4).max(8));
            }
        }
        let delta = if self.df == 0 { doc } else { doc - self.last };
        codec::put_u32(&mut self.docs, delta);
        codec::put_u32(&mut self.docs, tf);
        codec::put_u32(&mut self.pos, positions.len() as u32);
        let mut prev = 0;
        for &p in positions {
            codec::put_u32(&mut self.pos, p - prev);
            prev = p;
        }
        self.df += 1;
        self.last = doc;
    }

    pub fn as_ref(&self) -> PostingRef<'_> {
        PostingRef { docs: &self.docs, pos: &self.pos, df: self.df }
    }
}

/// Growable terms for documents being added.
///
/// Each term's text is kept once, in `text`; the map goes from a 64-bit hash of the
/// term to its id (terms whose hash another term already has go to `collided`), which
/// halves the memory of a map keyed by boxed strings (measured at 346k terms).
#[derive(Default, Debug, Clone)]
pub struct MutTerms {
    by_hash: FxMap<u64, u32>,
    collided: FxMap<Box<str>, u32>,
    text: String,
    spans: Vec<(u32, u32)>,
    lists: Vec<MutPostings>,
    /// Term ids in term order; terms from `sorted.len()` on are not in it yet.
    sorted: Vec<u32>,
}

/// FNV-1a, then splitmix64's finalizer so that every bit depends on every byte.
fn hash64(term: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in term.as_bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl MutTerms {
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn term(&self, id: u32) -> &str {
        let (a, b) = self.spans[id as usize];
        &self.text[a as usize..b as usize]
    }

    fn find(&self, term: &str, h: u64) -> Option<u32> {
        match self.by_hash.get(&h) {
            Some(&id) if self.term(id) == term => Some(id),
            Some(_) => self.collided.get(term).copied(),
            None => None,
        }
    }

    /// The id of a term, added when new.
    #[inline]
    pub fn intern(&mut self, term: &str) -> u32 {
        let h = hash64(term);
        if let Some(id) = self.find(term, h) {
            return id;
        }
        let id = self.spans.len() as u32;
        let start = self.text.len() as u32;
        self.text.push_str(term);
        self.spans.push((start, self.text.len() as u32));
        self.lists.push(MutPostings::default());
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(term.into(), id);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
        }
        id
    }

    pub fn push_id(&mut self, id: u32, doc: u32, tf: u32, positions: &[u32]) {
        self.lists[id as usize].push(doc, tf, positions);
    }

    #[cfg(test)]
    pub fn push(&mut self, term: &str, doc: u32, tf: u32, positions: &[u32]) {
        let id = self.intern(term);
        self.push_id(id, doc, tf, positions);
    }

    pub fn get(&self, term: &[u8]) -> Option<PostingRef<'_>> {
        let term = std::str::from_utf8(term).ok()?;
        self.find(term, hash64(term)).map(|id| self.lists[id as usize].as_ref())
    }

    /// Sorts the terms added since the last call into the term order (prefix search
    /// needs it; done lazily so that bulk indexing does not pay for it per term).
    pub fn sort(&mut self) {
        let n = self.spans.len();
        if self.sorted.len() == n {
            return;
        }
        let mut fresh: Vec<u32> = (self.sorted.len() as u32..n as u32).collect();
        fresh.sort_unstable_by(|&a, &b| self.term(a).cmp(self.term(b)));
        let old = std::mem::take(&mut self.sorted);
        let mut merged = Vec::with_capacity(n);
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < fresh.len() {
            if self.term(old[i]) <= self.term(fresh[j]) {
                merged.push(old[i]);
                i += 1;
            } else {
                merged.push(fresh[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&old[i..]);
        merged.extend_from_slice(&fresh[j..]);
        self.sorted = merged;
    }

    /// Terms starting with `prefix` (call [`MutTerms::sort`] first).
    pub fn with_prefix<'s>(&'s self, prefix: &[u8], out: &mut Vec<&'s [u8]>) {
        let from = self.sorted.partition_point(|&id| self.term(id).as_bytes() < prefix);
        for &id in &self.sorted[from..] {
            let t = self.term(id).as_bytes();
            if !t.starts_with(prefix) {
                break;
            }
            out.push(t);
        }
    }

    /// Every term with its lists, in term order (call [`MutTerms::sort`] first).
    pub fn iter_sorted(&self) -> impl Iterator<Item = (&[u8], PostingRef<'_>)> {
        self.sorted.iter().map(|&id| (self.term(id).as_bytes(), self.lists[id as usize].as_ref()))
    }
}

/// Frozen, sorted postings in one buffer.
///
/// ```text
/// segment := "TKSG" version:u8=1 term_count:varint
///            { term:bytes df:varint docs_len:varint pos_len:varint }*term_count
///            { docs[docs_len] pos[pos_len] }*term_count      (same order)
/// bytes   := len:varint byte*len
/// ```
/// Terms are folded UTF-8 (see `tokenize`), strictly ascending bytewise.
#[derive(Debug, Clone)]
pub struct Segment {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    term_at: u32,
    term_len: u32,
    df: u32,
    docs_at: u32,
    docs_len: u32,
    pos_len: u32,
}

pub const SEGMENT_MAGIC: &[u8; 4] = b"TKSG";
pub const SEGMENT_VERSION: u8 = 1;

impl Segment {
    /// Writes terms given in ascending order with their lists.
    pub fn encode<'a>(terms: impl Iterator<Item = (&'a [u8], PostingRef<'a>)> + Clone) -> Vec<u8> {
        let count = terms.clone().count();
        let mut out = Vec::new();
        out.extend_from_slice(SEGMENT_MAGIC);
        out.push(SEGMENT_VERSION);
        codec::put_u32(&mut out, count as u32);
        for (term, p) in terms.clone() {
            codec::put_bytes(&mut out, term);
            codec::put_u32(&mut out, p.df);
            codec::put_u32(&mut out, p.docs.len() as u32);
            codec::put_u32(&mut out, p.pos.len() as u32);
        }
        for (_, p) in terms {
            out.extend_from_slice(p.docs);
            out.extend_from_slice(p.pos);
        }
        out
    }

    /// Reads a segment, checking its header, that every list lies inside the buffer
    /// and that terms ascend. Lists themselves are decoded with bounds checks later.
    pub fn decode(buf: Vec<u8>) -> Result<Segment, Bad> {
        Self::decode_from(buf, 0)
    }

    /// Like [`Segment::decode`] for a segment that fills `buf` from `start` on (the
    /// end of a saved index: loading it copies nothing).
    pub fn decode_from(buf: Vec<u8>, start: usize) -> Result<Segment, Bad> {
        let mut r = Reader::new(&buf);
        r.take(start)?;
        r.header(SEGMENT_MAGIC, SEGMENT_VERSION)?;
        let count = r.count()?;
        let mut entries = Vec::with_capacity(count);
        let mut prev: Option<&[u8]> = None;
        for _ in 0..count {
            let term = r.bytes()?;
            if prev.is_some_and(|p| p >= term) {
                return Err("terms out of order");
            }
            prev = Some(term);
            let term_at = (term.as_ptr() as usize - buf.as_ptr() as usize) as u32;
            entries.push(Entry {
                term_at,
                term_len: term.len() as u32,
                df: r.u32()?,
                docs_at: 0,
                docs_len: r.u32()?,
                pos_len: r.u32()?,
            });
        }
        let mut at = r.at as u64;
        for e in &mut entries {
            e.docs_at = at as u32;
            at += e.docs_len as u64 + e.pos_len as u64;
        }
        if at != buf.len() as u64 {
            return Err("lists do not fill the segment");
        }
        Ok(Segment { buf, entries })
    }

    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    fn term(&self, e: &Entry) -> &[u8] {
        &self.buf[e.term_at as usize..(e.term_at + e.term_len) as usize]
    }

    fn lists(&self, e: &Entry) -> PostingRef<'_> {
        let d = e.docs_at as usize;
        let p = d + e.docs_len as usize;
        PostingRef { docs: &self.buf[d..p], pos: &self.buf[p..p + e.pos_len as usize], df: e.df }
    }

    pub fn get(&self, term: &[u8]) -> Option<PostingRef<'_>> {
        let i = self.entries.binary_search_by(|e| self.term(e).cmp(term)).ok()?;
        Some(self.lists(&self.entries[i]))
    }

    pub fn with_prefix<'s>(&'s self, prefix: &[u8], out: &mut Vec<&'s [u8]>) {
        let from = self.entries.partition_point(|e| self.term(e) < prefix);
        for e in &self.entries[from..] {
            let t = self.term(e);
            if !t.starts_with(prefix) {
                break;
            }
            out.push(t);
        }
    }

    pub fn first_term(&self) -> Option<&[u8]> {
        self.entries.first().map(|e| self.term(e))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], PostingRef<'_>)> + Clone {
        self.entries.iter().map(|e| (self.term(e), self.lists(e)))
    }
}

/// Walks one term's postings across its sources: `(doc, tf)` ascending.
pub struct DocCursor<'a> {
    sources: &'a [PostingRef<'a>],
    src: usize,
    at: usize,
    doc: u32,
}

/// The next `(doc, tf)` of a doc list at `at`: the first doc is absolute, the others
/// deltas from `doc`. Shared by both cursors.
#[inline]
fn read_doc(docs: &[u8], at: &mut usize, doc: &mut u32) -> Option<(u32, u32)> {
    let first = *at == 0;
    let delta = codec::get_u32(docs, at)?;
    let tf = codec::get_u32(docs, at)?;
    *doc = if first { delta } else { doc.wrapping_add(delta) };
    Some((*doc, tf))
}

impl<'a> DocCursor<'a> {
    pub fn new(sources: &'a [PostingRef<'a>]) -> Self {
        DocCursor { sources, src: 0, at: 0, doc: 0 }
    }

    #[inline]
    pub fn next(&mut self) -> Option<(u32, u32)> {
        loop {
            let s = self.sources.get(self.src)?;
            if self.at < s.docs.len() {
                return read_doc(s.docs, &mut self.at, &mut self.doc);
            }
            self.src += 1;
            self.at = 0;
            self.doc = 0;
        }
    }
}

/// Like [`DocCursor`], also able to read each posting's positions.
pub struct PosCursor<'a> {
    sources: &'a [PostingRef<'a>],
    src: usize,
    at: usize,
    pat: usize,
    doc: u32,
    pending: bool,
}

impl<'a> PosCursor<'a> {
    pub fn new(sources: &'a [PostingRef<'a>]) -> Self {
        PosCursor { sources, src: 0, at: 0, pat: 0, doc: 0, pending: false }
    }

    /// The next `(doc, tf)`; [`PosCursor::positions`] then reads its positions.
    pub fn next_doc(&mut self) -> Option<(u32, u32)> {
        if self.pending {
            self.read_positions(None);
        }
        loop {
            let s = self.sources.get(self.src)?;
            if self.at < s.docs.len() {
                let next = read_doc(s.docs, &mut self.at, &mut self.doc);
                self.pending = next.is_some();
                return next;
            }
            self.src += 1;
            self.at = 0;
            self.pat = 0;
            self.doc = 0;
        }
    }

    /// The positions of the posting [`PosCursor::next_doc`] returned last.
    pub fn positions(&mut self, out: &mut Vec<u32>) {
        out.clear();
        if self.pending {
            self.read_positions(Some(out));
        }
    }

    fn read_positions(&mut self, mut out: Option<&mut Vec<u32>>) {
        self.pending = false;
        let Some(s) = self.sources.get(self.src) else { return };
        let n = codec::get_u32(s.pos, &mut self.pat).unwrap_or(0);
        if out.is_none() {
            // Skipping: count the last bytes of n varints, decode nothing.
            let mut left = n;
            while left > 0 && self.pat < s.pos.len() {
                left -= (s.pos[self.pat] < 0x80) as u32;
                self.pat += 1;
            }
            return;
        }
        let mut p = 0u32;
        for _ in 0..n {
            let Some(d) = codec::get_u32(s.pos, &mut self.pat) else { return };
            p = p.wrapping_add(d);
            if let Some(out) = out.as_deref_mut() {
                out.push(p);
            }
        }
    }
}

/// Merges ascending lists of terms into one ascending list without duplicates
/// (prefix expansions and merges gather terms from several sorted sources).
pub fn merge_sorted(lists: Vec<Vec<&[u8]>>) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    for list in lists {
        if out.is_empty() {
            out = list;
            continue;
        }
        let mut merged = Vec::with_capacity(out.len() + list.len());
        let (mut i, mut j) = (0, 0);
        while i < out.len() && j < list.len() {
            match out[i].cmp(list[j]) {
                std::cmp::Ordering::Less => {
                    merged.push(out[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    merged.push(list[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    merged.push(out[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        merged.extend_from_slice(&out[i..]);
        merged.extend_from_slice(&list[j..]);
        out = merged;
    }
    out
}

/// Insertion sort: for the few short lists sorted outside hot paths (each
/// `sort_by` with a new closure adds kilobytes of code to the wasm).
pub fn small_sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_round_trips_and_finds_terms_and_prefixes() {
        let mut m = MutTerms::default();
        m.push("beta", 3, 1, &[4]);
        m.push("alpha", 3, 2, &[0, 9]);
        m.push("alphabet", 7, 1, &[2]);
        m.push("alpha", 10, 1, &[5]);
        m.sort();
        let bytes = Segment::encode(m.iter_sorted().collect::<Vec<_>>().into_iter());
        let seg = Segment::decode(bytes).unwrap();
        let alpha = seg.get(b"alpha").unwrap();
        let sources = [alpha];
        let mut c = DocCursor::new(&sources);
        assert_eq!((c.next(), c.next(), c.next()), (Some((3, 2)), Some((10, 1)), None));
        let mut out = Vec::new();
        seg.with_prefix(b"alp", &mut out);
        assert_eq!(out, [b"alpha".as_slice(), b"alphabet"]);
        let mut pc = PosCursor::new(&sources);
        let mut pos = Vec::new();
        assert_eq!(pc.next_doc(), Some((3, 2)));
        pc.positions(&mut pos);
        assert_eq!(pos, [0, 9]);
        assert_eq!(pc.next_doc(), Some((10, 1)));
        pc.positions(&mut pos);
        assert_eq!(pos, [5]);
    }

    #[test]
    fn two_terms_with_the_same_hash_stay_apart() {
        let mut m = MutTerms::default();
        m.push("alpha", 1, 1, &[0]);
        // Pretend "beta" hashes like "alpha".
        let alpha = m.by_hash[&hash64("alpha")];
        m.by_hash.insert(hash64("beta"), alpha);
        m.push("beta", 2, 1, &[0]);
        assert_eq!(m.intern("beta"), 1);
        assert_eq!(m.get(b"alpha").unwrap().df, 1);
        assert_eq!(m.get(b"beta").unwrap().docs, [2, 1]);
    }

    #[test]
    fn a_damaged_segment_is_refused() {
        let mut m = MutTerms::default();
        m.push("a", 0, 1, &[0]);
        m.sort();
        let bytes = Segment::encode(m.iter_sorted().collect::<Vec<_>>().into_iter());
        for cut in 0..bytes.len() {
            assert!(Segment::decode(bytes[..cut].to_vec()).is_err());
        }
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(Segment::decode(bad).is_err());
    }
}
