//! ChatGPT: the conversation as chatgpt.com's own page reads it.
//!
//! Two shapes, told apart by their keys (facts from peers' code of 2026-08..10; not
//! captured by us):
//!
//! - **Tree** (`mapping`): `GET /backend-api/conversation/{id}` =
//!   `{conversation_id, title, create_time, update_time, current_node, default_model_slug?,
//!   mapping: {id: {id, parent, children, message: {id, author: {role, name}, create_time,
//!   content: {content_type, parts}, metadata: {model_slug, ...}, recipient}}}}`. This is
//!   exactly one conversation of the official export, so the export importer
//!   (`import::chatgpt::convert`) reads it: the path to `current_node` is the
//!   transcript, other branches are versions, system/empty/hidden/`*_editable_context`
//!   nodes are dropped, `thoughts`/`reasoning_recap` go to metadata. Before that, the
//!   tree is made safe: `children` lists keep only nodes whose `parent` names them (once
//!   each), and the parent chain from `current_node` must not loop.
//! - **Pages** (`messages`): `GET /backend-api/conversations/{id}?include_has_versions=true
//!   &num_turns=N` = `{conversation_id?, title?, create_time?, update_time?,
//!   current_node?, messages: [message objects as above, oldest first, the current branch
//!   only], page_info: {has_previous_page, start_cursor}}` (camelCase `pageInfo`,
//!   `hasPreviousPage`, `startCursor` accepted too; the whole may be wrapped in
//!   `conversation`). Older pages come from `/backend-api/conversations/{id}/messages?before=<cursor>`
//!   in the same shape. `replies` are then newest page first; `more` is the
//!   `start_cursor` of the last page while it says `has_previous_page`. The pages,
//!   oldest first, are chained into a tree and read as above; the flat list carries no
//!   other branches, so no versions come from this shape.
//!
//! Citation markers are removed from the text: `\u{e200}cite\u{e202}turn0search3\u{e201}`
//! (and the other private-use markers; an `entity` marker keeps the name it shows) and
//! `【4:0†source】`.

use serde_json::{json, Map, Value};

use super::{parse_json, same_conversation, stamp, str_at, ThreadError, ThreadRead, MAX_NODES};
use crate::model::Conversation;

pub(super) fn parse(conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let first = unwrap(parse_json(&replies[0])?);
    if first.get("mapping").is_some_and(Value::is_object) {
        // The tree is the whole conversation in one reply.
        let conversation = read_tree(conversation_id, first)?;
        return Ok(ThreadRead { conversation, more: None });
    }
    if first.get("messages").is_some_and(Value::is_array) {
        return read_pages(conversation_id, first, &replies[1..]);
    }
    Err(ThreadError::ShapeChanged)
}

/// Some builds wrap the reply in `{conversation: {...}}`.
fn unwrap(value: Value) -> Value {
    match value {
        Value::Object(mut obj) if !obj.contains_key("mapping") && !obj.contains_key("messages") => {
            match obj.remove("conversation") {
                Some(inner @ Value::Object(_)) => inner,
                _ => Value::Object(obj),
            }
        }
        other => other,
    }
}

fn named_id(value: &Value) -> &str {
    match str_at(value, "conversation_id") {
        "" => str_at(value, "id"),
        id => id,
    }
}

fn read_tree(conversation_id: &str, mut value: Value) -> Result<Conversation, ThreadError> {
    same_conversation(named_id(&value), conversation_id)?;
    let current = str_at(&value, "current_node").to_owned();
    let obj = value.as_object_mut().ok_or(ThreadError::ShapeChanged)?;
    if !obj.contains_key("conversation_id") {
        obj.insert("conversation_id".into(), Value::String(conversation_id.to_owned()));
    }
    let mapping = obj.get_mut("mapping").and_then(Value::as_object_mut).ok_or(ThreadError::ShapeChanged)?;
    if mapping.len() > MAX_NODES {
        return Err(ThreadError::TooLarge);
    }
    make_safe(mapping, &current)?;
    convert(value)
}

