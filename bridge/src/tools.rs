//! The four tools, as a table of facts: name, description for a model, input schema, and
//! the argument rules both ends of the bridge check before anything reaches the browser.

use serde_json::{json, Map, Value};

/// The sites Threadkeeper captures, as the extension names them.
pub const SITES: [&str; 8] = ["chatgpt", "claude", "gemini", "perplexity", "grok", "deepseek", "copilot", "mistral"];

/// Tool names: the contract with the extension and with agents.
pub const SEARCH_CHATS: &str = "search_chats";
pub const GET_CONTEXT: &str = "get_context";
pub const LIST_RECENT: &str = "list_recent";
pub const REMEMBER: &str = "remember";
/// Not a tool: the request asking which tools this client may see.
pub const TOOLS: &str = "tools";

/// The read tools, always listed; `remember` only when the extension allows it.
pub const READ_TOOLS: [&str; 3] = [SEARCH_CHATS, GET_CONTEXT, LIST_RECENT];

const LIMIT_MAX: u64 = 50;
const LIMIT_DEFAULT: u64 = 10;
const QUERY_MAX_CHARS: usize = 512;
const CONVERSATION_MAX_CHARS: usize = 256;
const BUDGET_MIN: u64 = 200;
const BUDGET_MAX: u64 = 100_000;
const TITLE_MAX_CHARS: usize = 200;
const TEXT_MAX_BYTES: usize = 65_536;

/// A tool as listed to agents.
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub read_only: bool,
    pub schema: fn() -> Value,
}

pub const SPECS: [ToolSpec; 4] = [
    ToolSpec {
        name: SEARCH_CHATS,
        description: "Search the person's saved AI chats (ChatGPT, Claude, Gemini, Perplexity, Grok, DeepSeek, \
Copilot, Mistral) stored by Threadkeeper in their browser. Call this when the person refers to something they \
discussed before with an AI (\"what did Claude say about...\", \"find the chat where I...\"), or when their earlier \
conversations would help answer. Words match whole words and word starts; `site` keeps one assistant only. Returns \
numbered hits, each with the conversation's title, site, date, address, conversation id and a snippet of the \
matching message. Pass a conversation id to get_context to read that conversation. The person may be asked in the \
browser to allow the search; if the vault is locked or agents are turned off, the error says what they can do.",
        read_only: true,
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1, "maxLength": QUERY_MAX_CHARS, "description": "Words to look for, as the person would have written them."},
                    "site": site_schema(),
                    "limit": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT, "description": "How many hits at most."}
                },
                "required": ["query"],
                "additionalProperties": false
            })
        },
    },
    ToolSpec {
        name: GET_CONTEXT,
        description: "Read one saved conversation from Threadkeeper as a compact context block: its title, where \
it came from, and the turns of the conversation, shortened to fit a token budget. Call this after search_chats or \
list_recent when you need what was actually said, to continue that work or quote it. `conversation` is the id from \
those results. Returns the block text itself, ready to read.",
        read_only: true,
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "conversation": {"type": "string", "minLength": 1, "maxLength": CONVERSATION_MAX_CHARS, "description": "The conversation id from search_chats or list_recent."},
                    "budget_tokens": {"type": "integer", "minimum": BUDGET_MIN, "maximum": BUDGET_MAX, "description": "The most tokens the block may take; the person's own setting when left out."}
                },
                "required": ["conversation"],
                "additionalProperties": false
            })
        },
    },
    ToolSpec {
        name: LIST_RECENT,
        description: "List the person's most recently updated saved AI chats in Threadkeeper, newest first. Call \
this when the person means a recent conversation without words to search for (\"my last chat with ChatGPT\", \
\"what was I working on yesterday\"). Returns numbered conversations with title, site, date, address, number of \
messages and conversation id (pass it to get_context).",
        read_only: true,
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT, "description": "How many conversations at most."},
                    "site": site_schema()
                },
                "additionalProperties": false
            })
        },
    },
    ToolSpec {
        name: REMEMBER,
        description: "Save a note into the person's Threadkeeper vault as a new conversation they can search and \
reuse later. Call this only when the person asks you to remember, save or keep something (a decision, a summary of \
this session, a snippet). `text` is Markdown. Returns the new conversation's id and title.",
        read_only: false,
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX_CHARS, "description": "A short title the person will recognise."},
                    "text": {"type": "string", "minLength": 1, "description": "What to keep, in Markdown (at most 64 KiB)."}
                },
                "required": ["title", "text"],
                "additionalProperties": false
            })
        },
    },
];

fn site_schema() -> Value {
    json!({"type": "string", "enum": SITES, "description": "Only chats from this assistant."})
}

/// The spec of a tool by name.
pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    SPECS.iter().find(|spec| spec.name == name)
}

