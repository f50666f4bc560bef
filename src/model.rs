//! Plain data: what a conversation is, independent of where it is stored.
//!
//! Everything here is serde data. The JSON field names are part of the message API
//! (DESIGN.md, "Contracts") and of the sealed records, so renaming one is a format change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who wrote a message, whatever the site calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
    Tool,
}

impl Role {
    /// The name of the message API (`user`, `assistant`, `system`, `tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
        }
    }
}

/// The AI site a conversation comes from. Unknown names are kept as they are, so a
/// record written by a newer version with a new site still opens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Site {
    ChatGpt,
    Claude,
    Gemini,
    Perplexity,
    Grok,
    DeepSeek,
    Copilot,
    Mistral,
    Other(String),
}

impl Site {
    pub fn as_str(&self) -> &str {
        match self {
            Site::ChatGpt => "chatgpt",
            Site::Claude => "claude",
            Site::Gemini => "gemini",
            Site::Perplexity => "perplexity",
            Site::Grok => "grok",
            Site::DeepSeek => "deepseek",
            Site::Copilot => "copilot",
            Site::Mistral => "mistral",
            Site::Other(name) => name,
        }
    }
}

impl From<String> for Site {
    fn from(name: String) -> Self {
        match name.as_str() {
            "chatgpt" => Site::ChatGpt,
            "claude" => Site::Claude,
            "gemini" => Site::Gemini,
            "perplexity" => Site::Perplexity,
            "grok" => Site::Grok,
            "deepseek" => Site::DeepSeek,
            "copilot" => Site::Copilot,
            "mistral" => Site::Mistral,
            _ => Site::Other(name),
        }
    }
}

impl From<Site> for String {
    fn from(site: Site) -> Self {
        site.as_str().to_owned()
    }
}

/// Where a message was seen: the site, the address, the model when the page names it,
/// and when it was first and last seen (milliseconds since the Unix epoch).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub first_seen: i64,
    #[serde(default)]
    pub last_seen: i64,
    /// "capture", "import:chatgpt", "archive", ... (free text, for the person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One turn of a conversation, its content as Markdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The site's own id of the turn when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    pub role: Role,
    pub markdown: String,
    /// Still being written when last seen.
    #[serde(default, skip_serializing_if = "is_false")]
    pub streaming: bool,
    /// Earlier texts of an edited or regenerated turn, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default)]
    pub provenance: Provenance,
    /// What a site keeps beside the answer, by name: `thoughts`, `reasoningRecap`,
    /// `thinking` (reasoning that is not the answer), `attachments` (file names, one a
    /// line). Not searched as the message's text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Message {
    pub fn new(role: Role, markdown: impl Into<String>) -> Self {
        Message {
            turn_id: None,
            role,
            markdown: markdown.into(),
            streaming: false,
            versions: Vec::new(),
            provenance: Provenance::default(),
            metadata: BTreeMap::new(),
        }
    }
}

/// A conversation as the site shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub site: Site,
    /// The site's own id of the conversation (from its URL).
    #[serde(rename = "conversationId", alias = "id")]
    pub conversation_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// What a list of conversations shows, without the messages. `id` is the vault's
/// opaque key of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub id: String,
    pub site: Site,
    pub conversation_id: String,
    pub title: String,
    pub url: String,
    pub message_count: u32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_sites_serialise_as_the_contract_says() {
        let m = Message::new(Role::Assistant, "hi");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["role"], "assistant");
        assert_eq!(serde_json::to_value(Site::ChatGpt).unwrap(), "chatgpt");
        let s: Site = serde_json::from_value("somewhere-new".into()).unwrap();
        assert_eq!(s, Site::Other("somewhere-new".into()));
    }

    #[test]
    fn unknown_roles_are_refused() {
        assert!(serde_json::from_str::<Role>("\"wizard\"").is_err());
    }
}