/// Keeps in each `children` list only the nodes whose `parent` names that node, once
/// each, so every node has one place in the tree and the export reader walks each at
/// most once; refuses a parent chain from `current` that loops.
fn make_safe(mapping: &mut Map<String, Value>, current: &str) -> Result<(), ThreadError> {
    let parents: std::collections::HashMap<String, String> = mapping
        .iter()
        .filter_map(|(k, n)| n.get("parent").and_then(Value::as_str).map(|p| (k.clone(), p.to_owned())))
        .collect();
    for (key, node) in mapping.iter_mut() {
        let Some(children) = node.get_mut("children").and_then(Value::as_array_mut) else { continue };
        let mut kept = std::collections::HashSet::new();
        children.retain(|c| {
            c.as_str()
                .is_some_and(|c| parents.get(c).map(String::as_str) == Some(key.as_str()) && kept.insert(c.to_owned()))
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut at = Some(current).filter(|c| mapping.contains_key(*c));
    while let Some(id) = at {
        if !seen.insert(id) {
            return Err(ThreadError::ShapeChanged);
        }
        at = parents.get(id).map(String::as_str).filter(|p| mapping.contains_key(*p));
    }
    Ok(())
}

fn page_cursor(page: &Value) -> Result<Option<String>, ThreadError> {
    let Some(info) = page.get("page_info").or_else(|| page.get("pageInfo")) else { return Ok(None) };
    let previous = info.get("has_previous_page").or_else(|| info.get("hasPreviousPage")).and_then(Value::as_bool);
    if previous != Some(true) {
        return Ok(None);
    }
    match info.get("start_cursor").or_else(|| info.get("startCursor")) {
        Some(Value::String(c)) if !c.is_empty() => Ok(Some(c.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        _ => Err(ThreadError::ShapeChanged),
    }
}

fn read_pages(conversation_id: &str, first: Value, older: &[String]) -> Result<ThreadRead, ThreadError> {
    same_conversation(named_id(&first), conversation_id)?;
    let mut cursors = vec![page_cursor(&first)?];
    let mut pages = vec![first];
    for body in older {
        let page = unwrap(parse_json(body)?);
        if !page.get("messages").is_some_and(Value::is_array) {
            return Err(ThreadError::ShapeChanged);
        }
        same_conversation(named_id(&page), conversation_id)?;
        cursors.push(page_cursor(&page)?);
        pages.push(page);
    }
    let more = cursors.last().cloned().flatten();
    if let Some(cursor) = &more {
        // A page that sends back a cursor already followed would page forever.
        if cursors[..cursors.len() - 1].iter().any(|c| c.as_ref() == Some(cursor)) {
            return Err(ThreadError::ShapeChanged);
        }
    }

    let head = &pages[0];
    let mut conversation = Map::new();
    conversation.insert("conversation_id".into(), Value::String(conversation_id.to_owned()));
    for key in ["title", "create_time", "update_time", "default_model_slug"] {
        if let Some(v) = head.get(key).filter(|v| !v.is_null()) {
            conversation.insert(key.into(), v.clone());
        }
    }

    // Oldest page first; a message seen on two pages is kept once.
    let mut mapping = Map::new();
    let mut parent: Option<String> = None;
    for mut page in pages.into_iter().rev() {
        let Some(Value::Array(messages)) = page.get_mut("messages").map(Value::take) else {
            return Err(ThreadError::ShapeChanged);
        };
        for (i, message) in messages.into_iter().enumerate() {
            if mapping.len() >= MAX_NODES {
                return Err(ThreadError::TooLarge);
            }
            let id = match str_at(&message, "id") {
                "" => format!("#{}-{i}", mapping.len()),
                id => id.to_owned(),
            };
            if mapping.contains_key(&id) {
                continue;
            }
            if let Some(p) = &parent {
                if let Some(children) =
                    mapping.get_mut(p).and_then(|n| n.get_mut("children")).and_then(Value::as_array_mut)
                {
                    children.push(Value::String(id.clone()));
                }
            }
            mapping.insert(id.clone(), json!({"id": id, "parent": parent, "children": [], "message": message}));
            parent = Some(id);
        }
    }
    if let Some(leaf) = parent {
        conversation.insert("current_node".into(), Value::String(leaf));
    }
    conversation.insert("mapping".into(), Value::Object(mapping));
    Ok(ThreadRead { conversation: convert(Value::Object(conversation))?, more })
}

/// The export reader, then this module's source and citation cleaning.
fn convert(value: Value) -> Result<Conversation, ThreadError> {
    let mut conversation = crate::import::chatgpt::convert(value).map_err(|()| ThreadError::ShapeChanged)?;
    let url = conversation.url.clone();
    stamp(&mut conversation.messages, &url);
    for m in &mut conversation.messages {
        m.markdown = strip_citations(&m.markdown);
        for v in &mut m.versions {
            *v = strip_citations(v);
        }
        for v in m.metadata.values_mut() {
            *v = strip_citations(v);
        }
    }
    Ok(conversation)
}

fn is_marker(c: char) -> bool {
    matches!(c, '\u{e200}'..='\u{e20f}' | '【')
}

/// The text without ChatGPT's citation markers.
pub(super) fn strip_citations(text: &str) -> String {
    if !text.contains(is_marker) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(is_marker) {
        out.push_str(&rest[..pos]);
        let c = rest[pos..].chars().next().unwrap_or(' ');
        let after = &rest[pos + c.len_utf8()..];
        match c {
            '\u{e200}' => match after.find('\u{e201}') {
                Some(end) => {
                    let shown = entity_name(&after[..end]);
                    if shown.is_empty() {
                        drop_space_before(&mut out, &after[end + 3..]);
                    }
                    out.push_str(&shown);
                    rest = &after[end + '\u{e201}'.len_utf8()..];
                }
                None => rest = after,
            },
            '【' => match after.find('】') {
                Some(end) if end <= 200 && after[..end].contains('†') => {
                    drop_space_before(&mut out, &after[end + '】'.len_utf8()..]);
                    rest = &after[end + '】'.len_utf8()..];
                }
                _ => {
                    out.push('【');
                    rest = after;
                }
            },
            _ => rest = after, // a stray private-use marker
        }
    }
    out.push_str(rest);
    out
}

/// `fact [cite].` reads `fact.`, not `fact .`.
fn drop_space_before(out: &mut String, next: &str) {
    if !next.chars().next().is_some_and(char::is_alphanumeric) {
        let kept = out.trim_end_matches([' ', '\t']).len();
        out.truncate(kept);
    }
}

/// The name an `entity\u{e202}["kind","Name",...]` marker shows; `""` for other markers.
fn entity_name(inner: &str) -> String {
    let Some(json) = inner.strip_prefix("entity\u{e202}") else { return String::new() };
    match serde_json::from_str::<Vec<Value>>(json) {
        Ok(parts) => parts.get(1).and_then(Value::as_str).unwrap_or("").to_owned(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::strip_citations;

    #[test]
    fn citation_markers_are_removed() {
        assert_eq!(strip_citations("Tea is green \u{e200}cite\u{e202}turn0search3\u{e201}."), "Tea is green.");
        assert_eq!(strip_citations("A\u{e200}cite\u{e202}turn0search1\u{e202}turn0news2\u{e201} b"), "A b");
        assert_eq!(
            strip_citations("Visit \u{e200}entity\u{e202}[\"city\",\"Kyoto\",\"Japan\"]\u{e201} soon"),
            "Visit Kyoto soon"
        );
        assert_eq!(strip_citations("Fact 【4:0†source】 and more【11†news】."), "Fact and more.");
        assert_eq!(strip_citations("Keep 【this】 one"), "Keep 【this】 one");
        assert_eq!(strip_citations("stray \u{e203} mark \u{e200}unclosed"), "stray  mark unclosed");
        assert_eq!(strip_citations("plain"), "plain");
    }
}
