//! A short extract of a message around what the query matched, with the matches'
//! ranges in UTF-16 code units (JavaScript slices the text with them directly; the
//! page escapes the text and marks the ranges).

use serde::Serialize;

use super::query::{self, Clause};
use super::tokenize::{self, is_cjk, Run};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    pub text: String,
    /// `(start, end)` in UTF-16 code units of `text`, ascending, not overlapping.
    pub ranges: Vec<(usize, usize)>,
}

/// Matches considered when choosing where the extract starts.
const MAX_SPANS: usize = 256;

/// Byte spans of `text` that the query matches.
fn matches<'q>(text: &str, q: &'q query::Query) -> Vec<(usize, usize)> {
    let mut words: Vec<&str> = Vec::new();
    let mut prefixes: Vec<&str> = Vec::new();
    let mut cjk: Vec<&str> = Vec::new();
    for c in &q.clauses {
        let mut add = |t: &'q str| {
            if t.chars().next().is_some_and(is_cjk) {
                cjk.push(t)
            } else {
                words.push(t)
            }
        };
        match c {
            Clause::Term(t) => add(t),
            Clause::Phrase(p) => p.iter().for_each(|(t, _)| add(t)),
            Clause::Prefix(p) => prefixes.push(p),
        }
    }
    let mut spans = Vec::new();
    let mut buf = String::new();
    tokenize::runs(text, &mut buf, &mut |run| match run {
        Run::Word { term, start, end } => {
            if words.contains(&term) || prefixes.iter().any(|p| term.starts_with(p)) {
                spans.push((start, end));
            }
        }
        Run::Cjk { text: run, start, .. } => {
            for needle in &cjk {
                for (i, _) in run.match_indices(needle) {
                    spans.push((start + i, start + i + needle.len()));
                }
            }
        }
    });
    super::postings::small_sort_by(&mut spans, |a, b| a < b);
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// An extract of at most about `max_chars` characters of `text` around the densest
/// group of matches of `query`, whitespace collapsed, `…` where it was cut.
///
/// # Examples
/// ```
/// let s = threadkeeper::search::snippet("Le café est fermé.", "cafe", 80);
/// assert_eq!(s.text, "Le café est fermé.");
/// assert_eq!(s.ranges, [(3, 7)]);
/// ```
pub fn snippet(text: &str, query: &str, max_chars: usize) -> Snippet {
    let max_chars = max_chars.max(8);
    let spans = matches(text, &query::parse(query));
    // Character index of every byte offset we need, in one pass.
    let total_chars = text.chars().count();
    let (from, to) = if total_chars <= max_chars {
        (0, text.len())
    } else {
        let lead = max_chars / 5;
        // Character index of each match start (the spans ascend: one pass), for the
        // first matches only: a long message can match thousands of times.
        let mut starts: Vec<usize> = Vec::with_capacity(spans.len().min(MAX_SPANS));
        let mut chars = 0;
        let mut byte = 0;
        for s in spans.iter().take(MAX_SPANS) {
            chars += text[byte..s.0].chars().count();
            byte = s.0;
            starts.push(chars);
        }
        let mut best = (0usize, 0usize);
        for (i, &c) in starts.iter().enumerate() {
            let n = starts[i..].iter().take_while(|&&x| x < c + max_chars - lead).count();
            if n > best.1 {
                best = (c.saturating_sub(lead), n);
            }
        }
        let start_char = best.0.min(total_chars - max_chars);
        let mut idx = text.char_indices().map(|(i, _)| i).skip(start_char);
        let mut from = idx.next().unwrap_or(0);
        let mut to = text.char_indices().map(|(i, _)| i).nth(start_char + max_chars).unwrap_or(text.len());
        // Start and end on a word boundary when one is near.
        if from > 0 {
            if let Some(ws) = text[from..].char_indices().take(15).find(|(_, c)| c.is_whitespace()) {
                from += ws.0;
            }
        }
        if to < text.len() {
            if let Some(ws) = text[from..to].char_indices().rev().take(15).find(|(_, c)| c.is_whitespace()) {
                to = from + ws.0;
            }
        }
        (from, to)
    };
    let mut out = String::new();
    let mut units = 0usize;
    let mut ranges = Vec::new();
    if from > 0 {
        out.push('…');
        units += 1;
    }
    let mut open: Option<usize> = None;
    let mut span = spans.iter().peekable();
    let mut in_space = false;
    for (i, c) in text[from..to].char_indices() {
        let at = from + i;
        while span.peek().is_some_and(|s| s.1 <= at && open.is_none()) {
            span.next();
        }
        if let Some(s) = span.peek() {
            if open.is_none() && at >= s.0 && at < s.1 {
                open = Some(units);
            }
        }
        if c.is_whitespace() {
            if !in_space && !out.is_empty() && out != "…" {
                out.push(' ');
                units += 1;
            }
            in_space = true;
        } else {
            in_space = false;
            out.push(c);
            units += c.len_utf16();
        }
        if let (Some(start), Some(s)) = (open, span.peek()) {
            if at + c.len_utf8() >= s.1 {
                ranges.push((start, units));
                open = None;
                span.next();
            }
        }
    }
    if let Some(start) = open {
        ranges.push((start, units));
    }
    if to < text.len() {
        let trimmed = out.trim_end().len();
        if trimmed < out.len() {
            units -= out.len() - trimmed;
            out.truncate(trimmed);
        }
        out.push('…');
    }
    let _ = units;
    Snippet { text: out, ranges }
}
