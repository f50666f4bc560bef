//! Search orchestration: a query over the index, its hits turned into conversations
//! with snippets, and the index rebuilt from the records when it is damaged or missing.
//! What the index holds of a message is [`index_docs`].
//!
//! The index (`crate::search::persist`) never sees the store or a key: it names the
//! segments it needs, and this facet reads them in one request and opens them all at
//! once, as records are opened (`crypto::bulk`: WebCrypto in the browser); its writes
//! come back as plain data, sealed by [`Vault::write`] with the rest of the batch.

use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;

use zeroize::Zeroizing;

use super::records::{block_key, record_from, ConversationRecord, MessageBlock, BLOCK_LEN};
use super::{Unlocked, Vault};
use crate::crypto::bulk::ToOpen;
use crate::crypto::CryptoError;
use crate::error::VaultError;
use crate::model::{Conversation, Role, Site};
use crate::search::{
    group_by_conversation, snippet, Doc, Embedding, Merges, Opened, PersistentIndex, Removal, SearchError, Step, Writes,
};
use crate::store::{Op, Plain, Store, StoreName};

/// One message found by a search, with the snippet to show and the ranges to mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundMessage {
    pub message_id: String,
    pub role: Role,
    pub snippet: String,
    /// `[start, end]` in UTF-16 code units of `snippet`.
    pub ranges: Vec<(usize, usize)>,
    /// Found by the meaning of the query only: its words are not in this message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_meaning: bool,
}

/// How far recall by meaning's backfill is: messages with their vector, of all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EmbedProgress {
    pub done: usize,
    pub total: usize,
}

/// A conversation with matches, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundConversation {
    /// The vault's id of the conversation (what `get_conversation` takes).
    pub conversation_id: String,
    pub site: Site,
    pub title: String,
    pub url: String,
    pub updated_at: i64,
    pub hits: Vec<FoundMessage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOutcome {
    /// Every matching message, counted.
    pub total: usize,
    pub results: Vec<FoundConversation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The index was damaged or missing and was rebuilt from the records for this query.
    pub rebuilt: bool,
    /// Ranked by the words alone: recall by meaning's vectors were still to be loaded
    /// (a cold worker). [`Vault::warm_meaning`] loads them for the next query.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub meaning_loading: bool,
}

const SNIPPET_CHARS: usize = 160;
const HITS_PER_CONVERSATION: usize = 3;

