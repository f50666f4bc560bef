//! ChatGPT's `conversations.json` (Settings, Data controls, Export).
//!
//! Each conversation is a tree: `mapping` holds nodes `{message, parent, children}`;
//! an edited or regenerated turn adds a sibling. The thread the person last saw is the
//! path from the root to `current_node`. We keep that path as the messages and every
//! other branch as earlier versions (`Message::versions`) of the turn where it
//! split off: a branch's text is its first message, then its later messages (following
//! the newest child), each under a role label.
//!
//! Message content by `content_type`:
//!
//! | type | becomes |
//! |---|---|
//! | `text` | the text (a call to a tool, `recipient` not `all`, in a code fence) |
//! | `multimodal_text` | the text parts; images as `[image]`, audio as `[audio]` |
//! | `code` | a fenced code block in its language |
//! | `execution_output`, `tether_browsing_display`, `tether_quote`, `system_error` | a blockquote, role `tool` |
//! | `thoughts`, `reasoning_recap` | metadata `thoughts` / `reasoningRecap` of the next answer |
//! | `user_editable_context`, `model_editable_context` | skipped (custom instructions) |
//!
//! Skipped too: messages marked `is_visually_hidden_from_conversation`, and empty ones
//! (the empty system message that starts every tree). Nodes without `children` (some
//! exports drop the field) are linked from their `parent`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::markdown::{blockquote, fence, join_blocks, ms_from_secs};
use crate::model::{Conversation, Message, Provenance, Role, Site};

const SOURCE: &str = "import:chatgpt";

#[derive(Deserialize)]
struct RawConversation {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    update_time: Option<f64>,
    #[serde(default)]
    current_node: Option<String>,
    #[serde(default)]
    default_model_slug: Option<String>,
    mapping: BTreeMap<String, RawNode>,
}

#[derive(Deserialize)]
struct RawNode {
    #[serde(default)]
    message: Option<RawMessage>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    children: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    id: Option<String>,
    author: RawAuthor,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    update_time: Option<f64>,
    #[serde(default)]
    content: Value,
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    recipient: Option<String>,
}

#[derive(Deserialize)]
struct RawAuthor {
    role: String,
    #[serde(default)]
    name: Option<String>,
}

/// Which turn a piece belongs to, to put another branch's text on the matching message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    /// The assistant speaking to the person.
    Answer,
    /// Tool calls and tool output.
    Other,
}

