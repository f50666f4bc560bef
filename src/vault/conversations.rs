//! Conversations: reading them (one, several, the list) and storing or deleting one
//! whole. Captures, the inbox and imports merge into them (see their modules).

use serde::{Deserialize, Serialize};

use super::limits::{check_conversation, check_key};
use super::records::{
    block_key, newest_first, record_from, ConversationRecord, MessageBlock, BLOCK_LEN,
};
use super::write::Change;
use super::{Unlocked, Vault};
use crate::crypto::bulk::ToOpen;
use crate::error::VaultError;
use crate::model::{Conversation, ConversationSummary, Message};
use crate::store::{Op, Store, StoreName};

/// A list of conversations, newest first, and how many records could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
    pub damaged: u32,
}

impl<S: Store> Vault<S> {
    /// Stores a conversation with all its messages, replacing what was stored under
    /// the same site and id, in one atomic write. Returns its id.
    pub async fn put_conversation(&self, conv: &Conversation) -> Result<String, VaultError> {
        check_conversation(conv)?;
        let keys = self.keys()?;
        let k = keys
            .data
            .derive_store_key(&[conv.site.as_str(), &conv.conversation_id]);
        let before = self.stored_message_count(&keys, &k).await;
        let mut change = Change::default();
        change.ops.push(Op::DeletePrefix {
            store: StoreName::Messages,
            prefix: format!("{k}:"),
        });
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
        change.ops.push(Op::Delete {
            store: StoreName::Conversations,
            key: id.to_owned(),
        });
        change.ops.push(Op::DeletePrefix {
            store: StoreName::Messages,
            prefix: format!("{id}:"),
        });
        change.message_delta = Some(-count);
        change.deleted.push(id.to_owned());
        self.commit(&keys, change).await
    }

    /// How many messages the stored record of `k` says it has (0 if none or unreadable).
    async fn stored_message_count(&self, keys: &Unlocked, k: &str) -> i64 {
        match self.store.get(StoreName::Conversations, k).await {
            Ok(Some(sealed)) => self
                .open_json::<ConversationRecord>(
                    keys,
                    StoreName::Conversations,
                    k,
                    &sealed,
                    "a conversation",
                )
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
    /// Two reads whatever their number: every record, then every message block they
    /// name (an IndexedDB transaction costs more than decrypting a block).
    pub async fn get_conversations(
        &self,
        ids: &[String],
    ) -> Result<Vec<Option<Conversation>>, VaultError> {
        let keys = self.keys()?;
        for id in ids {
            check_key(id)?;
        }
        let mut records = Vec::with_capacity(ids.len());
        let mut block_keys = Vec::new();
        for (id, sealed) in ids
            .iter()
            .zip(self.store.get_many(StoreName::Conversations, ids).await?)
        {
            let record = match sealed {
                Some(sealed) => {
                    let rec: ConversationRecord = self.open_json(
                        &keys,
                        StoreName::Conversations,
                        id,
                        &sealed,
                        "a conversation record",
                    )?;
                    let blocks = (rec.message_count as usize).div_ceil(BLOCK_LEN) as u32;
                    block_keys.extend((0..blocks).map(|b| block_key(&keys.data, id, b)));
                    Some(rec)
                }
                None => None,
            };
            records.push(record);
        }
        let missing =
            || VaultError::Damaged("a block of messages of this conversation is missing".into());
        // Every block opened at once (in the browser by WebCrypto: see `crypto::bulk`).
        let sealed_blocks = self
            .store
            .get_many(StoreName::Messages, &block_keys)
            .await?;
        let to_open: Vec<ToOpen<'_>> = block_keys
            .iter()
            .zip(&sealed_blocks)
            .filter_map(|(bk, sealed)| {
                Some(ToOpen {
                    store: StoreName::Messages.as_str(),
                    key: bk,
                    sealed: sealed.as_deref()?,
                })
            })
            .collect();
        let mut opened = keys.sealer.open_all(&keys.data, &to_open).await.into_iter();
        drop(to_open);
        let mut blocks = sealed_blocks.iter().map(|sealed| {
            sealed
                .as_ref()
                .map(|_| opened.next().expect("one per block"))
        });
        let mut out = Vec::with_capacity(ids.len());
        for rec in records {
            let Some(rec) = rec else {
                out.push(None);
                continue;
            };
            let count = rec.message_count as usize;
            let mut messages: Vec<Message> = Vec::with_capacity(count);
            for opened in blocks.by_ref().take(count.div_ceil(BLOCK_LEN)) {
                let block: MessageBlock = record_from(
                    opened.ok_or_else(missing)?,
                    "a message of this conversation",
                )?;
                if block.first as usize != messages.len() {
                    return Err(missing());
                }
                messages.extend(block.messages);
            }
            if messages.len() < count {
                return Err(missing());
            }
            messages.truncate(count);
            out.push(Some(Conversation {
                site: rec.site,
                conversation_id: rec.conversation_id,
                title: rec.title,
                url: rec.url,
                model: rec.model,
                created_at: rec.created_at,
                updated_at: rec.updated_at,
                messages,
            }));
        }
        Ok(out)
    }

    /// Every conversation, most recently updated first. Records that fail to open are
    /// counted, not fatal: one damaged record must not hide the rest.
    pub async fn list_conversations(&self) -> Result<ConversationList, VaultError> {
        let keys = self.keys()?;
        let mut list = ConversationList {
            conversations: Vec::new(),
            damaged: 0,
        };
        let records = self.store.get_prefix(StoreName::Conversations, "").await?;
        let store = StoreName::Conversations.as_str();
        let to_open: Vec<ToOpen<'_>> = records
            .iter()
            .map(|(k, sealed)| ToOpen {
                store,
                key: k,
                sealed,
            })
            .collect();
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
        assert_eq!(
            id,
            block_on(vault.put_conversation(&conversation("c", &["x"]))).unwrap()
        );
        assert_eq!(
            block_on(vault.get_conversation(&id))
                .unwrap()
                .messages
                .len(),
            1
        );
        assert_eq!(block_on(vault.status()).unwrap().messages, 1);
        block_on(vault.delete_conversation(&id)).unwrap();
        let status = block_on(vault.status()).unwrap();
        assert_eq!((status.conversations, status.messages), (0, 0));
        assert!(matches!(
            block_on(vault.get_conversation(&id)),
            Err(VaultError::NotFound(_))
        ));
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
        let ids: Vec<_> = list
            .conversations
            .iter()
            .map(|c| c.conversation_id.as_str())
            .collect();
        assert_eq!(ids, ["new", "old"]);
        assert_eq!(list.conversations[0].message_count, 1);
    }

    #[test]
    fn a_damaged_record_is_named_and_other_records_still_list() {
        let vault = unlocked();
        let a = block_on(vault.put_conversation(&conversation("a", &["one"]))).unwrap();
        let b = block_on(vault.put_conversation(&conversation("b", &["two"]))).unwrap();
        let raw = vault.store().raw();
        let (_, _, mut bytes) = raw
            .into_iter()
            .find(|(s, k, _)| *s == StoreName::Conversations && *k == a)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        vault.store().put_raw(StoreName::Conversations, &a, bytes);
        assert!(matches!(
            block_on(vault.get_conversation(&a)),
            Err(VaultError::Damaged(_))
        ));
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.damaged, 1);
        assert_eq!(list.conversations.len(), 1);
        assert_eq!(list.conversations[0].id, b);
    }
}
