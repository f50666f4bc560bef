//! Running a parsed query over postings and the document table: each clause gives
//! the documents that satisfy it with a BM25 score, clauses are intersected (AND),
//! filters applied, every match counted, and the best `limit` kept.

use super::docs::DocTable;
use super::postings::{small_sort_by, DocCursor, PosCursor, PostingRef};
use super::query::{Clause, Query};

const K1: f32 = 1.2;
const B: f32 = 0.75;
/// A term found by expanding the word being typed weighs less than the word itself.
const EXPANSION_WEIGHT: f32 = 0.7;
/// Words of an unquoted query found side by side, in order, score this much more.
const ADJACENT_BONUS: f32 = 1.5;
/// Documents re-ranked by adjacency (their positions are read, which costs).
const RERANK: usize = 64;
/// Adjacency is not looked for when the words' postings add up to more than this
/// (reading them again took 10 ms for `the and of` at 100k messages).
const RERANK_MAX_POSTINGS: u32 = 60_000;

/// Where the postings of a term are: a source per segment, in document order.
pub trait Terms {
    fn postings<'s>(&'s self, term: &[u8], out: &mut Vec<PostingRef<'s>>);
    /// Terms starting with `prefix`, ascending, once each.
    fn prefix<'s>(&'s self, prefix: &[u8]) -> Vec<&'s [u8]>;
}

pub struct Ranked {
    pub total: usize,
    /// `(doc, score)`, best first.
    pub top: Vec<(u32, f32)>,
    /// For each document of `probe` given to [`run`]: whether the query matches it.
    pub probed: Vec<bool>,
}

struct Bm25<'d> {
    n: f32,
    a: f32,
    b: f32,
    lens: &'d [u32],
}

impl Bm25<'_> {
    fn new(docs: &DocTable) -> Bm25<'_> {
        Bm25 { n: docs.live.max(1) as f32, a: K1 * (1.0 - B), b: K1 * B / docs.avg_len(), lens: &docs.len }
    }

    fn idf(&self, df: u32) -> f32 {
        let df = (df as f32).min(self.n);
        (1.0 + (self.n - df + 0.5) / (df + 0.5)).ln()
    }

    #[inline]
    fn score(&self, idf: f32, tf: u32, doc: u32) -> f32 {
        let tf = tf as f32;
        let len = self.lens.get(doc as usize).copied().unwrap_or(0) as f32;
        idf * tf * (K1 + 1.0) / (tf + self.a + self.b * len)
    }
}

fn sources<'s>(terms: &'s impl Terms, term: &str) -> (Vec<PostingRef<'s>>, u32) {
    let mut out = Vec::new();
    terms.postings(term.as_bytes(), &mut out);
    let df = out.iter().map(|s| s.df).sum();
    (out, df)
}

fn term_docs(terms: &impl Terms, docs: &DocTable, bm: &Bm25, term: &str) -> Vec<(u32, f32)> {
    let (srcs, df) = sources(terms, term);
    let idf = bm.idf(df);
    let mut out = Vec::with_capacity(df as usize);
    let mut c = DocCursor::new(&srcs);
    while let Some((d, tf)) = c.next() {
        if docs.is_live(d) {
            out.push((d, bm.score(idf, tf, d)));
        }
    }
    out
}

fn prefix_docs(terms: &impl Terms, docs: &DocTable, bm: &Bm25, prefix: &str) -> Vec<(u32, f32)> {
    let expanded = terms.prefix(prefix.as_bytes());
    if expanded.len() <= 1 {
        return match expanded.first().and_then(|t| std::str::from_utf8(t).ok()) {
            Some(t) => term_docs(terms, docs, bm, t),
            None => Vec::new(),
        };
    }
    // Many terms: add their scores into one array over all documents.
    let slots = docs.slots() as usize;
    let mut acc = vec![0f32; slots];
    let mut seen = vec![0u64; slots.div_ceil(64)];
    let mut srcs = Vec::new();
    for term in expanded {
        srcs.clear();
        terms.postings(term, &mut srcs);
        let df = srcs.iter().map(|s| s.df).sum();
        let w = if term == prefix.as_bytes() { 1.0 } else { EXPANSION_WEIGHT };
        let idf = bm.idf(df) * w;
        let mut c = DocCursor::new(&srcs);
        while let Some((d, tf)) = c.next() {
            if docs.is_live(d) {
                acc[d as usize] += bm.score(idf, tf, d);
                seen[d as usize / 64] |= 1 << (d % 64);
            }
        }
    }
    let mut out = Vec::new();
    for (w, &bits) in seen.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            let d = w * 64 + bits.trailing_zeros() as usize;
            out.push((d as u32, acc[d]));
            bits &= bits - 1;
        }
    }
    out
}

