//! Import: conversations read from an export file, merged into the vault in batches,
//! their index deltas deferred to the end of the import.

use std::collections::HashMap;

use serde::Serialize;

use super::write::Change;
use super::Vault;
use crate::capture::merge_imported;
use crate::error::VaultError;
use crate::model::Conversation;
use crate::search::{Embedding, Merges, PersistentIndex};
use crate::store::Store;

/// What importing conversations from a file did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Conversations that were not in the vault.
    pub added_conversations: usize,
    /// Conversations already here that gained turns.
    pub updated_conversations: usize,
    /// Conversations already here with nothing new.
    pub already_here: usize,
    pub added_messages: usize,
}

impl<S: Store> Vault<S> {
    /// Merges conversations read from a file into the vault, one atomic write for the
    /// batch: new conversations are added, known ones gain the turns they lack, nothing
    /// stored is removed. The caller has checked the whole file before the first batch.
    pub async fn import_conversations(&self, mut conversations: Vec<Conversation>) -> Result<ImportReport, VaultError> {
        // The write path's limits, as the file's check pass applied them: an oversized
        // message is cut with a marker, never a reason to refuse the batch.
        for conv in &mut conversations {
            conv.fit_vault_limits()?;
        }
        let keys = self.keys()?;
        let mut report = ImportReport::default();
        // Embedded after the import, in the backfill (the extension starts it once the
        // import is finished).
        let mut change = Change { merges: Merges::Deferred, embedding: Embedding::Backfill, ..Change::default() };
        // What is already stored for every incoming conversation, read at once.
        let incoming_keys: Vec<String> =
            conversations.iter().map(|c| keys.data.derive_store_key(&[c.site.as_str(), &c.conversation_id])).collect();
        let mut unique = incoming_keys.clone();
        unique.sort_unstable();
        unique.dedup();
        let mut stored_now: HashMap<String, Conversation> = unique
            .iter()
            .cloned()
            .zip(self.get_conversations(&unique).await?)
            .filter_map(|(k, c)| Some((k, c?)))
            .collect();
        for (incoming, k) in conversations.into_iter().zip(incoming_keys) {
            // A conversation twice in one batch merges into what its first copy left.
            let stored = stored_now.remove(&k);
            let was_new = stored.is_none();
            let outcome = merge_imported(stored, incoming);
            match (was_new, outcome.added) {
                (true, _) => report.added_conversations += 1,
                (false, 0) => report.already_here += 1,
                (false, _) => report.updated_conversations += 1,
            }
            report.added_messages += outcome.added;
            if !outcome.is_unchanged() {
                change.write_conversation(&keys, &k, &outcome.conversation, outcome.changed.iter().copied());
            }
            stored_now.insert(k, outcome.conversation);
        }
        if change.ops.is_empty() {
            return Ok(report);
        }
        change.message_delta = Some(report.added_messages as i64);
        self.commit(&keys, change).await?;
        Ok(report)
    }

    /// Ends an import made of several [`Vault::import_conversations`] batches: their
    /// messages, indexed in memory so far, are written to the search index once, here,
    /// rather than every batch rewriting the growing index. Skipping it loses nothing:
    /// the next search or change writes them (and a stopped worker leaves a marker that
    /// makes the next search rebuild the index).
    pub async fn finish_import(&self) -> Result<(), VaultError> {
        let keys = self.keys()?;
        if !self.index.borrow().as_ref().is_some_and(PersistentIndex::has_pending) {
            return Ok(()); // nothing deferred in this worker (or it was stopped: see above)
        }
        // A change of nothing but the index: its deferred deltas are written.
        self.commit(&keys, Change::default()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Role, Site};
    use crate::store::StoreName;
    use crate::vault::test_support::{conversation, meaning_model, reopened, stored_vectors, unlocked, waiting, PASS};
    use pollster::block_on;

    fn conv(id: &str, n: usize) -> Conversation {
        Conversation {
            site: Site::Claude,
            conversation_id: id.into(),
            title: format!("Imported {id}"),
            url: format!("https://claude.ai/chat/{id}"),
            model: None,
            created_at: 1,
            updated_at: 2,
            messages: (0..n)
                .map(|i| Message::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, format!("{id} turn {i}")))
                .collect(),
        }
    }