enum Piece {
    Turn(Message, Kind),
    Meta(&'static str, String),
    Skip,
}

/// One conversation object of the export.
pub fn convert(value: Value) -> Result<Conversation, ()> {
    let raw: RawConversation = serde_json::from_value(value).map_err(|_| ())?;
    let id = raw.conversation_id.clone().or(raw.id.clone()).filter(|id| !id.is_empty()).ok_or(())?;
    let url = format!("https://chatgpt.com/c/{id}");
    let tree = Tree::new(&raw.mapping);
    let path = tree.main_path(raw.current_node.as_deref());
    let created_at = raw.create_time.map(ms_from_secs).unwrap_or(0);
    let ctx = Context { url: &url, conv_time: created_at };

    let mut out: Vec<Message> = Vec::new();
    let mut pending_versions = Pending::default();
    let mut pending_meta: BTreeMap<String, String> = BTreeMap::new();
    let mut last_model = None;
    // Every node is rendered at most once: the main path first, then each branch only
    // down to a node already rendered. In a tree this changes nothing (the branches and
    // the main path share no node), but `children` is the file's word, and a hostile
    // file can list one long branch under every turn of the main path: rendered each
    // time, that is turns x branch messages of text from an export a few times its size.
    let mut rendered: BTreeSet<&str> = path.iter().copied().collect();
    for (i, &node_id) in path.iter().enumerate() {
        if i > 0 {
            let mut alternatives: Vec<&str> =
                tree.children(path[i - 1]).iter().copied().filter(|&c| c != node_id).collect();
            tree.sort_by_time(&mut alternatives);
            for alt in alternatives {
                if let Some((kind, text)) = tree.render_branch(alt, &ctx, &mut rendered) {
                    pending_versions.push(kind, text);
                }
            }
        }
        let Some(message) = tree.message(node_id) else { continue };
        match render(message, node_id, &ctx) {
            Piece::Turn(mut msg, kind) => {
                if msg.provenance.model.is_some() {
                    last_model = msg.provenance.model.clone();
                }
                if kind == Kind::User {
                    // Versions of the turn that just ended go to its last message.
                    let mine = pending_versions.take(Kind::User);
                    let earlier = pending_versions.take_all();
                    match out.last_mut() {
                        Some(last) => last.versions.extend(earlier),
                        None => msg.versions.extend(earlier),
                    }
                    msg.versions.extend(mine);
                } else {
                    msg.versions.extend(pending_versions.take(kind));
                }
                if kind == Kind::Answer {
                    msg.metadata.append(&mut pending_meta);
                }
                out.push(msg);
            }
            Piece::Meta(key, text) => add_meta(&mut pending_meta, key, text),
            Piece::Skip => {}
        }
    }
    if let Some(last) = out.last_mut() {
        last.versions.extend(pending_versions.take_all());
    }
    if let Some(answer) = out.iter_mut().rev().find(|m| m.role == Role::Assistant) {
        answer.metadata.append(&mut pending_meta);
    }

    Ok(Conversation {
        site: Site::ChatGpt,
        conversation_id: id,
        title: raw.title.unwrap_or_default(),
        url,
        model: raw.default_model_slug.or(last_model),
        created_at,
        updated_at: raw.update_time.map(ms_from_secs).unwrap_or(created_at),
        messages: out,
    })
}

/// Other branches' texts waiting for the message of their kind, in the order found.
/// Taking one kind costs what it takes, not what waits: a main path of many answers
/// with a tool branch under each would otherwise sort the waiting list at every turn.
#[derive(Default)]
struct Pending {
    texts: Vec<Option<String>>,
    /// Positions in `texts`, by [`Kind`], in order.
    by_kind: [Vec<usize>; 3],
}

impl Pending {
    fn push(&mut self, kind: Kind, text: String) {
        self.by_kind[kind as usize].push(self.texts.len());
        self.texts.push(Some(text));
    }

    /// The waiting texts of one kind, in order.
    fn take(&mut self, kind: Kind) -> Vec<String> {
        let texts = &mut self.texts;
        self.by_kind[kind as usize].drain(..).filter_map(|at| texts[at].take()).collect()
    }

    /// Every waiting text, in order.
    fn take_all(&mut self) -> Vec<String> {
        self.by_kind.iter_mut().for_each(Vec::clear);
        std::mem::take(&mut self.texts).into_iter().flatten().collect()
    }
}

fn add_meta(meta: &mut BTreeMap<String, String>, key: &str, text: String) {
    if text.trim().is_empty() {
        return;
    }
    meta.entry(key.to_owned())
        .and_modify(|old| {
            old.push_str("\n\n");
            old.push_str(&text);
        })
        .or_insert(text);
}

struct Context<'a> {
    url: &'a str,
    conv_time: i64,
}

struct Tree<'a> {
    mapping: &'a BTreeMap<String, RawNode>,
    /// Children of nodes whose own `children` field was missing, rebuilt from `parent`.
    rebuilt: BTreeMap<&'a str, Vec<&'a str>>,
}

impl<'a> Tree<'a> {
    fn new(mapping: &'a BTreeMap<String, RawNode>) -> Self {
        let mut rebuilt: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (id, node) in mapping {
            if let Some(parent) = node.parent.as_deref() {
                if mapping.get(parent).is_some_and(|p| p.children.is_none()) {
                    rebuilt.entry(parent).or_default().push(id);
                }
            }
        }
        let mut tree = Tree { mapping, rebuilt };
        let mut lists = std::mem::take(&mut tree.rebuilt);
        for list in lists.values_mut() {
            tree.sort_by_time(list);
        }
        tree.rebuilt = lists;
        tree
    }

