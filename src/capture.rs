//! Merging a captured snapshot into what is stored (pure).
//!
//! A content script sends what the page shows now; pages virtualise long threads,
//! stream answers, and replace edited or regenerated turns. The rules:
//!
//! 1. A snapshot turn is matched to a stored one by the site's turn id, else by role
//!    and text (also against earlier versions), searching forward from the previous
//!    match so repeated short texts ("ok") line up in order.
//! 2. An unmatched turn right after a matched one, with the same role as the stored
//!    turn in that slot, replaces that turn's text: in place while the stored turn was
//!    streaming or the new text only grows, otherwise keeping the old text as an
//!    earlier version (an edit or a regeneration). A stored turn that appears later in
//!    the snapshot is not replaced: the new turn is inserted before it instead.
//! 3. Any other unmatched turn is inserted after the previous match, or appended.
//! 4. Stored turns missing from the snapshot are never deleted.
//! 5. The same snapshot twice changes nothing.
//! 6. Texts that differ only in formatting (the page's rendering against the site's own
//!    Markdown, see [`similar`]) are the same turn: a turn matched by its text keeps the
//!    stored text, so the page and the site's data never make versions of each other.
//!
//! [`merge_thread`] merges the whole thread read from the site's own data (the current
//! branch, with the other branches as versions) by the same matching.

use serde::{Deserialize, Serialize};

use crate::model::{Conversation, Message, Provenance, Role, Site};

/// What a content script reports about one conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub site: Site,
    pub conversation_id: String,
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub messages: Vec<SnapshotMessage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMessage {
    pub role: Role,
    pub markdown: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    #[serde(default)]
    pub streaming: bool,
}

/// The merged conversation and which message positions must be written again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeOutcome {
    pub conversation: Conversation,
    /// Positions whose record changed (new, updated, or moved by an insertion).
    pub changed: Vec<usize>,
    /// The conversation's own record (title, url, model, dates, count) changed.
    pub header_changed: bool,
    pub added: usize,
    pub updated: usize,
}

impl MergeOutcome {
    pub fn is_unchanged(&self) -> bool {
        !self.header_changed && self.changed.is_empty()
    }
}

fn same_text(stored: &Message, text: &str) -> bool {
    stored.markdown == text || stored.versions.iter().any(|v| v == text)
}

/// The words of a text, lowercased, without punctuation or Markdown marks.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether two texts are the same turn written two ways: the same words (formatting,
/// escapes and punctuation aside), or, for texts of eight words or more, nine in ten
/// words in common (a page shows citation numbers, labels and card titles the site's
/// Markdown does not have).
pub fn similar(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (mut x, mut y) = (words(a), words(b));
    if x.is_empty() || y.is_empty() {
        return false;
    }
    if x == y {
        return true;
    }
    if x.len() < 8 || y.len() < 8 {
        return false;
    }
    x.sort_unstable();
    y.sort_unstable();
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common * 20 >= (x.len() + y.len()) * 9
}

/// Whether the snapshot turn `s` is one of `stored` (same site id, or same role and
/// text, formatting aside), wherever it is.
pub fn is_stored(stored: &[Message], s: &SnapshotMessage) -> bool {
    stored.iter().any(|m| {
        s.turn_id.is_some() && m.turn_id == s.turn_id
            || m.role == s.role && ids_agree(m, s.turn_id.as_deref()) && same_turn_text(m, &s.markdown)
    })
}

/// Same text as the stored turn or one of its versions, formatting aside.
fn same_turn_text(stored: &Message, text: &str) -> bool {
    similar(&stored.markdown, text) || stored.versions.iter().any(|v| similar(v, text))
}

fn grows(old: &str, new: &str) -> bool {
    new.starts_with(old.trim_end())
}

/// At most this many earlier versions are kept per turn: the newest ones (a site that
/// rewrites one turn again and again must not make it grow without limit).
pub const MAX_VERSIONS: usize = 20;

/// Keeps `old` as an earlier version unless it is one already (or is the text now),
/// dropping the oldest versions beyond [`MAX_VERSIONS`].
fn push_version(m: &mut Message, old: String) {
    if old != m.markdown && !m.versions.contains(&old) {
        m.versions.push(old);
        cap_versions(m);
    }
}

/// Drops the oldest versions of `m` beyond [`MAX_VERSIONS`] (versions are kept oldest first).
fn cap_versions(m: &mut Message) {
    if m.versions.len() > MAX_VERSIONS {
        let extra = m.versions.len() - MAX_VERSIONS;
        m.versions.drain(..extra);
    }
}

