//! Gemini: the conversation as gemini.google.com's own page reads it, through its
//! `batchexecute` RPC `hNvQHb`.
//!
//! Facts from peers' code and a probe of 2026-05 (not captured by us):
//! `POST /_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=/app/{id}&bl=..&f.sid=..&hl=en&rt=c`
//! with the form body `f.req=[[["hNvQHb","<args>",null,"generic"]]]&at=<token>&`, where
//! `args = ["c_{id}", 10, <page token or null>, 1, [1], [4], null, 1]`.
//!
//! The reply is Google's chunked text: `)]}'`, a blank line, then `<length>\n<JSON array>\n`
//! chunks. The lengths are not trusted (some servers count UTF-16 units, others bytes):
//! every line that parses as a JSON array is looked at, and the entry
//! `["wrb.fr", "hNvQHb", "<inner JSON as a string>", ...]` is the answer (`di`,
//! `af.httprm` and other entries are ignored; an inner `null` is an error reply).
//!
//! The inner JSON is positional: `[turns, next_page_token?, ...]`, the turns newest
//! first, a turn `[[conv_id "c_..", response_id "r_.."], [conv_id, draft ids..],
//! [[user_text, ..], ..], response_data, [seconds, nanos]]` with
//! `response_data[0] = [[rc_id "rc_..", [text chunks..], ..], ..]` (the first candidate
//! is the answer shown, the others drafts: its `versions`) and `response_data[21]` the
//! model's display name. No title in this reply.
//!
//! `replies` are the pages in the order fetched (newest first); while the last page has
//! a page token and turns, `more` is that token (the next request's `args[2]`). The
//! transcript is every turn, oldest first; a turn seen twice (by response id) is kept
//! once. The user message's id is `{response_id}-q`, the answer's the response id (its
//! `rc_..` id without one); both carry the turn's send time. The conversation id is
//! the page address's, without `c_`; `c_{id}` is accepted as well.

use std::collections::HashSet;

use serde_json::Value;

use super::{span, stamp, ThreadError, ThreadRead, MAX_NODES};
use crate::model::{Conversation, Message, Provenance, Role, Site};

const RPC: &str = "hNvQHb";

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let wanted = bare(conversation_id);
    let mut turns: Vec<Turn> = Vec::new(); // newest first, over all pages
    let mut tokens: Vec<Option<String>> = Vec::new();
    for body in replies {
        let mut raw = inner(body)?;
        let Value::Array(raw) = &mut raw else { return Err(ThreadError::ShapeChanged) };
        let list = match raw.get_mut(0).map(Value::take) {
            Some(Value::Array(list)) => list,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err(ThreadError::ShapeChanged),
        };
        if turns.len() + list.len() > MAX_NODES {
            return Err(ThreadError::TooLarge);
        }
        let token = match raw.get(1) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        tokens.push(token.filter(|_| !list.is_empty()));
        for t in &list {
            turns.push(Turn::read(t, wanted)?);
        }
    }
    let more = tokens.last().cloned().flatten();
    if let Some(token) = &more {
        if tokens[..tokens.len() - 1].iter().any(|t| t.as_ref() == Some(token)) {
            return Err(ThreadError::ShapeChanged); // the same page again: it would page forever
        }
    }
    let mut seen = HashSet::new();
    turns.retain(|t| t.response_id.is_empty() || seen.insert(t.response_id.clone()));
    let mut messages: Vec<Message> = turns.into_iter().rev().flat_map(Turn::messages).collect();
    let url = format!("https://gemini.google.com/app/{wanted}");
    stamp(&mut messages, &url);
    let (created_at, updated_at) = span(&messages);
    let conversation = Conversation {
        site: Site::Gemini,
        conversation_id: wanted.to_owned(),
        title: String::new(),
        url,
        model: messages.iter().rev().find_map(|m| m.provenance.model.clone()),
        created_at,
        updated_at,
        messages,
    };
    Ok(ThreadRead { conversation, more })
}

/// The id without the `c_` the replies put before it.
fn bare(id: &str) -> &str {
    id.strip_prefix("c_").unwrap_or(id)
}

