//! Splitting text into search terms, the same way for documents, queries and snippets.
//!
//! - Words are runs of letters and digits (Unicode `Alphabetic`/`Numeric`), so
//!   punctuation, spaces and symbols separate them; combining marks inside a word are
//!   dropped. This is UAX #29 word segmentation without its mid-word rules: `don't`
//!   is `don` + `t`, `3.14` is `3` + `14`; queries are split the same way, so phrases
//!   still find them.
//! - Folding: lowercase, then accents removed (`é` → `e`, `ø` → `o`, `ß` → `ss`),
//!   full-width ASCII made ASCII.
//! - Han, Hiragana, Katakana and Hangul are written without spaces, so a run of them
//!   is kept whole ([`Run::Cjk`]); the index stores each character and each pair of
//!   neighbours (bigrams) at consecutive positions, and a query word of n characters
//!   becomes the phrase of its n-1 bigrams: it is found anywhere inside a run.

use super::fold_table::FOLD;

/// Terms longer than this many bytes are cut (base64 blobs, hashes): they still match
/// a query that is cut the same way.
pub const MAX_TERM_BYTES: usize = 48;

/// One run of the text: a folded word or a run of CJK characters as written.
/// `start..end` are byte offsets in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run<'a> {
    Word { term: &'a str, start: usize, end: usize },
    Cjk { text: &'a str, start: usize, end: usize },
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3005..=0x3007   // 々 〆 〇 (inside Japanese and Chinese words)
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x31F0..=0x31FF // Katakana phonetic extensions
        | 0x3400..=0x4DBF // Han extension A
        | 0x4E00..=0x9FFF // Han
        | 0xF900..=0xFAFF // Han compatibility
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0x1100..=0x11FF | 0x3130..=0x318F // Hangul jamo
        | 0x20000..=0x3FFFF) // Han extensions B and later
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Appends the folded form of a non-ASCII letter or digit.
fn push_folded(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        let cp = lower as u32;
        if cp < 0x10000 {
            if let Ok(i) = FOLD.binary_search_by_key(&(cp as u16), |&(from, _)| from) {
                out.push(char::from_u32(FOLD[i].1 as u32).unwrap_or(lower));
                continue;
            }
        }
        match lower {
            'ß' | 'ẞ' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'þ' => out.push_str("th"),
            '\u{FF10}'..='\u{FF5E}' => {
                // Full-width ASCII: fold like its ASCII twin.
                let ascii = char::from_u32(cp - 0xFEE0).unwrap_or(lower);
                if ascii.is_ascii_alphanumeric() {
                    out.push(ascii.to_ascii_lowercase());
                }
            }
            _ => out.push(lower),
        }
    }
}

/// Calls `f` with each run of `text`, in order. `buf` is scratch space (kept between
/// calls to avoid allocating).
pub fn runs(text: &str, buf: &mut String, f: &mut dyn FnMut(Run<'_>)) {
    buf.clear();
    let mut word_start = 0usize;
    let mut cjk_start: Option<usize> = None;
    let bytes = text.as_bytes();
    let mut i = 0usize;
    macro_rules! flush_word {
        ($end:expr) => {
            if !buf.is_empty() {
                let mut cut = buf.len().min(MAX_TERM_BYTES);
                while !buf.is_char_boundary(cut) {
                    cut -= 1;
                }
                f(Run::Word { term: &buf[..cut], start: word_start, end: $end });
                buf.clear();
            }
        };
    }
    macro_rules! flush_cjk {
        ($end:expr) => {
            if let Some(s) = cjk_start.take() {
                f(Run::Cjk { text: &text[s..$end], start: s, end: $end });
            }
        };
    }
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            // The fast path: ASCII.
            if b.is_ascii_alphanumeric() {
                flush_cjk!(i);
                if buf.is_empty() {
                    word_start = i;
                }
                buf.push(b.to_ascii_lowercase() as char);
            } else {
                flush_word!(i);
                flush_cjk!(i);
            }
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        let len = c.len_utf8();
        if is_cjk(c) {
            flush_word!(i);
            if cjk_start.is_none() {
                cjk_start = Some(i);
            }
        } else if is_mark(c) {
            // A combining mark continues the word (its accent is dropped).
            flush_cjk!(i);
        } else if c.is_alphanumeric() {
            flush_cjk!(i);
            if buf.is_empty() {
                word_start = i;
            }
            push_folded(c, buf);
        } else {
            flush_word!(i);
            flush_cjk!(i);
        }
        i += len;
    }
    flush_word!(bytes.len());
    flush_cjk!(bytes.len());
}

/// Folds one word the way [`runs`] does (for filter values and tests).
pub fn fold(text: &str) -> String {
    let mut out = String::new();
    let mut buf = String::new();
    runs(text, &mut buf, &mut |run| match run {
        Run::Word { term, .. } => out.push_str(term),
        Run::Cjk { text, .. } => out.push_str(text),
    });
    out
}

/// One CJK character or a pair of neighbours, as the index stores them.
pub fn cjk_terms(run: &str, mut f: impl FnMut(usize, &str)) {
    let idx: Vec<usize> = run.char_indices().map(|(i, _)| i).chain(std::iter::once(run.len())).collect();
    let n = idx.len() - 1;
    for k in 0..n {
        f(k, &run[idx[k]..idx[k + 1]]);
        if k + 2 <= n {
            f(k, &run[idx[k]..idx[k + 2]]);
        }
    }
}

/// The bigrams of a CJK query word (or the single character), with their offsets.
pub fn cjk_query_terms(run: &str) -> Vec<(String, u32)> {
    let idx: Vec<usize> = run.char_indices().map(|(i, _)| i).chain(std::iter::once(run.len())).collect();
    let n = idx.len() - 1;
    if n == 1 {
        return vec![(run.to_owned(), 0)];
    }
    (0..n - 1).map(|k| (run[idx[k]..idx[k + 2]].to_owned(), k as u32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = String::new();
        runs(text, &mut buf, &mut |r| match r {
            Run::Word { term, .. } => out.push(term.to_owned()),
            Run::Cjk { text, .. } => out.push(format!("cjk:{text}")),
        });
        out
    }

    #[test]
    fn words_are_lowercased_and_lose_their_accents() {
        assert_eq!(
            words("Crème Brûlée, NAÏVE Straße Øresund ｆｕｌｌ"),
            ["creme", "brulee", "naive", "strasse", "oresund", "full"]
        );
        // Decomposed input (e + combining acute) folds like the composed one.
        assert_eq!(words("cafe\u{301} café"), ["cafe", "cafe"]);
    }

    #[test]
    fn cjk_runs_are_kept_whole_between_other_words() {
        assert_eq!(words("用Rust写数据库。好的"), ["cjk:用", "rust", "cjk:写数据库", "cjk:好的"]);
    }

    #[test]
    fn runs_report_byte_offsets_of_the_original_text() {
        let mut spans = Vec::new();
        let mut buf = String::new();
        runs("é x数据", &mut buf, &mut |r| match r {
            Run::Word { start, end, .. } | Run::Cjk { start, end, .. } => spans.push((start, end)),
        });
        assert_eq!(spans, [(0, 2), (3, 4), (4, 10)]);
    }

    #[test]
    fn very_long_words_are_cut_on_a_character_boundary() {
        let long = "é".repeat(100);
        let w = words(&long);
        assert!(w[0].len() <= MAX_TERM_BYTES && w[0].chars().all(|c| c == 'e'));
    }
}
