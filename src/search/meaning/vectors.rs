//! The vectors of the messages, one per document number of the index, and the exact
//! scan that finds the nearest ones. At 100k messages and 64 dimensions the table is
//! 6.8 MB; reading all of it is a few milliseconds, so no approximate index is kept.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::model::quantize;
use crate::search::codec::{self, Bad, Reader};

/// One int8 vector and its scale per document number; a scale of 0 is "no vector" (a
/// document with no known word, or a deleted one), [`PENDING`] "not embedded yet" (a
/// vault's messages from before the model, or whose vectors were lost).
///
/// The table holds documents `base..base + scale.len()`: a chunk read on its own (as
/// the saved index reads them) holds only its own documents, whatever its numbers.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Vectors {
    dims: usize,
    base: u32,
    q: Vec<i8>,
    scale: Vec<f32>,
}

pub const VECTORS_MAGIC: &[u8; 4] = b"TKVE";
/// The scale of a document not embedded yet.
pub const PENDING: f32 = -1.0;
pub const VECTORS_VERSION: u8 = 1;

/// Documents scored together by [`Vectors::nearest`] before the best are kept.
const BLOCK: usize = 64;

/// A score with a total order, for the heap.
struct Score(f32);
impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
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

impl Vectors {
    pub fn new(dims: usize) -> Self {
        Vectors { dims, ..Vectors::default() }
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Document numbers covered (with or without a vector): every one below this.
    pub fn slots(&self) -> u32 {
        self.base + self.scale.len() as u32
    }

    /// Bytes held.
    pub fn memory(&self) -> usize {
        self.q.len() + self.scale.len() * 4
    }

    /// Where `doc` is in the table, if it is.
    fn slot(&self, doc: u32) -> Option<usize> {
        let i = doc.checked_sub(self.base)? as usize;
        (i < self.scale.len()).then_some(i)
    }

    /// Grows the table to hold documents `range` (new ones have no vector).
    fn cover(&mut self, range: std::ops::Range<u32>) {
        if range.is_empty() {
            return;
        }
        if self.scale.is_empty() {
            self.base = range.start;
        } else if range.start < self.base {
            let more = (self.base - range.start) as usize;
            self.scale.splice(0..0, std::iter::repeat_n(0.0, more));
            self.q.splice(0..0, std::iter::repeat_n(0, more * self.dims));
            self.base = range.start;
        }
        let len = (range.end - self.base) as usize;
        if self.scale.len() < len {
            self.scale.resize(len, 0.0);
            self.q.resize(len * self.dims, 0);
        }
    }

    pub fn has(&self, doc: u32) -> bool {
        self.slot(doc).is_some_and(|i| self.scale[i] > 0.0)
    }

    /// Whether `doc` waits for its vector (never true past the table's end).
    pub fn is_pending(&self, doc: u32) -> bool {
        self.slot(doc).is_some_and(|i| self.scale[i] == PENDING)
    }

    /// Marks documents `range` as waiting for their vectors.
    pub fn set_pending(&mut self, range: std::ops::Range<u32>) {
        for d in range {
            self.set(d, None);
            let i = (d - self.base) as usize;
            self.scale[i] = PENDING;
        }
    }

    /// Stores the unit vector `v` of `doc` (`None`: the document has none).
    pub fn set(&mut self, doc: u32, v: Option<&[f32]>) {
        self.cover(doc..doc + 1);
        let i = (doc - self.base) as usize;
        let (scale, q) = match v {
            Some(v) if v.len() == self.dims => quantize(v),
            _ => (0.0, vec![0; self.dims]),
        };
        self.scale[i] = scale;
        self.q[i * self.dims..(i + 1) * self.dims].copy_from_slice(&q);
    }

    /// Copies document `d`'s vector from `other` (of the same dimensions).
    pub fn copy_from(&mut self, other: &Vectors, d: u32) {
        self.cover(d..d + 1);
        let i = (d - self.base) as usize;
        let dst = &mut self.q[i * self.dims..(i + 1) * self.dims];
        match other.slot(d) {
            Some(j) if other.dims == self.dims => {
                self.scale[i] = other.scale[j];
                dst.copy_from_slice(&other.q[j * self.dims..(j + 1) * self.dims]);
            }
            _ => {
                self.scale[i] = 0.0;
                dst.fill(0);
            }
        }
    }

    /// Forgets the vector of every document `keep` refuses (deleted ones).
    pub fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        for i in 0..self.scale.len() {
            if self.scale[i] != 0.0 && !keep(self.base + i as u32) {
                self.scale[i] = 0.0;
                self.q[i * self.dims..(i + 1) * self.dims].fill(0);
            }
        }
    }