/// A stored turn may be matched by text only when no two different site ids say otherwise.
fn ids_agree(stored: &Message, id: Option<&str>) -> bool {
    match (stored.turn_id.as_deref(), id) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Merges `snapshot` into `stored` (None for a conversation seen for the first time).
pub fn merge(stored: Option<Conversation>, snapshot: &Snapshot, now: i64) -> MergeOutcome {
    let is_new = stored.is_none();
    let mut conv = stored.unwrap_or_else(|| Conversation {
        site: snapshot.site.clone(),
        conversation_id: snapshot.conversation_id.clone(),
        title: String::new(),
        url: String::new(),
        model: None,
        created_at: now,
        updated_at: now,
        messages: Vec::new(),
    });
    let mut header_changed = is_new;
    let mut matched = vec![false; conv.messages.len()];
    let mut first_shift = usize::MAX; // the first position moved by an insertion
    let mut touched: Vec<usize> = Vec::new();
    let (mut added, mut updated) = (0, 0);
    let mut prev: Option<usize> = None;

    let incoming: Vec<&SnapshotMessage> =
        snapshot.messages.iter().filter(|m| !m.markdown.trim().is_empty() || m.streaming).collect();
    for (i, s) in incoming.iter().enumerate() {
        let start = prev.map_or(0, |p| p + 1);
        let msgs = &conv.messages;
        let by_id = s
            .turn_id
            .as_ref()
            .and_then(|id| (0..msgs.len()).find(|&j| !matched[j] && msgs[j].turn_id.as_deref() == Some(id.as_str())));
        let by_text = || {
            (start..msgs.len()).find(|&j| {
                !matched[j]
                    && msgs[j].role == s.role
                    && ids_agree(&msgs[j], s.turn_id.as_deref())
                    && same_turn_text(&msgs[j], &s.markdown)
            })
        };
        let found_by_id = by_id.is_some();
        let pos = match by_id.or_else(by_text) {
            Some(j) => {
                let m = &mut conv.messages[j];
                let mut changed = false;
                // The same words written another way is the same text (rule 6); a turn
                // found by its text is that text already.
                let reworded = |m: &Message| {
                    !m.streaming
                        && !s.streaming
                        && (!found_by_id || !words(&s.markdown).is_empty() && words(&m.markdown) == words(&s.markdown))
                };
                if m.markdown != s.markdown && !m.versions.contains(&s.markdown) && !reworded(m) {
                    // Same turn id, new text: streaming growth or an edit.
                    if !(m.streaming || grows(&m.markdown, &s.markdown)) {
                        let old = std::mem::take(&mut m.markdown);
                        push_version(m, old);
                    }
                    m.markdown = s.markdown.clone();
                    changed = true;
                }
                if m.streaming != s.streaming && !(s.streaming && !m.streaming && !changed) {
                    m.streaming = s.streaming;
                    changed = true;
                }
                if m.turn_id.is_none() && s.turn_id.is_some() {
                    m.turn_id = s.turn_id.clone();
                    changed = true;
                }
                if changed {
                    m.provenance.last_seen = now;
                    touched.push(j);
                    updated += 1;
                }
                j
            }
            None => {
                let slot = prev.map(|p| p + 1).filter(|&j| j < msgs.len() && !matched[j] && msgs[j].role == s.role);
                let reappears_later = |j: usize| {
                    incoming[i + 1..].iter().any(|later| {
                        later.turn_id.is_some() && later.turn_id == msgs[j].turn_id
                            || later.role == msgs[j].role && same_turn_text(&msgs[j], &later.markdown)
                    })
                };
                match slot.filter(|&j| !reappears_later(j)) {
                    Some(j) => {
                        let m = &mut conv.messages[j];
                        if !(m.streaming || grows(&m.markdown, &s.markdown)) {
                            let old = std::mem::take(&mut m.markdown);
                            push_version(m, old);
                        }
                        m.markdown = s.markdown.clone();
                        m.streaming = s.streaming;
                        m.turn_id = s.turn_id.clone().or(m.turn_id.take());
                        m.provenance.last_seen = now;
                        touched.push(j);
                        updated += 1;
                        j
                    }
                    None => {
                        let at = if prev.is_some() { start } else { conv.messages.len() };
                        conv.messages.insert(
                            at,
                            Message {
                                turn_id: s.turn_id.clone(),
                                role: s.role,
                                markdown: s.markdown.clone(),
                                streaming: s.streaming,
                                versions: Vec::new(),
                                metadata: Default::default(),
                                provenance: Provenance {
                                    url: Some(snapshot.url.clone()),
                                    model: if s.role == Role::Assistant { snapshot.model.clone() } else { None },
                                    first_seen: now,
                                    last_seen: now,
                                    source: Some("capture".into()),
                                },
                            },
                        );
                        matched.insert(at, false);
                        first_shift = first_shift.min(at);
                        added += 1;
                        at
                    }
                }
            }
        };
        matched[pos] = true;
        prev = Some(pos);
    }

    let mut changed: Vec<usize> = touched.into_iter().filter(|&j| j < first_shift).collect();
    if first_shift != usize::MAX {
        changed.extend(first_shift..conv.messages.len());
    }
    changed.sort_unstable();
    changed.dedup();

    if !snapshot.title.trim().is_empty() && conv.title != snapshot.title.trim() {
        conv.title = snapshot.title.trim().to_owned();
        header_changed = true;
    }
    if conv.url.is_empty() && !snapshot.url.is_empty() {
        conv.url = snapshot.url.clone();
        header_changed = true;
    }
    if snapshot.model.is_some() && conv.model != snapshot.model {
        conv.model = snapshot.model.clone();
        header_changed = true;
    }
    if !changed.is_empty() {
        header_changed = true;
    }
    if header_changed {
        conv.updated_at = now;
    }
    MergeOutcome { conversation: conv, changed, header_changed, added, updated }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn snap(turns: &[(Role, &str)]) -> Snapshot {
        Snapshot {
            site: Site::Claude,
            conversation_id: "c1".into(),
            url: "https://claude.ai/chat/c1".into(),
            title: "Plans".into(),
            model: None,
            messages: turns
                .iter()
                .map(|(role, text)| SnapshotMessage {
                    role: *role,
                    markdown: (*text).into(),
                    turn_id: None,
                    streaming: false,
                })
                .collect(),
        }
    }

    pub(super) fn texts(c: &Conversation) -> Vec<&str> {
        c.messages.iter().map(|m| m.markdown.as_str()).collect()
    }

    use Role::{Assistant as A, User as U};

    #[test]
    fn a_first_snapshot_stores_every_turn_in_order_with_provenance() {
        let out = merge(None, &snap(&[(U, "hi"), (A, "hello")]), 10);
        assert_eq!(texts(&out.conversation), ["hi", "hello"]);
        assert_eq!(out.added, 2);
        assert_eq!(out.changed, [0, 1]);
        let p = &out.conversation.messages[1].provenance;
        assert_eq!((p.first_seen, p.last_seen), (10, 10));
        assert_eq!(p.url.as_deref(), Some("https://claude.ai/chat/c1"));
        assert_eq!(out.conversation.title, "Plans");
        assert_eq!(out.conversation.created_at, 10);
    }

    #[test]
    fn the_same_snapshot_twice_changes_nothing() {
        let s = snap(&[(U, "hi"), (A, "hello")]);
        let first = merge(None, &s, 10).conversation;
        let again = merge(Some(first.clone()), &s, 20);
        assert!(again.is_unchanged());
        assert_eq!(again.conversation, first);
    }

    #[test]
    fn new_turns_are_appended() {
        let first = merge(None, &snap(&[(U, "hi"), (A, "hello")]), 10).conversation;
        let out = merge(Some(first), &snap(&[(U, "hi"), (A, "hello"), (U, "more?"), (A, "sure")]), 20);
        assert_eq!(texts(&out.conversation), ["hi", "hello", "more?", "sure"]);
        assert_eq!(out.changed, [2, 3]);
        assert_eq!(out.added, 2);
    }

    #[test]
    fn a_streaming_turn_is_updated_in_place_until_final() {
        let mut s = snap(&[(U, "write a poem"), (A, "Roses")]);
        s.messages[1].streaming = true;
        let c = merge(None, &s, 1).conversation;
        s.messages[1].markdown = "Roses are red".into();
        let c = merge(Some(c), &s, 2).conversation;
        s.messages[1].markdown = "Roses are red,\nviolets are blue.".into();
        s.messages[1].streaming = false;
        let out = merge(Some(c), &s, 3);
        assert_eq!(out.conversation.messages.len(), 2);
        let m = &out.conversation.messages[1];
        assert_eq!(m.markdown, "Roses are red,\nviolets are blue.");
        assert!(!m.streaming);
        assert!(m.versions.is_empty());
        assert_eq!((m.provenance.first_seen, m.provenance.last_seen), (1, 3));
    }

    #[test]
    fn a_turn_rewritten_a_thousand_times_keeps_only_the_newest_versions() {
        let mut c = merge(None, &snap(&[(U, "q"), (A, "0 answer")]), 0).conversation;
        for i in 1..=1000 {
            c = merge(Some(c), &snap(&[(U, "q"), (A, &format!("{i} answer"))]), i).conversation;
        }
        let m = &c.messages[1];
        assert_eq!(m.markdown, "1000 answer");
        let newest: Vec<String> = (1000 - MAX_VERSIONS as i64..1000).map(|i| format!("{i} answer")).collect();
        assert_eq!(m.versions, newest);
    }

    #[test]
    fn a_turn_still_streaming_when_the_tab_closes_stays_marked_unfinished() {
        let mut s = snap(&[(U, "q"), (A, "partial answ")]);
        s.messages[1].streaming = true;
        let c = merge(None, &s, 1).conversation;
        assert!(c.messages[1].streaming);
    }

    #[test]
    fn an_edited_or_regenerated_turn_keeps_its_earlier_version() {
        let c = merge(None, &snap(&[(U, "q"), (A, "first answer")]), 1).conversation;
        let out = merge(Some(c), &snap(&[(U, "q"), (A, "a different answer")]), 2);
        let m = &out.conversation.messages[1];
        assert_eq!(m.markdown, "a different answer");
        assert_eq!(m.versions, ["first answer"]);
        assert_eq!(out.updated, 1);
        // Flipping back to the earlier version on the page adds nothing.
        let back = merge(Some(out.conversation.clone()), &snap(&[(U, "q"), (A, "first answer")]), 3);
        assert!(back.is_unchanged());
    }

    #[test]
    fn turns_missing_from_a_snapshot_are_never_deleted() {
        let all: Vec<(Role, String)> = (0..10).map(|i| (if i % 2 == 0 { U } else { A }, format!("turn {i}"))).collect();
        let refs: Vec<(Role, &str)> = all.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let c = merge(None, &snap(&refs[..6]), 1).conversation;
        // The page dropped turns 0..4 and shows 4..10.
        let out = merge(Some(c), &snap(&refs[4..]), 2);
        let want: Vec<&str> = all.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts(&out.conversation), want);
        assert_eq!(out.added, 4);
    }

    #[test]
    fn repeated_short_texts_line_up_in_order() {
        let c = merge(None, &snap(&[(U, "ok"), (A, "done"), (U, "ok"), (A, "done")]), 1).conversation;
        let out = merge(Some(c), &snap(&[(U, "ok"), (A, "done"), (U, "ok"), (A, "done"), (U, "ok")]), 2);
        assert_eq!(out.conversation.messages.len(), 5);
        assert_eq!(out.changed, [4]);
    }

    #[test]
    fn turn_ids_match_even_when_the_text_changed() {
        let mut s = snap(&[(U, "q"), (A, "v1")]);
        s.messages[1].turn_id = Some("m2".into());
        let c = merge(None, &s, 1).conversation;
        s.messages[1].markdown = "v2 entirely new".into();
        let out = merge(Some(c), &s, 2);
        assert_eq!(out.conversation.messages.len(), 2);
        assert_eq!(out.conversation.messages[1].versions, ["v1"]);
    }

    #[test]
    fn a_regenerated_turn_with_a_new_id_replaces_the_old_one_as_a_version() {
        let mut s = snap(&[(U, "q"), (A, "old")]);
        s.messages[0].turn_id = Some("u1".into());
        s.messages[1].turn_id = Some("a1".into());
        let c = merge(None, &s, 1).conversation;
        s.messages[1].turn_id = Some("a2".into());
        s.messages[1].markdown = "regenerated".into();
        let out = merge(Some(c), &s, 2);
        assert_eq!(texts(&out.conversation), ["q", "regenerated"]);
        assert_eq!(out.conversation.messages[1].versions, ["old"]);
        assert_eq!(out.conversation.messages[1].turn_id.as_deref(), Some("a2"));
    }

    #[test]
    fn a_turn_inserted_before_a_stored_one_does_not_overwrite_it() {
        let c = merge(None, &snap(&[(U, "a"), (A, "b")]), 1).conversation;
        let out = merge(Some(c), &snap(&[(U, "a"), (A, "inserted"), (A, "b")]), 2);
        assert_eq!(texts(&out.conversation), ["a", "inserted", "b"]);
        assert_eq!(out.changed, [1, 2]);
        assert!(out.conversation.messages.iter().all(|m| m.versions.is_empty()));
    }

    #[test]
    fn a_window_of_only_new_turns_is_appended() {
        let c = merge(None, &snap(&[(U, "a"), (A, "b")]), 1).conversation;
        let out = merge(Some(c), &snap(&[(U, "c"), (A, "d")]), 2);
        assert_eq!(texts(&out.conversation), ["a", "b", "c", "d"]);
    }

    #[test]
    fn empty_turns_are_ignored_and_the_model_and_title_are_kept() {
        let mut s = snap(&[(U, "q"), (A, "  ")]);
        s.model = Some("gpt-5-2".into());
        let out = merge(None, &s, 1);
        assert_eq!(out.conversation.messages.len(), 1);
        assert_eq!(out.conversation.model.as_deref(), Some("gpt-5-2"));
        let mut untitled = s.clone();
        untitled.title = String::new();
        let again = merge(Some(out.conversation.clone()), &untitled, 2);
        assert_eq!(again.conversation.title, "Plans");
        assert!(again.is_unchanged());
    }
}

