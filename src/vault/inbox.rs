//! The inbox: captures taken while the vault is locked, sealed to its public key (no
//! data key is needed to add one), and merged into the vault at the next unlock.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::capture::{Base, CaptureOutcome};
use super::limits::fit_snapshot;
use super::records::InboxEntry;
use super::write::Change;
use super::{random_error, Unlocked, Vault};
use crate::capture::{merge_thread, MergeOutcome};
use crate::crypto::envelope::record_aad;
use crate::crypto::make_random;
use crate::crypto::sealed_box::seal_to;
use crate::error::VaultError;
use crate::model::Site;
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
    /// How many atomic writes the merge took (see [`Vault::drain_inbox`]).
    pub batches: usize,
}

impl InboxEntry {
    /// Whether the entry holds one capture within the limits (an oversized message is
    /// cut, as at capture).
    fn fit(&mut self) -> bool {
        match (&mut self.snapshot, &mut self.thread) {
            (Some(snap), None) => match fit_snapshot(snap) {
                Ok(std::borrow::Cow::Owned(cut)) => {
                    *snap = cut;
                    true
                }
                Ok(_) => true,
                Err(_) => false,
            },
            (None, Some(thread)) => thread.fit_vault_limits().is_ok(),
            _ => false,
        }
    }

    /// The site and the site's id of the conversation captured.
    fn names(&self) -> (&Site, &str) {
        match (&self.snapshot, &self.thread) {
            (Some(s), _) => (&s.site, &s.conversation_id),
            (None, Some(t)) => (&t.site, &t.conversation_id),
            (None, None) => unreachable!("checked by fit"),
        }
    }

    fn conversation_key(&self, keys: &Unlocked) -> String {
        let (site, id) = self.names();
        keys.data.derive_store_key(&[site.as_str(), id])
    }

    /// Merges the capture into `base`'s conversation (taken out of it).
    /// Merges the entry; the turns it adds say they arrived through the inbox
    /// (`provenance.source` "inbox"): anyone can seal an entry to the vault's public
    /// key, so such turns are marked (SECURITY.md, threat model).
    fn merge_into(self, base: &mut Base) -> MergeOutcome {
        let mut outcome = match (self.snapshot, self.thread) {
            (Some(snap), _) => base.merge_snapshot(&snap, self.at),
            (None, Some(mut thread)) => {
                for m in &mut thread.messages {
                    m.provenance.source = Some(INBOX_SOURCE.into());
                }
                merge_thread(base.conversation.take(), thread, self.at)
            }
            (None, None) => unreachable!("checked by fit"),
        };
        for &i in &outcome.changed {
            let m = &mut outcome.conversation.messages[i];
            if m.provenance.first_seen == self.at && m.provenance.source.as_deref() == Some("capture") {
                m.provenance.source = Some(INBOX_SOURCE.into());
            }
        }
        outcome
    }
}

/// The provenance source of turns that arrived through the inbox (captured while the
/// vault was locked).
pub const INBOX_SOURCE: &str = "inbox";

/// At most this many captures wait in the inbox while the vault is locked (counted by
/// the store, without reading them). A capture beyond it is refused as
/// [`VaultError::Locked`]: the page keeps what it shows and captures it again once the
/// vault is unlocked.
pub const MAX_INBOX_ENTRIES: u32 = 20_000;

/// One batch of the drain merges at most this many inbox entries...
pub const INBOX_BATCH_ENTRIES: usize = 256;
/// ...and at most about this many sealed bytes of them (at least one entry), so a
/// large inbox never sits in memory at once.
pub const INBOX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// What the first pass of the drain keeps of an inbox entry (its capture is dropped).
struct Queued {
    key: String,
    at: i64,
    /// The conversation it belongs to (its store key).
    conversation: String,
    /// Sealed size.
    size: usize,
    /// A digest of its capture, to drop a capture identical to the one before it.
    digest: [u8; 32],
}

