//! Reading what a person typed: words (all must match), a quoted phrase, the word
//! still being typed (matched as a prefix), and filters `site:`, `role:`,
//! `before:YYYY-MM-DD`, `after:YYYY-MM-DD`. Nothing typed is an error: what cannot
//! be used is left out and explained in a short hint.

use super::tokenize::{self, Run};

/// Queries are cut to this many characters (a pasted page is not a search).
pub const MAX_QUERY_CHARS: usize = 512;
/// At most this many words and phrases are used.
pub const MAX_CLAUSES: usize = 16;

/// Something every matching document must hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// One term.
    Term(String),
    /// Terms at fixed offsets from each other: a quoted phrase or a CJK word.
    Phrase(Vec<(String, u32)>),
    /// The word being typed: any term starting with it.
    Prefix(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub clauses: Vec<Clause>,
    /// Any of these sites (folded names); empty for all.
    pub sites: Vec<String>,
    pub roles: Vec<String>,
    /// Milliseconds since the epoch: `ts < before` and `ts >= after`.
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub hint: Option<String>,
}

impl Query {
    pub fn has_filters(&self) -> bool {
        !self.sites.is_empty() || !self.roles.is_empty() || self.before.is_some() || self.after.is_some()
    }
}

const ROLES: [&str; 4] = ["user", "assistant", "system", "tool"];

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` to the first millisecond of that day (UTC), if it is a real date.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > days_in[(m - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400_000)
}

/// Splits the query into pieces `(text, quoted)`; true when a quote is not closed.
fn pieces(q: &str) -> (Vec<(&str, bool)>, bool) {
    let mut out = Vec::new();
    let mut rest = q;
    let mut unbalanced = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('"') {
            match after.find('"') {
                Some(end) => {
                    out.push((&after[..end], true));
                    rest = &after[end + 1..];
                }
                None => {
                    unbalanced = true;
                    out.push((after, true));
                    rest = "";
                }
            }
        } else {
            let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
            out.push((&rest[..end], false));
            rest = &rest[end..];
        }
    }
    (out, unbalanced)
}

fn note(hints: &mut Vec<String>, h: String) {
    if !hints.contains(&h) {
        hints.push(h);
    }
}

/// Adds the clauses of plain (unquoted) text; returns whether its last run was a word.
fn word_clauses(text: &str, clauses: &mut Vec<Clause>) -> Option<usize> {
    let mut buf = String::new();
    let mut last_word = None;
    tokenize::runs(text, &mut buf, &mut |run| match run {
        Run::Word { term, .. } => {
            clauses.push(Clause::Term(term.to_owned()));
            last_word = Some(clauses.len() - 1);
        }
        Run::Cjk { text, .. } => {
            let terms = tokenize::cjk_query_terms(text);
            clauses.push(if terms.len() == 1 { Clause::Term(terms[0].0.clone()) } else { Clause::Phrase(terms) });
            last_word = None;
        }
    });
    last_word
}

fn phrase_clause(text: &str) -> Option<Clause> {
    let mut buf = String::new();
    let mut terms: Vec<(String, u32)> = Vec::new();
    let mut pos = 0u32;
    tokenize::runs(text, &mut buf, &mut |run| match run {
        Run::Word { term, .. } => {
            terms.push((term.to_owned(), pos));
            pos += 1;
        }
        Run::Cjk { text, .. } => {
            let n = text.chars().count() as u32;
            for (t, off) in tokenize::cjk_query_terms(text) {
                terms.push((t, pos + off));
            }
            pos += n;
        }
    });
    match terms.len() {
        0 => None,
        1 => Some(Clause::Term(terms.pop()?.0)),
        _ => Some(Clause::Phrase(terms)),
    }
}

/// Reads a query. Never fails: see [`Query::hint`].
pub fn parse(input: &str) -> Query {
    let mut hints = Vec::new();
    let mut q = Query::default();
    let mut text = input;
    if let Some((cut, _)) = input.char_indices().nth(MAX_QUERY_CHARS) {
        text = &input[..cut];
        note(&mut hints, format!("Only the first {MAX_QUERY_CHARS} characters were searched."));
    }
    let typing = !text.ends_with(char::is_whitespace);
    let (pieces, unbalanced) = pieces(text);
    if unbalanced {
        note(&mut hints, "A closing quote is missing: the quoted words were searched as a phrase.".into());
    }
    let mut last_word: Option<usize> = None;
    for (piece, quoted) in pieces {
        last_word = None;
        if quoted {
            q.clauses.extend(phrase_clause(piece));
            continue;
        }
        if let Some((key, value)) = piece.split_once(':') {
            let known = match key.to_ascii_lowercase().as_str() {
                "site" => {
                    let v = value.to_ascii_lowercase();
                    if v.is_empty() {
                        note(&mut hints, "Write a site after site:, for example site:claude.".into());
                    } else {
                        q.sites.push(v);
                    }
                    true
                }
                "role" => {
                    let v = value.to_ascii_lowercase();
                    if ROLES.contains(&v.as_str()) {
                        q.roles.push(v);
                    } else {
                        note(&mut hints, "role: is one of user, assistant, system, tool.".into());
                        q.roles.push(v);
                    }
                    true
                }
                k @ ("before" | "after") => {
                    match parse_date(value) {
                        Some(ms) if k == "before" => q.before = Some(q.before.map_or(ms, |b| b.min(ms))),
                        Some(ms) => q.after = Some(q.after.map_or(ms, |a| a.max(ms))),
                        None => note(&mut hints, format!("{k}: needs a real date as YYYY-MM-DD; it was left out.")),
                    }
                    true
                }
                _ => false,
            };
            if known {
                continue;
            }
            if !key.is_empty()
                && key.len() <= 12
                && key.chars().all(|c| c.is_ascii_alphabetic())
                && !value.starts_with("//")
            {
                note(
                    &mut hints,
                    format!("{key}: is not a filter (use site:, role:, before:, after:); searched as words."),
                );
            }
        }
        last_word = word_clauses(piece, &mut q.clauses);
    }
    // The last word is still being typed unless a space follows it; one letter is
    // too little to expand.
    if typing {
        if let Some(i) = last_word {
            if let Clause::Term(t) = &q.clauses[i] {
                if t.chars().count() >= 2 {
                    q.clauses[i] = Clause::Prefix(t.clone());
                }
            }
        }
    }
    if q.clauses.len() > MAX_CLAUSES {
        q.clauses.truncate(MAX_CLAUSES);
        note(&mut hints, format!("Only the first {MAX_CLAUSES} words were searched."));
    }
    if q.clauses.is_empty() && !q.has_filters() && hints.is_empty() {
        note(&mut hints, "Type a word to search.".into());
    }
    if let (Some(b), Some(a)) = (q.before, q.after) {
        if b <= a {
            note(&mut hints, "before: is not later than after:, so nothing can match.".into());
        }
    }
    q.hint = if hints.is_empty() { None } else { Some(hints.join(" ")) };
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_prefix_and_filters_are_read() {
        let q = parse(r#"rust "borrow checker" site:Claude role:user after:2024-01-31 before:2024-03-01 lif"#);
        assert_eq!(
            q.clauses,
            [
                Clause::Term("rust".into()),
                Clause::Phrase(vec![("borrow".into(), 0), ("checker".into(), 1)]),
                Clause::Prefix("lif".into())
            ]
        );
        assert_eq!((q.sites, q.roles), (vec!["claude".to_owned()], vec!["user".to_owned()]));
        assert_eq!(q.after, Some(days_from_civil(2024, 1, 31) * 86_400_000));
        assert_eq!(q.before, Some(1_709_251_200_000));
        assert_eq!(q.hint, None);
    }

    #[test]
    fn a_trailing_space_ends_the_typed_word() {
        assert_eq!(parse("rust ").clauses, [Clause::Term("rust".into())]);
    }

    #[test]
    fn impossible_dates_are_left_out_with_a_hint() {
        for d in ["2024-02-30", "2023-02-29", "2024-13-01", "24-01-01", "2024-1-1", "2024-01-0x"] {
            let q = parse(&format!("before:{d} x"));
            assert_eq!(q.before, None, "{d}");
            assert!(q.hint.unwrap().contains("YYYY-MM-DD"));
        }
        assert!(parse_date("2024-02-29").is_some());
    }
}
