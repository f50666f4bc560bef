//! The single write path. A writer (put, delete, capture, inbox, import) describes what
//! it changes as a [`Change`]; [`Vault::commit`] adds what the derived records must
//! learn of it (the message total, the recent list, the search index) and writes it
//! all in one atomic batch, its records sealed together by [`Vault::write`].
//!
//! Only writes of nothing but derived records call [`Vault::write`] themselves: the
//! empty recent list of a new vault, the recent list read again from every record, and
//! the index rebuilt from the records. The meta record and the inbox, written before
//! anything is unlocked, go to the store directly.

use super::records::{block_key, record_put, summary, Counts, MessageBlockRef, COUNTS_KEY};
use super::records::{ConversationRecord, BLOCK_LEN};
use super::search::{index_docs, index_write_ops};
use super::{random_error, Unlocked, Vault};
use crate::crypto::bulk::ToSeal;
use crate::error::VaultError;
use crate::model::{Conversation, ConversationSummary};
use crate::search::{Doc, Embedding, Merges, PersistentIndex};
use crate::store::{Op, Store, StoreName};

/// One change of the vault, as the writer knows it.
pub(super) struct Change {
    /// The writes and deletions of records (conversations, blocks, inbox records), in
    /// order; the derived records' writes follow them.
    pub ops: Vec<Op>,
    /// How far the message total moves; `None` leaves `meta/"counts"` as it is.
    pub message_delta: Option<i64>,
    /// The summaries of the conversations written, for the recent list.
    pub written: Vec<ConversationSummary>,
    /// Conversations deleted: they leave the recent list and the index.
    pub deleted: Vec<String>,
    /// Conversations rewritten whole: their documents leave the index before `docs` go in.
    pub replaced: Vec<String>,
    /// The index documents of the messages written.
    pub docs: Vec<Doc>,
    /// When the index writes its deltas (deferred by the batches of an import).
    pub merges: Merges,
    /// When the messages written get their vectors (recall by meaning): in this write
    /// (captures), or after it in the backfill (bulk writes: an import's batches, what
    /// sync applies; the extension starts the backfill after them).
    pub embedding: Embedding,
    /// The change comes from sync itself (a segment or snapshot applied, a push): it is
    /// not recorded in the sync outbox. Every other change to conversations is, when
    /// sync is set up (see `super::sync`).
    pub from_sync: bool,
}

impl Default for Change {
    fn default() -> Self {
        Change {
            ops: Vec::new(),
            message_delta: None,
            written: Vec::new(),
            deleted: Vec::new(),
            replaced: Vec::new(),
            docs: Vec::new(),
            merges: Merges::Normal,
            embedding: Embedding::Inline,
            from_sync: false,
        }
    }
}

impl Change {
    /// Writes the record of `conv` (stored under `k`) and the blocks holding its
    /// messages at `positions`, and indexes those messages.
    pub fn write_conversation(
        &mut self,
        keys: &Unlocked,
        k: &str,
        conv: &Conversation,
        positions: impl IntoIterator<Item = usize> + Clone,
    ) {
        let record = ConversationRecord::of(conv);
        self.ops.push(record_put(StoreName::Conversations, k.to_owned(), &record));
        let mut blocks: Vec<usize> = positions.clone().into_iter().map(|p| p / BLOCK_LEN).collect();
        blocks.dedup();
        blocks.sort_unstable();
        blocks.dedup();
        for b in blocks {
            let start = b * BLOCK_LEN;
            let end = (start + BLOCK_LEN).min(conv.messages.len());
            let block = MessageBlockRef { first: start as u32, messages: &conv.messages[start..end] };
            self.ops.push(record_put(StoreName::Messages, block_key(&keys.data, k, b as u32), &block));
        }
        self.docs.extend(index_docs(k, conv, positions));
        self.written.push(summary(k, conv));
    }
}

impl<S: Store> Vault<S> {
    /// Writes `change` and keeps the derived records with it, all in one atomic write:
    /// the message total, the recent list (when conversations were written or deleted),
    /// the search index, and, when sync is set up, the sync outbox (which conversations
    /// changed here since the last push). The conversation kept from the last capture is dropped
    /// when the change touches conversations; so is the index in memory when the write
    /// fails (it was already updated), to be read again from what is stored.
    pub(super) async fn commit(&self, keys: &Unlocked, change: Change) -> Result<(), VaultError> {
        let Change { mut ops, message_delta, written, deleted, replaced, docs, merges, embedding, from_sync } = change;
        if let Some(delta) = message_delta {
            ops.push(self.counts_op(delta).await?);
        }
        let touches_conversations = !written.is_empty() || !deleted.is_empty();
        if touches_conversations && !from_sync {
            ops.extend(self.outbox_op(keys, written.iter().map(|s| s.id.as_str()), &deleted).await);
        }
        if touches_conversations {
            ops.push(self.recent_list_op(keys, written, &deleted).await?);
        }
        let unindexed: Vec<String> = deleted.into_iter().chain(replaced).collect();
        ops.extend(self.index_ops(keys, docs, &unindexed, merges, embedding).await);
        if touches_conversations {
            self.last_captured.borrow_mut().take();
        }
        let result = self.write(keys, ops).await;
        if result.is_err() {
            self.index.borrow_mut().take();
        }
        result
    }