/// Merges a conversation read from a file (an archive or an official export) into the
/// stored one. Imported turns are final: a turn already stored (same turn id, or same
/// role and text, or one of its earlier versions) is kept as it is; any other turn is
/// inserted after the previous matched turn, keeping its provenance, versions and
/// metadata. Nothing stored is removed. Importing the same file twice changes nothing.
pub fn merge_imported(stored: Option<Conversation>, incoming: Conversation) -> MergeOutcome {
    let Some(mut conv) = stored else {
        let n = incoming.messages.len();
        return MergeOutcome {
            conversation: incoming,
            changed: (0..n).collect(),
            header_changed: true,
            added: n,
            updated: 0,
        };
    };
    let mut matched = vec![false; conv.messages.len()];
    let mut prev: Option<usize> = None;
    let mut first_shift = usize::MAX;
    let mut added = 0;
    for m in &incoming.messages {
        let start = prev.map_or(0, |p| p + 1);
        let msgs = &conv.messages;
        let by_id = m
            .turn_id
            .as_ref()
            .and_then(|id| (0..msgs.len()).find(|&j| !matched[j] && msgs[j].turn_id.as_deref() == Some(id.as_str())));
        let found = by_id.or_else(|| {
            (start..msgs.len())
                .chain(0..start.min(msgs.len()))
                .find(|&j| !matched[j] && msgs[j].role == m.role && same_text(&msgs[j], &m.markdown))
        });
        let pos = match found {
            Some(j) => j,
            None => {
                let at = if prev.is_some() { start } else { conv.messages.len() };
                conv.messages.insert(at, m.clone());
                matched.insert(at, false);
                first_shift = first_shift.min(at);
                added += 1;
                at
            }
        };
        matched[pos] = true;
        prev = Some(pos);
    }
    let mut header_changed = false;
    if conv.title.is_empty() && !incoming.title.is_empty() {
        conv.title = incoming.title.clone();
        header_changed = true;
    }
    if conv.url.is_empty() && !incoming.url.is_empty() {
        conv.url = incoming.url.clone();
        header_changed = true;
    }
    if incoming.created_at != 0 && (conv.created_at == 0 || incoming.created_at < conv.created_at) {
        conv.created_at = incoming.created_at;
        header_changed = true;
    }
    if incoming.updated_at > conv.updated_at {
        conv.updated_at = incoming.updated_at;
        header_changed = true;
    }
    let changed: Vec<usize> =
        if first_shift == usize::MAX { Vec::new() } else { (first_shift..conv.messages.len()).collect() };
    MergeOutcome {
        header_changed: header_changed || !changed.is_empty(),
        conversation: conv,
        changed,
        added,
        updated: 0,
    }
}

