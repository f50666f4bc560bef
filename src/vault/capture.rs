//! Capture: snapshots of what a page shows and whole threads read from a site's data,
//! merged into the stored conversation while unlocked (only what changed is written),
//! or, while locked, sealed into the inbox (see [`super::inbox`]).

use serde::Serialize;

use super::conversations::{Partial, Stored};
use super::limits::fit_snapshot;
use super::records::{ConversationRecord, InboxEntry, BLOCK_LEN};
use super::write::Change;
use super::{Unlocked, Vault};
use crate::capture::{is_stored, merge, merge_thread, MergeOutcome, Snapshot};
use crate::error::VaultError;
use crate::model::{Conversation, Message, Site};
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
    /// A message over [`super::MAX_MESSAGE_BYTES`] is stored cut, ending with
    /// the marker `limits::CUT_MARKER` (see `fit_snapshot`).
    ///
    /// # Errors
    /// [`VaultError::NoVault`] before a vault exists; [`VaultError::InvalidInput`] for a
    /// malformed or oversized snapshot; storage errors (nothing is half-written).
    pub async fn capture(&self, snapshot: &Snapshot, now: i64) -> Result<CaptureOutcome, VaultError> {
        let snapshot = &*fit_snapshot(snapshot)?;
        let Some(keys) = self.unlocked.borrow().clone() else {
            return self.queue_in_inbox(InboxEntry { at: now, snapshot: Some(snapshot.clone()), thread: None }).await;
        };
        let k = keys.data.derive_store_key(&[snapshot.site.as_str(), &snapshot.conversation_id]);
        let mut base = self.load_for_merge(&k, &snapshot.site, &snapshot.conversation_id).await?;
        let outcome = base.merge_snapshot(snapshot, now);
        self.commit_capture(&keys, k, base.settle(outcome), base.is_whole()).await
    }

    /// Takes the whole thread of a conversation read from the site's own data (see
    /// [`crate::import::site`]) and merges it like a capture ([`merge_thread`]); while
    /// locked it waits sealed in the inbox like any capture.
    ///
    /// # Errors
    /// As [`Vault::capture`].
    pub async fn capture_thread(&self, mut thread: Conversation, now: i64) -> Result<CaptureOutcome, VaultError> {
        thread.fit_vault_limits()?;
        let Some(keys) = self.unlocked.borrow().clone() else {
            return self.queue_in_inbox(InboxEntry { at: now, snapshot: None, thread: Some(thread) }).await;
        };
        let k = keys.data.derive_store_key(&[thread.site.as_str(), &thread.conversation_id]);
        let mut base = self.load_for_merge(&k, &thread.site, &thread.conversation_id).await?;
        let outcome = merge_thread(base.conversation.take(), thread, now);
        self.commit_capture(&keys, k, base.settle(outcome), base.is_whole()).await
    }

    /// Writes what a capture's merge changed, and keeps the merged conversation for the
    /// next capture of the same chat (when `keep`: not when it stands in for blocks
    /// that could not be read).
    async fn commit_capture(
        &self,
        keys: &Unlocked,
        k: String,
        outcome: MergeOutcome,
        keep: bool,
    ) -> Result<CaptureOutcome, VaultError> {
        if outcome.is_unchanged() {
            if keep {
                *self.last_captured.borrow_mut() = Some((k.clone(), outcome.conversation));
            }
            return Ok(CaptureOutcome { id: Some(k), added: 0, updated: 0, queued: false });
        }
        let mut change = Change::default();
        change.write_conversation(keys, &k, &outcome.conversation, outcome.changed.iter().copied());
        change.message_delta = (outcome.added > 0).then_some(outcome.added as i64);
        self.commit(keys, change).await?;
        let result =
            CaptureOutcome { id: Some(k.clone()), added: outcome.added, updated: outcome.updated, queued: false };
        if keep {
            *self.last_captured.borrow_mut() = Some((k, outcome.conversation));
        }
        Ok(result)
    }

    /// The stored conversation `k` (of `site`'s `conversation_id`) to merge into: the
    /// one captured last if it is `k` (taken out of the cache, not copied), else read
    /// from the store. A conversation with blocks of messages that do not open is merged
    /// into what could be read ([`Base::partial`]); so is one whose record does not
    /// open, its blocks found by their keys and its record written again from the
    /// capture (title, url and dates as the capture gives them).
    pub(super) async fn load_for_merge(&self, k: &str, site: &Site, conversation_id: &str) -> Result<Base, VaultError> {
        let cached = self.last_captured.borrow_mut().take_if(|(key, _)| key == k);
        if let Some((_, conv)) = cached {
            return Ok(Base::whole(Some(conv)));
        }
        match self.read_stored(&[k.to_owned()]).await?.pop() {
            Some(Stored::Whole(conv)) => Ok(Base::whole(Some(conv))),
            Some(Stored::Partial(partial)) => Ok(Base::partial(partial)),
            Some(Stored::DamagedRecord(_)) => {
                let blocks = self.probe_blocks(k).await?;
                let message_count = blocks.iter().map(|b| b.as_ref().map_or(BLOCK_LEN, Vec::len)).sum::<usize>() as u32;
                let record = ConversationRecord {
                    site: site.clone(),
                    conversation_id: conversation_id.to_owned(),
                    title: String::new(),
                    url: String::new(),
                    model: None,
                    created_at: 0,
                    updated_at: 0,
                    message_count,
                };
                Ok(Base::partial(Partial { record, blocks }))
            }
            Some(Stored::Missing) | None => Ok(Base::whole(None)),
        }
    }
}

