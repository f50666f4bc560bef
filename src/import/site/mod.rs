//! A site's own conversation JSON, as the page reads it from its backend, turned into a
//! [`Conversation`] (issue 11).
//!
//! The content script fetches the conversation open in its tab from the endpoint the
//! page itself uses and hands the reply bodies here, unparsed. One file per site says
//! which endpoint and which shape it models:
//!
//! | site | endpoint | file |
//! |---|---|---|
//! | ChatGPT | `/backend-api/conversation/{id}` (tree) or `/backend-api/conversations/{id}` (pages) | `chatgpt.rs` |
//! | Claude | `/api/organizations/{org}/chat_conversations/{id}?tree=True...` | `claude.rs` |
//! | DeepSeek | `/api/v0/chat/history_messages?chat_session_id={id}` | `deepseek.rs` |
//! | Perplexity | `/rest/thread/{slug}?...&offset=N` | `perplexity.rs` |
//! | Grok | `/rest/app-chat/conversations/{id}/response-node`, then `load-responses` | `grok.rs` |
//! | Copilot | `/c/api/conversations/{id}/history?api-version=2` | `copilot.rs` |
//! | Gemini | `POST /_/BardChatUi/data/batchexecute?rpcids=hNvQHb&...` (its chunked reply) | `gemini.rs` |
//!
//! Mistral and any other site are not read here:
//! [`parse_thread`] answers [`ThreadError::ShapeChanged`] for them.
//!
//! Everywhere: the thread the person sees (the current branch) is the transcript; the
//! other branches of a turn (an edited prompt, a regenerated answer) become that turn's
//! `versions`, oldest first, each the branch's first message followed by its later
//! messages under a role label, as the ChatGPT export importer does. Every message's
//! provenance says `source: "thread"`.
//!
//! Hostile replies: all replies together are capped at [`MAX_THREAD_BYTES`]; JSON
//! nesting is capped by serde_json's recursion limit; a conversation holds at most
//! [`MAX_NODES`] nodes; parent chains are walked with a record of what was seen (a
//! cycle on the current branch is an error) and every node is rendered at most once.

mod chatgpt;
mod claude;
mod copilot;
mod deepseek;
mod gemini;
mod grok;
mod perplexity;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use thiserror::Error;

use crate::model::{Conversation, Message, Site};

/// What went wrong reading a site's reply, for health; never includes content.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ThreadError {
    #[error("The conversation is too large to read at once.")]
    TooLarge,
    #[error("The site's reply has a shape Threadkeeper does not know; the site may have changed.")]
    ShapeChanged,
    #[error("The site answered with another conversation than the one open.")]
    OtherConversation,
    #[error("The conversation has no messages yet.")]
    NoTurns,
}

impl ThreadError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ThreadError::TooLarge => "too_large",
            ThreadError::ShapeChanged => "shape_changed",
            ThreadError::OtherConversation => "other_conversation",
            ThreadError::NoTurns => "no_turns",
        }
    }

    /// Words for a person.
    pub fn message(&self) -> &'static str {
        match self {
            ThreadError::TooLarge => "The conversation is too large to read at once.",
            ThreadError::ShapeChanged => {
                "The site's reply has a shape Threadkeeper does not know; the site may have changed."
            }
            ThreadError::OtherConversation => "The site answered with another conversation than the one open.",
            ThreadError::NoTurns => "The conversation has no messages yet.",
        }
    }
}

/// The most bytes of all replies of one conversation together.
pub const MAX_THREAD_BYTES: usize = 32 * 1024 * 1024;

/// The most nodes (messages, branches included) one conversation may hold.
pub const MAX_NODES: usize = 200_000;

/// The most replies (pages) of one conversation.
pub const MAX_PAGES: usize = 2_000;