impl<S: Store> Vault<S> {
    /// Seals `entry` into the inbox, unless [`MAX_INBOX_ENTRIES`] wait there already.
    pub(super) async fn queue_in_inbox(&self, entry: InboxEntry) -> Result<CaptureOutcome, VaultError> {
        if self.store.count(StoreName::Inbox).await? >= MAX_INBOX_ENTRIES {
            return Err(VaultError::Locked);
        }
        let public = self.public_key().await?;
        let mut raw = [0u8; 16];
        make_random(&mut raw).map_err(random_error)?;
        let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let plain = Zeroizing::new(serde_json::to_vec(&entry).expect("inbox entries serialise"));
        let value = seal_to(&public, &record_aad(StoreName::Inbox.as_str(), &key), &plain).map_err(random_error)?;
        self.store.apply(vec![Op::Put { store: StoreName::Inbox, key, value }]).await?;
        Ok(CaptureOutcome { id: None, added: 0, updated: 0, queued: true })
    }

    /// Opens the inbox record `key`: its capture, within the limits, or `None`.
    fn open_queued(keys: &Unlocked, key: &str, sealed: &[u8]) -> Option<InboxEntry> {
        keys.box_pair
            .open(&record_aad(StoreName::Inbox.as_str(), key), sealed)
            .ok()
            .map(Zeroizing::new)
            .and_then(|plain| serde_json::from_slice::<InboxEntry>(&plain).ok())
            .and_then(|mut e| e.fit().then_some(e))
    }

    /// Merges every capture sealed while the vault was locked, oldest first, and
    /// removes them from the inbox, in bounded batches: at most
    /// `INBOX_BATCH_ENTRIES` (256) entries and about `INBOX_BATCH_BYTES` (4 MiB) sealed bytes a
    /// batch, each batch one atomic write (its merges and the removal of its entries).
    /// It loops until the inbox is empty; a failed batch leaves itself and the batches
    /// after it in the inbox (the report of the batches written is lost with the error;
    /// the next drain goes on from there).
    ///
    /// A first pass reads the inbox a key prefix at a time (inbox keys are random, so
    /// each prefix holds about a batch), opens each entry and keeps only its time, its
    /// conversation and its size; the batches then take the entries in time order, so
    /// every conversation's captures merge in the order they were taken, across
    /// batches. A capture identical to the previous one of its conversation is removed
    /// without merging. Entries that do not open are counted and left in place.
    pub async fn drain_inbox(&self) -> Result<InboxReport, VaultError> {
        let keys = self.keys()?;
        let mut report = InboxReport::default();
        let total = self.store.count(StoreName::Inbox).await? as usize;
        if total == 0 {
            return Ok(report);
        }
        // Enough hex digits of prefix that a prefix holds about one batch.
        let mut digits = 0u32;
        while digits < 4 && total >> (4 * digits) > INBOX_BATCH_ENTRIES {
            digits += 1;
        }
        let mut queued: Vec<Queued> = Vec::new();
        for bucket in 0..16usize.pow(digits) {
            let prefix =
                if digits == 0 { String::new() } else { format!("{bucket:0width$x}", width = digits as usize) };
            for (key, sealed) in self.store.get_prefix(StoreName::Inbox, &prefix).await? {
                match Self::open_queued(&keys, &key, &sealed) {
                    Some(entry) => {
                        let capture = match (&entry.snapshot, &entry.thread) {
                            (Some(snap), _) => serde_json::to_vec(snap),
                            (None, thread) => serde_json::to_vec(thread),
                        }
                        .expect("captures serialise");
                        let digest: [u8; 32] = Sha256::digest(&capture).into();
                        queued.push(Queued {
                            conversation: entry.conversation_key(&keys),
                            at: entry.at,
                            size: sealed.len(),
                            key,
                            digest,
                        });
                    }
                    None => report.unreadable += 1,
                }
            }
        }
        queued.sort_by_key(|q| q.at);
        // Captures identical to the previous one of their conversation.
        let mut last: HashMap<String, [u8; 32]> = HashMap::new();
        let mut repeats: HashSet<String> = HashSet::new();
        for q in &queued {
            if last.insert(q.conversation.clone(), q.digest) == Some(q.digest) {
                repeats.insert(q.key.clone());
            }
        }
        drop(last);
        let mut rest = &queued[..];
        while !rest.is_empty() {
            let mut take = 0;
            let mut bytes = 0;
            while take < rest.len()
                && take < INBOX_BATCH_ENTRIES
                && (take == 0 || bytes + rest[take].size <= INBOX_BATCH_BYTES)
            {
                bytes += rest[take].size;
                take += 1;
            }
            let (batch, after) = rest.split_at(take);
            rest = after;
            self.drain_batch(&keys, batch, &repeats, &mut report).await?;
            report.batches += 1;
        }
        Ok(report)
    }