/// Documents where every term sits at its offset from the others.
fn phrase_docs(terms: &impl Terms, docs: &DocTable, bm: &Bm25, phrase: &[(String, u32)]) -> Vec<(u32, f32)> {
    let lists: Vec<(Vec<PostingRef>, u32, u32)> = phrase
        .iter()
        .map(|(t, off)| {
            let (s, df) = sources(terms, t);
            (s, df, *off)
        })
        .collect();
    if lists.iter().any(|(s, _, _)| s.is_empty()) {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..lists.len()).collect();
    small_sort_by(&mut order, |&a, &b| lists[a].1 < lists[b].1);
    let idfs: Vec<f32> = lists.iter().map(|l| bm.idf(l.1)).collect();
    let mut cursors: Vec<PosCursor> = lists.iter().map(|l| PosCursor::new(&l.0)).collect();
    let mut heads: Vec<Option<(u32, u32)>> = vec![None; lists.len()];
    let mut pos: Vec<Vec<u32>> = vec![Vec::new(); lists.len()];
    let mut out = Vec::new();
    let lead = order[0];
    'docs: while let Some((d, tf)) = cursors[lead].next_doc() {
        let mut score = bm.score(idfs[lead], tf, d);
        for &i in &order[1..] {
            while heads[i].is_none_or(|(hd, _)| hd < d) {
                match cursors[i].next_doc() {
                    Some(h) => heads[i] = Some(h),
                    None => break 'docs,
                }
            }
            match heads[i] {
                Some((hd, tf)) if hd == d => score += bm.score(idfs[i], tf, d),
                _ => continue 'docs,
            }
        }
        if !docs.is_live(d) {
            continue;
        }
        for &i in &order {
            cursors[i].positions(&mut pos[i]);
        }
        let off_lead = lists[lead].2;
        let found = pos[lead].iter().any(|&p| {
            p >= off_lead && order[1..].iter().all(|&i| pos[i].binary_search(&(p - off_lead + lists[i].2)).is_ok())
        });
        if found {
            out.push((d, score));
        }
    }
    out
}

fn intersect(a: Vec<(u32, f32)>, b: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn better(docs: &DocTable, a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1)
        .then_with(|| docs.ts.get(b.0 as usize).cmp(&docs.ts.get(a.0 as usize)))
        .then_with(|| b.0.cmp(&a.0))
}

/// The best `limit` of `v`, best first: a heap over all of them (O(n)), then `limit`
/// pops (O(limit log n)). Smaller in wasm than the standard select and sort.
fn keep_best(docs: &DocTable, mut v: Vec<(u32, f32)>, limit: usize) -> Vec<(u32, f32)> {
    let first = |a: &(u32, f32), b: &(u32, f32)| better(docs, a, b) == std::cmp::Ordering::Less;
    let sift = |v: &mut [(u32, f32)], mut root: usize| {
        let end = v.len();
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                break;
            }
            if child + 1 < end && first(&v[child + 1], &v[child]) {
                child += 1;
            }
            if !first(&v[child], &v[root]) {
                break;
            }
            v.swap(root, child);
            root = child;
        }
    };
    for i in (0..v.len() / 2).rev() {
        sift(&mut v, i);
    }
    let mut out = Vec::with_capacity(limit.min(v.len()));
    while out.len() < limit && !v.is_empty() {
        let last = v.len() - 1;
        v.swap(0, last);
        out.extend(v.pop());
        sift(&mut v, 0);
    }
    out
}