/// Merges the whole thread read from the site's own conversation data (its current
/// branch in order, other branches as versions, final texts) into the stored one.
///
/// - A thread turn is matched to a stored turn by the site's turn id, else by role and
///   text ([`similar`], against earlier versions too) where the ids do not disagree.
/// - The thread's order wins: its turns are laid out as the site has them; stored
///   turns it does not hold (a turn still streaming, one the site deleted) stay right
///   after the stored turn they followed. Nothing stored is removed.
/// - A matched turn takes the site's text in place when it was streaming or only its
///   formatting differs; a different text keeps the stored one as an earlier version
///   (the site's current branch moved); the site's other branches join its versions.
/// - Turn ids, models, times and metadata the stored turn lacks are filled in.
/// - Reading the same thread twice changes nothing.
pub fn merge_thread(stored: Option<Conversation>, mut incoming: Conversation, now: i64) -> MergeOutcome {
    for m in &mut incoming.messages {
        m.streaming = false;
        if m.provenance.first_seen == 0 {
            m.provenance.first_seen = now;
        }
        m.provenance.last_seen = now;
        if m.provenance.source.is_none() {
            m.provenance.source = Some("thread".into());
        }
    }
    let Some(old) = stored else {
        let n = incoming.messages.len();
        if incoming.created_at == 0 {
            incoming.created_at = now;
        }
        if incoming.updated_at == 0 {
            incoming.updated_at = now;
        }
        return MergeOutcome {
            conversation: incoming,
            changed: (0..n).collect(),
            header_changed: true,
            added: n,
            updated: 0,
        };
    };
    let olds = &old.messages;
    let mut taken = vec![false; olds.len()];
    let mut pairs: Vec<Option<usize>> = Vec::with_capacity(incoming.messages.len());
    let mut prev: Option<usize> = None;
    for m in &incoming.messages {
        let by_id = m
            .turn_id
            .as_deref()
            .and_then(|id| (0..olds.len()).find(|&j| !taken[j] && olds[j].turn_id.as_deref() == Some(id)));
        let start = prev.map_or(0, |p| p + 1).min(olds.len());
        let found = by_id.or_else(|| {
            (start..olds.len()).chain(0..start).find(|&j| {
                !taken[j]
                    && olds[j].role == m.role
                    && ids_agree(&olds[j], m.turn_id.as_deref())
                    && same_turn_text(&olds[j], &m.markdown)
                    // The stored text is one of the site's other branches of this turn.
                    || !taken[j] && olds[j].role == m.role && m.versions.iter().any(|v| similar(v, &olds[j].markdown))
            })
        });
        // By position: the stored turn after the previous match, still streaming or
        // growing into this text.
        let found = found.or_else(|| {
            Some(start).filter(|&j| {
                j < olds.len()
                    && !taken[j]
                    && olds[j].role == m.role
                    && ids_agree(&olds[j], m.turn_id.as_deref())
                    && (olds[j].streaming || grows(&olds[j].markdown, &m.markdown))
            })
        });
        if let Some(j) = found {
            taken[j] = true;
            prev = Some(j);
        }
        pairs.push(found);
    }
    // Stored turns the thread does not hold follow the stored turn before them.
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); incoming.messages.len()];
    let mut leading = Vec::new();
    let slot_of: std::collections::HashMap<usize, usize> =
        pairs.iter().enumerate().filter_map(|(i, p)| p.map(|j| (j, i))).collect();
    for j in (0..olds.len()).filter(|&j| !taken[j]) {
        match (0..j).rev().find_map(|k| slot_of.get(&k).copied()) {
            Some(i) => after[i].push(j),
            None => leading.push(j),
        }
    }
    let (mut added, mut updated) = (0, 0);
    let mut messages: Vec<Message> = leading.iter().map(|&j| olds[j].clone()).collect();
    for (i, m) in incoming.messages.into_iter().enumerate() {
        match pairs[i] {
            Some(j) => {
                let merged = merge_thread_turn(olds[j].clone(), m, now);
                if merged != olds[j] {
                    updated += 1;
                }
                messages.push(merged);
            }
            None => {
                added += 1;
                messages.push(m);
            }
        }
        messages.extend(after[i].iter().map(|&j| olds[j].clone()));
    }
    let changed: Vec<usize> = (0..messages.len()).filter(|&i| olds.get(i).is_none_or(|o| *o != messages[i])).collect();
    let mut conv = Conversation { messages, ..old.clone() };
    let mut header_changed = !changed.is_empty();
    if !incoming.title.trim().is_empty() && conv.title != incoming.title.trim() {
        conv.title = incoming.title.trim().to_owned();
        header_changed = true;
    }
    if conv.url.is_empty() && !incoming.url.is_empty() {
        conv.url = incoming.url.clone();
        header_changed = true;
    }
    if incoming.model.is_some() && conv.model != incoming.model {
        conv.model = incoming.model.clone();
        header_changed = true;
    }
    if incoming.created_at != 0 && incoming.created_at < conv.created_at {
        conv.created_at = incoming.created_at;
        header_changed = true;
    }
    if header_changed {
        conv.updated_at = conv.updated_at.max(incoming.updated_at).max(now);
    }
    MergeOutcome { conversation: conv, changed, header_changed, added, updated }
}

