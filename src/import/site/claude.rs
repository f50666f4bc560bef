//! Claude: the conversation as claude.ai's own page reads it.
//!
//! `GET /api/organizations/{org}/chat_conversations/{id}?tree=True&rendering_mode=messages
//! &render_all_tools=true` (facts from peers' code of 2026-08..10; not captured by us) =
//! `{uuid, name, created_at, updated_at, model?, current_leaf_message_uuid,
//! chat_messages: [{uuid, parent_message_uuid, sender: "human"|"assistant", text,
//! content: [{type: "text", text} | {type: "thinking", thinking} | {type: "tool_use",
//! name, input} | {type: "tool_result", content}], created_at, updated_at, model?,
//! files?, attachments?}]}`, with `tree=True` holding every branch.
//!
//! Each message is rendered by the export importer (`import::claude`), whose shape this
//! is (thinking to metadata `thinking`, tool calls fenced, tool results quoted). The
//! transcript is the chain from `current_leaf_message_uuid` back by
//! `parent_message_uuid` (the root's parent is the all-zero uuid, which no message has);
//! siblings are other branches, kept as versions. Without a known leaf, the newest
//! message is the leaf. A message's own `model` wins over the conversation's.

use serde_json::{json, Value};

use super::{
    current_branch, id_at, rfc3339_at, same_conversation, span, stamp, str_at, Node, ThreadError, ThreadRead, MAX_NODES,
};
use crate::import::markdown::ms_from_rfc3339;
use crate::model::{Conversation, Message, Role, Site};

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let mut value = super::parse_json(&replies[0])?;
    if !value.is_object() {
        return Err(ThreadError::ShapeChanged);
    }
    same_conversation(str_at(&value, "uuid"), conversation_id)?;
    let Some(Value::Array(raw)) = value.get_mut("chat_messages").map(Value::take) else {
        return Err(ThreadError::ShapeChanged);
    };
    if raw.len() > MAX_NODES {
        return Err(ThreadError::TooLarge);
    }
    let model = value.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned);
    let conv_created = value.get("created_at").and_then(Value::as_str).and_then(ms_from_rfc3339);

    let mut nodes = Vec::with_capacity(raw.len());
    for m in raw {
        if !m.is_object() {
            return Err(ThreadError::ShapeChanged);
        }
        let id = id_at(&m, "uuid");
        let parent = Some(id_at(&m, "parent_message_uuid")).filter(|p| !p.is_empty());
        let time = rfc3339_at(&m, "created_at").unwrap_or(0);
        let own_model = m.get("model").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let message = render(conversation_id, m, own_model.or_else(|| model.clone()), time, conv_created)?;
        nodes.push(Node { id, parent, time, message });
    }
    let leaf = str_at(&value, "current_leaf_message_uuid");
    let mut messages = current_branch(nodes, Some(leaf).filter(|l| !l.is_empty()))?;
    let url = format!("https://claude.ai/chat/{conversation_id}");
    stamp(&mut messages, &url);
    let (first, last) = span(&messages);
    let created_at = conv_created.unwrap_or(first);
    let conversation = Conversation {
        site: Site::Claude,
        conversation_id: conversation_id.to_owned(),
        title: str_at(&value, "name").to_owned(),
        url,
        model: model.or_else(|| messages.iter().rev().find_map(|m| m.provenance.model.clone())),
        created_at,
        updated_at: rfc3339_at(&value, "updated_at").unwrap_or(last).max(created_at),
        messages,
    };
    Ok(ThreadRead { conversation, more: None })
}

/// One message through the export importer (one conversation of one message).
fn render(
    conversation_id: &str,
    message: Value,
    model: Option<String>,
    time: i64,
    conv_created: Option<i64>,
) -> Result<Option<Message>, ThreadError> {
    let wrapper = json!({"uuid": conversation_id, "model": model, "chat_messages": [message]});
    let mut one = crate::import::claude::convert(wrapper).map_err(|()| ThreadError::ShapeChanged)?;
    let Some(mut m) = one.messages.pop() else { return Ok(None) };
    if time == 0 {
        m.provenance.first_seen = conv_created.unwrap_or(0);
    }
    if m.role == Role::User {
        m.provenance.model = None;
    }
    Ok(Some(m))
}