/// The `hNvQHb` answer of one batchexecute reply, parsed.
fn inner(body: &str) -> Result<Value, ThreadError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    for line in body.lines() {
        let line = line.trim();
        if !line.starts_with('[') {
            continue; // `)]}'`, a length, a blank line
        }
        let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(line) else { continue };
        for entry in &entries {
            if entry.get(0).and_then(Value::as_str) != Some("wrb.fr")
                || entry.get(1).and_then(Value::as_str) != Some(RPC)
            {
                continue;
            }
            return match entry.get(2) {
                Some(Value::String(text)) => super::parse_json(text),
                _ => Err(ThreadError::ShapeChanged), // an error reply: no answer
            };
        }
    }
    Err(ThreadError::ShapeChanged)
}

/// One turn: a prompt and its answer (with the answer's drafts).
struct Turn {
    response_id: String,
    user: String,
    /// The answer shown: its `rc_..` id and text.
    answer: Option<(String, String)>,
    drafts: Vec<String>,
    model: Option<String>,
    time: i64,
}

impl Turn {
    fn read(turn: &Value, wanted: &str) -> Result<Turn, ThreadError> {
        if !turn.is_array() {
            return Err(ThreadError::ShapeChanged);
        }
        let ids = &turn[0];
        for named in [&ids[0], &turn[1][0]] {
            match named {
                Value::String(s) if !s.is_empty() && bare(s) != wanted => return Err(ThreadError::OtherConversation),
                Value::String(_) | Value::Null => {}
                _ => return Err(ThreadError::ShapeChanged),
            }
        }
        let response_id = ids[1].as_str().unwrap_or("").to_owned();
        let user = turn[2][0][0].as_str().unwrap_or("").trim().to_owned();
        let data = &turn[3];
        let mut candidates = data[0].as_array().map(Vec::as_slice).unwrap_or(&[]).iter().map(|c| {
            let id = c[0].as_str().unwrap_or("").to_owned();
            (id, text_of(&c[1]))
        });
        let answer = candidates.next();
        let shown = answer.as_ref().map_or("", |(_, text)| text.as_str());
        let drafts = candidates.map(|(_, text)| text).filter(|t| !t.is_empty() && t != shown).collect();
        let model = data[21].as_str().map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
        Ok(Turn { response_id, user, answer, drafts, model, time: millis(&turn[4]) })
    }

    fn messages(self) -> Vec<Message> {
        let at = |model: Option<String>| Provenance {
            model,
            first_seen: self.time,
            last_seen: self.time,
            ..Provenance::default()
        };
        let mut out = Vec::with_capacity(2);
        let rid = Some(self.response_id.clone()).filter(|id| !id.is_empty());
        if !self.user.is_empty() {
            let mut m = Message::new(Role::User, &self.user);
            m.turn_id = rid.as_ref().map(|id| format!("{id}-q"));
            m.provenance = at(None);
            out.push(m);
        }
        if let Some((rc_id, text)) = self.answer {
            let mut versions = self.drafts;
            let text = if text.is_empty() && !versions.is_empty() { versions.remove(0) } else { text };
            if !text.is_empty() {
                let mut m = Message::new(Role::Assistant, &text);
                m.turn_id = rid.or_else(|| Some(rc_id).filter(|id| !id.is_empty()));
                m.versions = versions;
                m.provenance = at(self.model);
                out.push(m);
            }
        }
        out
    }
}

/// A candidate's text: its chunks joined (one string in every reply seen so far).
fn text_of(chunks: &Value) -> String {
    match chunks {
        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect::<String>().trim().to_owned(),
        Value::String(s) => s.trim().to_owned(),
        _ => String::new(),
    }
}

/// `[seconds, nanos]` in milliseconds (0 when absent or out of range).
fn millis(ts: &Value) -> i64 {
    let secs = ts[0].as_i64().or_else(|| ts[0].as_f64().filter(|f| f.is_finite()).map(|f| f as i64)).unwrap_or(0);
    let nanos = ts[1].as_i64().filter(|n| (0..1_000_000_000).contains(n)).unwrap_or(0);
    secs.checked_mul(1000).and_then(|ms| ms.checked_add(nanos / 1_000_000)).filter(|&ms| ms > 0).unwrap_or(0)
}