/// One stored turn and the same turn read from the site's thread (see [`merge_thread`]).
fn merge_thread_turn(mut stored: Message, site: Message, now: i64) -> Message {
    let before = stored.clone();
    if stored.markdown != site.markdown {
        if stored.streaming || similar(&stored.markdown, &site.markdown) || grows(&stored.markdown, &site.markdown) {
            stored.markdown = site.markdown;
        } else {
            let old = std::mem::replace(&mut stored.markdown, site.markdown);
            stored.versions.retain(|v| *v != stored.markdown);
            push_version(&mut stored, old);
        }
    }
    for v in site.versions {
        if !same_turn_text(&stored, &v) {
            stored.versions.push(v);
        }
    }
    cap_versions(&mut stored);
    stored.streaming = false;
    // The site's current branch names the turn (a regenerated answer has a new id).
    if site.turn_id.is_some() {
        stored.turn_id = site.turn_id;
    }
    if stored.provenance.model.is_none() {
        stored.provenance.model = site.provenance.model;
    }
    if site.provenance.first_seen != 0 && site.provenance.first_seen < stored.provenance.first_seen {
        stored.provenance.first_seen = site.provenance.first_seen;
    }
    for (k, v) in site.metadata {
        stored.metadata.entry(k).or_insert(v);
    }
    if stored != before {
        stored.provenance.last_seen = now;
    }
    stored
}