impl<S: Store> Vault<S> {
    /// Searches every conversation: matches grouped by conversation, best first, each
    /// with snippets of its best messages. A damaged or missing index is rebuilt from
    /// the records first (and `rebuilt` says so).
    pub async fn search(&self, query: &str, limit: usize) -> Result<SearchOutcome, VaultError> {
        let keys = self.keys()?;
        let limit = limit.clamp(1, 100);
        let query: String = query.chars().take(1000).collect();
        self.finish_import().await?; // what an unfinished import added must be found
        let mut rebuilt = false;
        // Taken first: a borrow held across the await would panic if anything else
        // touched the index meanwhile.
        let cached = self.index.borrow_mut().take();
        let mut index = match cached {
            Some(index) => Some(index),
            None => self.open_index(&keys).await.ok(),
        };
        if index.as_ref().is_some_and(|i| i.is_empty()) && self.store.count(StoreName::Conversations).await? > 0 {
            index = None; // written before search existed, or lost: build it
        }
        let mut index = match index {
            Some(index) => index,
            None => {
                rebuilt = true;
                self.rebuild_index(&keys).await?
            }
        };
        let found = match self.drive_index(&keys, &mut index, |ix| ix.search(&query, limit * 8)).await {
            Ok(found) => found,
            Err(VaultError::Damaged(_)) | Err(VaultError::NewerVersion) => {
                rebuilt = true;
                index = self.rebuild_index(&keys).await?;
                self.drive_index(&keys, &mut index, |ix| ix.search(&query, limit * 8)).await?
            }
            Err(e) => return Err(e),
        };
        *self.index.borrow_mut() = Some(index);
        // Fetch every conversation record and message block the results need at once.
        let groups: Vec<_> = group_by_conversation(&found.hits).into_iter().take(limit).collect();
        let record_keys: Vec<String> = groups.iter().map(|g| g.conversation_id.clone()).collect();
        let mut wanted: Vec<(usize, String, usize)> = Vec::new(); // (group, message id, position)
        for (gi, group) in groups.iter().enumerate() {
            for hit in group.hits.iter().take(HITS_PER_CONVERSATION) {
                if let Some(seq) = hit.id.rsplit(':').next().and_then(|n| n.parse::<usize>().ok()) {
                    wanted.push((gi, hit.id.clone(), seq));
                }
            }
        }
        let mut block_keys: Vec<String> = wanted
            .iter()
            .map(|(gi, _, seq)| block_key(&keys.data, &groups[*gi].conversation_id, (seq / BLOCK_LEN) as u32))
            .collect();
        block_keys.sort_unstable();
        block_keys.dedup();
        // Both read together (one round to the browser's database, not two).
        let (sealed_records, sealed_blocks) = futures_util::future::join(
            self.store.get_many(StoreName::Conversations, &record_keys),
            self.store.get_many(StoreName::Messages, &block_keys),
        )
        .await;
        let (sealed_records, sealed_blocks) = (sealed_records?, sealed_blocks?);
        // The records and blocks opened at once (in the browser by WebCrypto, like the
        // index segments: `crypto::bulk`); one that does not open is left out.
        let to_open: Vec<ToOpen<'_>> = stored(StoreName::Conversations, &record_keys, &sealed_records)
            .chain(stored(StoreName::Messages, &block_keys, &sealed_blocks))
            .collect();
        let mut opened = keys.sealer.open_all(&keys.data, &to_open).await.into_iter();
        drop(to_open);
        let records: Vec<Option<ConversationRecord>> = sealed_records
            .iter()
            .map(|s| {
                s.as_ref()?;
                record_from(opened.next().expect("one per stored record"), "a conversation").ok()
            })
            .collect();
        let mut blocks = HashMap::new();
        for (bk, s) in block_keys.iter().zip(&sealed_blocks) {
            if s.is_some() {
                if let Ok(block) = record_from::<MessageBlock>(opened.next().expect("one per block"), "a message block")
                {
                    blocks.insert(bk.clone(), block);
                }
            }
        }
        let mut results = Vec::new();
        for (gi, (group, rec)) in groups.iter().zip(records).enumerate() {
            let k = &group.conversation_id;
            let Some(rec) = rec else { continue };
            let mut hits = Vec::new();
            for (_, id, seq) in wanted.iter().filter(|(g, _, _)| *g == gi) {
                let bk = block_key(&keys.data, k, (seq / BLOCK_LEN) as u32);
                let message =
                    blocks.get(&bk).and_then(|b| seq.checked_sub(b.first as usize).and_then(|i| b.messages.get(i)));
                if let Some(message) = message {
                    let cut = snippet(&message.markdown, &query, SNIPPET_CHARS);
                    let by_meaning = group.hits.iter().any(|h| &h.id == id && h.by_meaning);
                    hits.push(FoundMessage {
                        message_id: id.clone(),
                        role: message.role,
                        snippet: cut.text,
                        ranges: cut.ranges,
                        by_meaning,
                    });
                }
            }
            results.push(FoundConversation {
                conversation_id: k.clone(),
                site: rec.site,
                title: rec.title,
                url: rec.url,
                updated_at: rec.updated_at,
                hits,
            });
        }
        Ok(SearchOutcome {
            total: found.total,
            results,
            hint: found.hint,
            rebuilt,
            meaning_loading: found.meaning_loading,
        })
    }

    /// Opens the search index ahead of the first search and loads what every query
    /// needs (the manifest and the documents' attributes), so that the first search
    /// reads only its own terms and hits. Best effort and read-only: it does nothing
    /// when the vault is locked, the index is already open, or the index cannot be
    /// opened as it is (the next search rebuilds it and says so, as before).
    pub async fn warm_search(&self) {
        let Ok(keys) = self.keys() else { return };
        if self.index.borrow().is_some() {
            return;
        }
        let Ok(mut index) = self.open_index(&keys).await else { return };
        if index.is_empty() {
            return; // an empty index may need building: the next search decides
        }
        let Ok(opened) = self.open_index_segments(&keys, index.warm_needs()).await else { return };
        if index.load(opened).is_err() {
            return;
        }
        // Still unlocked with the same keys, and nothing opened the index meanwhile
        // (the worker runs this in its queue, so nothing should have).
        let same_keys = self.keys().is_ok_and(|now| Rc::ptr_eq(&now, &keys));
        let mut cell = self.index.borrow_mut();
        if same_keys && cell.is_none() {
            *cell = Some(index);
        }
    }

