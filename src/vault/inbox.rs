//! The inbox: captures taken while the vault is locked, sealed to its public key (no
//! data key is needed to add one), and merged into the vault at the next unlock.

use std::collections::BTreeSet;

use serde::Serialize;
use zeroize::Zeroizing;

use super::capture::CaptureOutcome;
use super::limits::{check_conversation, check_snapshot};
use super::records::InboxEntry;
use super::write::Change;
use super::{random_error, Unlocked, Vault};
use crate::capture::{merge, merge_thread, MergeOutcome};
use crate::crypto::envelope::record_aad;
use crate::crypto::make_random;
use crate::crypto::sealed_box::seal_to;
use crate::error::VaultError;
use crate::model::Conversation;
use crate::store::{Op, Store, StoreName};

/// What merging the inbox at unlock did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxReport {
    pub snapshots: usize,
    pub added: usize,
    pub updated: usize,
    /// Inbox records that could not be opened; they are left in place.
    pub unreadable: usize,
}

impl InboxEntry {
    fn is_valid(&self) -> bool {
        match (&self.snapshot, &self.thread) {
            (Some(snap), None) => check_snapshot(snap).is_ok(),
            (None, Some(thread)) => check_conversation(thread).is_ok(),
            _ => false,
        }
    }

    fn conversation_key(&self, keys: &Unlocked) -> String {
        let (site, id) = match (&self.snapshot, &self.thread) {
            (Some(s), _) => (&s.site, &s.conversation_id),
            (None, Some(t)) => (&t.site, &t.conversation_id),
            (None, None) => unreachable!("checked by is_valid"),
        };
        keys.data.derive_store_key(&[site.as_str(), id])
    }

    fn merge_into(self, stored: Option<Conversation>) -> MergeOutcome {
        match (self.snapshot, self.thread) {
            (Some(snap), _) => merge(stored, &snap, self.at),
            (None, Some(thread)) => merge_thread(stored, thread, self.at),
            (None, None) => unreachable!("checked by is_valid"),
        }
    }
}

impl<S: Store> Vault<S> {
    /// Seals `entry` into the inbox.
    pub(super) async fn queue_in_inbox(
        &self,
        entry: InboxEntry,
    ) -> Result<CaptureOutcome, VaultError> {
        let public = self.public_key().await?;
        let mut raw = [0u8; 16];
        make_random(&mut raw).map_err(random_error)?;
        let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let plain = Zeroizing::new(serde_json::to_vec(&entry).expect("inbox entries serialise"));
        let value = seal_to(
            &public,
            &record_aad(StoreName::Inbox.as_str(), &key),
            &plain,
        )
        .map_err(random_error)?;
        self.store
            .apply(vec![Op::Put {
                store: StoreName::Inbox,
                key,
                value,
            }])
            .await?;
        Ok(CaptureOutcome {
            id: None,
            added: 0,
            updated: 0,
            queued: true,
        })
    }