#[cfg(test)]
mod import_tests {
    use super::*;

    fn conv(texts: &[(Role, &str)]) -> Conversation {
        Conversation {
            site: Site::ChatGpt,
            conversation_id: "x".into(),
            title: "T".into(),
            url: "https://chatgpt.com/c/x".into(),
            model: None,
            created_at: 5,
            updated_at: 9,
            messages: texts.iter().map(|(r, t)| Message::new(*r, *t)).collect(),
        }
    }

    #[test]
    fn importing_a_conversation_twice_stores_it_once() {
        let c = conv(&[(Role::User, "a"), (Role::Assistant, "b")]);
        let first = merge_imported(None, c.clone());
        assert_eq!(first.added, 2);
        let again = merge_imported(Some(first.conversation.clone()), c.clone());
        assert!(again.is_unchanged());
        assert_eq!(again.conversation, first.conversation);
    }

    #[test]
    fn newer_turns_join_an_existing_conversation_and_nothing_is_lost() {
        let here = conv(&[(Role::User, "a"), (Role::Assistant, "b"), (Role::User, "local only")]);
        let file = conv(&[(Role::User, "a"), (Role::Assistant, "b"), (Role::User, "c"), (Role::Assistant, "d")]);
        let out = merge_imported(Some(here), file.clone());
        let texts: Vec<_> = out.conversation.messages.iter().map(|m| m.markdown.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d", "local only"]);
        assert_eq!(out.added, 2);
        assert_eq!(out.changed, [2, 3, 4]);
    }
}

#[cfg(test)]
mod thread_tests {
    use super::*;
    use Role::{Assistant as A, User as U};

