//! Conversations: reading them (one, several, the list) and storing or deleting one
//! whole. Captures, the inbox and imports merge into them (see their modules).

use serde::{Deserialize, Serialize};

use super::limits::{check_key, fit_conversation};
use super::records::{block_key, newest_first, record_from, ConversationRecord, MessageBlock, BLOCK_LEN};
use super::write::Change;
use super::{Unlocked, Vault};
use crate::crypto::bulk::ToOpen;
use crate::error::VaultError;
use crate::model::{Conversation, ConversationSummary, Message};
use crate::store::{Op, Store, StoreName};

/// Conversations read by id ([`Vault::read_conversations`]), the damaged set aside.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationsRead {
    /// In the order asked: `None` for an id not in the vault, or named in `damaged`.
    pub conversations: Vec<Option<Conversation>>,
    /// The ids of the conversations that could not be read whole (their record or a
    /// block of their messages does not open, or is missing).
    pub damaged: Vec<String>,
}

/// One conversation as far as it could be read.
pub(super) enum Stored {
    Missing,
    Whole(Conversation),
    /// Its record does not open (the error says why).
    DamagedRecord(VaultError),
    /// Its record opened, some of its blocks did not.
    Partial(Partial),
}

/// A conversation whose record opened but not every block of messages.
pub(super) struct Partial {
    pub record: ConversationRecord,
    /// Block by block (`BLOCK_LEN` messages each, the last maybe fewer): its messages,
    /// or `None` for a block that is missing or does not open.
    pub blocks: Vec<Option<Vec<Message>>>,
}

/// A list of conversations, newest first, and how many records could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
    pub damaged: u32,
}

impl<S: Store> Vault<S> {
    /// Stores a conversation with all its messages, replacing what was stored under
    /// the same site and id, in one atomic write. Returns its id. A message over
    /// [`super::MAX_MESSAGE_BYTES`] is stored cut (see [`Conversation::fit_vault_limits`]).
    pub async fn put_conversation(&self, conv: &Conversation) -> Result<String, VaultError> {
        let conv = &*fit_conversation(conv)?;
        let keys = self.keys()?;
        let k = keys.data.derive_store_key(&[conv.site.as_str(), &conv.conversation_id]);
        let before = self.stored_message_count(&keys, &k).await;
        let mut change = Change::default();
        change.ops.push(Op::DeletePrefix { store: StoreName::Messages, prefix: format!("{k}:") });
        change.write_conversation(&keys, &k, conv, 0..conv.messages.len());
        change.message_delta = Some(conv.messages.len() as i64 - before);
        change.replaced.push(k.clone());
        self.commit(&keys, change).await?;
        Ok(k)
    }

    /// Deletes a conversation and its messages.
    pub async fn delete_conversation(&self, id: &str) -> Result<(), VaultError> {
        let keys = self.keys()?;
        check_key(id)?;
        let count = self.stored_message_count(&keys, id).await;
        let mut change = Change::default();
        change.ops.push(Op::Delete { store: StoreName::Conversations, key: id.to_owned() });
        change.ops.push(Op::DeletePrefix { store: StoreName::Messages, prefix: format!("{id}:") });
        change.message_delta = Some(-count);
        change.deleted.push(id.to_owned());
        self.commit(&keys, change).await
    }

    /// How many messages the stored record of `k` says it has (0 if none or unreadable).
    async fn stored_message_count(&self, keys: &Unlocked, k: &str) -> i64 {
        match self.store.get(StoreName::Conversations, k).await {
            Ok(Some(sealed)) => self
                .open_json::<ConversationRecord>(keys, StoreName::Conversations, k, &sealed, "a conversation")
                .map_or(0, |r| r.message_count as i64),
            _ => 0,
        }
    }

    /// Opens the record stored under `store`/`key` (`what` names it in the error).
    pub(super) fn open_json<T: for<'de> Deserialize<'de>>(
        &self,
        keys: &Unlocked,
        store: StoreName,
        key: &str,
        sealed: &[u8],
        what: &str,
    ) -> Result<T, VaultError> {
        record_from(keys.data.open_record(store.as_str(), key, sealed), what)
    }

