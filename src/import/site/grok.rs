//! Grok: the conversation as grok.com's own page reads it, in two requests.
//!
//! Facts from peers' code of 2026-08..10 (not captured by us):
//! 1. `GET /rest/app-chat/conversations/{id}/response-node?includeThreads=true` =
//!    `{responseNodes: [{responseId, sender, parentResponseId?}], inflightResponses?}`:
//!    the tree, every branch, without texts.
//! 2. `POST /rest/app-chat/conversations/{id}/load-responses` with `{"responseIds": [...]}`
//!    = `{responses: [{responseId, message, sender: "human"|"assistant"|"ASSISTANT",
//!    createTime (RFC 3339), parentResponseId?, model?, partial?, thinkingTrace?}]}`.
//!
//! The meta reply `GET /rest/app-chat/conversations_v2/{id}` = `{conversation:
//! {conversationId, title, createTime, modifyTime}}` gives the title when it is among
//! the replies. Replies are told apart by their keys, not their place.
//!
//! With the node list but no `responses` yet, `more` is the body of the second request:
//! `{"responseIds":[every node id, in the list's order]}`. With the responses, the
//! transcript is the chain from the newest response back by `parentResponseId` (the
//! node list's link when the response has none); siblings become versions.
//! `thinkingTrace` is reasoning: metadata `thinking`.

use serde_json::Value;

use super::{
    add_meta, current_branch, rfc3339_at, same_conversation, span, stamp, str_at, Node, ThreadError, ThreadRead,
    MAX_NODES,
};
use crate::model::{Conversation, Message, Provenance, Role, Site};

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let mut node_list: Option<Vec<Value>> = None;
    let mut responses: Option<Vec<Value>> = None;
    let mut meta = Value::Null;
    for body in replies {
        let mut value = super::parse_json(body)?;
        if let Some(Value::Array(list)) = value.get_mut("responseNodes").map(Value::take) {
            node_list = Some(list);
        } else if let Some(Value::Array(list)) = value.get_mut("responses").map(Value::take) {
            responses.get_or_insert_with(Vec::new).extend(list);
        } else if value.get("conversation").is_some_and(Value::is_object) {
            meta = value["conversation"].take();
        } else {
            return Err(ThreadError::ShapeChanged);
        }
    }
    same_conversation(str_at(&meta, "conversationId"), conversation_id)?;
    let url = format!("https://grok.com/c/{conversation_id}");
    let title = str_at(&meta, "title").to_owned();
    let meta_created = rfc3339_at(&meta, "createTime");
    let meta_updated = rfc3339_at(&meta, "modifyTime");

    let Some(responses) = responses else {
        let Some(nodes) = node_list else { return Err(ThreadError::ShapeChanged) };
        if nodes.len() > MAX_NODES {
            return Err(ThreadError::TooLarge);
        }
        let ids: Vec<&str> = nodes.iter().map(|n| str_at(n, "responseId")).filter(|id| !id.is_empty()).collect();
        let more = (!ids.is_empty()).then(|| serde_json::json!({ "responseIds": ids }).to_string());
        let conversation = Conversation {
            site: Site::Grok,
            conversation_id: conversation_id.to_owned(),
            title,
            url,
            model: None,
            created_at: meta_created.unwrap_or(0),
            updated_at: meta_updated.or(meta_created).unwrap_or(0),
            messages: Vec::new(),
        };
        return Ok(ThreadRead { conversation, more });
    };
    if responses.len() > MAX_NODES {
        return Err(ThreadError::TooLarge);
    }
    let listed_parent: std::collections::HashMap<&str, &str> = node_list
        .iter()
        .flatten()
        .map(|n| (str_at(n, "responseId"), str_at(n, "parentResponseId")))
        .filter(|(id, p)| !id.is_empty() && !p.is_empty())
        .collect();
    let mut nodes = Vec::with_capacity(responses.len());
    for r in &responses {
        if !r.is_object() {
            return Err(ThreadError::ShapeChanged);
        }
        let id = str_at(r, "responseId").to_owned();
        let parent = match str_at(r, "parentResponseId") {
            "" => listed_parent.get(id.as_str()).map(|p| (*p).to_owned()),
            p => Some(p.to_owned()),
        };
        let time = rfc3339_at(r, "createTime").unwrap_or(0);
        nodes.push(Node { id, parent, time, message: render(r, time) });
    }
    let mut messages = current_branch(nodes, None)?;
    stamp(&mut messages, &url);
    let (first, last) = span(&messages);
    let created_at = meta_created.unwrap_or(first);
    let conversation = Conversation {
        site: Site::Grok,
        conversation_id: conversation_id.to_owned(),
        title,
        url,
        model: messages.iter().rev().find_map(|m| m.provenance.model.clone()),
        created_at,
        updated_at: meta_updated.unwrap_or(last).max(last).max(created_at),
        messages,
    };
    Ok(ThreadRead { conversation, more: None })
}

fn render(r: &Value, time: i64) -> Option<Message> {
    let role = match str_at(r, "sender").to_ascii_lowercase().as_str() {
        "human" | "user" => Role::User,
        "assistant" | "grok" | "model" => Role::Assistant,
        _ => return None,
    };
    let mut msg = Message::new(role, str_at(r, "message").trim());
    if let Some(trace) = r.get("thinkingTrace").and_then(Value::as_str) {
        add_meta(&mut msg.metadata, "thinking", trace);
    }
    if msg.markdown.is_empty() && msg.metadata.is_empty() {
        return None;
    }
    msg.turn_id = Some(str_at(r, "responseId").to_owned()).filter(|id| !id.is_empty());
    msg.streaming = r.get("partial").and_then(Value::as_bool) == Some(true);
    let model = str_at(r, "model");
    msg.provenance = Provenance {
        model: Some(model.to_owned()).filter(|m| !m.is_empty() && role == Role::Assistant),
        first_seen: time,
        last_seen: time,
        ..Provenance::default()
    };
    Some(msg)
}