    fn msg(role: Role, text: &str, id: Option<&str>) -> Message {
        Message { turn_id: id.map(str::to_owned), ..Message::new(role, text) }
    }

    fn thread(turns: Vec<Message>) -> Conversation {
        Conversation {
            site: Site::Claude,
            conversation_id: "c1".into(),
            title: "From the site".into(),
            url: String::new(),
            model: None,
            created_at: 1_000,
            updated_at: 2_000,
            messages: turns,
        }
    }

    #[test]
    fn a_turn_the_site_rewrites_a_thousand_times_keeps_only_the_newest_versions() {
        let mut c =
            merge_thread(None, thread(vec![msg(U, "q", Some("u")), msg(A, "0 answer", Some("a"))]), 0).conversation;
        for i in 1..=1000 {
            let t = thread(vec![msg(U, "q", Some("u")), msg(A, &format!("{i} answer"), Some("a"))]);
            c = merge_thread(Some(c), t, i).conversation;
        }
        let m = &c.messages[1];
        assert_eq!(m.markdown, "1000 answer");
        assert_eq!(m.versions.len(), MAX_VERSIONS);
        assert_eq!(m.versions.last().unwrap(), "999 answer");
        assert_eq!(m.versions[0], format!("{} answer", 1000 - MAX_VERSIONS));
        // Branches the site sends as versions are capped too.
        let mut regen = msg(A, "final", Some("a"));
        regen.versions = (0..100).map(|i| format!("branch {i} zz{i}")).collect();
        let c = merge_thread(Some(c), thread(vec![msg(U, "q", Some("u")), regen]), 2000).conversation;
        assert_eq!(c.messages[1].versions.len(), MAX_VERSIONS);
        assert_eq!(c.messages[1].versions.last().unwrap(), "branch 99 zz99");
    }

    use super::tests::texts;

    /// What a page showed, as the DOM path reads it (no ids), titled as the site's data.
    fn page(turns: &[(Role, &str)]) -> Snapshot {
        Snapshot { title: "From the site".into(), ..super::tests::snap(turns) }
    }

    /// 200 turns, ids `m0`..`m199`.
    fn long_thread() -> Conversation {
        thread(
            (0..200)
                .map(|i| {
                    let (role, text) = if i % 2 == 0 {
                        (U, format!("Question **{i}** about tides"))
                    } else {
                        (A, format!("Answer {i}: the moon pulls the sea"))
                    };
                    msg(role, &text, Some(&format!("m{i}")))
                })
                .collect(),
        )
    }