    /// Oldest first, ties by id. (One sort for every list keeps the wasm small.)
    fn sort_by_time(&self, ids: &mut [&'a str]) {
        ids.sort_by(|a, b| self.time(a).total_cmp(&self.time(b)).then(a.cmp(b)));
    }

    fn time(&self, id: &str) -> f64 {
        self.message(id).and_then(|m| m.create_time).unwrap_or(0.0)
    }

    fn message(&self, id: &str) -> Option<&'a RawMessage> {
        self.mapping.get(id)?.message.as_ref()
    }

    fn children(&self, id: &str) -> Vec<&'a str> {
        match self.mapping.get_key_value(id) {
            Some((_, node)) => match &node.children {
                Some(children) => children
                    .iter()
                    .filter_map(|c| self.mapping.get_key_value(c.as_str()).map(|(k, _)| k.as_str()))
                    .collect(),
                None => self.rebuilt.get(id).cloned().unwrap_or_default(),
            },
            None => Vec::new(),
        }
    }

    /// Root to `current_node`; without one, root down the newest children.
    fn main_path(&self, current: Option<&str>) -> Vec<&'a str> {
        let mut path = Vec::new();
        let mut seen = BTreeSet::new();
        let mut at = current.and_then(|c| self.mapping.get_key_value(c)).map(|(k, _)| k.as_str());
        if at.is_some() {
            while let Some(id) = at {
                if !seen.insert(id) {
                    break; // a cycle: a broken file; keep what was found
                }
                path.push(id);
                at = self.mapping[id]
                    .parent
                    .as_deref()
                    .and_then(|p| self.mapping.get_key_value(p))
                    .map(|(k, _)| k.as_str());
            }
            path.reverse();
            return path;
        }
        let mut roots: Vec<&str> = self
            .mapping
            .iter()
            .filter(|(_, n)| n.parent.as_deref().is_none_or(|p| !self.mapping.contains_key(p)))
            .map(|(k, _)| k.as_str())
            .collect();
        self.sort_by_time(&mut roots);
        let mut at = roots.first().copied();
        while let Some(id) = at {
            if !seen.insert(id) {
                break;
            }
            path.push(id);
            at = self.children(id).last().copied();
        }
        path
    }

    /// Another branch, from `start` down its newest children, as one version text; it
    /// stops at a node already in `rendered` (a cycle, or a node another branch or the
    /// main path holds), and adds its own.
    fn render_branch(&self, start: &'a str, ctx: &Context, rendered: &mut BTreeSet<&'a str>) -> Option<(Kind, String)> {
        let mut first: Option<(Kind, Role)> = None;
        let mut blocks = Vec::new();
        let mut at = Some(start);
        while let Some(id) = at {
            if !rendered.insert(id) {
                break;
            }
            if let Some(message) = self.message(id) {
                if let Piece::Turn(msg, kind) = render(message, id, ctx) {
                    match first {
                        None => {
                            first = Some((kind, msg.role));
                            blocks.push(msg.markdown);
                        }
                        Some(_) => blocks.push(format!("**{}:**\n\n{}", msg.role.as_str(), msg.markdown)),
                    }
                }
            }
            at = self.children(id).last().copied();
        }
        let (kind, _) = first?;
        Some((kind, blocks.join("\n\n")))
    }
}

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The text parts of `parts`, with non-text parts noted.
fn parts_text(content: &Value) -> Vec<String> {
    let Some(parts) = content.get("parts").and_then(Value::as_array) else {
        return Vec::new();
    };
    parts
        .iter()
        .map(|part| match part {
            Value::String(s) => s.clone(),
            Value::Object(_) => {
                let kind = str_at(part, "content_type");
                if kind.contains("image") {
                    "[image]".to_owned()
                } else if kind == "audio_transcription" {
                    str_at(part, "text").to_owned()
                } else if kind.contains("audio") || kind.contains("video") {
                    "[audio]".to_owned()
                } else if let Some(text) = part.get("text").and_then(Value::as_str) {
                    text.to_owned()
                } else {
                    "[attachment]".to_owned()
                }
            }
            _ => String::new(),
        })
        .collect()
}