    /// Loads recall by meaning's vectors into the open index, after a query that was
    /// answered by its words alone while they were not loaded, so that the next query
    /// is fused without waiting. Best effort and read-only, like [`Vault::warm_search`]:
    /// nothing when locked, when no index is open, or when the vectors do not open (a
    /// query that needs them reads them again and says what is wrong).
    pub async fn warm_meaning(&self) {
        let Ok(keys) = self.keys() else { return };
        let needs = match self.index.borrow().as_ref() {
            Some(index) => index.meaning_needs(),
            None => return,
        };
        if needs.is_empty() {
            return;
        }
        let Ok(opened) = self.open_index_segments(&keys, needs).await else { return };
        let same_keys = self.keys().is_ok_and(|now| Rc::ptr_eq(&now, &keys));
        if let (true, Some(index)) = (same_keys, self.index.borrow_mut().as_mut()) {
            // Chunks loaded meanwhile are left as they are (`load` skips them).
            let _ = index.load(opened);
        }
    }

    /// Hands recall by meaning's model to the vault: searches fuse the meaning leg, and
    /// every message indexed from now on gets its vector.
    pub fn set_meaning_model(&self, model: std::sync::Arc<crate::search::meaning::Model>) {
        if let Some(index) = self.index.borrow_mut().as_mut() {
            index.set_model(model.clone());
        }
        *self.meaning_model.borrow_mut() = Some(model);
    }

    /// One step of recall by meaning's backfill: embeds up to `max` messages indexed
    /// before the model (a vault from an earlier version, or vectors that were lost)
    /// and writes their vectors; returns how far it is. Resumable: what is written
    /// stays, and the next step goes on from there. Nothing without a model.
    ///
    /// # Errors
    /// [`VaultError::Locked`]; a store failure (nothing is changed then).
    pub async fn embed_step(&self, max: usize) -> Result<EmbedProgress, VaultError> {
        let keys = self.keys()?;
        if self.meaning_model.borrow().is_none() {
            return Ok(EmbedProgress { done: 0, total: 0 });
        }
        let cached = self.index.borrow_mut().take();
        // An index that does not open is left for the next search to rebuild (and to
        // tell the person so); the backfill waits for it.
        let mut index = match cached {
            Some(index) => index,
            None => match self.open_index(&keys).await {
                Ok(index) => index,
                Err(_) => return Ok(EmbedProgress { done: 0, total: 0 }),
            },
        };
        let asked = match self.drive_index(&keys, &mut index, |ix| ix.embed_needs(max)).await {
            Ok(asked) => asked,
            Err(e) => {
                *self.index.borrow_mut() = Some(index);
                return Err(e);
            }
        };
        let mut docs = Vec::new();
        let mut by_conversation: Vec<(String, Vec<usize>)> = Vec::new();
        for id in &asked {
            let Some((k, seq)) = id.rsplit_once(':').and_then(|(k, s)| Some((k, s.parse::<usize>().ok()?))) else {
                continue;
            };
            match by_conversation.iter_mut().find(|(c, _)| c == k) {
                Some((_, seqs)) => seqs.push(seq),
                None => by_conversation.push((k.to_owned(), vec![seq])),
            }
        }
        for (k, seqs) in by_conversation {
            if let Ok(conv) = self.get_conversation(&k).await {
                docs.extend(index_docs(&k, &conv, seqs));
            }
        }
        let writes = index.embed(&asked, &docs)?;
        let (done, total) = index.embed_progress();
        if !writes.is_empty() {
            // Not written: the index, dropped here, is opened again next time.
            self.write(&keys, index_write_ops(writes)).await?;
        }
        *self.index.borrow_mut() = Some(index);
        Ok(EmbedProgress { done, total })
    }

    /// Builds the search index again from every stored conversation and saves it.
    async fn rebuild_index(&self, keys: &Unlocked) -> Result<PersistentIndex, VaultError> {
        let mut docs = Vec::new();
        for (k, sealed) in self.store.get_prefix(StoreName::Conversations, "").await? {
            if self
                .open_json::<ConversationRecord>(keys, StoreName::Conversations, &k, &sealed, "a conversation")
                .is_err()
            {
                continue;
            }
            if let Ok(conv) = self.get_conversation(&k).await {
                docs.extend(index_docs(&k, &conv, 0..conv.messages.len()));
            }
        }
        let model = self.meaning_model.borrow().clone();
        let (index, writes) = PersistentIndex::rebuild(docs, model)?;
        self.write(keys, index_write_ops(writes)).await?;
        Ok(index)
    }