    /// Merges every capture sealed while the vault was locked, oldest first, and
    /// removes them from the inbox, all in one atomic write.
    pub async fn drain_inbox(&self) -> Result<InboxReport, VaultError> {
        let keys = self.keys()?;
        let mut report = InboxReport::default();
        let mut entries: Vec<(String, InboxEntry)> = Vec::new();
        for (key, sealed) in self.store.get_prefix(StoreName::Inbox, "").await? {
            let opened = keys
                .box_pair
                .open(&record_aad(StoreName::Inbox.as_str(), &key), &sealed)
                .ok()
                .map(Zeroizing::new)
                .and_then(|plain| serde_json::from_slice::<InboxEntry>(&plain).ok())
                .filter(InboxEntry::is_valid);
            match opened {
                Some(entry) => entries.push((key, entry)),
                None => report.unreadable += 1,
            }
        }
        if entries.is_empty() {
            return Ok(report);
        }
        entries.sort_by_key(|(_, e)| e.at);
        // Each conversation is loaded once, merged with all its snapshots in order, and
        // written once with the union of the positions that changed.
        let mut merged: Vec<(String, Option<Conversation>, BTreeSet<usize>)> = Vec::new();
        let mut change = Change::default();
        for (inbox_key, entry) in entries {
            let k = entry.conversation_key(&keys);
            let slot = match merged.iter().position(|(key, _, _)| *key == k) {
                Some(i) => i,
                None => {
                    merged.push((
                        k.clone(),
                        self.load_for_merge(&k).await?,
                        Default::default(),
                    ));
                    merged.len() - 1
                }
            };
            let (_, conv, changed) = &mut merged[slot];
            let outcome = entry.merge_into(conv.take());
            report.added += outcome.added;
            report.updated += outcome.updated;
            report.snapshots += 1;
            changed.extend(outcome.changed.iter().copied());
            *conv = Some(outcome.conversation);
            change.ops.push(Op::Delete {
                store: StoreName::Inbox,
                key: inbox_key,
            });
        }
        for (k, conv, changed) in &merged {
            let conv = conv
                .as_ref()
                .expect("every slot holds its merged conversation");
            change.write_conversation(&keys, k, conv, changed.iter().copied());
        }
        change.message_delta = Some(report.added as i64);
        self.commit(&keys, change).await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::vault::test_support::{claude_snapshot as snapshot, unlocked as vault, PASS};
    use pollster::block_on;

    #[test]
    fn while_locked_captures_go_sealed_to_the_inbox_and_merge_at_unlock() {
        let v = vault();
        block_on(v.capture(&snapshot("a", &[(Role::User, "before lock")]), 1)).unwrap();
        v.lock();
        let out = block_on(v.capture(
            &snapshot(
                "a",
                &[
                    (Role::User, "before lock"),
                    (Role::Assistant, "secret pangolin"),
                ],
            ),
            2,
        ))
        .unwrap();
        assert!(out.queued);
        block_on(v.capture(&snapshot("b", &[(Role::User, "another chat")]), 3)).unwrap();
        let inbox: Vec<_> = v
            .store()
            .raw()
            .into_iter()
            .filter(|(s, _, _)| *s == StoreName::Inbox)
            .collect();
        assert_eq!(inbox.len(), 2);
        for (_, key, value) in &inbox {
            let text = String::from_utf8_lossy(value);
            assert!(
                !text.contains("pangolin")
                    && !text.contains("another chat")
                    && !text.contains("claude.ai")
            );
            assert_eq!(key.len(), 32);
        }
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!(
            (report.snapshots, report.added, report.unreadable),
            (2, 2, 0)
        );
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 0);
        let list = block_on(v.list_conversations()).unwrap();
        assert_eq!(list.conversations.len(), 2);
        let a = list
            .conversations
            .iter()
            .find(|c| c.conversation_id == "a")
            .unwrap();
        let conv = block_on(v.get_conversation(&a.id)).unwrap();
        assert_eq!(conv.messages[1].markdown, "secret pangolin");
    }

    #[test]
    fn a_failed_inbox_merge_leaves_the_inbox_and_the_records_as_they_were() {
        let v = vault();
        v.lock();
        block_on(v.capture(&snapshot("a", &[(Role::User, "queued")]), 2)).unwrap();
        block_on(v.unlock(PASS)).unwrap();
        let before = v.store().raw();
        v.store()
            .fail_next_write(crate::store::StoreError::QuotaExceeded);
        assert!(block_on(v.drain_inbox()).is_err());
        assert_eq!(v.store().raw(), before);
        assert_eq!(block_on(v.drain_inbox()).unwrap().added, 1);
    }

    #[test]
    fn an_unreadable_inbox_record_is_counted_and_kept() {
        let v = vault();
        v.lock();
        block_on(v.capture(&snapshot("a", &[(Role::User, "queued")]), 2)).unwrap();
        v.store().put_raw(StoreName::Inbox, "0000", vec![1, 2, 3]);
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.added, report.unreadable), (1, 1));
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 1);
    }
}
