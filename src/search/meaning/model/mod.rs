//! The static embedding model behind recall by meaning, and its byte format.
//!
//! A Model2Vec model is a table: one vector per token of a WordPiece vocabulary. A
//! text's vector is the mean of the rows of its tokens, made unit length; no network
//! runs. Threadkeeper ships potion-base-2M (The Minish Lab, MIT; 29,528 tokens x 64
//! dimensions), converted at build time by [`pack`] (scripts/model.sh) from the f32
//! safetensors and `tokenizer.json` of its registry package.
//!
//! Tokenizing differs from the BERT tokenizer the model was made with in one way:
//! words come from the search tokenizer ([`crate::search::tokenize::runs`]: lowercase,
//! accents removed, like BERT's normalizer), so punctuation is dropped instead of
//! becoming tokens of its own; a CJK run gives one word per character, as BERT's does.
//! Each word is then split greedily into the longest pieces of the vocabulary (a
//! continuation piece is stored with the `##` prefix); a word with a part not in the
//! vocabulary is left out, as Model2Vec leaves out the unknown token.
//!
//! ```text
//! model  := "TKEM" version:u8=1 dims:u8 rows:varint
//!           token{rows}            token := len:u8 utf8{len}   (in row order)
//!           scale{rows}            scale := f32 little-endian
//!           weight{rows * dims}    weight := i8; row r = weight[r] * scale[r]
//! ```
//! Varints are the search codec's (LEB128). Each row has its own scale (its largest
//! absolute value / 127): Model2Vec's rows differ in length on purpose (Zipf weighting).

use std::hash::{Hash, Hasher};

use thiserror::Error;

use crate::search::codec::{self, Reader};
use crate::search::postings::{FxHasher, FxMap};
use crate::search::tokenize::{self, Run};

pub const MODEL_MAGIC: &[u8; 4] = b"TKEM";
pub const MODEL_VERSION: u8 = 1;
/// Model2Vec's own default: tokens past this many are not read.
pub const MAX_TOKENS: usize = 512;
/// BERT's WordPiece limit: a longer word is unknown.
const MAX_WORD_CHARS: usize = 100;
const CONTINUATION: &str = "##";
/// A query word split in two counts when both pieces are at least this long.
const QUERY_PIECE_CHARS: usize = 3;

#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum ModelError {
    #[error("The model for search by meaning is damaged ({0}). Reinstall Threadkeeper.")]
    Damaged(&'static str),
    #[error("The model for search by meaning was written by a newer version of Threadkeeper.")]
    NewerVersion,
    #[error("The model files cannot be converted: {0}")]
    Source(String),
}

/// A loaded model: the vocabulary and its int8 rows.
#[derive(Debug, Clone)]
pub struct Model {
    dims: usize,
    vocab: Vocab,
    scales: Vec<f32>,
    weights: Vec<i8>,
}

/// The vocabulary, found by hash: every token's text in one buffer (a worker loads the
/// model at each start: one allocation for 29,528 tokens, not one each).
#[derive(Debug, Clone, Default)]
struct Vocab {
    /// Every token in row order, continuation pieces without their `##`.
    text: String,
    /// Row -> its token's `(start, end)` in `text`.
    spans: Vec<(u32, u32)>,
    /// The hash of a token that starts a word -> its row.
    words: FxMap<u64, u32>,
    /// The hash of a continuation piece (without `##`) -> its row.
    pieces: FxMap<u64, u32>,
    /// The rare token whose hash is another's: `(is a piece, token)` -> its row.
    collided: FxMap<(bool, Box<str>), u32>,
}

impl Vocab {
    fn with_rows(rows: usize, text_bytes: usize) -> Self {
        let map = || FxMap::with_capacity_and_hasher(rows, Default::default());
        Vocab {
            text: String::with_capacity(text_bytes),
            spans: Vec::with_capacity(rows),
            words: map(),
            pieces: map(),
            collided: FxMap::default(),
        }
    }

    fn hash(token: &str) -> u64 {
        let mut h = FxHasher::default();
        token.hash(&mut h);
        h.finish()
    }

    fn token(&self, row: u32) -> &str {
        let (from, to) = self.spans[row as usize];
        &self.text[from as usize..to as usize]
    }

    /// Adds the next row's token; a token seen before is found at its last row.
    fn push(&mut self, token: &str) {
        let row = self.spans.len() as u32;
        let (piece, text) = match token.strip_prefix(CONTINUATION) {
            Some(piece) if !piece.is_empty() => (true, piece),
            _ => (false, token),
        };
        let from = self.text.len() as u32;
        self.text.push_str(text);
        self.spans.push((from, self.text.len() as u32));
        let hash = Self::hash(text);
        let held = if piece { &self.pieces } else { &self.words }.get(&hash).copied();
        match held {
            Some(other) if self.token(other) != text => {
                self.collided.insert((piece, text.into()), row);
            }
            _ => {
                if piece { &mut self.pieces } else { &mut self.words }.insert(hash, row);
            }
        }
    }