    /// Opens the index from its manifest (see [`PersistentIndex::open`]).
    pub(super) async fn open_index(&self, keys: &Unlocked) -> Result<PersistentIndex, VaultError> {
        let opened = self.open_index_segments(keys, PersistentIndex::open_needs()).await?;
        let mut index = PersistentIndex::open(opened)?;
        if let Some(model) = self.meaning_model.borrow().clone() {
            index.set_model(model);
        }
        Ok(index)
    }

    /// The index's update for `added` messages and `removed` conversations: its writes,
    /// for the same atomic write as the records, after it has read what it needs.
    pub(super) async fn update_index(
        &self,
        keys: &Unlocked,
        index: &mut PersistentIndex,
        added: Vec<Doc>,
        removed: &[String],
        merges: Merges,
        embedding: Embedding,
    ) -> Result<Writes, VaultError> {
        let needs = index.stage_needs();
        if !needs.is_empty() {
            index.load(self.open_index_segments(keys, needs).await?)?;
        }
        index.stage(added, removed, embedding)?;
        self.drive_index(keys, index, |ix| ix.writes(merges)).await
    }

    /// Runs a step of the index until it answers, reading and opening the segments it
    /// asks for in between.
    async fn drive_index<T>(
        &self,
        keys: &Unlocked,
        index: &mut PersistentIndex,
        mut step: impl FnMut(&mut PersistentIndex) -> Result<Step<T>, SearchError>,
    ) -> Result<T, VaultError> {
        // A query asks twice at most (its terms, then its hits' ids), an update once.
        for _ in 0..8 {
            match step(index)? {
                Step::Done(answer) => return Ok(answer),
                Step::Need(names) => index.load(self.open_index_segments(keys, names).await?)?,
            }
        }
        Err(SearchError::Damaged("search index segments asked for again and again".into()).into())
    }

    /// The index segments `names`, read in one request and opened all at once (in the
    /// browser by WebCrypto, like records: see `crypto::bulk`); `None` for one not stored.
    ///
    /// # Errors
    /// [`VaultError::Damaged`] naming a segment that does not open (changed, or moved
    /// from another name: its associated data names it), [`VaultError::NewerVersion`]
    /// for a newer envelope, [`VaultError::Storage`] when the store fails.
    pub(super) async fn open_index_segments(&self, keys: &Unlocked, names: Vec<String>) -> Result<Opened, VaultError> {
        let found = self.store.get_many(StoreName::Index, &names).await?;
        let store = StoreName::Index.as_str();
        let to_open: Vec<ToOpen<'_>> = names
            .iter()
            .zip(&found)
            .filter_map(|(name, sealed)| Some(ToOpen { store, key: name, sealed: sealed.as_deref()? }))
            .collect();
        let mut opened = keys.sealer.open_all(&keys.data, &to_open).await.into_iter();
        drop(to_open);
        names
            .into_iter()
            .zip(found)
            .map(|(name, sealed)| {
                let plain = match sealed {
                    None => None,
                    Some(_) => match opened.next().expect("one per stored segment") {
                        Ok(plain) => Some(plain),
                        // A vector chunk that does not open is not fatal: handed over
                        // empty, it fails to decode, and its messages are embedded again.
                        Err(_) if name.starts_with("v.") => Some(Vec::new()),
                        Err(CryptoError::UnsupportedVersion(_)) => return Err(VaultError::NewerVersion),
                        Err(_) => return Err(VaultError::Damaged(format!("search index segment {name}"))),
                    },
                };
                Ok((name, plain))
            })
            .collect()
    }
}

/// What `get_many` found of `keys` in `store`, to open in bulk (those not stored left out).
fn stored<'a>(store: StoreName, keys: &'a [String], found: &'a [Option<Vec<u8>>]) -> impl Iterator<Item = ToOpen<'a>> {
    let store = store.as_str();
    keys.iter().zip(found).filter_map(move |(key, sealed)| Some(ToOpen { store, key, sealed: sealed.as_deref()? }))
}

/// The index's writes as ops of the vault's batch: its removals, then a [`Op::Seal`] of
/// every segment it puts (sealed with the batch by [`Vault::write`]).
pub(super) fn index_write_ops(writes: Writes) -> Vec<Op> {
    let store = StoreName::Index;
    let removed = writes.removed.into_iter().map(|r| match r {
        Removal::Segment(key) => Op::Delete { store, key },
        Removal::Prefix(prefix) => Op::DeletePrefix { store, prefix },
    });
    let put = writes.put.into_iter().map(|(key, plain)| Op::Seal { store, key, plain: Plain(Zeroizing::new(plain)) });
    removed.chain(put).collect()
}

