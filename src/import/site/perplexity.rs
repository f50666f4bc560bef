//! Perplexity: the thread as perplexity.ai's own page reads it.
//!
//! `GET /rest/thread/{slug}?with_schematized_response=true&version=2.18&source=default
//! &limit=50&offset=N&from_first=true` (facts from peers' code of 2026-08..10; not
//! captured by us) = `{status, thread_metadata?: {title, created_at, updated_at},
//! entries: [{uuid, backend_uuid?, context_uuid?, query_str, thread_url_slug,
//! thread_title?, entry_created_datetime?, updated_datetime, display_model,
//! blocks: [{intended_usage: "ask_text", markdown_block: {answer, chunks}} | ...],
//! text?}], has_next_page?, next_cursor?}`. Older entries carry the answer only in
//! `text`: a JSON string of steps whose last holds `content.answer` (itself a JSON
//! string `{"answer": ...}` or plain text).
//!
//! Each entry is two turns: the person's `query_str` (turn id `<uuid>-query`) and the
//! answer (turn id `<uuid>`, model `display_model`). `replies` are the pages in the
//! order fetched (offset 0 first); while the last page says `has_next_page`, `more` is
//! the next offset (the number of entries read so far). Some peers report that the
//! site pages by `next_cursor` instead of `offset`: that is not modelled here. Entries
//! seen twice are kept once. A thread has no branches (a rewrite replaces the answer),
//! so no versions.

use serde_json::Value;

use super::{rfc3339_at, span, stamp, str_at, ThreadError, ThreadRead, MAX_NODES};
use crate::model::{Conversation, Message, Provenance, Role, Site};

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let mut messages = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut read = 0usize;
    let mut more = None;
    let mut title = String::new();
    let mut times = (None, None);
    for body in replies {
        let mut page = super::parse_json(body)?;
        let Some(Value::Array(entries)) = page.get_mut("entries").map(Value::take) else {
            return Err(ThreadError::ShapeChanged);
        };
        if let Some(meta) = page.get("thread_metadata") {
            if title.is_empty() {
                title = str_at(meta, "title").to_owned();
            }
            times = (times.0.or(rfc3339_at(meta, "created_at")), rfc3339_at(meta, "updated_at").or(times.1));
        }
        read += entries.len();
        if read > MAX_NODES {
            return Err(ThreadError::TooLarge);
        }
        let has_next = page.get("has_next_page").and_then(Value::as_bool) == Some(true);
        // A page that says there is more but brings nothing would page forever.
        more = (has_next && !entries.is_empty()).then(|| read.to_string());
        for entry in &entries {
            if !entry.is_object() {
                return Err(ThreadError::ShapeChanged);
            }
            let slug = str_at(entry, "thread_url_slug");
            if !slug.is_empty() && slug != conversation_id && str_at(entry, "context_uuid") != conversation_id {
                return Err(ThreadError::OtherConversation);
            }
            let uuid = match str_at(entry, "uuid") {
                "" => str_at(entry, "backend_uuid"),
                u => u,
            };
            if !uuid.is_empty() && !seen.insert(uuid.to_owned()) {
                continue;
            }
            if title.is_empty() {
                title = str_at(entry, "thread_title").to_owned();
            }
            push_entry(&mut messages, entry, uuid);
        }
    }
    let url = format!("https://www.perplexity.ai/search/{conversation_id}");
    stamp(&mut messages, &url);
    let (first, last) = span(&messages);
    let created_at = times.0.unwrap_or(first);
    let conversation = Conversation {
        site: Site::Perplexity,
        conversation_id: conversation_id.to_owned(),
        title,
        url,
        model: messages.iter().rev().find_map(|m| m.provenance.model.clone()),
        created_at,
        updated_at: times.1.unwrap_or(last).max(created_at),
        messages,
    };
    Ok(ThreadRead { conversation, more })
}

fn push_entry(messages: &mut Vec<Message>, entry: &Value, uuid: &str) {
    let asked =
        rfc3339_at(entry, "entry_created_datetime").or_else(|| rfc3339_at(entry, "updated_datetime")).unwrap_or(0);
    let answered = rfc3339_at(entry, "updated_datetime").unwrap_or(asked);
    let id = |suffix: &str| Some(format!("{uuid}{suffix}")).filter(|_| !uuid.is_empty());
    let query = str_at(entry, "query_str").trim();
    if !query.is_empty() {
        let mut m = Message::new(Role::User, query);
        m.turn_id = id("-query");
        m.provenance = Provenance { first_seen: asked, last_seen: asked, ..Provenance::default() };
        messages.push(m);
    }
    let answer = answer_text(entry);
    if !answer.trim().is_empty() {
        let mut m = Message::new(Role::Assistant, answer.trim());
        m.turn_id = id("");
        let model = str_at(entry, "display_model");
        m.provenance = Provenance {
            model: Some(model.to_owned()).filter(|s| !s.is_empty()),
            first_seen: answered,
            last_seen: answered,
            ..Provenance::default()
        };
        messages.push(m);
    }
}

/// The answer: the `ask_text` block's Markdown, else the older `text` steps.
fn answer_text(entry: &Value) -> String {
    if let Some(blocks) = entry.get("blocks").and_then(Value::as_array) {
        for block in blocks {
            if !str_at(block, "intended_usage").starts_with("ask_text") {
                continue;
            }
            let Some(md) = block.get("markdown_block") else { continue };
            let answer = str_at(md, "answer");
            if !answer.trim().is_empty() {
                return answer.to_owned();
            }
            if let Some(chunks) = md.get("chunks").and_then(Value::as_array) {
                let joined: String = chunks.iter().filter_map(Value::as_str).collect();
                if !joined.trim().is_empty() {
                    return joined;
                }
            }
        }
    }
    match entry.get("text") {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(steps) => answer_of_steps(&steps),
            Err(_) => s.clone(),
        },
        Some(steps @ (Value::Array(_) | Value::Object(_))) => answer_of_steps(steps),
        _ => String::new(),
    }
}

fn answer_of_steps(steps: &Value) -> String {
    let holder = match steps {
        Value::Array(list) => list.iter().rev().find(|s| s.pointer("/content/answer").is_some()),
        other => Some(other),
    };
    let Some(holder) = holder else { return String::new() };
    let answer = holder.pointer("/content/answer").or_else(|| holder.get("answer"));
    match answer {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(inner) if inner.get("answer").is_some_and(Value::is_string) => str_at(&inner, "answer").to_owned(),
            _ => s.clone(),
        },
        _ => String::new(),
    }
}
