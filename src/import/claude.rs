//! Claude's `conversations.json` (Settings, Privacy, Export data).
//!
//! A list of conversations `{uuid, name, created_at, updated_at, chat_messages}`. The
//! messages are not always in order in the array: they are sorted by `created_at`
//! (equal times: the person's message first, then the array's order).
//!
//! A message has `sender` (`human`, `assistant`) and either the older `text` or the
//! newer `content` blocks, taken in preference when present:
//!
//! | block | becomes |
//! |---|---|
//! | `text` | the text |
//! | `thinking` | metadata `thinking`, not the answer |
//! | `tool_use` | the call, as a fenced JSON block under the tool's name |
//! | `tool_result` | the result, as a blockquote |
//!
//! `<antThinking>` passages inside text also go to metadata `thinking`; the names of
//! `files` and `attachments` go to metadata `attachments`.

use serde::Deserialize;
use serde_json::Value;

use super::markdown::{blockquote, fence, join_blocks, ms_from_rfc3339};
use crate::model::{Conversation, Message, Provenance, Role, Site};

const SOURCE: &str = "import:claude";

#[derive(Deserialize)]
struct RawConversation {
    uuid: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    chat_messages: Vec<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    content: Option<Vec<Value>>,
    #[serde(default)]
    sender: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    attachments: Vec<Value>,
    #[serde(default)]
    files: Vec<Value>,
}

/// One conversation object of the export.
pub fn convert(value: Value) -> Result<Conversation, ()> {
    let raw: RawConversation = serde_json::from_value(value).map_err(|_| ())?;
    if raw.uuid.is_empty() {
        return Err(());
    }
    let url = format!("https://claude.ai/chat/{}", raw.uuid);
    let created_at = raw.created_at.as_deref().and_then(ms_from_rfc3339).unwrap_or(0);
    let updated_at = raw.updated_at.as_deref().and_then(ms_from_rfc3339).unwrap_or(created_at);

    // Sort keys: time, then the person before the assistant, then the array's order.
    let times: Vec<i64> = raw
        .chat_messages
        .iter()
        .map(|m| m.created_at.as_deref().and_then(ms_from_rfc3339).unwrap_or(i64::MIN))
        .collect();
    let order = super::order_by_key(
        raw.chat_messages
            .iter()
            .enumerate()
            .map(|(i, m)| (times[i], u64::from(m.sender != "human") << 32 | i as u64))
            .collect(),
    );
    let messages = order
        .into_iter()
        .filter_map(|i| {
            let at = if times[i] == i64::MIN { created_at } else { times[i] };
            render(&raw.chat_messages[i], at, &url, raw.model.as_deref())
        })
        .collect();
    Ok(Conversation {
        site: Site::Claude,
        conversation_id: raw.uuid.clone(),
        title: raw.name.clone().unwrap_or_default(),
        url,
        model: raw.model.clone(),
        created_at,
        updated_at,
        messages,
    })
}

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Takes `<antThinking>...</antThinking>` passages out of `text`.
fn split_ant_thinking(text: &str) -> (String, Vec<String>) {
    const OPEN: &str = "<antThinking>";
    const CLOSE: &str = "</antThinking>";
    let mut rest = text;
    let mut kept = String::with_capacity(text.len());
    let mut thinking = Vec::new();
    while let Some(start) = rest.find(OPEN) {
        let Some(len) = rest[start + OPEN.len()..].find(CLOSE) else { break };
        // The passage's place becomes one paragraph break, not a gap of blank lines.
        let before = rest[..start].trim_end();
        kept.push_str(before);
        if !before.is_empty() {
            kept.push_str("\n\n");
        }
        thinking.push(rest[start + OPEN.len()..start + OPEN.len() + len].trim().to_owned());
        rest = rest[start + OPEN.len() + len + CLOSE.len()..].trim_start();
    }
    kept.push_str(rest);
    (kept.trim().to_owned(), thinking)
}

fn tool_result_text(block: &Value) -> String {
    match block.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => join_blocks(items.iter().map(|i| match i {
            Value::String(s) => s.clone(),
            _ => str_at(i, "text").to_owned(),
        })),
        _ => String::new(),
    }
}

fn render(m: &RawMessage, at: i64, url: &str, model: Option<&str>) -> Option<Message> {
    let role = match m.sender.as_str() {
        "human" | "user" => Role::User,
        "assistant" => Role::Assistant,
        _ => return None,
    };
    let mut blocks = Vec::new();
    let mut thinking = Vec::new();
    match m.content.as_deref() {
        Some(content) if !content.is_empty() => {
            for block in content {
                match str_at(block, "type") {
                    "text" => blocks.push(str_at(block, "text").to_owned()),
                    "thinking" => thinking.push(str_at(block, "thinking").to_owned()),
                    "tool_use" => {
                        let input = block.get("input").map(|i| serde_json::to_string_pretty(i).unwrap_or_default());
                        let name = str_at(block, "name");
                        blocks.push(format!(
                            "`{}`\n\n{}",
                            if name.is_empty() { "tool" } else { name },
                            fence(&input.unwrap_or_default(), "json")
                        ));
                    }
                    "tool_result" => blocks.push(blockquote(&tool_result_text(block))),
                    _ => blocks.push(str_at(block, "text").to_owned()),
                }
            }
        }
        _ => blocks.push(m.text.clone().unwrap_or_default()),
    }
    let (markdown, mut ant_thinking) = split_ant_thinking(&join_blocks(blocks));
    thinking.append(&mut ant_thinking);

    let mut msg = Message::new(role, markdown);
    let thinking = join_blocks(thinking);
    if !thinking.is_empty() {
        msg.metadata.insert("thinking".into(), thinking);
    }
    let names: Vec<&str> =
        m.files.iter().chain(&m.attachments).map(|f| str_at(f, "file_name")).filter(|n| !n.is_empty()).collect();
    if !names.is_empty() {
        msg.metadata.insert("attachments".into(), names.join("\n"));
    }
    if msg.markdown.is_empty() && msg.metadata.is_empty() {
        return None;
    }
    msg.turn_id = m.uuid.clone();
    msg.provenance = Provenance {
        url: Some(url.to_owned()),
        model: if role == Role::Assistant { model.map(str::to_owned) } else { None },
        first_seen: at,
        last_seen: m.updated_at.as_deref().and_then(ms_from_rfc3339).unwrap_or(at),
        source: Some(SOURCE.to_owned()),
    };
    Some(msg)
}
