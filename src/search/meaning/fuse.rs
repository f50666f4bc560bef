//! Reciprocal rank fusion of the word leg (BM25) and the meaning leg (vectors).
//!
//! A document's fused score is the sum over the legs that found it of
//! `weight / (K + rank)` (ranks from 1). The word leg weighs more: the model is small
//! (potion-base-2M) and a message with the exact words is what a person who typed them
//! wants, so a document found only by meaning comes after the word leg's best.

/// Cormack et al.'s constant.
pub const K: f32 = 60.0;
pub const WORDS_WEIGHT: f32 = 1.0;
/// The meaning leg's weight unless an index sets its own ([`super::Meaning::weight`]).
/// Measured by bench/meaning (10k messages, README): at 0.1 the generated word
/// queries keep 99.2% of BM25's nDCG@10 (0.5: 90.5%, 0.2: 97.5%) and paraphrases are
/// found as often as at 0.5 (the words match nothing there, so the weight does not
/// matter); hits found only by meaning come after the word leg's best 100.
pub const MEANING_WEIGHT: f32 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fused {
    pub doc: u32,
    pub score: f32,
    /// Found by the meaning leg and not matched by the words at all.
    pub by_meaning: bool,
}

/// Fuses the two legs' rankings (best first) into the best `limit`, the meaning leg
/// weighing `weight` (the words 1). `matched[i]` says
/// whether `meaning[i]` is matched by the words, even when it is not in `words`.
pub fn fuse(words: &[(u32, f32)], meaning: &[(u32, f32)], matched: &[bool], weight: f32, limit: usize) -> Vec<Fused> {
    let mut out: Vec<Fused> = words
        .iter()
        .enumerate()
        .map(|(i, &(doc, _))| Fused { doc, score: WORDS_WEIGHT / (K + 1.0 + i as f32), by_meaning: false })
        .collect();
    for (i, &(doc, _)) in meaning.iter().enumerate() {
        let add = weight / (K + 1.0 + i as f32);
        match out.iter_mut().find(|f| f.doc == doc) {
            Some(f) => f.score += add,
            None => {
                let by_meaning = !matched.get(i).copied().unwrap_or(false);
                out.push(Fused { doc, score: add, by_meaning });
            }
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
    out.truncate(limit);
    out
}