/// Raises documents of `top` where the query's words stand side by side, in order.
fn adjacency_bonus(terms: &impl Terms, words: &[&str], top: &mut [(u32, f32)]) {
    let mut wanted: Vec<u32> = top.iter().map(|h| h.0).collect();
    small_sort_by(&mut wanted, |a, b| a < b);
    let mut found: Vec<Vec<Vec<u32>>> = Vec::with_capacity(words.len());
    for w in words {
        let (srcs, _) = sources(terms, w);
        let mut c = PosCursor::new(&srcs);
        let mut per_doc = vec![Vec::new(); wanted.len()];
        let mut k = 0;
        while let Some((d, _)) = c.next_doc() {
            while k < wanted.len() && wanted[k] < d {
                k += 1;
            }
            if k == wanted.len() {
                break;
            }
            if wanted[k] == d {
                c.positions(&mut per_doc[k]);
            }
        }
        found.push(per_doc);
    }
    for hit in top.iter_mut() {
        let Ok(k) = wanted.binary_search(&hit.0) else { continue };
        let adjacent =
            found[0][k].iter().any(|&p| (1..words.len()).all(|i| found[i][k].binary_search(&(p + i as u32)).is_ok()));
        if adjacent {
            hit.1 *= ADJACENT_BONUS;
        }
    }
}

/// Whether a document passes the query's filters (`site:`, `role:`, `before:`, `after:`).
pub fn filters<'a>(q: &'a Query, docs: &'a DocTable) -> impl Fn(u32) -> bool + 'a {
    let sites: Vec<u16> = q.sites.iter().filter_map(|s| docs.site_code(s)).collect();
    let roles: Vec<u8> = q.roles.iter().filter_map(|r| docs.role_code(r)).collect();
    let (want_site, want_role) = (!q.sites.is_empty(), !q.roles.is_empty());
    move |d: u32| {
        let d = d as usize;
        (!want_site || sites.contains(&docs.site[d]))
            && (!want_role || roles.contains(&docs.role[d]))
            && q.before.is_none_or(|b| docs.ts[d] < b)
            && q.after.is_none_or(|a| docs.ts[d] >= a)
    }
}

/// Runs `q`: every match counted, the best `limit` ranked, and for each document of
/// `probe` whether it matches (the meaning leg's candidates).
pub fn run(q: &Query, terms: &impl Terms, docs: &DocTable, limit: usize, probe: &[u32]) -> Ranked {
    let bm = Bm25::new(docs);
    let mut matched: Option<Vec<(u32, f32)>> = None;
    // Cheapest clauses first: single terms, then phrases, then expansions.
    let rank = |c: &Clause| match c {
        Clause::Term(_) => 0,
        Clause::Phrase(_) => 1,
        Clause::Prefix(_) => 2,
    };
    let mut clauses: Vec<&Clause> = q.clauses.iter().collect();
    small_sort_by(&mut clauses, |a, b| rank(a) < rank(b));
    for clause in clauses {
        if matched.as_ref().is_some_and(|m| m.is_empty()) {
            break;
        }
        let docs_of = match clause {
            Clause::Term(t) => term_docs(terms, docs, &bm, t),
            Clause::Phrase(p) => phrase_docs(terms, docs, &bm, p),
            Clause::Prefix(p) => prefix_docs(terms, docs, &bm, p),
        };
        matched = Some(match matched {
            None => docs_of,
            Some(m) if m.len() <= docs_of.len() => intersect(m, &docs_of),
            Some(m) => intersect(docs_of, &m),
        });
    }
    let mut matched = match matched {
        Some(m) => m,
        None if q.has_filters() => (0..docs.slots()).filter(|&d| docs.is_live(d)).map(|d| (d, 0.0)).collect(),
        None => Vec::new(),
    };
    if q.has_filters() {
        let passes = filters(q, docs);
        matched.retain(|&(d, _)| passes(d));
    }
    let total = matched.len();
    // `matched` is in document order: every clause's documents are.
    let probed = probe.iter().map(|d| matched.binary_search_by_key(d, |m| m.0).is_ok()).collect();
    let words: Vec<&str> =
        q.clauses.iter().filter_map(|c| if let Clause::Term(t) = c { Some(t.as_str()) } else { None }).collect();
    let postings: u32 = words.iter().map(|w| sources(terms, w).1).sum();
    let top = if words.len() >= 2 && words.len() == q.clauses.len() && postings <= RERANK_MAX_POSTINGS {
        let mut top = keep_best(docs, matched, limit.max(RERANK));
        adjacency_bonus(terms, &words, &mut top);
        keep_best(docs, top, limit)
    } else {
        keep_best(docs, matched, limit)
    };
    Ranked { total, top, probed }
}
