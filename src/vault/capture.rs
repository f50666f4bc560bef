//! Capture: snapshots of what a page shows and whole threads read from a site's data,
//! merged into the stored conversation while unlocked (only what changed is written),
//! or, while locked, sealed into the inbox (see [`super::inbox`]).

use serde::Serialize;

use super::limits::{check_conversation, check_snapshot};
use super::records::InboxEntry;
use super::write::Change;
use super::{Unlocked, Vault};
use crate::capture::{merge, merge_thread, MergeOutcome, Snapshot};
use crate::error::VaultError;
use crate::model::Conversation;
use crate::store::Store;

/// What a capture did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureOutcome {
    /// The conversation's id in the vault (None while locked: ids need the data key).
    pub id: Option<String>,
    pub added: usize,
    pub updated: usize,
    /// Sealed into the inbox because the vault is locked; merged at the next unlock.
    pub queued: bool,
}

impl<S: Store> Vault<S> {
    /// Takes a snapshot from a content script. Unlocked: merged into the stored
    /// conversation (only changed records are written). Locked: sealed to the vault's
    /// public key into the inbox, to be merged at the next unlock.
    ///
    /// # Errors
    /// [`VaultError::NoVault`] before a vault exists; [`VaultError::InvalidInput`] for a
    /// malformed or oversized snapshot; storage errors (nothing is half-written).
    pub async fn capture(
        &self,
        snapshot: &Snapshot,
        now: i64,
    ) -> Result<CaptureOutcome, VaultError> {
        check_snapshot(snapshot)?;
        let Some(keys) = self.unlocked.borrow().clone() else {
            return self
                .queue_in_inbox(InboxEntry {
                    at: now,
                    snapshot: Some(snapshot.clone()),
                    thread: None,
                })
                .await;
        };
        let k = keys
            .data
            .derive_store_key(&[snapshot.site.as_str(), &snapshot.conversation_id]);
        let stored = self.load_for_merge(&k).await?;
        self.commit_capture(&keys, k, merge(stored, snapshot, now))
            .await
    }

    /// Takes the whole thread of a conversation read from the site's own data (see
    /// [`crate::import::site`]) and merges it like a capture ([`merge_thread`]); while
    /// locked it waits sealed in the inbox like any capture.
    ///
    /// # Errors
    /// As [`Vault::capture`].
    pub async fn capture_thread(
        &self,
        thread: Conversation,
        now: i64,
    ) -> Result<CaptureOutcome, VaultError> {
        check_conversation(&thread)?;
        let Some(keys) = self.unlocked.borrow().clone() else {
            return self
                .queue_in_inbox(InboxEntry {
                    at: now,
                    snapshot: None,
                    thread: Some(thread),
                })
                .await;
        };
        let k = keys
            .data
            .derive_store_key(&[thread.site.as_str(), &thread.conversation_id]);
        let stored = self.load_for_merge(&k).await?;
        self.commit_capture(&keys, k, merge_thread(stored, thread, now))
            .await
    }

    /// Writes what a capture's merge changed, and keeps the merged conversation for the
    /// next capture of the same chat.
    async fn commit_capture(
        &self,
        keys: &Unlocked,
        k: String,
        outcome: MergeOutcome,
    ) -> Result<CaptureOutcome, VaultError> {
        if outcome.is_unchanged() {
            *self.last_captured.borrow_mut() = Some((k.clone(), outcome.conversation));
            return Ok(CaptureOutcome {
                id: Some(k),
                added: 0,
                updated: 0,
                queued: false,
            });
        }
        let mut change = Change::default();
        change.write_conversation(
            keys,
            &k,
            &outcome.conversation,
            outcome.changed.iter().copied(),
        );
        change.message_delta = (outcome.added > 0).then_some(outcome.added as i64);
        self.commit(keys, change).await?;
        let result = CaptureOutcome {
            id: Some(k.clone()),
            added: outcome.added,
            updated: outcome.updated,
            queued: false,
        };
        *self.last_captured.borrow_mut() = Some((k, outcome.conversation));
        Ok(result)
    }