/// The metadata key that carries a readable message's stored position through a merge
/// into a conversation with unreadable blocks (removed before anything is written).
const POSITION_TAG: &str = "threadkeeper.storedPosition";

/// The text that stands for a message that could not be read, written only when a
/// new turn lands in the same block (the last one) as unreadable messages.
pub(super) const UNREADABLE: &str = "[Threadkeeper: this message could not be read]";

/// What a merge starts from: the stored conversation (if any, taken by the merge), and,
/// when some of its blocks of messages could not be read, what is needed to write
/// around them.
pub(super) struct Base {
    pub conversation: Option<Conversation>,
    gaps: Option<Gaps>,
}

/// The stored positions of a conversation read in part.
struct Gaps {
    /// The stored message count.
    count: usize,
    /// Each stored position's message, `None` where its block did not open.
    original: Vec<Option<Message>>,
}

impl Base {
    pub fn whole(conversation: Option<Conversation>) -> Self {
        Base { conversation, gaps: None }
    }

    /// A conversation with unreadable blocks: the merge sees only the readable
    /// messages, each tagged with its stored position, so that [`Base::settle`] can put
    /// them back where they were and leave the unreadable blocks untouched.
    fn partial(partial: Partial) -> Self {
        let count = partial.record.message_count as usize;
        let mut original: Vec<Option<Message>> = Vec::with_capacity(count);
        for block in partial.blocks {
            match block {
                Some(messages) => original.extend(messages.into_iter().map(Some)),
                None => {
                    let len = BLOCK_LEN.min(count - original.len());
                    original.extend(std::iter::repeat_n(None, len));
                }
            }
        }
        let readable = original
            .iter()
            .enumerate()
            .filter_map(|(p, m)| {
                let mut m = m.clone()?;
                m.metadata.insert(POSITION_TAG.into(), p.to_string());
                Some(m)
            })
            .collect();
        Base { conversation: Some(partial.record.into_conversation(readable)), gaps: Some(Gaps { count, original }) }
    }

    /// Merges a page snapshot into the conversation ([`merge`]). Read in part, the
    /// snapshot's leading turns that match no readable turn (most likely turns of an
    /// unreadable block, seen again on the page) are merged after the rest: the page's
    /// matching searches forward from its last match, so merged first they would be
    /// appended and keep every later turn from matching. They are saved as new turns,
    /// after the others (what the page shows of a damaged block is recovered, not lost).
    pub fn merge_snapshot(&mut self, snapshot: &Snapshot, now: i64) -> MergeOutcome {
        let stored = self.conversation.take();
        let lead = match (&self.gaps, &stored) {
            (Some(_), Some(conv)) => snapshot.messages.iter().position(|s| is_stored(&conv.messages, s)).unwrap_or(0),
            _ => 0,
        };
        if lead == 0 {
            return merge(stored, snapshot, now);
        }
        let tail = Snapshot { messages: snapshot.messages[lead..].to_vec(), ..snapshot.clone() };
        let head = Snapshot { messages: snapshot.messages[..lead].to_vec(), ..snapshot.clone() };
        let first = merge(stored, &tail, now);
        let second = merge(Some(first.conversation), &head, now);
        MergeOutcome {
            conversation: second.conversation,
            changed: Vec::new(), // `settle` finds the positions again
            header_changed: true,
            added: first.added + second.added,
            updated: first.updated + second.updated,
        }
    }

    /// Whether the stored conversation was read whole (what a merge gives may then be
    /// kept for the next capture).
    pub fn is_whole(&self) -> bool {
        self.gaps.is_none()
    }

