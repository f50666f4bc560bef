//! DeepSeek: the conversation as chat.deepseek.com's own page reads it.
//!
//! `GET /api/v0/chat/history_messages?chat_session_id={id}` (facts from peers' code of
//! 2026-08..10; not captured by us) = `{code: 0, msg, data: {biz_code: 0, biz_msg,
//! biz_data: {chat_session: {id, title, inserted_at, updated_at, current_message_id?},
//! chat_messages: [{message_id, parent_id, role: "USER"|"ASSISTANT", content,
//! thinking_content, inserted_at, model?, status}]}}}`; times are seconds (floats), ids
//! numbers. Newer replies carry the text in `fragments: [{type: "REQUEST"|"RESPONSE"|
//! "THINK"|"SEARCH", content}]` instead of `content`/`thinking_content`: both are read.
//!
//! The transcript is the chain from `current_message_id` (or the newest message) back by
//! `parent_id`; siblings (edited prompts, regenerated answers) become versions.
//! `thinking_content` and `THINK` fragments are reasoning: metadata `thinking`, never the
//! text. A reply whose `code` or `biz_code` is not 0 is an error reply: shape changed.

use serde_json::Value;

use super::{
    add_meta, current_branch, id_at, same_conversation, span, stamp, str_at, Node, ThreadError, ThreadRead, MAX_NODES,
};
use crate::import::markdown::{join_blocks, ms_from_secs};
use crate::model::{Conversation, Message, Provenance, Role, Site};

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let mut value = super::parse_json(&replies[0])?;
    let ok = |v: Option<&Value>| v.is_none_or(|c| c.as_i64() == Some(0));
    if !ok(value.get("code")) || !ok(value.pointer("/data/biz_code")) {
        return Err(ThreadError::ShapeChanged);
    }
    let biz = value.pointer_mut("/data/biz_data").ok_or(ThreadError::ShapeChanged)?;
    let session = biz.get("chat_session").cloned().unwrap_or(Value::Null);
    same_conversation(&id_at(&session, "id"), conversation_id)?;
    let Some(Value::Array(raw)) = biz.get_mut("chat_messages").map(Value::take) else {
        return Err(ThreadError::ShapeChanged);
    };
    if raw.len() > MAX_NODES {
        return Err(ThreadError::TooLarge);
    }
    let url = format!("https://chat.deepseek.com/a/chat/s/{conversation_id}");
    let mut nodes = Vec::with_capacity(raw.len());
    for m in &raw {
        if !m.is_object() {
            return Err(ThreadError::ShapeChanged);
        }
        let time = secs_at(m, "inserted_at").unwrap_or(0);
        let parent = Some(id_at(m, "parent_id")).filter(|p| !p.is_empty());
        nodes.push(Node { id: id_at(m, "message_id"), parent, time, message: render(m, time) });
    }
    let leaf = id_at(&session, "current_message_id");
    let mut messages = current_branch(nodes, Some(leaf.as_str()).filter(|l| !l.is_empty() && *l != "0"))?;
    stamp(&mut messages, &url);
    let (first, last) = span(&messages);
    let created_at = secs_at(&session, "inserted_at").unwrap_or(first);
    let conversation = Conversation {
        site: Site::DeepSeek,
        conversation_id: conversation_id.to_owned(),
        title: str_at(&session, "title").to_owned(),
        url,
        model: messages.iter().rev().find_map(|m| m.provenance.model.clone()),
        created_at,
        updated_at: secs_at(&session, "updated_at").unwrap_or(last).max(created_at),
        messages,
    };
    Ok(ThreadRead { conversation, more: None })
}

fn secs_at(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(Value::as_f64).map(ms_from_secs).filter(|&t| t > 0)
}

fn render(m: &Value, time: i64) -> Option<Message> {
    let role = match str_at(m, "role").to_ascii_uppercase().as_str() {
        "USER" => Role::User,
        "ASSISTANT" => Role::Assistant,
        _ => return None,
    };
    let mut text = Vec::new();
    let mut thinking = Vec::new();
    match m.get("fragments").and_then(Value::as_array) {
        Some(fragments) if !fragments.is_empty() => {
            for f in fragments {
                match str_at(f, "type").to_ascii_uppercase().as_str() {
                    "THINK" | "THINKING" => thinking.push(str_at(f, "content").to_owned()),
                    "REQUEST" | "RESPONSE" | "TEXT" => text.push(str_at(f, "content").to_owned()),
                    _ => {} // search results and other plumbing
                }
            }
        }
        _ => {
            text.push(str_at(m, "content").to_owned());
            thinking.push(str_at(m, "thinking_content").to_owned());
        }
    }
    let mut msg = Message::new(role, join_blocks(text).trim().to_owned());
    add_meta(&mut msg.metadata, "thinking", &join_blocks(thinking));
    if msg.markdown.is_empty() && msg.metadata.is_empty() {
        return None;
    }
    let model = m.get("model").and_then(Value::as_str).filter(|s| !s.is_empty() && role == Role::Assistant);
    msg.turn_id = Some(id_at(m, "message_id")).filter(|id| !id.is_empty());
    msg.provenance =
        Provenance { model: model.map(str::to_owned), first_seen: time, last_seen: time, ..Provenance::default() };
    Some(msg)
}