    #[test]
    fn an_import_reports_what_it_added_and_a_second_import_adds_nothing() {
        let v = unlocked();
        let batch = vec![conv("a", 4), conv("b", 40)];
        let first = block_on(v.import_conversations(batch.clone())).unwrap();
        assert_eq!((first.added_conversations, first.added_messages, first.already_here), (2, 44, 0));
        assert_eq!(block_on(v.status()).unwrap().messages, 44);
        let before = v.store().raw();
        let second = block_on(v.import_conversations(batch.clone())).unwrap();
        assert_eq!((second.added_conversations, second.added_messages, second.already_here), (0, 0, 2));
        assert_eq!(v.store().raw(), before);
        let grown = block_on(v.import_conversations(vec![conv("b", 42)])).unwrap();
        assert_eq!((grown.updated_conversations, grown.added_messages), (1, 2));
        let list = block_on(v.list_conversations()).unwrap();
        let b = list.conversations.iter().find(|c| c.conversation_id == "b").unwrap();
        assert_eq!(b.message_count, 42);
    }

    #[test]
    fn imported_batches_are_found_before_and_after_the_import_is_finished() {
        let v = unlocked();
        for i in 0..5 {
            block_on(v.import_conversations(vec![conv(&format!("c{i}"), 6)])).unwrap();
        }
        let index_keys = || -> Vec<String> {
            v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).map(|(_, k, _)| k).collect()
        };
        assert_eq!(index_keys(), ["p"], "the batches are indexed in memory, behind the marker");
        block_on(v.finish_import()).unwrap();
        assert!(!index_keys().contains(&"p".to_owned()));
        let found = |q: &str| block_on(v.search(q, 10)).unwrap();
        assert_eq!(found("c3 turn").total, 6);
        assert_eq!(found("turn").total, 30);
        assert!(!found("turn").rebuilt);

        // Without the end, a search writes what the batches left, and finds it.
        for i in 5..8 {
            block_on(v.import_conversations(vec![conv(&format!("c{i}"), 6)])).unwrap();
        }
        let out = found("c6 turn");
        assert_eq!((out.total, out.rebuilt), (6, false));
        assert!(!index_keys().contains(&"p".to_owned()));
    }

    #[test]
    fn a_worker_stopped_during_an_import_rebuilds_the_index_and_finds_every_message() {
        let v = unlocked();
        block_on(v.import_conversations(vec![conv("before", 4)])).unwrap();
        block_on(v.finish_import()).unwrap();
        for i in 0..3 {
            block_on(v.import_conversations(vec![conv(&format!("c{i}"), 6)])).unwrap();
        }
        // The worker stops: only what was written survives.
        let restarted = reopened(&v);
        block_on(restarted.unlock(PASS)).unwrap();
        let out = block_on(restarted.search("turn", 50)).unwrap();
        assert!(out.rebuilt, "the marker says the index is behind");
        assert_eq!(out.total, 22);
        assert_eq!(block_on(restarted.search("c2 turn", 50)).unwrap().total, 6);
    }

    #[test]
    fn an_import_is_found_by_words_at_once_and_by_meaning_once_the_backfill_embedded_it() {
        let v = unlocked();
        v.set_meaning_model(meaning_model());
        let batch = vec![conversation("levy", &["a levy on imports"]), conversation("bread", &["bread", "more bread"])];
        block_on(v.import_conversations(batch)).unwrap();
        block_on(v.finish_import()).unwrap();
        // The import's writes computed no vector: every message waits for the backfill.
        assert_eq!(waiting(&stored_vectors(&v)), 3);
        let before = block_on(v.embed_step(0)).unwrap();
        assert_eq!((before.done, before.total), (0, 3));
        assert_eq!(block_on(v.search("levy", 10)).unwrap().total, 1, "found by its words at once");
        assert!(block_on(v.search("tax", 10)).unwrap().results.is_empty(), "not by meaning yet");
        let after = block_on(v.embed_step(100)).unwrap();
        assert_eq!((after.done, after.total), (3, 3));
        assert_eq!(waiting(&stored_vectors(&v)), 0);
        let out = block_on(v.search("tax", 10)).unwrap();
        assert_eq!(out.results[0].title, "Title of levy");
        assert!(out.results[0].hits[0].by_meaning);
        // A capture after it still gets its vector in its own write.
        block_on(v.capture(&crate::vault::test_support::snapshot(Site::Claude, "c", &["tax"]), 3)).unwrap();
        assert_eq!(waiting(&stored_vectors(&v)), 0);
    }
}