fn thoughts_text(content: &Value) -> String {
    if let Some(thoughts) = content.get("thoughts").and_then(Value::as_array) {
        return join_blocks(
            thoughts.iter().map(|t| join_blocks([str_at(t, "summary").to_owned(), str_at(t, "content").to_owned()])),
        );
    }
    if let Some(text) = content.get("content").and_then(Value::as_str) {
        return text.to_owned();
    }
    join_blocks(parts_text(content))
}

fn render(message: &RawMessage, node_id: &str, ctx: &Context) -> Piece {
    if message.metadata.get("is_visually_hidden_from_conversation").and_then(Value::as_bool) == Some(true) {
        return Piece::Skip;
    }
    let content = &message.content;
    let content_type = str_at(content, "content_type");
    let role = match message.author.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        _ => Role::Tool,
    };
    let to_tool = message.recipient.as_deref().is_some_and(|r| r != "all");
    let (markdown, role) = match content_type {
        "thoughts" => return Piece::Meta("thoughts", thoughts_text(content)),
        "reasoning_recap" => return Piece::Meta("reasoningRecap", thoughts_text(content)),
        "user_editable_context" | "model_editable_context" => return Piece::Skip,
        "code" => {
            let language = match str_at(content, "language") {
                "unknown" => "",
                l => l,
            };
            (fence(str_at(content, "text"), language), role)
        }
        "execution_output" | "system_error" => (str_at(content, "text").to_owned(), Role::Tool),
        "tether_browsing_display" => {
            let result = str_at(content, "result");
            let text = if result.trim().is_empty() { str_at(content, "summary") } else { result };
            (text.to_owned(), Role::Tool)
        }
        "tether_quote" => {
            let (title, url) = (str_at(content, "title"), str_at(content, "url"));
            let source = match (title.is_empty(), url.is_empty()) {
                (_, false) => format!("— [{}]({url})", if title.is_empty() { url } else { title }),
                (false, true) => format!("— {title}"),
                (true, true) => String::new(),
            };
            (join_blocks([str_at(content, "text").to_owned(), source]), Role::Tool)
        }
        "multimodal_text" => (join_blocks(parts_text(content)), role),
        "text" => (parts_text(content).join("\n"), role),
        _ => {
            let text = content
                .get("text")
                .or_else(|| content.get("result"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| join_blocks(parts_text(content)));
            (text, role)
        }
    };
    if markdown.trim().is_empty() {
        return Piece::Skip;
    }
    let (markdown, kind) = match role {
        Role::Tool => (blockquote(&markdown), Kind::Other),
        Role::Assistant if to_tool && content_type != "code" => (fence(&markdown, ""), Kind::Other),
        Role::Assistant if to_tool => (markdown, Kind::Other),
        Role::User => (markdown, Kind::User),
        _ => (markdown, Kind::Answer),
    };

    let first_seen = message.create_time.map(ms_from_secs).unwrap_or(ctx.conv_time);
    let model = message.metadata.get("model_slug").and_then(Value::as_str).map(str::to_owned);
    let mut msg = Message::new(role, markdown);
    msg.turn_id = Some(message.id.clone().unwrap_or_else(|| node_id.to_owned()));
    msg.provenance = Provenance {
        url: Some(ctx.url.to_owned()),
        model,
        first_seen,
        last_seen: message.update_time.map(ms_from_secs).unwrap_or(first_seen),
        source: Some(SOURCE.to_owned()),
    };
    if role == Role::Tool {
        if let Some(name) = message.author.name.as_deref().filter(|n| !n.is_empty()) {
            msg.metadata.insert("tool".into(), name.to_owned());
        }
    }
    if to_tool {
        msg.metadata.insert("toolCall".into(), message.recipient.clone().unwrap_or_default());
    }
    if let Some(attachments) = message.metadata.get("attachments").and_then(Value::as_array) {
        let names: Vec<&str> = attachments.iter().map(|a| str_at(a, "name")).filter(|n| !n.is_empty()).collect();
        if !names.is_empty() {
            msg.metadata.insert("attachments".into(), names.join("\n"));
        }
    }
    Piece::Turn(msg, kind)
}