/// What the replies so far held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRead {
    pub conversation: Conversation,
    /// When the site pages its thread and the replies so far say there is more: the
    /// opaque value the content script needs for the next request (ChatGPT: the
    /// `before` cursor; Perplexity: the next `offset`; Grok: the `load-responses` JSON
    /// body; Copilot: the `next` value; Gemini: the page token). `conversation` then
    /// holds what was read so far.
    pub more: Option<String>,
}

/// The source every message read from a site's thread carries in its provenance.
pub const SOURCE: &str = "thread";

/// Reads the conversation `conversation_id` of `site` from the reply bodies of its
/// endpoint. `replies`: the reply bodies fetched so far for this conversation, in the
/// order fetched.
///
/// # Errors
/// [`ThreadError::TooLarge`] past [`MAX_THREAD_BYTES`] (or [`MAX_NODES`], [`MAX_PAGES`]);
/// [`ThreadError::OtherConversation`] when a reply names another conversation's id;
/// [`ThreadError::NoTurns`] when the whole thread holds no message;
/// [`ThreadError::ShapeChanged`] for anything else that is not the expected shape (bad
/// JSON, wrong types, a cycle in parent links, a site not read here).
pub fn parse_thread(site: &Site, conversation_id: &str, replies: &[String]) -> Result<ThreadRead, ThreadError> {
    let total: usize = replies.iter().map(String::len).sum();
    if total > MAX_THREAD_BYTES {
        return Err(ThreadError::TooLarge);
    }
    if replies.len() > MAX_PAGES {
        return Err(ThreadError::TooLarge);
    }
    if replies.is_empty() {
        return Err(ThreadError::NoTurns);
    }
    let read = match site {
        Site::ChatGpt => chatgpt::parse(conversation_id, replies)?,
        Site::Claude => claude::parse(conversation_id, replies)?,
        Site::DeepSeek => deepseek::parse(conversation_id, replies)?,
        Site::Perplexity => perplexity::parse(conversation_id, replies)?,
        Site::Grok => grok::parse(conversation_id, replies)?,
        Site::Copilot => copilot::parse(conversation_id, replies)?,
        Site::Gemini => gemini::parse(conversation_id, replies)?,
        Site::Mistral | Site::Other(_) => return Err(ThreadError::ShapeChanged),
    };
    if read.more.is_none() && read.conversation.messages.is_empty() {
        return Err(ThreadError::NoTurns);
    }
    Ok(read)
}

// ---- Shared helpers -------------------------------------------------------------

/// One reply body as JSON. serde_json refuses nesting deeper than 128 levels.
fn parse_json(body: &str) -> Result<Value, ThreadError> {
    serde_json::from_str(body.strip_prefix('\u{feff}').unwrap_or(body)).map_err(|_| ThreadError::ShapeChanged)
}

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A string or number id as text (`""` when absent or another type).
fn id_at(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An RFC 3339 time at `key`, in milliseconds.
fn rfc3339_at(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(Value::as_str).and_then(super::markdown::ms_from_rfc3339)
}

/// Refuses a reply that names another conversation (`named` empty: it names none).
fn same_conversation(named: &str, conversation_id: &str) -> Result<(), ThreadError> {
    if named.is_empty() || named == conversation_id {
        Ok(())
    } else {
        Err(ThreadError::OtherConversation)
    }
}

/// Puts the address and the source on every message; `last_seen` defaults to
/// `first_seen`.
fn stamp(messages: &mut [Message], url: &str) {
    for m in messages {
        m.provenance.url = Some(url.to_owned());
        m.provenance.source = Some(SOURCE.to_owned());
        if m.provenance.last_seen == 0 {
            m.provenance.last_seen = m.provenance.first_seen;
        }
    }
}

/// The earliest and latest message time, for a conversation that gives none.
fn span(messages: &[Message]) -> (i64, i64) {
    let times = messages.iter().map(|m| m.provenance.first_seen).filter(|&t| t > 0);
    let first = times.clone().min().unwrap_or(0);
    let last = messages.iter().map(|m| m.provenance.last_seen.max(m.provenance.first_seen)).max().unwrap_or(0);
    (first, last.max(first))
}

/// Adds a `thinking` (or other) metadata entry when the text is not empty.
fn add_meta(meta: &mut BTreeMap<String, String>, key: &str, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        meta.insert(key.to_owned(), text.to_owned());
    }
}

