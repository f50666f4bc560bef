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
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Vectors {
    dims: usize,
    q: Vec<i8>,
    scale: Vec<f32>,
}

pub const VECTORS_MAGIC: &[u8; 4] = b"TKVE";
/// The scale of a document not embedded yet.
pub const PENDING: f32 = -1.0;
pub const VECTORS_VERSION: u8 = 1;

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
        Vectors { dims, q: Vec::new(), scale: Vec::new() }
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Document numbers covered (with or without a vector).
    pub fn slots(&self) -> u32 {
        self.scale.len() as u32
    }

    /// Bytes held.
    pub fn memory(&self) -> usize {
        self.q.len() + self.scale.len() * 4
    }

    pub fn has(&self, doc: u32) -> bool {
        self.scale.get(doc as usize).is_some_and(|&s| s > 0.0)
    }

    /// Whether `doc` waits for its vector (never true past the table's end).
    pub fn is_pending(&self, doc: u32) -> bool {
        self.scale.get(doc as usize).is_some_and(|&s| s == PENDING)
    }

    /// Marks documents `range` as waiting for their vectors.
    pub fn set_pending(&mut self, range: std::ops::Range<u32>) {
        for d in range {
            self.set(d, None);
            self.scale[d as usize] = PENDING;
        }
    }

    /// Stores the unit vector `v` of `doc` (`None`: the document has none).
    pub fn set(&mut self, doc: u32, v: Option<&[f32]>) {
        let d = doc as usize;
        if self.scale.len() <= d {
            self.scale.resize(d + 1, 0.0);
            self.q.resize((d + 1) * self.dims, 0);
        }
        let (scale, q) = match v {
            Some(v) if v.len() == self.dims => quantize(v),
            _ => (0.0, vec![0; self.dims]),
        };
        self.scale[d] = scale;
        self.q[d * self.dims..(d + 1) * self.dims].copy_from_slice(&q);
    }

    /// Copies document `d`'s vector from `other` (of the same dimensions).
    pub fn copy_from(&mut self, other: &Vectors, d: u32) {
        let i = d as usize;
        if self.scale.len() <= i {
            self.scale.resize(i + 1, 0.0);
            self.q.resize((i + 1) * self.dims, 0);
        }
        self.scale[i] = other.scale.get(i).copied().unwrap_or(0.0);
        let src = other.q.get(i * self.dims..(i + 1) * self.dims);
        let dst = &mut self.q[i * self.dims..(i + 1) * self.dims];
        match src {
            Some(src) => dst.copy_from_slice(src),
            None => dst.fill(0),
        }
    }

    /// Forgets the vector of every document `keep` refuses (deleted ones).
    pub fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        for d in 0..self.scale.len() {
            if self.scale[d] != 0.0 && !keep(d as u32) {
                self.scale[d] = 0.0;
                self.q[d * self.dims..(d + 1) * self.dims].fill(0);
            }
        }
    }

    /// The `n` documents nearest to the unit vector `query` among those `keep`
    /// accepts, best first, with their cosine similarity.
    pub fn nearest(&self, query: &[f32], n: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        if query.len() != self.dims || n == 0 {
            return Vec::new();
        }
        let (qs, qq) = quantize(query);
        let mut heap: BinaryHeap<Reverse<(Score, Reverse<u32>)>> = BinaryHeap::with_capacity(n + 1);
        for (d, (row, &scale)) in self.q.chunks_exact(self.dims).zip(&self.scale).enumerate() {
            if scale <= 0.0 {
                continue;
            }
            let dot: i32 = row.iter().zip(&qq).map(|(&a, &b)| a as i32 * b as i32).sum();
            let s = dot as f32 * scale * qs;
            if heap.len() == n && heap.peek().is_some_and(|Reverse((worst, _))| s <= worst.0) {
                continue;
            }
            if !keep(d as u32) {
                continue;
            }
            heap.push(Reverse((Score(s), Reverse(d as u32))));
            if heap.len() > n {
                heap.pop();
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
                (true, _) => self.scale[d as usize],
                (false, true) => PENDING,
                (false, false) => 0.0,
            };
            out.extend_from_slice(&s.to_le_bytes());
        }
        for d in from..to {
            let dims = self.dims;
            match live(d) {
                true => out.extend(self.q[d as usize * dims..(d as usize + 1) * dims].iter().map(|&v| v as u8)),
                false => out.extend(std::iter::repeat_n(0u8, dims)),
            }
        }
    }

    /// Reads what [`Vectors::encode`] wrote into this table (which grows to hold it);
    /// returns the range it covered.
    ///
    /// # Errors
    /// A description of what is wrong with the bytes.
    pub fn decode_into(&mut self, r: &mut Reader<'_>) -> Result<std::ops::Range<u32>, Bad> {
        r.header(VECTORS_MAGIC, VECTORS_VERSION)?;
        let dims = r.u8()? as usize;
        if dims == 0 || (self.dims != 0 && dims != self.dims) {
            return Err("vectors of another model");
        }
        self.dims = dims;
        let from = r.u32()?;
        let count = r.u32()? as usize;
        if count.saturating_mul(dims + 4) > r.remaining() {
            return Err("count larger than the data");
        }
        let to = from.checked_add(count as u32).ok_or("document numbers overflow")?;
        let scales = r.take(count * 4)?;
        let weights = r.take(count * dims)?;
        if (to as usize) > self.scale.len() {
            self.scale.resize(to as usize, 0.0);
            self.q.resize(to as usize * dims, 0);
        }
        for (i, b) in scales.chunks_exact(4).enumerate() {
            let s = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if !s.is_finite() || (s < 0.0 && s != PENDING) {
                return Err("a vector's scale is not a number");
            }
            self.scale[from as usize + i] = s;
        }
        for (i, &w) in weights.iter().enumerate() {
            self.q[from as usize * dims + i] = w as i8;
        }
        Ok(from..to)
    }
}