/// The index documents of `conv`'s messages at `positions`; a message's id is
/// `<conversation id>:<position>`, so a changed or moved message replaces its document.
pub(super) fn index_docs(k: &str, conv: &Conversation, positions: impl IntoIterator<Item = usize>) -> Vec<Doc> {
    positions
        .into_iter()
        .filter_map(|seq| conv.messages.get(seq).map(|m| (seq, m)))
        .map(|(seq, m)| Doc {
            id: format!("{k}:{seq}"),
            conversation_id: k.to_owned(),
            title: conv.title.clone(),
            text: m.markdown.clone(),
            site: conv.site.as_str().to_owned(),
            role: serde_json::to_value(m.role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            ts: if m.provenance.last_seen != 0 { m.provenance.last_seen } else { conv.updated_at },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Snapshot;
    use crate::vault::test_support::{snapshot, unlocked as vault, PASS};
    use pollster::block_on;

    fn snap(id: &str, texts: &[&str]) -> Snapshot {
        let mut s = snapshot(Site::Perplexity, id, texts);
        s.title = format!("Notes {id}");
        s
    }

    #[test]
    fn a_captured_word_is_found_with_its_conversation_and_a_marked_snippet() {
        let v = vault();
        block_on(v.capture(&snap("a", &["how do pangolins sleep", "curled up in burrows"]), 1)).unwrap();
        block_on(v.capture(&snap("b", &["tea in kyoto", "try Uji"]), 2)).unwrap();
        let out = block_on(v.search("pangolins", 10)).unwrap();
        assert_eq!(out.total, 1);
        assert_eq!(out.results.len(), 1);
        let hit = &out.results[0];
        assert_eq!(hit.title, "Notes a");
        assert_eq!(hit.site, Site::Perplexity);
        assert_eq!(hit.hits[0].role, Role::User);
        let (s, e) = hit.hits[0].ranges[0];
        let utf16: Vec<u16> = hit.hits[0].snippet.encode_utf16().collect();
        assert_eq!(String::from_utf16(&utf16[s..e]).unwrap(), "pangolins");
        assert!(block_on(v.get_conversation(&hit.conversation_id)).is_ok());
        // Typing: a prefix of the last word finds it too; later captures are found at once.
        assert_eq!(block_on(v.search("kyo", 10)).unwrap().results[0].title, "Notes b");
        block_on(v.capture(&snap("b", &["tea in kyoto", "try Uji", "and matcha"]), 3)).unwrap();
        assert_eq!(block_on(v.search("matcha", 10)).unwrap().total, 1);
    }

    #[test]
    fn a_deleted_conversation_is_no_longer_found() {
        let v = vault();
        let id = block_on(v.capture(&snap("a", &["zeppelin facts"]), 1)).unwrap().id.unwrap();
        assert_eq!(block_on(v.search("zeppelin", 10)).unwrap().total, 1);
        block_on(v.delete_conversation(&id)).unwrap();
        assert_eq!(block_on(v.search("zeppelin", 10)).unwrap().total, 0);
    }

    /// Flips the last byte of every stored index segment.
    fn damage_every_index_segment(v: &Vault<crate::store::memory::MemoryStore>) {
        for (store, key, mut value) in v.store().raw() {
            if store == StoreName::Index {
                let last = value.len() - 1;
                value[last] ^= 1;
                v.store().put_raw(store, &key, value);
            }
        }
    }

    #[test]
    fn a_damaged_index_is_rebuilt_from_the_records_and_the_person_is_told() {
        let v = vault();
        block_on(v.capture(&snap("a", &["quasar brightness", "very bright"]), 1)).unwrap();
        v.lock();
        damage_every_index_segment(&v);
        block_on(v.unlock(PASS)).unwrap();
        let out = block_on(v.search("quasar", 10)).unwrap();
        assert!(out.rebuilt);
        assert_eq!(out.total, 1);
        assert!(!block_on(v.search("quasar", 10)).unwrap().rebuilt);
    }

    /// The vault's half of the index's damage tests (`search::persist`): a segment that
    /// was changed, moved to another name or sealed under another vault's key does not
    /// open, and names itself.
    #[test]
    fn index_segments_are_opened_together_and_a_changed_or_moved_one_is_damaged() {
        let v = vault();
        block_on(v.capture(&snap("a", &["quasar brightness", "very bright"]), 1)).unwrap();
        let keys = v.keys().unwrap();
        let raw = |name: &str| {
            v.store().raw().into_iter().find(|(s, k, _)| *s == StoreName::Index && k == name).map(|(_, _, value)| value)
        };
        let names: Vec<String> =
            v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).map(|(_, k, _)| k).collect();
        let chunk = names.iter().find(|k| k.starts_with("x.") || k.starts_with("t.")).unwrap().clone();
        let mut asked = names.clone();
        asked.push("x.404".into());
        let opened = block_on(v.open_index_segments(&keys, asked)).unwrap();
        assert!(opened[..names.len()].iter().all(|(_, plain)| plain.is_some()));
        assert_eq!(opened.last().unwrap(), &("x.404".to_owned(), None));

        let good = raw(&chunk).unwrap();
        let mut changed = good.clone();
        let at = changed.len() / 2;
        changed[at] ^= 1;
        for bad in [changed, raw("m").unwrap()] {
            v.store().put_raw(StoreName::Index, &chunk, bad);
            match block_on(v.open_index_segments(&keys, vec!["m".into(), chunk.clone()])) {
                Err(VaultError::Damaged(what)) => assert!(what.contains(&chunk), "{what}"),
                other => panic!("{other:?}"),
            }
        }
        v.store().put_raw(StoreName::Index, &chunk, good);

        // Another vault (another data key) opens none of them, and rebuilds its own.
        let other = vault();
        for (s, k, value) in v.store().raw() {
            if s == StoreName::Index {
                other.store().put_raw(s, &k, value);
            }
        }
        let other_keys = other.keys().unwrap();
        assert!(matches!(block_on(other.open_index(&other_keys)), Err(VaultError::Damaged(_))));
        assert!(block_on(other.search("quasar", 10)).unwrap().rebuilt);
        assert!(!block_on(v.search("quasar", 10)).unwrap().rebuilt);
    }

    #[test]
    fn a_warmed_index_is_kept_for_the_first_search_and_a_damaged_one_is_left_for_it_to_rebuild() {
        let v = vault();
        block_on(v.capture(&snap("a", &["quasar brightness", "very bright"]), 1)).unwrap();
        v.lock();
        block_on(v.warm_search()); // locked: nothing
        assert!(v.index.borrow().is_none());
        block_on(v.unlock(PASS)).unwrap();
        block_on(v.warm_search());
        assert!(v.index.borrow().as_ref().is_some_and(|ix| ix.warm_needs().is_empty()), "attributes loaded");
        let out = block_on(v.search("quasar", 10)).unwrap();
        assert_eq!((out.total, out.rebuilt), (1, false));

        // Damaged: the warm-up neither rebuilds nor keeps anything; the search rebuilds and says so.
        v.lock();
        damage_every_index_segment(&v);
        block_on(v.unlock(PASS)).unwrap();
        block_on(v.warm_search());
        assert!(v.index.borrow().is_none());
        let out = block_on(v.search("quasar", 10)).unwrap();
        assert_eq!((out.total, out.rebuilt), (1, true));
    }

    #[test]
    fn conversations_stored_before_the_index_existed_are_indexed_on_first_search() {
        let v = vault();
        block_on(v.capture(&snap("a", &["nebula photos"]), 1)).unwrap();
        let index_keys: Vec<String> =
            v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).map(|(_, k, _)| k).collect();
        for k in index_keys {
            v.store().data_for_tests().remove(&(StoreName::Index, k));
        }
        v.lock();
        block_on(v.unlock(PASS)).unwrap();
        let out = block_on(v.search("nebula", 10)).unwrap();
        assert!(out.rebuilt);
        assert_eq!(out.total, 1);
    }

    #[test]
    fn bad_queries_answer_or_hint_and_never_fail() {
        let v = vault();
        block_on(v.capture(&snap("a", &["something"]), 1)).unwrap();
        for q in ["", "\"unbalanced", "site:nowhere x", "before:2026-13-45 something", &"x".repeat(10_000)] {
            assert!(block_on(v.search(q, 10)).is_ok(), "{q:.40}");
        }
        assert_eq!(block_on(v.search("anything", 10)).map(|_| ()), Ok(()));
        v.lock();
        assert_eq!(block_on(v.search("something", 10)).unwrap_err(), VaultError::Locked);
    }
}