/// One node of a site's message tree.
struct Node {
    id: String,
    /// The parent's id; `None` (or an id no node has) for a root.
    parent: Option<String>,
    /// Milliseconds, to order siblings (oldest first) and to find the newest leaf.
    time: i64,
    /// The message as shown; `None` for nodes that show nothing.
    message: Option<Message>,
}

/// The current branch of a message tree: from the root to `leaf` (or, without one or
/// when it is unknown, to the newest node), with every other branch as versions of the
/// turn where it split off.
///
/// # Errors
/// [`ThreadError::ShapeChanged`] when the parent links from the leaf form a cycle,
/// [`ThreadError::TooLarge`] past [`MAX_NODES`].
fn current_branch(mut nodes: Vec<Node>, leaf: Option<&str>) -> Result<Vec<Message>, ThreadError> {
    if nodes.len() > MAX_NODES {
        return Err(ThreadError::TooLarge);
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        index.entry(n.id.as_str()).or_insert(i);
    }
    let unique = |i: usize| index.get(nodes[i].id.as_str()) == Some(&i);
    let parent_of: Vec<Option<usize>> = (0..nodes.len())
        .map(|i| nodes[i].parent.as_deref().and_then(|p| index.get(p).copied()).filter(|&p| p != i))
        .collect();

    let by_time = |a: &usize, b: &usize| nodes[*a].time.cmp(&nodes[*b].time).then(a.cmp(b));
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut roots = Vec::new();
    for i in (0..nodes.len()).filter(|&i| unique(i)) {
        match parent_of[i] {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    for list in &mut children {
        list.sort_by(by_time);
    }
    roots.sort_by(by_time);

    let leaf =
        leaf.and_then(|l| index.get(l).copied()).or_else(|| (0..nodes.len()).filter(|&i| unique(i)).max_by(by_time));
    let Some(leaf) = leaf else { return Ok(Vec::new()) };
    let mut seen = vec![false; nodes.len()];
    let mut path = Vec::new();
    let mut at = Some(leaf);
    while let Some(i) = at {
        if seen[i] {
            return Err(ThreadError::ShapeChanged);
        }
        seen[i] = true;
        path.push(i);
        at = parent_of[i];
    }
    path.reverse();

    // Other branches, rendered before any message is moved out of `nodes`.
    let mut versions_at: Vec<Vec<String>> = vec![Vec::new(); path.len()];
    for (k, &p) in path.iter().enumerate() {
        let siblings = match parent_of[p] {
            Some(parent) => &children[parent],
            None => &roots,
        };
        for &s in siblings.iter().filter(|&&s| s != p) {
            let mut blocks: Vec<String> = Vec::new();
            let mut at = Some(s);
            while let Some(i) = at {
                if seen[i] {
                    break;
                }
                seen[i] = true;
                if let Some(m) = &nodes[i].message {
                    if blocks.is_empty() {
                        blocks.push(m.markdown.clone());
                    } else {
                        blocks.push(format!("**{}:**\n\n{}", m.role.as_str(), m.markdown));
                    }
                }
                at = children[i].last().copied();
            }
            if !blocks.is_empty() {
                versions_at[k].push(blocks.join("\n\n"));
            }
        }
    }

    let mut out: Vec<Message> = Vec::with_capacity(path.len());
    let mut pending: Vec<String> = Vec::new();
    for (k, &p) in path.iter().enumerate() {
        pending.append(&mut versions_at[k]);
        if let Some(mut m) = nodes[p].message.take() {
            m.versions.append(&mut pending);
            out.push(m);
        }
    }
    if let Some(last) = out.last_mut() {
        last.versions.append(&mut pending);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