    /// Merges one batch of inbox entries (in time order) and removes them, in one
    /// atomic write. Each conversation is loaded once, merged with all its captures
    /// of the batch in order, and written once with the union of the positions that
    /// changed.
    async fn drain_batch(
        &self,
        keys: &Unlocked,
        batch: &[Queued],
        repeats: &HashSet<String>,
        report: &mut InboxReport,
    ) -> Result<(), VaultError> {
        let batch_keys: Vec<String> = batch.iter().map(|q| q.key.clone()).collect();
        let sealed = self.store.get_many(StoreName::Inbox, &batch_keys).await?;
        let mut merged: Vec<(String, Base, BTreeSet<usize>)> = Vec::new();
        let mut change = Change::default();
        let mut added = 0;
        for (q, sealed) in batch.iter().zip(sealed) {
            let entry = sealed.and_then(|sealed| Self::open_queued(keys, &q.key, &sealed));
            change.ops.push(Op::Delete { store: StoreName::Inbox, key: q.key.clone() });
            report.snapshots += 1;
            let Some(entry) = entry.filter(|_| !repeats.contains(&q.key)) else {
                continue;
            };
            let slot = match merged.iter().position(|(key, ..)| *key == q.conversation) {
                Some(i) => i,
                None => {
                    let (site, id) = entry.names();
                    let base = self.load_for_merge(&q.conversation, site, id).await?;
                    merged.push((q.conversation.clone(), base, Default::default()));
                    merged.len() - 1
                }
            };
            let (_, base, changed) = &mut merged[slot];
            let outcome = entry.merge_into(base);
            added += outcome.added;
            report.updated += outcome.updated;
            changed.extend(outcome.changed.iter().copied());
            base.conversation = Some(outcome.conversation);
        }
        for (k, mut base, changed) in merged {
            let conv = base.conversation.take().expect("every slot holds its merged conversation");
            let outcome = base.settle(MergeOutcome {
                conversation: conv,
                changed: changed.into_iter().collect(),
                header_changed: true,
                added: 0,
                updated: 0,
            });
            change.write_conversation(keys, &k, &outcome.conversation, outcome.changed.iter().copied());
        }
        report.added += added;
        change.message_delta = Some(added as i64);
        self.commit(keys, change).await
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
        let out = block_on(
            v.capture(&snapshot("a", &[(Role::User, "before lock"), (Role::Assistant, "secret pangolin")]), 2),
        )
        .unwrap();
        assert!(out.queued);
        block_on(v.capture(&snapshot("b", &[(Role::User, "another chat")]), 3)).unwrap();
        let inbox: Vec<_> = v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Inbox).collect();
        assert_eq!(inbox.len(), 2);
        for (_, key, value) in &inbox {
            let text = String::from_utf8_lossy(value);
            assert!(!text.contains("pangolin") && !text.contains("another chat") && !text.contains("claude.ai"));
            assert_eq!(key.len(), 32);
        }
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.snapshots, report.added, report.unreadable), (2, 2, 0));
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 0);
        let list = block_on(v.list_conversations()).unwrap();
        assert_eq!(list.conversations.len(), 2);
        let a = list.conversations.iter().find(|c| c.conversation_id == "a").unwrap();
        let conv = block_on(v.get_conversation(&a.id)).unwrap();
        assert_eq!(conv.messages[1].markdown, "secret pangolin");
        // Turns that arrived through the inbox say so; the one captured unlocked does not.
        assert_eq!(conv.messages[1].provenance.source.as_deref(), Some(INBOX_SOURCE));
        assert_eq!(conv.messages[0].provenance.source.as_deref(), Some("capture"));
    }

    #[test]
    fn a_failed_inbox_merge_leaves_the_inbox_and_the_records_as_they_were() {
        let v = vault();
        v.lock();
        block_on(v.capture(&snapshot("a", &[(Role::User, "queued")]), 2)).unwrap();
        block_on(v.unlock(PASS)).unwrap();
        let before = v.store().raw();
        v.store().fail_next_write(crate::store::StoreError::QuotaExceeded);
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

    #[test]
    fn three_thousand_captures_queued_while_locked_merge_in_bounded_batches_losing_nothing() {
        let v = vault();
        v.lock();
        // 300 chats, each captured 10 times as it grows by one turn; the captures of
        // all chats interleave in time.
        let texts =
            |c: usize, n: usize| -> Vec<String> { (0..n).map(|i| format!("chat {c} turn {i} quokka")).collect() };
        let mut at = 10;
        for n in 1..=10 {
            for c in 0..300 {
                let t = texts(c, n);
                let turns: Vec<(Role, &str)> =
                    t.iter().enumerate().map(|(i, t)| ([Role::User, Role::Assistant][i % 2], t.as_str())).collect();
                at += 1;
                assert!(block_on(v.capture(&snapshot(&format!("c{c}"), &turns), at)).unwrap().queued);
            }
        }
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 3000);
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.snapshots, report.added, report.unreadable), (3000, 3000, 0));
        assert!(report.batches >= 3000 / INBOX_BATCH_ENTRIES, "{} batches", report.batches);
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), 0);
        assert_eq!(block_on(v.status()).unwrap().messages, 3000);
        let list = block_on(v.list_conversations()).unwrap();
        assert_eq!(list.conversations.len(), 300);
        for summary in &list.conversations {
            let conv = block_on(v.get_conversation(&summary.id)).unwrap();
            let c: usize = conv.conversation_id[1..].parse().unwrap();
            let got: Vec<&str> = conv.messages.iter().map(|m| m.markdown.as_str()).collect();
            assert_eq!(got, texts(c, 10), "chat {c} in order, once each");
        }
    }

    #[test]
    fn a_capture_identical_to_the_one_before_is_dropped_and_order_holds_across_batches() {
        let v = vault();
        v.lock();
        // A streaming answer captured as it grows: merged oldest first, so the final
        // text wins and no version is made of an earlier partial text.
        let mut at = 1;
        for n in 0..600 {
            let partial = format!("{} end", "word ".repeat(n));
            at += 1;
            let mut s = snapshot("s", &[(Role::User, "q"), (Role::Assistant, &partial)]);
            s.messages[1].streaming = n < 599;
            block_on(v.capture(&s, at)).unwrap();
            at += 1;
            block_on(v.capture(&s, at)).unwrap(); // the same again
        }
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!(report.snapshots, 1200);
        assert!(report.batches > 1);
        let id = &block_on(v.list_conversations()).unwrap().conversations[0].id;
        let conv = block_on(v.get_conversation(id)).unwrap();
        assert_eq!(conv.messages.len(), 2);
        assert_eq!(conv.messages[1].markdown, format!("{} end", "word ".repeat(599)));
        assert!(!conv.messages[1].streaming);
    }

    #[test]
    fn beyond_the_inbox_cap_a_capture_is_refused_as_locked() {
        let v = vault();
        v.lock();
        for i in 0..MAX_INBOX_ENTRIES {
            v.store().put_raw(StoreName::Inbox, &format!("{i:032x}"), vec![0]);
        }
        assert_eq!(
            block_on(v.capture(&snapshot("a", &[(Role::User, "one more")]), 2)).unwrap_err(),
            VaultError::Locked
        );
        assert_eq!(block_on(v.store().count(StoreName::Inbox)).unwrap(), MAX_INBOX_ENTRIES);
    }
}