    #[test]
    fn formatting_aside_texts_are_the_same_and_different_words_are_not() {
        assert!(similar("**Hello**, world!", "Hello world"));
        assert!(similar("Use `cargo test` \\_now\\_", "use cargo test now"));
        let long = "The quick brown fox jumps over the lazy dog near the river bank today";
        assert!(similar(long, &format!("{long} [1]")));
        assert!(!similar("yes", "no"));
        assert!(!similar(
            "Paris is the capital of France, said the guide",
            "Rome is the capital of Italy, said the guide"
        ));
        assert!(!similar("...", "!!!"));
    }

    #[test]
    fn a_page_showing_the_last_six_turns_then_the_thread_stores_all_in_order_once() {
        let whole = long_thread();
        // The page rendered the last six turns as the DOM path reads them (no ids,
        // the site's bold marks lost): stored first.
        let shown: Vec<(Role, String)> =
            whole.messages[194..].iter().map(|m| (m.role, m.markdown.replace("**", ""))).collect();
        let shown: Vec<(Role, &str)> = shown.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let stored = merge(None, &page(&shown), 5).conversation;
        assert_eq!(stored.messages.len(), 6);
        let out = merge_thread(Some(stored), whole.clone(), 10);
        assert_eq!(out.conversation.messages.len(), 200);
        assert_eq!(out.added, 194);
        for (i, m) in out.conversation.messages.iter().enumerate() {
            assert_eq!(m.turn_id.as_deref(), Some(format!("m{i}").as_str()));
            assert!(m.versions.is_empty(), "no versions from formatting alone");
        }
        assert_eq!(out.conversation.title, "From the site");
        // Reading it again, or the page again, changes nothing.
        let again = merge_thread(Some(out.conversation.clone()), whole, 20);
        assert!(again.is_unchanged());
        let page_again = merge(Some(out.conversation.clone()), &page(&shown), 30);
        assert!(page_again.is_unchanged(), "{:?}", page_again.changed);
    }

    #[test]
    fn a_streaming_turn_takes_the_final_text_and_a_turn_only_on_the_page_stays() {
        let mut s = page(&[(U, "hi"), (A, "Hel")]);
        s.messages[1].streaming = true;
        let stored = merge(None, &s, 5).conversation;
        let mut t = thread(vec![msg(U, "hi", Some("u1")), msg(A, "Hello there, friend", Some("a1"))]);
        t.messages[1].provenance.model = Some("claude-x".into());
        let out = merge_thread(Some(stored), t, 10);
        let m = &out.conversation.messages[1];
        assert_eq!((m.markdown.as_str(), m.streaming, m.versions.len()), ("Hello there, friend", false, 0));
        assert_eq!(m.provenance.model.as_deref(), Some("claude-x"));
        // A turn the page shows that the site's data does not hold yet stays after its neighbour.
        let with_new =
            merge(Some(out.conversation.clone()), &page(&[(U, "hi"), (A, "Hello there, friend"), (U, "and now?")]), 20)
                .conversation;
        let out = merge_thread(
            Some(with_new),
            thread(vec![msg(U, "hi", Some("u1")), msg(A, "Hello there, friend", Some("a1"))]),
            30,
        );
        assert_eq!(texts(&out.conversation), ["hi", "Hello there, friend", "and now?"]);
    }

    #[test]
    fn branches_become_versions_and_a_moved_branch_keeps_the_stored_text() {
        let stored = merge_thread(
            None,
            thread(vec![msg(U, "Write a haiku", Some("u1")), msg(A, "Old pond, a frog jumps", Some("a1"))]),
            5,
        )
        .conversation;
        let mut regen = msg(A, "Autumn moonlight, a worm digs silently", Some("a2"));
        regen.versions = vec!["Old pond, a frog jumps".into()];
        let out = merge_thread(Some(stored), thread(vec![msg(U, "Write a haiku", Some("u1")), regen]), 10);
        let m = &out.conversation.messages[1];
        assert_eq!(out.conversation.messages.len(), 2, "the regenerated answer replaces, not duplicates");
        assert_eq!(m.markdown, "Autumn moonlight, a worm digs silently");
        assert_eq!(m.versions, ["Old pond, a frog jumps"]);
    }

    #[test]
    fn turns_with_different_site_ids_are_never_matched_by_text() {
        let stored =
            merge_thread(None, thread(vec![msg(U, "ok", Some("u1")), msg(A, "Done.", Some("a1"))]), 5).conversation;
        let out = merge_thread(
            Some(stored),
            thread(vec![
                msg(U, "ok", Some("u1")),
                msg(A, "Done.", Some("a1")),
                msg(U, "ok", Some("u2")),
                msg(A, "Done.", Some("a2")),
            ]),
            10,
        );
        assert_eq!(out.conversation.messages.len(), 4);
        assert_eq!(out.added, 2);
    }
}