    /// The stored conversation `k` to merge into: the one captured last if it is `k`
    /// (taken out of the cache, not copied), else read from the store.
    pub(super) async fn load_for_merge(&self, k: &str) -> Result<Option<Conversation>, VaultError> {
        let cached = self.last_captured.borrow_mut().take_if(|(key, _)| key == k);
        if let Some((_, conv)) = cached {
            return Ok(Some(conv));
        }
        match self.get_conversation(k).await {
            Ok(conv) => Ok(Some(conv)),
            Err(VaultError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, Site};
    use crate::store::memory::MemoryStore;
    use crate::store::StoreName;
    use crate::vault::test_support::{claude_snapshot as snapshot, unlocked as vault, PASS};
    use crate::vault::MAX_MESSAGE_BYTES;
    use pollster::block_on;

    #[test]
    fn captures_merge_and_write_only_what_changed() {
        let v = vault();
        let s1 = snapshot("a", &[(Role::User, "hello"), (Role::Assistant, "hi there")]);
        let out = block_on(v.capture(&s1, 10)).unwrap();
        assert_eq!((out.added, out.queued), (2, false));
        let before = v.store().raw();
        assert_eq!(block_on(v.capture(&s1, 11)).unwrap().added, 0);
        assert_eq!(
            v.store().raw(),
            before,
            "an identical snapshot writes nothing"
        );
        let s2 = snapshot("a", &[(Role::Assistant, "hi there"), (Role::User, "next")]);
        let out = block_on(v.capture(&s2, 12)).unwrap();
        assert_eq!(out.added, 1);
        let conv = block_on(v.get_conversation(out.id.as_deref().unwrap())).unwrap();
        let texts: Vec<_> = conv.messages.iter().map(|m| m.markdown.as_str()).collect();
        assert_eq!(texts, ["hello", "hi there", "next"]);
    }

    /// A whole thread read from the site's data, 40 turns with site ids.
    fn thread(id: &str, n: usize) -> Conversation {
        Conversation {
            site: Site::Claude,
            conversation_id: id.into(),
            title: "Tides".into(),
            url: format!("https://claude.ai/chat/{id}"),
            model: None,
            created_at: 5,
            updated_at: 6,
            messages: (0..n)
                .map(|i| crate::model::Message {
                    turn_id: Some(format!("t{i}")),
                    ..crate::model::Message::new(
                        if i % 2 == 0 {
                            Role::User
                        } else {
                            Role::Assistant
                        },
                        format!("turn {i} about the moon"),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_thread_joins_what_the_page_showed_searchable_and_locked_it_waits_in_the_inbox() {
        let v = vault();
        let shown = snapshot(
            "a",
            &[
                (Role::User, "turn 38 about the moon"),
                (Role::Assistant, "turn 39 about the moon"),
            ],
        );
        block_on(v.capture(&shown, 1)).unwrap();
        let out = block_on(v.capture_thread(thread("a", 40), 2)).unwrap();
        assert_eq!(out.added, 38);
        let conv = block_on(v.get_conversation(out.id.as_deref().unwrap())).unwrap();
        assert_eq!(conv.messages.len(), 40);
        assert_eq!(conv.messages[0].markdown, "turn 0 about the moon");
        assert_eq!(block_on(v.search("\"turn 0 about\"", 5)).unwrap().total, 1);
        assert_eq!(
            block_on(v.capture_thread(thread("a", 40), 3))
                .unwrap()
                .added,
            0
        );

        v.lock();
        assert!(
            block_on(v.capture_thread(thread("b", 10), 4))
                .unwrap()
                .queued
        );
        let inbox: Vec<_> = v
            .store()
            .raw()
            .into_iter()
            .filter(|(s, _, _)| *s == StoreName::Inbox)
            .collect();
        assert!(inbox
            .iter()
            .all(|(_, _, value)| !String::from_utf8_lossy(value).contains("moon")));
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!(
            (report.snapshots, report.added, report.unreadable),
            (1, 10, 0)
        );
    }

    #[test]
    fn captures_without_a_vault_or_oversized_are_refused() {
        let v = Vault::new(MemoryStore::new());
        assert_eq!(
            block_on(v.capture(&snapshot("a", &[(Role::User, "x")]), 1)).unwrap_err(),
            VaultError::NoVault
        );
        let v = vault();
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(matches!(
            block_on(v.capture(&snapshot("a", &[(Role::User, &big)]), 1)),
            Err(VaultError::InvalidInput(_))
        ));
    }
}
