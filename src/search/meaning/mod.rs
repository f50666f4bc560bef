//! Recall by meaning: a static embedding model ([`model`]), the messages' vectors and
//! their exact scan ([`vectors`]), and the fusion with the word leg ([`fuse`]).
//!
//! Every message gets a vector when it is indexed (its conversation's title and its
//! text); a query's words get one too, and the nearest messages are fused with BM25's
//! ranking. A hit that the words do not match at all is marked `by_meaning`.

pub mod fuse;
pub mod model;
pub mod vectors;

use std::sync::Arc;

pub use model::{Model, ModelError};
pub use vectors::Vectors;

use super::docs::DocTable;
use super::engine::{filters, Ranked};
use super::query::{Clause, Query};

/// How many of each leg's best are fused.
pub const DEPTH: usize = 100;

/// The model and the vectors of an index's documents.
#[derive(Debug, Clone)]
pub struct Meaning {
    pub model: Arc<Model>,
    pub vectors: Vectors,
    /// The meaning leg's weight in the fusion (the words weigh 1).
    pub weight: f32,
}

impl Meaning {
    pub fn new(model: Arc<Model>) -> Self {
        let dims = model.dims();
        Meaning { model, vectors: Vectors::new(dims), weight: fuse::MEANING_WEIGHT }
    }

    /// What a message's vector is made of.
    pub fn embed_doc(&self, title: &str, text: &str) -> Option<Vec<f32>> {
        let mut both = String::with_capacity(title.len() + text.len() + 1);
        both.push_str(title);
        both.push('\n');
        both.push_str(text);
        self.model.embed(&both)
    }

    /// The vector of a query's words (filters left out, whole-word tokens only:
    /// [`Model::embed_query`]); `None` when it has none.
    pub fn embed_query(&self, q: &Query) -> Option<Vec<f32>> {
        let mut text = String::new();
        for c in &q.clauses {
            match c {
                Clause::Term(t) | Clause::Prefix(t) => text.push_str(t),
                Clause::Phrase(p) => p.iter().for_each(|(t, _)| {
                    text.push_str(t);
                    text.push(' ');
                }),
            }
            text.push(' ');
        }
        self.model.embed_query(&text)
    }
}

/// The meaning leg: the `n` live documents nearest to the query's words that pass
/// its filters, best first; nothing without a model or a word with a vector.
pub(crate) fn nearest(q: &Query, meaning: Option<&Meaning>, docs: &DocTable, n: usize) -> Vec<(u32, f32)> {
    let Some((m, v)) = meaning.and_then(|m| Some((m, m.embed_query(q)?))) else {
        return Vec::new();
    };
    let passes = filters(q, docs);
    m.vectors.nearest(&v, n, |d| docs.is_live(d) && passes(d))
}

/// The word leg's ranking as it is (no meaning leg).
pub(crate) fn by_words(ranked: Ranked) -> (usize, Vec<fuse::Fused>) {
    let top = ranked.top.iter().map(|&(doc, score)| fuse::Fused { doc, score, by_meaning: false }).collect();
    (ranked.total, top)
}

/// A query's ranking with both legs: `words(depth, probe)` runs the word leg (BM25)
/// for its best `depth` and says which `probe` documents it matches. Without a
/// meaning leg (`meaning` is `None`, or the query has no word with a vector) this is
/// the word leg alone, unchanged. Hits found only by meaning are kept only when the
/// words match nothing. `total` counts the word leg's matches and those hits.
pub(crate) fn rank(
    q: &Query,
    meaning: Option<&Meaning>,
    docs: &DocTable,
    limit: usize,
    words: impl FnOnce(usize, &[u32]) -> Ranked,
) -> (usize, Vec<fuse::Fused>) {
    let nearest = nearest(q, meaning, docs, DEPTH);
    if nearest.is_empty() {
        return by_words(words(limit, &[]));
    }
    let probe: Vec<u32> = nearest.iter().map(|n| n.0).collect();
    let ranked = words(limit.max(DEPTH), &probe);
    let weight = meaning.map_or(fuse::MEANING_WEIGHT, |m| m.weight);
    let mut fused = fuse::fuse(&ranked.top, &nearest, &ranked.probed, weight, limit);
    // Hits found only by meaning are shown when the words match nothing: a person who
    // typed words that are in their chats sees those chats, reordered a little by
    // meaning, and not a list padded with loosely related ones (the e2e tests of
    // agents and imports count results; bench/meaning's figures are the same).
    if ranked.total > 0 {
        fused.retain(|f| !f.by_meaning);
    }
    let only = fused.iter().filter(|f| f.by_meaning).count();
    (ranked.total + only, fused)
}

#[cfg(test)]
mod tests;