    /// The row of a token that starts a word (`piece: false`) or of a continuation piece.
    fn get(&self, piece: bool, token: &str) -> Option<u32> {
        let table = if piece { &self.pieces } else { &self.words };
        match table.get(&Self::hash(token)) {
            Some(&row) if self.token(row) == token => Some(row),
            Some(_) if !self.collided.is_empty() => self.collided.get(&(piece, token.into())).copied(),
            _ => None,
        }
    }
}

impl Model {
    /// Reads what [`pack`] wrote.
    ///
    /// # Errors
    /// [`ModelError::Damaged`] when the bytes are not such a model or were cut;
    /// [`ModelError::NewerVersion`] for a version this build does not know.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        Self::decode(bytes).map_err(|bad| {
            if bad == "unknown version" {
                ModelError::NewerVersion
            } else {
                ModelError::Damaged(bad)
            }
        })
    }

    fn decode(bytes: &[u8]) -> Result<Model, codec::Bad> {
        let mut r = Reader::new(bytes);
        r.header(MODEL_MAGIC, MODEL_VERSION)?;
        let dims = r.u8()? as usize;
        let rows = r.count()?;
        if dims == 0 || rows == 0 {
            return Err("an empty model");
        }
        // Every row has at least its length byte: a count past the bytes is refused
        // before anything is sized by it.
        if rows > bytes.len() {
            return Err("the model is cut");
        }
        let mut vocab = Vocab::with_rows(rows, bytes.len().saturating_sub(rows.saturating_mul(dims + 4)));
        for _ in 0..rows {
            let len = r.u8()? as usize;
            let token = std::str::from_utf8(r.take(len)?).map_err(|_| "a token is not UTF-8")?;
            vocab.push(token);
        }
        let scales = r.take(rows * 4)?.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let weights = r.take(rows * dims)?.iter().map(|&b| b as i8).collect();
        r.end()?;
        Ok(Model { dims, vocab, scales, weights })
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The rows of the tokens of `text`, in order, at most [`MAX_TOKENS`].
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        self.tokens_of(text, false)
    }

    /// [`Model::tokens`], or with `whole_words` only the words that are one token of
    /// the vocabulary or two long pieces ([`Model::query_word`]: in a query, a word
    /// being typed, a typo or a made-up word would otherwise become short pieces that
    /// mean nothing, and find something anyway).
    fn tokens_of(&self, text: &str, whole_words: bool) -> Vec<u32> {
        let mut out = Vec::new();
        let mut buf = String::new();
        let mut utf8 = [0u8; 4];
        tokenize::runs(text, &mut buf, &mut |run| {
            if out.len() >= MAX_TOKENS {
                return;
            }
            match run {
                Run::Word { term, .. } if whole_words => self.query_word(term, &mut out),
                Run::Word { term, .. } => self.word_pieces(term, &mut out),
                Run::Cjk { text, .. } => {
                    for c in text.chars() {
                        self.word_pieces(c.encode_utf8(&mut utf8), &mut out);
                    }
                }
            }
        });
        out.truncate(MAX_TOKENS);
        out
    }

    /// A query's word: one token, or two pieces of at least 3 characters each
    /// (`houseplant`: `house` `##plant`); nothing otherwise.
    fn query_word(&self, word: &str, out: &mut Vec<u32>) {
        let mark = out.len();
        self.word_pieces(word, out);
        let pieces = out.len() - mark;
        let long = |s: &str| s.chars().count() >= QUERY_PIECE_CHARS;
        let ok = pieces == 1
            || (pieces == 2
                && (1..word.len()).any(|i| {
                    word.is_char_boundary(i)
                        && long(&word[..i])
                        && long(&word[i..])
                        && self.vocab.get(false, &word[..i]).as_ref() == out.get(mark)
                        && self.vocab.get(true, &word[i..]).as_ref() == out.get(mark + 1)
                }));
        if !ok {
            out.truncate(mark);
        }
    }

    /// Greedy longest-match WordPiece; nothing when a part of the word is unknown.
    fn word_pieces(&self, word: &str, out: &mut Vec<u32>) {
        if word.chars().count() > MAX_WORD_CHARS {
            return;
        }
        let mark = out.len();
        let mut start = 0;
        while start < word.len() {
            let piece = start > 0;
            let mut end = word.len();
            let found = loop {
                if end <= start {
                    break None;
                }
                if let Some(row) = word.get(start..end).and_then(|s| self.vocab.get(piece, s)) {
                    break Some(row);
                }
                end -= 1;
                while end > start && !word.is_char_boundary(end) {
                    end -= 1;
                }
            };
            match found {
                Some(row) => out.push(row),
                None => {
                    out.truncate(mark);
                    return;
                }
            }
            start = end;
        }
    }

    /// The unit vector of `text` (the mean of its tokens' rows, normalised); `None`
    /// when no word of it is in the vocabulary.
    pub fn embed(&self, text: &str) -> Option<Vec<f32>> {
        self.mean(&self.tokens_of(text, false))
    }

    /// The vector of a query: [`Model::embed`] of its whole-word tokens only; `None`
    /// when it has none (then nothing is found by meaning).
    pub fn embed_query(&self, text: &str) -> Option<Vec<f32>> {
        self.mean(&self.tokens_of(text, true))
    }

    fn mean(&self, tokens: &[u32]) -> Option<Vec<f32>> {
        let mut sum = vec![0f32; self.dims];
        for &row in tokens {
            let r = row as usize;
            let scale = self.scales[r];
            for (s, &w) in sum.iter_mut().zip(&self.weights[r * self.dims..(r + 1) * self.dims]) {
                *s += scale * w as f32;
            }
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        if tokens.is_empty() || norm == 0.0 || !norm.is_finite() {
            return None;
        }
        sum.iter_mut().for_each(|x| *x /= norm);
        Some(sum)
    }
}

