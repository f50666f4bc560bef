//! Search: tokenizer, inverted index, query parser, snippets, persisted segments.
//!
//! - `tokenize`: words, folding, CJK runs; `query`: what people type;
//! - `postings`: compressed postings lists; `docs`: the document table;
//! - `engine`: BM25, AND, phrases, prefixes, filters; `index`: [`SearchIndex`];
//! - `snippet`: extracts with match ranges; `persist`: the index sealed in chunks.
//!
//! Query syntax: words (all must match), `"a quoted phrase"`, the last word matches
//! as a prefix while it is being typed (no space after it), `site:claude`,
//! `role:user`, `before:2024-05-01` (earlier than that day, UTC), `after:2024-05-01`
//! (that day or later, UTC).

pub(crate) mod codec;
mod docs;
mod engine;
mod fold_table;
mod index;
pub mod meaning;
pub mod persist;
pub(crate) mod postings;
pub mod query;
mod snippet;
pub mod tokenize;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::VaultError;

pub use index::SearchIndex;
pub use persist::{rename_conversations, Embedding, Merges, Opened, PersistentIndex, Removal, Step, Writes};
pub use snippet::{snippet, Snippet};

/// One message as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Doc {
    pub id: String,
    pub conversation_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub role: String,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub ts: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    pub id: String,
    pub conversation_id: String,
    pub score: f32,
    /// Found by the meaning of the query only: its words do not match this message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_meaning: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// Every matching message, counted (not only those in `hits`).
    pub total: usize,
    /// The best matches, best first.
    pub hits: Vec<Hit>,
    /// A short explanation when part of the query could not be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Ranked by the words alone because recall by meaning's vectors were not loaded
    /// yet (a cold worker): the words matched, so the query did not wait for them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub meaning_loading: bool,
}

/// Hits of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationHits {
    pub conversation_id: String,
    /// The best score of its hits.
    pub score: f32,
    /// Best first.
    pub hits: Vec<Hit>,
}

/// Groups hits by conversation: conversations in the order of their best hit.
pub fn group_by_conversation(hits: &[Hit]) -> Vec<ConversationHits> {
    let mut groups: Vec<ConversationHits> = Vec::new();
    for hit in hits {
        match groups.iter_mut().find(|g| g.conversation_id == hit.conversation_id) {
            Some(g) => g.hits.push(hit.clone()),
            None => groups.push(ConversationHits {
                conversation_id: hit.conversation_id.clone(),
                score: hit.score,
                hits: vec![hit.clone()],
            }),
        }
    }
    for g in &mut groups {
        postings::small_sort_by(&mut g.hits, |a, b| a.score > b.score);
        g.score = g.hits.first().map_or(0.0, |h| h.score);
    }
    postings::small_sort_by(&mut groups, |a, b| a.score > b.score);
    groups
}

/// What can go wrong with the search index. Carries no text of the index. (Reading and
/// opening its segments is the vault's: their failures are the vault's errors.)
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum SearchError {
    /// A segment failed to open or decode: rebuild the index from the records.
    #[error("The search index is damaged or was changed ({0}); it will be rebuilt from your saved chats.")]
    Damaged(String),
    #[error("The search index was written by a newer version of Threadkeeper. Update the extension.")]
    NewerVersion,
    #[error("No secure random numbers are available in this browser.")]
    Random,
}

impl SearchError {
    pub(crate) fn from_bad(what: &str, bad: codec::Bad) -> Self {
        if bad == "unknown version" {
            SearchError::NewerVersion
        } else {
            SearchError::Damaged(format!("{what}: {bad}"))
        }
    }
}

impl From<meaning::ModelError> for VaultError {
    fn from(e: meaning::ModelError) -> Self {
        match e {
            meaning::ModelError::NewerVersion => VaultError::NewerVersion,
            other => VaultError::Damaged(other.to_string()),
        }
    }
}

impl From<SearchError> for VaultError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Damaged(what) => VaultError::Damaged(what),
            SearchError::NewerVersion => VaultError::NewerVersion,
            SearchError::Random => VaultError::Random,
        }
    }
}

#[cfg(test)]
mod tests;