    /// The `n` documents nearest to the unit vector `query` among those `keep`
    /// accepts, best first, with their cosine similarity.
    ///
    /// An exact scan: the int8 dot products of [`BLOCK`] documents at a time
    /// ([`dots`], wasm SIMD128 in the browser), then a bounded heap of the best `n` that
    /// most documents never enter (their score is below its worst).
    pub fn nearest(&self, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        if query.len() != self.dims || self.dims == 0 || n == 0 {
            return Vec::new();
        }
        let (qs, qq) = quantize(query);
        let mut heap: BinaryHeap<Reverse<(Score, Reverse<u32>)>> = BinaryHeap::with_capacity(n + 1);
        // The heap's worst once it holds `n`: a score must beat it to enter.
        let mut worst = f32::NEG_INFINITY;
        let mut out = [0i32; BLOCK];
        let rows = self.q.chunks(BLOCK * self.dims);
        for (b, (rows, scales)) in rows.zip(self.scale.chunks(BLOCK)).enumerate() {
            let out = &mut out[..scales.len()];
            dots(rows, &qq, out);
            let first = self.base + (b * BLOCK) as u32;
            for (i, (&dot, &scale)) in out.iter().zip(scales).enumerate() {
                if scale <= 0.0 {
                    continue;
                }
                let s = dot as f32 * scale * qs;
                let d = first + i as u32;
                if s <= worst || !keep(d) {
                    continue;
                }
                heap.push(Reverse((Score(s), Reverse(d))));
                if heap.len() > n {
                    heap.pop();
                }
                if heap.len() == n {
                    worst = heap.peek().map_or(worst, |Reverse((w, _))| w.0);
                }
            }
        }
        let mut out: Vec<(u32, f32)> = heap.into_iter().map(|Reverse((s, Reverse(d)))| (d, s.0)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Documents `from..to` as bytes; documents `keep` refuses are written without a
    /// vector (a deleted message's vector never reaches storage).
    ///
    /// ```text
    /// vectors := "TKVE" version:u8=1 dims:u8 from:varint count:varint
    ///            scale{count}         scale := f32 little-endian: > 0 a vector,
    ///                                          0 none, -1 not embedded yet
    ///            weight{count * dims} weight := i8; v[d] ≈ weight[d] * scale[d]
    /// ```
    pub fn encode(&self, from: u32, to: u32, keep: impl Fn(u32) -> bool, out: &mut Vec<u8>) {
        out.extend_from_slice(VECTORS_MAGIC);
        out.push(VECTORS_VERSION);
        out.push(self.dims as u8);
        codec::put_u32(out, from);
        codec::put_u32(out, to.saturating_sub(from));
        let live = |d: u32| self.has(d) && keep(d);
        for d in from..to {
            let s = match (live(d), self.is_pending(d) && keep(d)) {
                (true, _) => self.slot(d).map_or(0.0, |i| self.scale[i]),
                (false, true) => PENDING,
                (false, false) => 0.0,
            };
            out.extend_from_slice(&s.to_le_bytes());
        }
        let dims = self.dims;
        for d in from..to {
            match self.slot(d).filter(|_| live(d)) {
                Some(i) => out.extend(self.q[i * dims..(i + 1) * dims].iter().map(|&v| v as u8)),
                None => out.extend(std::iter::repeat_n(0u8, dims)),
            }
        }
    }

    /// The first document held, the weights and the scales (for tests that check the
    /// scan against a plain one).
    #[cfg(test)]
    pub(crate) fn raw(&self) -> (u32, &[i8], &[f32]) {
        (self.base, &self.q, &self.scale)
    }

    /// Reads what [`Vectors::encode`] wrote into this table (which grows to hold it,
    /// and only it: a chunk of high document numbers read into an empty table takes
    /// the room of its own documents); returns the range it covered. The table is
    /// unchanged when the bytes are refused.
    ///
    /// # Errors
    /// A description of what is wrong with the bytes.
    pub fn decode_into(&mut self, r: &mut Reader<'_>) -> Result<std::ops::Range<u32>, Bad> {
        r.header(VECTORS_MAGIC, VECTORS_VERSION)?;
        let dims = r.u8()? as usize;
        if dims == 0 || (self.dims != 0 && dims != self.dims) {
            return Err("vectors of another model");
        }
        let from = r.u32()?;
        let count = r.u32()? as usize;
        if count.saturating_mul(dims + 4) > r.remaining() {
            return Err("count larger than the data");
        }
        let to = from.checked_add(count as u32).ok_or("document numbers overflow")?;
        let scales = r.take(count * 4)?;
        let weights = r.take(count * dims)?;
        let scales = scales.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        if scales.clone().any(|s| !s.is_finite() || (s < 0.0 && s != PENDING)) {
            return Err("a vector's scale is not a number");
        }
        self.dims = dims;
        if from == to {
            return Ok(from..to);
        }
        self.cover(from..to);
        let at = (from - self.base) as usize;
        for (dst, s) in self.scale[at..].iter_mut().zip(scales) {
            *dst = s;
        }
        for (dst, &w) in self.q[at * dims..].iter_mut().zip(weights) {
            *dst = w as i8;
        }
        Ok(from..to)
    }

    /// [`Vectors::decode_into`] of a whole chunk: nothing may follow it.
    ///
    /// # Errors
    /// A description of what is wrong with the bytes.
    pub fn decode_chunk(&mut self, bytes: &[u8]) -> Result<std::ops::Range<u32>, Bad> {
        let mut r = Reader::new(bytes);
        let range = self.decode_into(&mut r)?;
        r.end()?;
        Ok(range)
    }
}

/// `out[i]` = the dot product of `q` with row `i` of `rows` (rows of `q.len()` int8
/// weights, as many as `out` holds).
fn dots(rows: &[i8], q: &[i8], out: &mut [i32]) {
    #[cfg(target_arch = "wasm32")]
    if q.len().is_multiple_of(16) {
        // simd128 is in every engine this runs in (Chromium 91, Firefox 89, node 16.4);
        // one without it would refuse the whole module when loading it, not this call.
        // The build's wasm-opt validates the module with --enable-simd.
        simd::dots(rows, q, out);
        return;
    }
    dots_portable(rows, q, out);
}

/// [`dots`] without SIMD: four rows at a time, each with its own accumulator.
fn dots_portable(rows: &[i8], q: &[i8], out: &mut [i32]) {
    let dims = q.len();
    let dot = |row: &[i8]| row.iter().zip(q).map(|(&a, &b)| a as i32 * b as i32).sum::<i32>();
    let mut quads = out.chunks_exact_mut(4);
    let mut at = 0;
    for o in &mut quads {
        let r = &rows[at..at + 4 * dims];
        let (mut s0, mut s1, mut s2, mut s3) = (0i32, 0i32, 0i32, 0i32);
        for (k, &w) in q.iter().enumerate() {
            let w = w as i32;
            s0 += r[k] as i32 * w;
            s1 += r[dims + k] as i32 * w;
            s2 += r[2 * dims + k] as i32 * w;
            s3 += r[3 * dims + k] as i32 * w;
        }
        o.copy_from_slice(&[s0, s1, s2, s3]);
        at += 4 * dims;
    }
    for (o, row) in quads.into_remainder().iter_mut().zip(rows[at..].chunks_exact(dims)) {
        *o = dot(row);
    }
}

#[cfg(target_arch = "wasm32")]
mod simd {
    use core::arch::wasm32::*;

    /// [`super::dots`] in wasm SIMD128, for `q.len()` a multiple of 16: four rows at a
    /// time, their lanes added across at the end.
    #[target_feature(enable = "simd128")]
    pub(super) fn dots(rows: &[i8], q: &[i8], out: &mut [i32]) {
        let dims = q.len();
        let mut quads = out.chunks_exact_mut(4);
        let mut at = 0;
        for o in &mut quads {
            let a0 = lanes(&rows[at..at + dims], q);
            let a1 = lanes(&rows[at + dims..at + 2 * dims], q);
            let a2 = lanes(&rows[at + 2 * dims..at + 3 * dims], q);
            let a3 = lanes(&rows[at + 3 * dims..at + 4 * dims], q);
            let s01 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a0, a1), i32x4_shuffle::<2, 6, 3, 7>(a0, a1));
            let s23 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a2, a3), i32x4_shuffle::<2, 6, 3, 7>(a2, a3));
            let sum = i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(s01, s23), i32x4_shuffle::<2, 3, 6, 7>(s01, s23));
            // SAFETY: `o` is 4 i32 (16 bytes); v128_store needs no alignment.
            unsafe { v128_store(o.as_mut_ptr().cast(), sum) };
            at += 4 * dims;
        }
        for (o, row) in quads.into_remainder().iter_mut().zip(rows[at..].chunks_exact(dims)) {
            let a = lanes(row, q);
            *o = i32x4_extract_lane::<0>(a)
                + i32x4_extract_lane::<1>(a)
                + i32x4_extract_lane::<2>(a)
                + i32x4_extract_lane::<3>(a);
        }
    }

    /// One row's dot product with `q`, in four i32 lanes to add: per 16 weights, two
    /// 8-lane i16 products summed (|w * q| <= 128 * 127, so two fit in i16: `quantize`
    /// keeps the query within ±127), then added pairwise into the i32 lanes.
    #[inline]
    #[target_feature(enable = "simd128")]
    fn lanes(row: &[i8], q: &[i8]) -> v128 {
        let mut acc = i32x4_splat(0);
        for (r, q) in row.chunks_exact(16).zip(q.chunks_exact(16)) {
            // SAFETY: both chunks are 16 bytes; v128_load needs no alignment.
            let (r, q) = unsafe { (v128_load(r.as_ptr().cast()), v128_load(q.as_ptr().cast())) };
            let p = i16x8_add(i16x8_extmul_low_i8x16(r, q), i16x8_extmul_high_i8x16(r, q));
            acc = i32x4_add(acc, i32x4_extadd_pairwise_i16x8(p));
        }
        acc
    }
}