/// Converts a Model2Vec model (its `model.safetensors`, f32 `embeddings`, and its
/// `tokenizer.json`, a BERT WordPiece tokenizer) into the format [`Model`] reads.
///
/// # Errors
/// [`ModelError::Source`] naming what the files lack.
pub fn pack(safetensors: &[u8], tokenizer_json: &[u8]) -> Result<Vec<u8>, ModelError> {
    let bad = |what: &str| ModelError::Source(what.to_owned());
    // safetensors: u64 LE header length, the JSON header, then the tensors' bytes.
    let head_len = safetensors.get(..8).ok_or_else(|| bad("the weights file is too short"))?;
    let head_len = u64::from_le_bytes(head_len.try_into().map_err(|_| bad("the weights file is too short"))?) as usize;
    let head = safetensors.get(8..8 + head_len).ok_or_else(|| bad("the weights header is cut"))?;
    let head: serde_json::Value = serde_json::from_slice(head).map_err(|_| bad("the weights header is not JSON"))?;
    let t = &head["embeddings"];
    if t["dtype"] != "F32" {
        return Err(bad("the weights are not an f32 `embeddings` tensor"));
    }
    let dim = |i: usize| t["shape"][i].as_u64().map(|v| v as usize).ok_or_else(|| bad("the tensor has no 2-D shape"));
    let (rows, dims) = (dim(0)?, dim(1)?);
    let off =
        |i: usize| t["data_offsets"][i].as_u64().map(|v| v as usize).ok_or_else(|| bad("the tensor has no offsets"));
    let data =
        safetensors.get(8 + head_len + off(0)?..8 + head_len + off(1)?).ok_or_else(|| bad("the tensor is cut"))?;
    if data.len() != rows * dims * 4 || dims == 0 || dims > 255 || rows == 0 {
        return Err(bad("the tensor's size does not match its shape"));
    }

    let tok: serde_json::Value =
        serde_json::from_slice(tokenizer_json).map_err(|_| bad("the tokenizer is not JSON"))?;
    if tok["model"]["type"] != "WordPiece" || tok["model"]["continuing_subword_prefix"] != CONTINUATION {
        return Err(bad("the tokenizer is not a WordPiece one with `##` pieces"));
    }
    if tok["normalizer"]["type"] != "BertNormalizer" || tok["normalizer"]["lowercase"] != true {
        return Err(bad("the tokenizer does not lowercase like BERT's"));
    }
    let vocab = tok["model"]["vocab"].as_object().ok_or_else(|| bad("the tokenizer has no vocabulary"))?;
    let mut tokens: Vec<Option<&str>> = vec![None; rows];
    for (token, id) in vocab {
        let id = id
            .as_u64()
            .map(|v| v as usize)
            .filter(|&v| v < rows)
            .ok_or_else(|| bad("a token's id is past the table"))?;
        tokens[id] = Some(token);
    }

    let mut out = Vec::with_capacity(16 + rows * (dims + 12));
    out.extend_from_slice(MODEL_MAGIC);
    out.push(MODEL_VERSION);
    out.push(dims as u8);
    codec::put_u32(&mut out, rows as u32);
    for token in &tokens {
        let token = token.ok_or_else(|| bad("a row has no token"))?;
        let len = u8::try_from(token.len()).map_err(|_| bad("a token is longer than 255 bytes"))?;
        out.push(len);
        out.extend_from_slice(token.as_bytes());
    }
    let values: Vec<f32> = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let mut weights = Vec::with_capacity(rows * dims);
    for row in values.chunks_exact(dims) {
        let (scale, q) = quantize(row);
        out.extend_from_slice(&scale.to_le_bytes());
        weights.extend(q.into_iter().map(|v| v as u8));
    }
    out.extend_from_slice(&weights);
    Ok(out)
}

/// `v` as int8 with one scale (its largest absolute value / 127): `v[i] ≈ q[i] * scale`.
pub fn quantize(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    (scale, v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect())
}

#[cfg(test)]
pub(crate) mod tests;