/// Checks a call's arguments and returns them as relayed (defaults filled in).
///
/// # Errors
/// A sentence naming the argument and the rule, for the model to correct its call. It
/// never repeats the argument's value.
pub fn validate(tool: &str, args: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let (allowed, required): (&[&str], &[&str]) = match tool {
        SEARCH_CHATS => (&["query", "site", "limit"], &["query"]),
        GET_CONTEXT => (&["conversation", "budget_tokens"], &["conversation"]),
        LIST_RECENT => (&["limit", "site"], &[]),
        REMEMBER => (&["title", "text"], &["title", "text"]),
        TOOLS => (&[], &[]),
        _ => return Err(format!("There is no tool named `{}`.", short(tool))),
    };
    let mut out = Map::new();
    for (key, value) in args {
        if !allowed.contains(&key.as_str()) {
            return Err(format!("{tool} does not take an argument `{}`.", short(key)));
        }
        // Models often send null for an optional argument: the same as leaving it out.
        if value.is_null() {
            continue;
        }
        let checked = match key.as_str() {
            "query" => text_chars(key, value, 1, QUERY_MAX_CHARS)?,
            "conversation" => text_chars(key, value, 1, CONVERSATION_MAX_CHARS)?,
            "title" => text_chars(key, value, 1, TITLE_MAX_CHARS)?,
            "text" => text_bytes(key, value, TEXT_MAX_BYTES)?,
            "limit" => integer(key, value, 1, LIMIT_MAX)?,
            "budget_tokens" => integer(key, value, BUDGET_MIN, BUDGET_MAX)?,
            "site" => site(value)?,
            _ => unreachable!("every allowed key has a rule"),
        };
        out.insert(key.clone(), checked);
    }
    for key in required {
        if !out.contains_key(*key) {
            return Err(format!("{tool} needs the argument `{key}`."));
        }
    }
    if allowed.contains(&"limit") && !out.contains_key("limit") {
        out.insert("limit".into(), LIMIT_DEFAULT.into());
    }
    Ok(out)
}

fn short(name: &str) -> String {
    name.chars().take(40).collect()
}

fn text_chars(key: &str, value: &Value, min: usize, max: usize) -> Result<Value, String> {
    let text = value.as_str().ok_or_else(|| format!("`{key}` must be a string."))?;
    let count = text.chars().count();
    if count < min || count > max || text.trim().is_empty() {
        return Err(format!("`{key}` must be {min} to {max} characters long, and not only spaces."));
    }
    Ok(value.clone())
}

fn text_bytes(key: &str, value: &Value, max: usize) -> Result<Value, String> {
    let text = value.as_str().ok_or_else(|| format!("`{key}` must be a string."))?;
    if text.trim().is_empty() || text.len() > max {
        return Err(format!("`{key}` must be some text of at most {max} bytes (64 KiB)."));
    }
    Ok(value.clone())
}

fn integer(key: &str, value: &Value, min: u64, max: u64) -> Result<Value, String> {
    // 10.0 is ten; "10" (a string) and 10.5 are not integers.
    let number = value.as_u64().or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64));
    match number {
        Some(n) if (min..=max).contains(&n) => Ok(n.into()),
        _ => Err(format!("`{key}` must be a whole number from {min} to {max}.")),
    }
}

fn site(value: &Value) -> Result<Value, String> {
    match value.as_str() {
        Some(name) if SITES.contains(&name) => Ok(value.clone()),
        _ => Err(format!("`site` must be one of: {}.", SITES.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_search_gets_the_default_limit_and_keeps_its_words() {
        let out = validate(SEARCH_CHATS, &args(json!({"query": "rust lifetimes", "site": "claude"}))).unwrap();
        assert_eq!(Value::Object(out), json!({"query": "rust lifetimes", "site": "claude", "limit": 10}));
    }

    #[test]
    fn each_limit_is_checked_at_its_edges() {
        let search = |extra: Value| {
            let mut a = args(json!({"query": "x"}));
            a.extend(args(extra));
            validate(SEARCH_CHATS, &a)
        };
        assert!(search(json!({"limit": 1})).is_ok());
        assert!(search(json!({"limit": 50})).is_ok());
        assert!(search(json!({"limit": 51})).is_err());
        assert!(search(json!({"limit": 0})).is_err());
        assert!(search(json!({"limit": "5"})).is_err());
        assert!(search(json!({"limit": 5.5})).is_err());
        assert!(search(json!({"limit": 5.0})).is_ok());
        assert!(search(json!({"site": "myspace"})).is_err());
        assert!(search(json!({"site": null})).is_ok());
        assert!(validate(SEARCH_CHATS, &args(json!({"query": "é".repeat(512)}))).is_ok());
        assert!(validate(SEARCH_CHATS, &args(json!({"query": "é".repeat(513)}))).is_err());
        assert!(validate(SEARCH_CHATS, &args(json!({"query": ""}))).is_err());
        assert!(validate(SEARCH_CHATS, &args(json!({}))).unwrap_err().contains("needs the argument `query`"));
        let context =
            |budget: u64| validate(GET_CONTEXT, &args(json!({"conversation": "c1", "budget_tokens": budget})));
        assert!(context(199).is_err());
        assert!(context(200).is_ok());
        assert!(context(100_000).is_ok());
        assert!(context(100_001).is_err());
        let remember = |title: String, text: String| validate(REMEMBER, &args(json!({"title": title, "text": text})));
        assert!(remember("t".repeat(200), "x".repeat(65_536)).is_ok());
        assert!(remember("t".repeat(201), "x".into()).is_err());
        assert!(remember("t".into(), "x".repeat(65_537)).is_err());
        assert!(remember("t".into(), "é".repeat(32_769)).is_err(), "the text limit counts bytes");
    }

    #[test]
    fn unknown_arguments_and_tools_are_refused_without_echoing_values() {
        let err = validate(LIST_RECENT, &args(json!({"query": "secret words"}))).unwrap_err();
        assert!(err.contains("`query`") && !err.contains("secret"));
        assert!(validate("drop_all", &Map::new()).is_err());
        assert_eq!(validate(LIST_RECENT, &Map::new()).unwrap()["limit"], 10);
    }

    #[test]
    fn every_tool_has_a_schema_object() {
        for spec in &SPECS {
            assert_eq!((spec.schema)()["type"], "object", "{}", spec.name);
        }
    }
}
