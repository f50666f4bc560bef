//! The recent list: `meta/"recent"`, sealed, the [`RECENT_LEN`] most recently updated
//! conversations' summaries, newest first (all of them when there are fewer), kept in
//! the same write as the records (see `Vault::commit`) so the popup's first list does
//! not open every record.
//!
//! Not to be confused with `Vault::last_captured`, the conversation captured last,
//! kept in memory.

use super::conversations::ConversationList;
use super::records::{newest_first, record_put};
use super::{Unlocked, Vault};
use crate::error::VaultError;
use crate::model::ConversationSummary;
use crate::store::{Op, Store, StoreName};

/// The key of the recent list in the store `meta`.
pub(super) const RECENT_LIST_KEY: &str = "recent";
pub const RECENT_LEN: usize = 50;

/// The write of `list` as the recent list.
pub(super) fn recent_list_put(list: &[ConversationSummary]) -> Op {
    record_put(StoreName::Meta, RECENT_LIST_KEY.into(), &list)
}

impl<S: Store> Vault<S> {
    /// The `limit` (at most [`RECENT_LEN`]) most recently updated conversations, as
    /// [`Vault::list_conversations`] would begin, from one record. Without that record
    /// (a vault from before it, or after a deletion from a full list) every record is
    /// read once and the record written again.
    pub async fn recent_conversations(&self, limit: usize) -> Result<ConversationList, VaultError> {
        let keys = self.keys()?;
        let mut recent = match self.read_recent_list(&keys).await {
            Some(recent) => ConversationList { conversations: recent, damaged: 0 },
            None => {
                let mut all = self.list_conversations().await?;
                all.conversations.truncate(RECENT_LEN);
                // Best effort: a failed write only means the next call reads everything again.
                let _ = self.write(&keys, vec![recent_list_put(&all.conversations)]).await;
                all
            }
        };
        recent.conversations.truncate(limit.min(RECENT_LEN));
        Ok(recent)
    }

    /// The stored recent list; `None` when it is missing or does not open.
    async fn read_recent_list(&self, keys: &Unlocked) -> Option<Vec<ConversationSummary>> {
        let sealed = self.store.get(StoreName::Meta, RECENT_LIST_KEY).await.ok()??;
        self.open_json(keys, StoreName::Meta, RECENT_LIST_KEY, &sealed, "the recent conversations").ok()
    }

    /// The write that keeps the recent list right after `changed` conversations were
    /// written and `removed` ones deleted, in the same batch. When that cannot be known
    /// from the list alone (a full list loses one, or one of its conversations moves
    /// back in time), the list is dropped, to be read again from every record.
    pub(super) async fn recent_list_op(
        &self,
        keys: &Unlocked,
        changed: Vec<ConversationSummary>,
        removed: &[String],
    ) -> Result<Op, VaultError> {
        let drop_it = Op::Delete { store: StoreName::Meta, key: RECENT_LIST_KEY.into() };
        let Some(mut list) = self.read_recent_list(keys).await else {
            return Ok(drop_it);
        };
        let full = list.len() >= RECENT_LEN;
        for id in removed {
            if let Some(at) = list.iter().position(|s| &s.id == id) {
                if full {
                    return Ok(drop_it);
                }
                list.remove(at);
            }
        }
        for summary in changed {
            if let Some(at) = list.iter().position(|s| s.id == summary.id) {
                if full && newest_first(&summary, &list[at]).is_gt() {
                    return Ok(drop_it);
                }
                list.remove(at);
            }
            list.push(summary);
        }
        list.sort_by(newest_first);
        list.truncate(RECENT_LEN);
        Ok(recent_list_put(&list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Conversation, Message, Role, Site};
    use crate::store::memory::MemoryStore;
    use crate::vault::test_support::{raw_record, snapshot, unlocked as vault};
    use pollster::block_on;

    fn conv(id: usize, updated_at: i64) -> Conversation {
        Conversation {
            site: Site::ChatGpt,
            conversation_id: format!("c{id}"),
            title: format!("Chat {id} at {updated_at}"),
            url: format!("https://chatgpt.com/c/c{id}"),
            model: None,
            created_at: 1,
            updated_at,
            messages: vec![Message::new(Role::User, format!("hello {id}"))],
        }
    }

    fn top(v: &Vault<MemoryStore>) -> Vec<ConversationSummary> {
        let mut all = block_on(v.list_conversations()).unwrap().conversations;
        all.truncate(RECENT_LEN);
        all
    }

    fn has_record(v: &Vault<MemoryStore>) -> bool {
        raw_record(v, StoreName::Meta, RECENT_LIST_KEY).is_some()
    }

    #[test]
    fn the_recent_list_always_equals_the_start_of_the_full_list() {
        let v = vault();
        let mut seed = 12345u64;
        let mut rand = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let (mut kept, mut rebuilt) = (0, 0);
        for step in 0..400 {
            let id = rand(80) as usize;
            match rand(10) {
                // Stored whole, at any time (also earlier than before).
                0..=3 => drop(block_on(v.put_conversation(&conv(id, rand(1000) as i64))).unwrap()),
                // Captured now: moves to the front.
                4..=5 => {
                    let snap = snapshot(Site::Perplexity, &format!("p{id}"), &["a question", "an answer"]);
                    block_on(v.capture(&snap, 1000 + step)).unwrap();
                }
                6..=7 => {
                    let batch = (0..3).map(|i| conv((id + i * 7) % 80, rand(1200) as i64)).collect();
                    block_on(v.import_conversations(batch)).unwrap();
                }
                _ => {
                    if let Some(c) = block_on(v.list_conversations()).unwrap().conversations.get(rand(5) as usize) {
                        block_on(v.delete_conversation(&c.id)).unwrap();
                    }
                }
            }
            if has_record(&v) {
                kept += 1
            } else {
                rebuilt += 1
            }
            let recent = block_on(v.recent_conversations(RECENT_LEN)).unwrap().conversations;
            assert_eq!(recent, top(&v), "after step {step}");
            assert!(has_record(&v));
        }
        // Most writes kept the list up to date (this mix moves conversations back in time
        // and deletes from the top far more than people do).
        assert!(rebuilt > 0, "the mix should also drop the list now and then");
        assert!(kept > rebuilt * 2, "kept {kept}, rebuilt {rebuilt}");
    }

    #[test]
    fn a_new_vault_keeps_its_recent_list_from_the_first_write() {
        let v = vault();
        assert!(has_record(&v));
        let batch = (0..60).map(|i| conv(i, i as i64)).collect();
        block_on(v.import_conversations(batch)).unwrap();
        assert!(has_record(&v), "an import into a new vault keeps the list");
        let recent = block_on(v.recent_conversations(3)).unwrap().conversations;
        assert_eq!(recent.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), ["c59", "c58", "c57"]);
    }

    #[test]
    fn the_recent_list_is_sealed_and_the_popup_gets_only_what_it_asks() {
        let v = vault();
        for i in 0..5 {
            block_on(v.put_conversation(&conv(i, i as i64))).unwrap();
        }
        let two = block_on(v.recent_conversations(2)).unwrap().conversations;
        assert_eq!(two.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), ["c4", "c3"]);
        let raw = raw_record(&v, StoreName::Meta, RECENT_LIST_KEY).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("Chat 4"));
    }
}