    /// Reads one conversation with its messages in order.
    pub async fn get_conversation(&self, id: &str) -> Result<Conversation, VaultError> {
        self.get_conversations(&[id.to_owned()])
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| VaultError::NotFound("this conversation is not in the vault".into()))
    }

    /// Reads conversations by id, in the order asked, `None` for an id not in the vault.
    /// Strict: a conversation that cannot be read whole fails the call with
    /// [`VaultError::Damaged`] (an import must not merge into what it cannot see); see
    /// [`Vault::read_conversations`] for a read that sets damaged ones aside.
    pub async fn get_conversations(&self, ids: &[String]) -> Result<Vec<Option<Conversation>>, VaultError> {
        self.read_stored(ids)
            .await?
            .into_iter()
            .map(|read| match read {
                Stored::Missing => Ok(None),
                Stored::Whole(conv) => Ok(Some(conv)),
                Stored::DamagedRecord(e) => Err(e),
                Stored::Partial(_) => {
                    Err(VaultError::Damaged("a block of messages of this conversation is missing or damaged".into()))
                }
            })
            .collect()
    }

    /// Reads conversations by id, in the order asked, setting aside those that cannot
    /// be read whole (a record or a block of messages that does not open, or is
    /// missing): they are `None` here and named in `damaged`, so one damaged record
    /// never fails the rest (an export writes the others and says how many it skipped).
    pub async fn read_conversations(&self, ids: &[String]) -> Result<ConversationsRead, VaultError> {
        let mut out = ConversationsRead::default();
        for (id, read) in ids.iter().zip(self.read_stored(ids).await?) {
            out.conversations.push(match read {
                Stored::Missing => None,
                Stored::Whole(conv) => Some(conv),
                Stored::DamagedRecord(_) | Stored::Partial(_) => {
                    out.damaged.push(id.clone());
                    None
                }
            });
        }
        Ok(out)
    }

    /// Reads conversations by id, each as far as it opens. Two reads whatever their
    /// number: every record, then every message block they name (an IndexedDB
    /// transaction costs more than decrypting a block). Fails only for a malformed id
    /// or a failed read of the store.
    pub(super) async fn read_stored(&self, ids: &[String]) -> Result<Vec<Stored>, VaultError> {
        let keys = self.keys()?;
        for id in ids {
            check_key(id)?;
        }
        let mut records = Vec::with_capacity(ids.len());
        let mut block_keys = Vec::new();
        for (id, sealed) in ids.iter().zip(self.store.get_many(StoreName::Conversations, ids).await?) {
            let record = match sealed {
                Some(sealed) => {
                    match self.open_json::<ConversationRecord>(
                        &keys,
                        StoreName::Conversations,
                        id,
                        &sealed,
                        "a conversation record",
                    ) {
                        Ok(rec) => {
                            let blocks = (rec.message_count as usize).div_ceil(BLOCK_LEN) as u32;
                            block_keys.extend((0..blocks).map(|b| block_key(&keys.data, id, b)));
                            Ok(Some(rec))
                        }
                        Err(e) => Err(e),
                    }
                }
                None => Ok(None),
            };
            records.push(record);
        }
        // Every block opened at once (in the browser by WebCrypto: see `crypto::bulk`).
        let sealed_blocks = self.store.get_many(StoreName::Messages, &block_keys).await?;
        let to_open: Vec<ToOpen<'_>> = block_keys
            .iter()
            .zip(&sealed_blocks)
            .filter_map(|(bk, sealed)| {
                Some(ToOpen { store: StoreName::Messages.as_str(), key: bk, sealed: sealed.as_deref()? })
            })
            .collect();
        let mut opened = keys.sealer.open_all(&keys.data, &to_open).await.into_iter();
        drop(to_open);
        let mut blocks =
            sealed_blocks.iter().map(|sealed| sealed.as_ref().map(|_| opened.next().expect("one per block")));
        let mut out = Vec::with_capacity(ids.len());
        for rec in records {
            let rec = match rec {
                Ok(Some(rec)) => rec,
                Ok(None) => {
                    out.push(Stored::Missing);
                    continue;
                }
                Err(e) => {
                    out.push(Stored::DamagedRecord(e));
                    continue;
                }
            };
            let count = rec.message_count as usize;
            let mut read: Vec<Option<Vec<Message>>> = Vec::with_capacity(count.div_ceil(BLOCK_LEN));
            for (b, opened) in blocks.by_ref().take(count.div_ceil(BLOCK_LEN)).enumerate() {
                let first = b * BLOCK_LEN;
                let len = BLOCK_LEN.min(count - first);
                let block = opened
                    .and_then(|opened| record_from::<MessageBlock>(opened, "a message of this conversation").ok());
                read.push(block.filter(|block| block.first as usize == first && block.messages.len() >= len).map(
                    |mut block| {
                        block.messages.truncate(len);
                        block.messages
                    },
                ));
            }
            if read.iter().all(Option::is_some) {
                out.push(Stored::Whole(rec.into_conversation(read.into_iter().flatten().flatten().collect())));
            } else {
                out.push(Stored::Partial(Partial { record: rec, blocks: read }));
            }
        }
        Ok(out)
    }

    /// The blocks of messages stored under `k` whatever its record says (for a record
    /// that does not open): blocks 0, 1, 2... read a group at a time until one is
    /// missing. A block that does not open stands for [`BLOCK_LEN`] unreadable messages.
    pub(super) async fn probe_blocks(&self, k: &str) -> Result<Vec<Option<Vec<Message>>>, VaultError> {
        let keys = self.keys()?;
        let mut out = Vec::new();
        loop {
            let from = out.len() as u32;
            let group: Vec<String> = (from..from + BLOCK_LEN as u32).map(|b| block_key(&keys.data, k, b)).collect();
            let sealed = self.store.get_many(StoreName::Messages, &group).await?;
            for (b, (bk, sealed)) in group.iter().zip(sealed).enumerate() {
                let Some(sealed) = sealed else {
                    return Ok(out);
                };
                let first = (from as usize + b) * BLOCK_LEN;
                let block = self
                    .open_json::<MessageBlock>(&keys, StoreName::Messages, bk, &sealed, "a message")
                    .ok()
                    .filter(|block| block.first as usize == first && block.messages.len() <= BLOCK_LEN);
                out.push(block.map(|block| block.messages));
            }
        }
    }

    /// Every conversation, most recently updated first. Records that fail to open are
    /// counted, not fatal: one damaged record must not hide the rest.
    pub async fn list_conversations(&self) -> Result<ConversationList, VaultError> {
        let keys = self.keys()?;
        let mut list = ConversationList { conversations: Vec::new(), damaged: 0 };
        let records = self.store.get_prefix(StoreName::Conversations, "").await?;
        let store = StoreName::Conversations.as_str();
        let to_open: Vec<ToOpen<'_>> = records.iter().map(|(k, sealed)| ToOpen { store, key: k, sealed }).collect();
        let opened = keys.sealer.open_all(&keys.data, &to_open).await;
        drop(to_open);
        for ((k, _), opened) in records.into_iter().zip(opened) {
            match record_from::<ConversationRecord>(opened, "a conversation") {
                Ok(rec) => list.conversations.push(rec.summary(k)),
                Err(_) => list.damaged += 1,
            }
        }
        list.conversations.sort_by(newest_first);
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::test_support::{conversation, unlocked};
    use pollster::block_on;

    #[test]
    fn putting_again_replaces_messages_and_delete_removes_everything() {
        let vault = unlocked();
        let id = block_on(vault.put_conversation(&conversation("c", &["a", "b", "c"]))).unwrap();
        assert_eq!(id, block_on(vault.put_conversation(&conversation("c", &["x"]))).unwrap());
        assert_eq!(block_on(vault.get_conversation(&id)).unwrap().messages.len(), 1);
        assert_eq!(block_on(vault.status()).unwrap().messages, 1);
        block_on(vault.delete_conversation(&id)).unwrap();
        let status = block_on(vault.status()).unwrap();
        assert_eq!((status.conversations, status.messages), (0, 0));
        assert!(matches!(block_on(vault.get_conversation(&id)), Err(VaultError::NotFound(_))));
    }

    #[test]
    fn list_is_newest_first() {
        let vault = unlocked();
        let mut old = conversation("old", &["a"]);
        old.updated_at = 10;
        let mut new = conversation("new", &["b"]);
        new.updated_at = 20;
        block_on(vault.put_conversation(&old)).unwrap();
        block_on(vault.put_conversation(&new)).unwrap();
        let list = block_on(vault.list_conversations()).unwrap();
        let ids: Vec<_> = list.conversations.iter().map(|c| c.conversation_id.as_str()).collect();
        assert_eq!(ids, ["new", "old"]);
        assert_eq!(list.conversations[0].message_count, 1);
    }

    #[test]
    fn a_damaged_record_is_named_and_other_records_still_list() {
        let vault = unlocked();
        let a = block_on(vault.put_conversation(&conversation("a", &["one"]))).unwrap();
        let b = block_on(vault.put_conversation(&conversation("b", &["two"]))).unwrap();
        let raw = vault.store().raw();
        let (_, _, mut bytes) = raw.into_iter().find(|(s, k, _)| *s == StoreName::Conversations && *k == a).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        vault.store().put_raw(StoreName::Conversations, &a, bytes);
        assert!(matches!(block_on(vault.get_conversation(&a)), Err(VaultError::Damaged(_))));
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.damaged, 1);
        assert_eq!(list.conversations.len(), 1);
        assert_eq!(list.conversations[0].id, b);
    }

    /// Flips a byte of the `nth` stored block of messages (in key order); gives its key.
    fn damage_block(vault: &crate::vault::Vault<crate::store::memory::MemoryStore>, conv: &str, nth: usize) -> String {
        let (_, key, mut bytes) = vault
            .store()
            .raw()
            .into_iter()
            .filter(|(s, k, _)| *s == StoreName::Messages && k.starts_with(conv))
            .nth(nth)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        vault.store().put_raw(StoreName::Messages, &key, bytes);
        key
    }

    #[test]
    fn a_damaged_block_is_named_and_the_other_conversations_are_read() {
        let vault = unlocked();
        let texts: Vec<String> = (0..40).map(|i| format!("turn {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let a = block_on(vault.put_conversation(&conversation("a", &refs))).unwrap();
        let b = block_on(vault.put_conversation(&conversation("b", &["two"]))).unwrap();
        damage_block(&vault, &a, 1);
        let read = block_on(vault.read_conversations(&[a.clone(), b.clone()])).unwrap();
        assert_eq!(read.damaged, std::slice::from_ref(&a));
        assert!(read.conversations[0].is_none());
        assert_eq!(read.conversations[1].as_ref().unwrap().messages[0].markdown, "two");
        // The strict read still says the conversation is damaged.
        assert!(matches!(block_on(vault.get_conversations(&[a, b])), Err(VaultError::Damaged(_))));
    }

    #[test]
    fn a_capture_of_a_conversation_with_a_damaged_block_saves_its_new_turns_around_it() {
        use crate::vault::test_support::snapshot;
        let vault = unlocked();
        let texts: Vec<String> = (0..40).map(|i| format!("turn {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let site = crate::model::Site::Claude;
        let id = block_on(vault.capture(&snapshot(site.clone(), "a", &refs), 1)).unwrap().id.unwrap();
        // Which stored key holds block 1 (messages 16..32): the one whose bytes change
        // when turn 20 is edited.
        let before = vault.store().raw();
        let mut edited = refs.clone();
        edited[20] = "turn 20, edited";
        let v2 = crate::vault::test_support::reopened(&vault);
        block_on(v2.unlock(crate::vault::test_support::PASS)).unwrap();
        block_on(v2.capture(&snapshot(site.clone(), "a", &edited), 2)).unwrap();
        let block1 = v2
            .store()
            .raw()
            .into_iter()
            .find(|(s, k, v)| *s == StoreName::Messages && !before.iter().any(|(_, k2, v2)| k2 == k && v2 == v))
            .map(|(_, k, _)| k)
            .unwrap();
        let (_, _, mut bytes) = before.iter().find(|(_, k, _)| *k == block1).cloned().unwrap();
        let n = bytes.len() - 1;
        bytes[n] ^= 1;
        vault.store().put_raw(StoreName::Messages, &block1, bytes.clone());
        vault.lock();
        block_on(vault.unlock(crate::vault::test_support::PASS)).unwrap();

        // The page shows the last turns and two new ones, and an edit of turn 35.
        let mut shown: Vec<&str> = refs[30..].to_vec();
        shown[5] = "turn 35, rewritten";
        shown.extend(["turn 40", "turn 41"]);
        let mut page = snapshot(site.clone(), "a", &shown);
        for (m, i) in page.messages.iter_mut().zip(30..) {
            m.role = [crate::model::Role::User, crate::model::Role::Assistant][i % 2];
        }
        let out = block_on(vault.capture(&page, 3)).unwrap();
        // 40 and 41 are new; 30 and 31, in the damaged block, are saved again from
        // the page, after them.
        assert_eq!((out.added, out.updated), (4, 1));
        let stored_block = crate::vault::test_support::raw_record(&vault, StoreName::Messages, &block1);
        assert_eq!(stored_block, Some(bytes), "the damaged block is left as it was");
        let read = block_on(vault.read_conversations(std::slice::from_ref(&id))).unwrap();
        assert_eq!(read.damaged, std::slice::from_ref(&id));
        assert_eq!(block_on(vault.status()).unwrap().messages, 44);
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.conversations[0].message_count, 44);
        // Once the block reads again (here: put back), every turn is in its place.
        let mut fixed = crate::vault::test_support::raw_record(&vault, StoreName::Messages, &block1).unwrap();
        fixed[n] ^= 1;
        vault.store().put_raw(StoreName::Messages, &block1, fixed);
        let conv = block_on(vault.get_conversation(&id)).unwrap();
        let got: Vec<&str> = conv.messages.iter().map(|m| m.markdown.as_str()).collect();
        let mut want = refs.clone();
        want[35] = "turn 35, rewritten";
        want.extend(["turn 40", "turn 41", "turn 30", "turn 31"]);
        assert_eq!(got, want);
    }

    #[test]
    fn new_turns_landing_in_a_damaged_last_block_mark_its_unreadable_messages() {
        use crate::vault::test_support::snapshot;
        let vault = unlocked();
        let texts: Vec<String> = (0..20).map(|i| format!("turn {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let site = crate::model::Site::Claude;
        let id = block_on(vault.capture(&snapshot(site.clone(), "a", &refs), 1)).unwrap().id.unwrap();
        // Damage both blocks, one of which is the last (16..20).
        damage_block(&vault, &id, 0);
        damage_block(&vault, &id, 1);
        vault.lock();
        block_on(vault.unlock(crate::vault::test_support::PASS)).unwrap();
        let out = block_on(vault.capture(&snapshot(site, "a", &["turn 0", "a new question"]), 2)).unwrap();
        assert_eq!(out.added, 2, "nothing could be read to match the page against");
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.conversations[0].message_count, 22);
        assert_eq!(block_on(vault.read_conversations(&[id])).unwrap().damaged.len(), 1);
    }

    #[test]
    fn a_capture_of_a_conversation_whose_record_is_damaged_keeps_its_blocks_and_saves_the_new_turns() {
        use crate::vault::test_support::snapshot;
        let vault = unlocked();
        let texts: Vec<String> = (0..20).map(|i| format!("turn {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let site = crate::model::Site::Claude;
        let id = block_on(vault.capture(&snapshot(site.clone(), "a", &refs), 1)).unwrap().id.unwrap();
        let mut record = crate::vault::test_support::raw_record(&vault, StoreName::Conversations, &id).unwrap();
        let n = record.len() - 1;
        record[n] ^= 1;
        vault.store().put_raw(StoreName::Conversations, &id, record);
        vault.lock();
        block_on(vault.unlock(crate::vault::test_support::PASS)).unwrap();
        assert!(block_on(vault.get_conversation(&id)).is_err());

        let mut shown = refs[18..].to_vec();
        shown.extend(["turn 20", "turn 21"]);
        let out = block_on(vault.capture(&snapshot(site, "a", &shown), 2)).unwrap();
        assert_eq!(out.added, 2);
        let conv = block_on(vault.get_conversation(&id)).unwrap();
        let got: Vec<&str> = conv.messages.iter().map(|m| m.markdown.as_str()).collect();
        let mut want = refs.clone();
        want.extend(["turn 20", "turn 21"]);
        assert_eq!(got, want, "every stored turn found again by its block, the new ones after");
        assert_eq!(conv.title, "Chat a");
    }
}