    /// Turns the outcome of a merge into `self.conversation` into what is written. Read
    /// whole, it is unchanged. Read in part: every readable message goes back to its
    /// stored position (updated if the merge updated it), the unreadable positions keep
    /// their blocks untouched, and the new turns are appended after the last stored
    /// one, in the order the merge put them. Only when new turns land in the block of
    /// unreadable messages (the last block) is that block written again, each
    /// unreadable message then reading [`UNREADABLE`].
    pub fn settle(&self, outcome: MergeOutcome) -> MergeOutcome {
        let Some(gaps) = &self.gaps else {
            return outcome;
        };
        let n = gaps.count;
        let mut slots: Vec<Option<Message>> = vec![None; n];
        let mut new = Vec::new();
        for mut m in outcome.conversation.messages {
            let at = m
                .metadata
                .remove(POSITION_TAG)
                .and_then(|p| p.parse::<usize>().ok())
                .filter(|&p| p < n && slots[p].is_none());
            match at {
                Some(p) => slots[p] = Some(m),
                None => new.push(m),
            }
        }
        let mut changed = Vec::new();
        let mut messages = Vec::with_capacity(n + new.len());
        for (p, slot) in slots.into_iter().enumerate() {
            let m = slot
                .or_else(|| gaps.original[p].clone())
                .unwrap_or_else(|| Message::new(crate::model::Role::System, UNREADABLE));
            if gaps.original[p].as_ref().is_some_and(|o| *o != m) {
                changed.push(p);
            }
            messages.push(m);
        }
        let updated = changed.len();
        let added = new.len();
        changed.extend(n..n + added);
        messages.extend(new);
        MergeOutcome {
            header_changed: outcome.header_changed || !changed.is_empty(),
            conversation: Conversation { messages, ..outcome.conversation },
            changed,
            added,
            updated,
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
        assert_eq!(v.store().raw(), before, "an identical snapshot writes nothing");
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
                        if i % 2 == 0 { Role::User } else { Role::Assistant },
                        format!("turn {i} about the moon"),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_thread_joins_what_the_page_showed_searchable_and_locked_it_waits_in_the_inbox() {
        let v = vault();
        let shown =
            snapshot("a", &[(Role::User, "turn 38 about the moon"), (Role::Assistant, "turn 39 about the moon")]);
        block_on(v.capture(&shown, 1)).unwrap();
        let out = block_on(v.capture_thread(thread("a", 40), 2)).unwrap();
        assert_eq!(out.added, 38);
        let conv = block_on(v.get_conversation(out.id.as_deref().unwrap())).unwrap();
        assert_eq!(conv.messages.len(), 40);
        assert_eq!(conv.messages[0].markdown, "turn 0 about the moon");
        assert_eq!(block_on(v.search("\"turn 0 about\"", 5)).unwrap().total, 1);
        assert_eq!(block_on(v.capture_thread(thread("a", 40), 3)).unwrap().added, 0);

        v.lock();
        assert!(block_on(v.capture_thread(thread("b", 10), 4)).unwrap().queued);
        let inbox: Vec<_> = v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Inbox).collect();
        assert!(inbox.iter().all(|(_, _, value)| !String::from_utf8_lossy(value).contains("moon")));
        block_on(v.unlock(PASS)).unwrap();
        let report = block_on(v.drain_inbox()).unwrap();
        assert_eq!((report.snapshots, report.added, report.unreadable), (1, 10, 0));
    }

    #[test]
    fn captures_without_a_vault_or_oversized_are_refused() {
        let v = Vault::new(MemoryStore::new());
        assert_eq!(block_on(v.capture(&snapshot("a", &[(Role::User, "x")]), 1)).unwrap_err(), VaultError::NoVault);
        let v = vault();
        let long_id = "i".repeat(crate::vault::MAX_ID_BYTES + 1);
        assert!(matches!(
            block_on(v.capture(&snapshot(&long_id, &[(Role::User, "x")]), 1)),
            Err(VaultError::InvalidInput(_))
        ));
    }

    #[test]
    fn a_message_over_the_limit_is_saved_cut_and_later_turns_are_saved_too() {
        let v = vault();
        let big = "x".repeat(MAX_MESSAGE_BYTES + 100);
        let first = snapshot("a", &[(Role::User, "paste"), (Role::Assistant, &big)]);
        let out = block_on(v.capture(&first, 1)).unwrap();
        assert_eq!(out.added, 2);
        let id = out.id.unwrap();
        let later = snapshot("a", &[(Role::User, "paste"), (Role::Assistant, &big), (Role::User, "next turn")]);
        assert_eq!(block_on(v.capture(&later, 2)).unwrap().added, 1);
        // The same huge turn again is the same (cut) text: nothing is rewritten.
        assert_eq!(block_on(v.capture(&later, 3)).unwrap().updated, 0);
        let conv = block_on(v.get_conversation(&id)).unwrap();
        assert_eq!(conv.messages.len(), 3);
        assert_eq!(conv.messages[1].markdown.len(), MAX_MESSAGE_BYTES);
        assert!(conv.messages[1].markdown.ends_with(crate::vault::limits::CUT_MARKER));
        assert!(conv.messages[1].versions.is_empty());
        // A thread with a huge turn is cut the same way.
        let mut t = thread("b", 2);
        t.messages[1].markdown = big.clone();
        let out = block_on(v.capture_thread(t, 4)).unwrap();
        let conv = block_on(v.get_conversation(out.id.as_deref().unwrap())).unwrap();
        assert!(conv.messages[1].markdown.ends_with(crate::vault::limits::CUT_MARKER));
    }
}
