//! The extension's JSON results as text a model reads well.
//!
//! Each tool's result shape is in `PROTOCOL.md`; a field missing is left out of the text,
//! and a result of another shape is shown as indented JSON rather than lost.

use serde_json::Value;

use crate::tools::{GET_CONTEXT, LIST_RECENT, REMEMBER, SEARCH_CHATS};

/// Formats a successful result of `tool`.
pub fn result(tool: &str, result: &Value) -> String {
    let text = match tool {
        SEARCH_CHATS => search(result),
        GET_CONTEXT => context(result),
        LIST_RECENT => recent(result),
        REMEMBER => remembered(result),
        _ => None,
    };
    text.unwrap_or_else(|| serde_json::to_string_pretty(result).unwrap_or_default())
}

fn field<'a>(item: &'a Value, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// `Title (site, date)`, with whatever is known.
fn heading(item: &Value, extra: Option<String>) -> String {
    let title = field(item, "title").unwrap_or("(untitled)");
    let details: Vec<String> = [field(item, "site").map(String::from), field(item, "date").map(String::from), extra]
        .into_iter()
        .flatten()
        .collect();
    if details.is_empty() {
        title.to_string()
    } else {
        format!("{title} ({})", details.join(", "))
    }
}

fn address_lines(out: &mut String, item: &Value) {
    if let Some(url) = field(item, "url") {
        out.push_str(&format!("   url: {url}\n"));
    }
    if let Some(id) = field(item, "conversation") {
        out.push_str(&format!("   conversation: {id}\n"));
    }
}

fn search(result: &Value) -> Option<String> {
    let hits = result.get("hits")?.as_array()?;
    let total = result.get("total").and_then(Value::as_u64).unwrap_or(hits.len() as u64);
    if hits.is_empty() {
        return Some("No saved chat matched. Try other or fewer words, or list_recent to browse recent chats.".into());
    }
    let mut out = if total as usize > hits.len() {
        format!("{total} saved chats matched; the best {}:\n\n", hits.len())
    } else {
        format!("{} saved chat{} matched:\n\n", hits.len(), if hits.len() == 1 { "" } else { "s" })
    };
    for (n, hit) in hits.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", n + 1, heading(hit, None)));
        address_lines(&mut out, hit);
        if let Some(snippet) = field(hit, "snippet") {
            let who = field(hit, "role").map(|role| format!("{role}: ")).unwrap_or_default();
            out.push_str(&format!("   {who}{}\n", snippet.replace('\n', " ")));
        }
        out.push('\n');
    }
    out.push_str("Call get_context with a conversation id to read that conversation.");
    Some(out)
}

fn context(result: &Value) -> Option<String> {
    result.get("block").and_then(Value::as_str).map(String::from)
}

fn recent(result: &Value) -> Option<String> {
    let list = result.get("conversations")?.as_array()?;
    if list.is_empty() {
        return Some("No saved chats yet.".into());
    }
    let mut out = format!("{} most recent saved chat{}:\n\n", list.len(), if list.len() == 1 { "" } else { "s" });
    for (n, item) in list.iter().enumerate() {
        let messages = item.get("messages").and_then(Value::as_u64).map(|m| format!("{m} messages"));
        out.push_str(&format!("{}. {}\n", n + 1, heading(item, messages)));
        address_lines(&mut out, item);
        out.push('\n');
    }
    out.push_str("Call get_context with a conversation id to read that conversation.");
    Some(out)
}

fn remembered(result: &Value) -> Option<String> {
    let id = field(result, "conversation")?;
    let title = field(result, "title").unwrap_or("(untitled)");
    Some(format!("Saved in Threadkeeper as \"{title}\" (conversation {id})."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn search_hits_read_as_a_numbered_list_with_everything_needed_to_follow_up() {
        let text = result(
            SEARCH_CHATS,
            &json!({"total": 12, "hits": [{"conversation": "c-1", "site": "claude", "title": "Borrow checker", "date": "2026-11-30",
                "url": "https://claude.ai/chat/1", "role": "assistant", "snippet": "Use a\nlifetime"}]}),
        );
        assert_eq!(
            text,
            "12 saved chats matched; the best 1:\n\n1. Borrow checker (claude, 2026-11-30)\n   url: https://claude.ai/chat/1\n   \
conversation: c-1\n   assistant: Use a lifetime\n\nCall get_context with a conversation id to read that conversation."
        );
    }

    #[test]
    fn an_empty_search_says_what_to_try() {
        assert!(result(SEARCH_CHATS, &json!({"total": 0, "hits": []})).starts_with("No saved chat matched"));
    }

    #[test]
    fn recent_chats_show_their_message_counts_and_context_is_the_block_itself() {
        let text = result(
            LIST_RECENT,
            &json!({"conversations": [{"conversation": "c", "site": "chatgpt", "title": "T", "date": "d", "url": "u", "messages": 4}]}),
        );
        assert!(text.contains("1. T (chatgpt, d, 4 messages)\n   url: u\n   conversation: c\n"), "{text}");
        assert_eq!(result(GET_CONTEXT, &json!({"conversation": "c", "block": "## T\nhello"})), "## T\nhello");
        assert_eq!(
            result(REMEMBER, &json!({"conversation": "c9", "title": "Plan"})),
            "Saved in Threadkeeper as \"Plan\" (conversation c9)."
        );
    }

    #[test]
    fn a_result_of_another_shape_is_shown_as_json() {
        assert_eq!(result(SEARCH_CHATS, &json!({"odd": 1})), "{\n  \"odd\": 1\n}");
    }
}