    /// Writes a batch atomically, every [`Op::Seal`] in it first turned into the `Put`
    /// of its envelope, all at once (in the browser by WebCrypto: see `crypto::bulk`).
    pub(super) async fn write(&self, keys: &Unlocked, ops: Vec<Op>) -> Result<(), VaultError> {
        if self.rekeying.get() {
            return Err(VaultError::Busy);
        }
        if Op::all_sealed(&ops) {
            return Ok(self.store.apply(ops).await?);
        }
        let items: Vec<ToSeal<'_>> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Seal { store, key, plain } => Some(ToSeal { store: store.as_str(), key, plain: &plain.0 }),
                _ => None,
            })
            .collect();
        let mut sealed = keys.sealer.seal_all(&keys.data, &items).await.map_err(random_error)?.into_iter();
        drop(items);
        let ops = ops
            .into_iter()
            .map(|op| match op {
                Op::Seal { store, key, .. } => {
                    Op::Put { store, key, value: sealed.next().expect("one envelope per record") }
                }
                other => other,
            })
            .collect();
        Ok(self.store.apply(ops).await?)
    }

    pub(super) async fn read_counts(&self) -> Result<Counts, VaultError> {
        Ok(self
            .store
            .get(StoreName::Meta, COUNTS_KEY)
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default())
    }

    /// The write that moves the message total by `delta` (part of the same batch).
    async fn counts_op(&self, delta: i64) -> Result<Op, VaultError> {
        let mut counts = self.read_counts().await?;
        counts.messages = (counts.messages + delta).max(0);
        Ok(Op::Put {
            store: StoreName::Meta,
            key: COUNTS_KEY.into(),
            value: serde_json::to_vec(&counts).expect("counts serialise"),
        })
    }

    /// The index writes for `added` messages and `removed` conversations, to go into
    /// the same atomic write as the records. The index never stands in the way of
    /// saving: if it cannot be updated it is dropped and rebuilt at the next search.
    async fn index_ops(
        &self,
        keys: &Unlocked,
        added: Vec<Doc>,
        removed: &[String],
        merges: Merges,
        embedding: Embedding,
    ) -> Vec<Op> {
        // Nothing for the index (a push's bookkeeping, the sync record): it is neither
        // opened nor written, unless an import's batches wait in it for a normal update
        // (`finish_import`). Each segment a push sealed used to rewrite the manifest, and
        // the first one to load the whole index (every id and vector chunk) for that.
        let deferred = self.index.borrow().as_ref().is_some_and(PersistentIndex::has_pending);
        if added.is_empty() && removed.is_empty() && merges == Merges::Normal && !deferred {
            return Vec::new();
        }
        let current = self.index.borrow_mut().take();
        let mut index = match current {
            Some(index) => index,
            None => match self.open_index(keys).await {
                Ok(index) => index,
                Err(_) => return Vec::new(),
            },
        };
        match self.update_index(keys, &mut index, added, removed, merges, embedding).await {
            Ok(writes) => {
                *self.index.borrow_mut() = Some(index);
                index_write_ops(writes)
            }
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::StoreError;
    use crate::vault::test_support::{conversation, unlocked};
    use pollster::block_on;

    #[test]
    fn a_failed_write_leaves_what_was_stored() {
        let vault = unlocked();
        let id = block_on(vault.put_conversation(&conversation("c", &["first"]))).unwrap();
        let before = vault.store().raw();
        vault.store().fail_next_write(StoreError::QuotaExceeded);
        let err = block_on(vault.put_conversation(&conversation("c", &["replaced", "text"]))).unwrap_err();
        assert_eq!(err.code(), "storage");
        assert!(err.to_string().contains("full"));
        assert_eq!(vault.store().raw(), before);
        assert_eq!(block_on(vault.get_conversation(&id)).unwrap().messages[0].markdown, "first");
    }
}
