//! Microsoft Copilot: the conversation as copilot.microsoft.com's own page reads it.
//!
//! `GET /c/api/conversations/{id}/history?api-version=2` (facts from peers' code of
//! 2026-08..10; not captured by us) = `{results: [{id, author: "human"|"ai" (some
//! builds: `{type: "human"|"ai"}`), content: [{type: "text", text} | {type: "image"...}],
//! createdAt (RFC 3339), conversationId?}], next?}`, the newest message first.
//!
//! `replies` are the pages in the order fetched (newest first); while the last page has
//! a `next`, `more` is that value (for the next request's cursor). Each page is reversed
//! and older pages come before newer ones; a message seen twice is kept once. No
//! branches, no title, no model in this reply.

use serde_json::Value;

use super::{rfc3339_at, same_conversation, span, stamp, str_at, ThreadError, ThreadRead, MAX_NODES};
use crate::import::markdown::join_blocks;
use crate::model::{Conversation, Message, Provenance, Role, Site};

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let mut pages: Vec<Vec<Message>> = Vec::new();
    let mut nexts: Vec<Option<String>> = Vec::new();
    let mut count = 0usize;
    for body in replies {
        let mut page = super::parse_json(body)?;
        same_conversation(str_at(&page, "conversationId"), conversation_id)?;
        let Some(Value::Array(results)) = page.get_mut("results").map(Value::take) else {
            return Err(ThreadError::ShapeChanged);
        };
        count += results.len();
        if count > MAX_NODES {
            return Err(ThreadError::TooLarge);
        }
        let mut messages = Vec::with_capacity(results.len());
        for r in results.iter().rev() {
            if !r.is_object() {
                return Err(ThreadError::ShapeChanged);
            }
            same_conversation(str_at(r, "conversationId"), conversation_id)?;
            messages.extend(render(r));
        }
        pages.push(messages);
        let next = match page.get("next") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        nexts.push(next.filter(|_| !results.is_empty()));
    }
    let more = nexts.last().cloned().flatten();
    if let Some(next) = &more {
        if nexts[..nexts.len() - 1].iter().any(|n| n.as_ref() == Some(next)) {
            return Err(ThreadError::ShapeChanged); // the same page again: it would page forever
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut messages: Vec<Message> = pages
        .into_iter()
        .rev()
        .flatten()
        .filter(|m| m.turn_id.as_ref().is_none_or(|id| seen.insert(id.clone())))
        .collect();
    let url = format!("https://copilot.microsoft.com/chats/{conversation_id}");
    stamp(&mut messages, &url);
    let (created_at, updated_at) = span(&messages);
    let conversation = Conversation {
        site: Site::Copilot,
        conversation_id: conversation_id.to_owned(),
        title: String::new(),
        url,
        model: None,
        created_at,
        updated_at,
        messages,
    };
    Ok(ThreadRead { conversation, more })
}

fn render(r: &Value) -> Option<Message> {
    let author = match r.get("author") {
        Some(Value::String(s)) => s.as_str(),
        Some(a) => str_at(a, "type"),
        None => "",
    };
    let role = match author.to_ascii_lowercase().as_str() {
        "human" | "user" => Role::User,
        "ai" | "bot" | "assistant" | "copilot" => Role::Assistant,
        _ => return None,
    };
    let text = match r.get("content") {
        Some(Value::Array(parts)) => join_blocks(parts.iter().map(|p| match str_at(p, "type") {
            "text" => str_at(p, "text").to_owned(),
            t if t.contains("image") => "[image]".to_owned(),
            _ => String::new(),
        })),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let time = rfc3339_at(r, "createdAt").unwrap_or(0);
    let mut msg = Message::new(role, text);
    msg.turn_id = Some(str_at(r, "id").to_owned()).filter(|id| !id.is_empty());
    msg.provenance = Provenance { first_seen: time, last_seen: time, ..Provenance::default() };
    Some(msg)
}
