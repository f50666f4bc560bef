//! Re-encrypting everything: a new passphrase with a new data key.
//!
//! [`Vault::change_passphrase`] re-wraps the data key: quick, but whoever kept a copy
//! of the old meta record and learns the old passphrase can still open every record,
//! including those written after the change. [`Vault::reencrypt`] closes that: a new
//! random data key and a new inbox key pair, every record opened with the old key and
//! sealed again with the new one, under new names (store keys are HMACs under the data
//! key, so the old key no longer even tells which conversations are stored), and the
//! search index built again under the new key.
//!
//! All of it lands in one atomic write with the new meta record: until that write
//! commits, the vault is exactly as it was under the old passphrase; after it, nothing
//! sealed under the old key is left (IndexedDB may keep freed pages on disk until it
//! compacts them; SECURITY.md says so). While it runs, other writes are refused with
//! [`VaultError::Busy`] (a tab keeps its capture and tries again).
//!
//! Refused while sync is set up: the other devices hold the old data key (leave sync,
//! re-encrypt, set sync up again).
//!
//! What does not open under the old key cannot be carried over: a damaged conversation
//! record (with its blocks) or a damaged block is left out and counted in
//! [`ReencryptReport::skipped`]; an inbox entry that does not open is kept as it is
//! (it never opened, and never will). A conversation with a damaged block keeps its
//! other blocks and reads as before, with the damaged block missing.

use std::collections::HashMap;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;
use zeroize::Zeroizing;

use super::limits::check_new_passphrase;
use super::recent_list::{RECENT_LEN, RECENT_LIST_KEY};
use super::records::{block_key, newest_first, record_from, MetaRecord, PRIVATE_KEY_SLOT};
use super::records::{ConversationRecord, MessageBlock, BLOCK_LEN, META_FORMAT, META_KEY};
use super::search::index_docs;
use super::{random_error, Unlocked, Vault};
use crate::crypto::bulk::{BulkSealer, ToOpen, ToSeal};
use crate::crypto::envelope::record_aad;
use crate::crypto::kdf::{derive_kek, KdfParams, SALT_LEN};
use crate::crypto::keys::DataKey;
use crate::crypto::make_random;
use crate::crypto::sealed_box::{seal_to, BoxKeyPair};
use crate::error::VaultError;
use crate::search::{rename_conversations, Doc, PersistentIndex};
use crate::store::{Op, Store, StoreName};

/// Records opened or sealed between two progress reports.
const PROGRESS_STEP: usize = 1024;

/// What a re-encryption carried over.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReencryptReport {
    pub conversations: u32,
    pub messages: u32,
    /// Inbox entries (captures taken while locked) sealed again to the new key pair.
    pub inbox: u32,
    /// Records that did not open under the old key and were left out.
    pub skipped: u32,
}

/// How far a re-encryption is, for its progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReencryptPhase {
    /// Reading and opening every record with the old key.
    Opening,
    /// Building the search index again.
    Indexing,
    /// Sealing every record with the new key.
    Sealing,
    /// The one atomic write.
    Writing,
}

/// A conversation as it is carried over: its record under its new name, and the
/// plaintext of its blocks that opened, by number.
struct Carried {
    new_key: String,
    record: ConversationRecord,
    blocks: Vec<(u32, Zeroizing<Vec<u8>>)>,
}

impl<S: Store> Vault<S> {
    /// Re-encrypts every record under a new data key wrapped by `new` (see the module
    /// docs). `progress` hears the phase and how far it is (0 to 1) as it goes.
    ///
    /// # Errors
    /// [`VaultError::WrongPassphrase`] for a wrong `old`, [`VaultError::InvalidInput`] for
    /// a short `new`, [`VaultError::WeakKdf`], [`VaultError::Busy`] while another runs,
    /// [`VaultError::Storage`] when the write fails: in every case nothing was changed.
    pub async fn reencrypt(
        &self,
        old: &str,
        new: &str,
        params: KdfParams,
        progress: &mut dyn FnMut(ReencryptPhase, f64),
    ) -> Result<ReencryptReport, VaultError> {
        check_new_passphrase(new)?;
        params.check().map_err(super::lock::kdf_error)?;
        if self.rekeying.replace(true) {
            return Err(VaultError::Busy);
        }
        let result = match self.unlock(old).await {
            // Other devices hold the data key this would replace: they could no longer
            // read what this device syncs, nor it theirs.
            Ok(()) if self.sync_set_up().await.unwrap_or(true) => Err(VaultError::InvalidInput(
                "Sync is set up on this device: leave sync first, re-encrypt, then set sync up again on every device."
                    .into(),
            )),
            Ok(()) => self.reencrypt_unlocked(new, params, progress).await,
            Err(e) => Err(e),
        };
        self.rekeying.set(false);
        result
    }

    async fn reencrypt_unlocked(
        &self,
        new: &str,
        params: KdfParams,
        progress: &mut dyn FnMut(ReencryptPhase, f64),
    ) -> Result<ReencryptReport, VaultError> {
        let old = self.keys()?;
        let fresh = Unlocked {
            data: DataKey::make().map_err(random_error)?,
            box_pair: BoxKeyPair::make().map_err(random_error)?,
            sealer: BulkSealer::new(),
        };
        let mut report = ReencryptReport::default();

        progress(ReencryptPhase::Opening, 0.0);
        let conversations = self.store.get_prefix(StoreName::Conversations, "").await?;
        let blocks = self.store.get_prefix(StoreName::Messages, "").await?;
        let total = (conversations.len() + blocks.len()).max(1) as f64;
        let opened = open_in_steps(&old, StoreName::Conversations, &conversations, &mut |done| {
            progress(ReencryptPhase::Opening, done as f64 / total)
        })
        .await;
        let mut carried: Vec<Carried> = Vec::with_capacity(conversations.len());
        let mut by_old_key: HashMap<&str, usize> = HashMap::with_capacity(conversations.len());
        // Where each stored conversation went in `carried` (`None`: it did not open).
        let mut kept: Vec<Option<usize>> = Vec::with_capacity(conversations.len());
        for ((k, _), opened) in conversations.iter().zip(opened) {
            match record_from::<ConversationRecord>(opened, "a conversation record") {
                Ok(record) => {
                    by_old_key.insert(k, carried.len());
                    kept.push(Some(carried.len()));
                    let new_key = fresh.data.derive_store_key(&[record.site.as_str(), &record.conversation_id]);
                    carried.push(Carried { new_key, record, blocks: Vec::new() });
                }
                Err(_) => {
                    kept.push(None);
                    report.skipped += 1;
                }
            }
        }
        // Each stored block's number, from the names its conversation's blocks have under
        // the old key (so no block needs parsing); a block no record names is left out.
        let mut numbered: HashMap<String, (usize, u32)> = HashMap::with_capacity(blocks.len());
        for (k, &at) in &by_old_key {
            let count = carried[at].record.message_count as usize;
            for b in 0..count.div_ceil(BLOCK_LEN) as u32 {
                numbered.insert(block_key(&old.data, k, b), (at, b));
            }
        }
        drop(by_old_key);
        let offset = conversations.len();
        let opened = open_in_steps(&old, StoreName::Messages, &blocks, &mut |done| {
            progress(ReencryptPhase::Opening, (offset + done) as f64 / total)
        })
        .await;
        for ((key, _), opened) in blocks.iter().zip(opened) {
            match (numbered.get(key), opened) {
                (Some(&(at, number)), Ok(plain)) => carried[at].blocks.push((number, Zeroizing::new(plain))),
                _ => report.skipped += 1,
            }
        }
        drop(numbered);
        drop(blocks);

        // The index: carried over with its conversations renamed, or, when something
        // was left out or it does not open, built again from what was carried.
        progress(ReencryptPhase::Indexing, 0.0);
        let renames: HashMap<&str, &str> = conversations
            .iter()
            .zip(&kept)
            .filter_map(|((k, _), at)| Some((k.as_str(), carried[(*at)?].new_key.as_str())))
            .collect();
        let segments = self.store.get_prefix(StoreName::Index, "").await?;
        let mut index_plain = None;
        if report.skipped == 0 && !segments.is_empty() {
            let opened = open_in_steps(&old, StoreName::Index, &segments, &mut |_| {}).await;
            let opened: Option<Vec<(String, Vec<u8>)>> =
                segments.iter().zip(opened).map(|((name, _), plain)| Some((name.clone(), plain.ok()?))).collect();
            let rename = |k: &str| renames.get(k).map_or_else(|| GONE.to_owned(), |n| (*n).to_owned());
            index_plain = opened.and_then(|opened| rename_conversations(opened, &rename).ok());
        }
        drop(segments);
        drop(renames);
        drop(conversations);
        let index_plain = match index_plain {
            Some(plain) => plain,
            None => rebuilt_index(&carried)?,
        };
        let mut summaries: Vec<_> = carried.iter().map(|c| c.record.clone().summary(c.new_key.clone())).collect();
        summaries.sort_by(newest_first);
        summaries.truncate(RECENT_LEN);

        // Everything to seal under the new key, named under it.
        let mut to_seal: Vec<(StoreName, String, Zeroizing<Vec<u8>>)> = Vec::new();
        for conv in &mut carried {
            report.conversations += 1;
            report.messages += conv.record.message_count;
            let record = Zeroizing::new(serde_json::to_vec(&conv.record).expect("records serialise"));
            to_seal.push((StoreName::Conversations, conv.new_key.clone(), record));
            for (number, plain) in conv.blocks.drain(..) {
                to_seal.push((StoreName::Messages, block_key(&fresh.data, &conv.new_key, number), plain));
            }
        }
        drop(carried);
        let recent = Zeroizing::new(serde_json::to_vec(&summaries).expect("summaries serialise"));
        to_seal.push((StoreName::Meta, RECENT_LIST_KEY.into(), recent));
        for (name, plain) in index_plain {
            to_seal.push((StoreName::Index, name, Zeroizing::new(plain)));
        }

        let mut ops = vec![
            Op::DeletePrefix { store: StoreName::Conversations, prefix: String::new() },
            Op::DeletePrefix { store: StoreName::Messages, prefix: String::new() },
            Op::DeletePrefix { store: StoreName::Index, prefix: String::new() },
        ];
        let sealed_total = to_seal.len().max(1) as f64;
        progress(ReencryptPhase::Sealing, 0.0);
        for (step, chunk) in to_seal.chunks(PROGRESS_STEP).enumerate() {
            let items: Vec<ToSeal<'_>> = chunk
                .iter()
                .map(|(store, key, plain)| ToSeal { store: store.as_str(), key, plain: plain.as_slice() })
                .collect();
            let sealed = fresh.sealer.seal_all(&fresh.data, &items).await.map_err(random_error)?;
            for ((store, key, _), value) in chunk.iter().zip(sealed) {
                ops.push(Op::Put { store: *store, key: key.clone(), value });
            }
            progress(ReencryptPhase::Sealing, ((step + 1) * PROGRESS_STEP).min(to_seal.len()) as f64 / sealed_total);
        }
        drop(to_seal);

        // Captures waiting in the inbox: sealed again to the new public key, same names.
        for (key, sealed) in self.store.get_prefix(StoreName::Inbox, "").await? {
            let aad = record_aad(StoreName::Inbox.as_str(), &key);
            let Ok(plain) = old.box_pair.open(&aad, &sealed).map(Zeroizing::new) else {
                continue;
            };
            let value = seal_to(&fresh.box_pair.public, &aad, &plain).map_err(random_error)?;
            ops.push(Op::Put { store: StoreName::Inbox, key, value });
            report.inbox += 1;
        }

        ops.push(self.new_meta_op(&fresh, new, params).await?);
        progress(ReencryptPhase::Writing, 0.0);
        self.store.apply(ops).await?;
        progress(ReencryptPhase::Writing, 1.0);
        *self.unlocked.borrow_mut() = Some(Rc::new(fresh));
        self.index.borrow_mut().take();
        self.last_captured.borrow_mut().take();
        Ok(report)
    }

    /// The meta record for `fresh` under the passphrase `new`, as a write.
    async fn new_meta_op(&self, fresh: &Unlocked, new: &str, params: KdfParams) -> Result<Op, VaultError> {
        let old = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let mut salt = [0u8; SALT_LEN];
        make_random(&mut salt).map_err(random_error)?;
        let kek = derive_kek(new, &salt, &params).map_err(super::lock::kdf_error)?;
        let sealed_private = fresh
            .data
            .seal_record(StoreName::Meta.as_str(), PRIVATE_KEY_SLOT, fresh.box_pair.secret_bytes().as_ref())
            .map_err(random_error)?;
        let meta = MetaRecord {
            format: META_FORMAT,
            kdf: params,
            salt: B64.encode(salt),
            wrapped_key: B64.encode(fresh.data.wrap(&kek).map_err(random_error)?),
            public_key: B64.encode(fresh.box_pair.public),
            sealed_private_key: B64.encode(sealed_private),
            created_at: old.created_at,
        };
        let value = serde_json::to_vec(&meta).expect("meta serialises");
        Ok(Op::Put { store: StoreName::Meta, key: META_KEY.into(), value })
    }
}

/// What a conversation deleted before the re-encryption is named in the index (its
/// documents are marked deleted there, and no record has this name).
const GONE: &str = "-";

/// The index built from the carried conversations that read whole (as a rebuild does:
/// see the search facet), as its segments' plaintext.
fn rebuilt_index(carried: &[Carried]) -> Result<Vec<(String, Vec<u8>)>, VaultError> {
    let mut docs: Vec<Doc> = Vec::new();
    for conv in carried {
        let count = conv.record.message_count as usize;
        let mut blocks: Vec<&(u32, Zeroizing<Vec<u8>>)> = conv.blocks.iter().collect();
        blocks.sort_by_key(|(number, _)| *number);
        if blocks.len() != count.div_ceil(BLOCK_LEN) || blocks.iter().enumerate().any(|(i, (n, _))| *n as usize != i) {
            continue;
        }
        let mut messages = Vec::with_capacity(count);
        for (_, plain) in blocks {
            let Ok(block) = serde_json::from_slice::<MessageBlock>(plain) else { break };
            messages.extend(block.messages);
        }
        if messages.len() < count {
            continue;
        }
        messages.truncate(count);
        let whole = conv.record.clone().into_conversation(messages);
        docs.extend(index_docs(&conv.new_key, &whole, 0..whole.messages.len()));
    }
    let (_, writes) = PersistentIndex::rebuild(docs, None)?;
    Ok(writes.put)
}

/// Opens `records` of `store` with the old key, [`PROGRESS_STEP`] at a time (in the
/// browser by WebCrypto), telling `done` how many are open so far.
async fn open_in_steps(
    keys: &Unlocked,
    store: StoreName,
    records: &[(String, Vec<u8>)],
    done: &mut dyn FnMut(usize),
) -> Vec<Result<Vec<u8>, crate::crypto::CryptoError>> {
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(PROGRESS_STEP) {
        let items: Vec<ToOpen<'_>> =
            chunk.iter().map(|(key, sealed)| ToOpen { store: store.as_str(), key, sealed }).collect();
        out.extend(keys.sealer.open_all(&keys.data, &items).await);
        done(out.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Site;
    use crate::store::memory::MemoryStore;
    use crate::store::StoreError;
    use crate::vault::test_support::{conversation, raw_record, reopened, snapshot, unlocked, PASS};
    use pollster::block_on;

    const NEW: &str = "a new passphrase, longer";

    fn texts(n: usize, word: &str) -> Vec<String> {
        (0..n).map(|i| format!("{word} turn {i}")).collect()
    }

    fn filled() -> (Vault<MemoryStore>, Vec<String>) {
        let vault = unlocked();
        let mut ids = Vec::new();
        for (id, n, word) in [("a", 40, "zebra"), ("b", 3, "quokka"), ("c", 17, "axolotl")] {
            let t = texts(n, word);
            let refs: Vec<&str> = t.iter().map(String::as_str).collect();
            ids.push(block_on(vault.put_conversation(&conversation(id, &refs))).unwrap());
        }
        (vault, ids)
    }

    fn run(vault: &Vault<MemoryStore>, old: &str) -> (Result<ReencryptReport, VaultError>, Vec<(ReencryptPhase, f64)>) {
        let mut heard = Vec::new();
        let result = block_on(vault.reencrypt(old, NEW, KdfParams::MINIMUM, &mut |phase, at| heard.push((phase, at))));
        (result, heard)
    }

    #[test]
    fn every_record_is_sealed_again_under_new_names_and_the_old_key_opens_none() {
        let (vault, old_ids) = filled();
        block_on(vault.search("zebra", 10)).unwrap();
        let old_key = DataKey::from_bytes(*vault.session_key().unwrap());
        let old_meta = raw_record(&vault, StoreName::Meta, "vault").unwrap();
        let before: Vec<(StoreName, String)> = vault.store().raw().into_iter().map(|(s, k, _)| (s, k)).collect();

        let (report, heard) = run(&vault, PASS);
        assert_eq!(report.unwrap(), ReencryptReport { conversations: 3, messages: 60, inbox: 0, skipped: 0 });
        assert_eq!(heard.first(), Some(&(ReencryptPhase::Opening, 0.0)));
        assert_eq!(heard.last(), Some(&(ReencryptPhase::Writing, 1.0)));
        assert!(heard.windows(2).all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 <= w[1].1)));

        // No record opens with the old key; no conversation or block keeps its name.
        for (store, key, value) in vault.store().raw() {
            if store == StoreName::Meta && (key == "counts" || key == "vault") {
                continue;
            }
            assert!(old_key.open_record(store.as_str(), &key, &value).is_err(), "{store:?}/{key} opens");
            if matches!(store, StoreName::Conversations | StoreName::Messages) {
                assert!(!before.contains(&(store, key.clone())), "{store:?}/{key} kept its name");
            }
        }
        assert_ne!(raw_record(&vault, StoreName::Meta, "vault").unwrap(), old_meta);

        // Everything reads, searches and lists as before, under the new ids.
        let list = block_on(vault.list_conversations()).unwrap();
        assert_eq!(list.conversations.len(), 3);
        assert!(list.conversations.iter().all(|c| !old_ids.contains(&c.id)));
        let a = list.conversations.iter().find(|c| c.conversation_id == "a").unwrap();
        let back = block_on(vault.get_conversation(&a.id)).unwrap();
        assert_eq!(back.messages.len(), 40);
        assert_eq!(back.messages[39].markdown, "zebra turn 39");
        let found = block_on(vault.search("axolotl", 10)).unwrap();
        assert_eq!(found.total, 17);
        assert_eq!(
            found.results[0].conversation_id,
            list.conversations.iter().find(|c| c.conversation_id == "c").unwrap().id
        );
        let recent = block_on(vault.recent_conversations(10)).unwrap();
        assert_eq!(recent.conversations, list.conversations);

        // A restarted worker: the new passphrase opens it, the old one does not, and
        // the old meta record with the old passphrase opens nothing that is stored now.
        let fresh = reopened(&vault);
        assert_eq!(block_on(fresh.unlock(PASS)), Err(VaultError::WrongPassphrase));
        block_on(fresh.unlock(NEW)).unwrap();
        assert_eq!(block_on(fresh.search("quokka", 10)).unwrap().total, 3);
        let stale = reopened(&vault);
        stale.store().put_raw(StoreName::Meta, "vault", old_meta);
        block_on(stale.unlock(PASS)).unwrap();
        let listed = block_on(stale.list_conversations()).unwrap();
        assert_eq!((listed.conversations.len(), listed.damaged), (0, 3));
    }

    #[test]
    fn captures_waiting_in_the_inbox_are_sealed_to_the_new_key_pair() {
        let (vault, _) = filled();
        vault.lock();
        let queued = block_on(vault.capture(&snapshot(Site::Claude, "q", &["waiting in the inbox"]), 5)).unwrap();
        assert!(queued.queued);
        block_on(vault.unlock(PASS)).unwrap();
        let (report, _) = run(&vault, PASS);
        assert_eq!(report.unwrap().inbox, 1);
        let fresh = reopened(&vault);
        block_on(fresh.unlock(NEW)).unwrap();
        let drained = block_on(fresh.drain_inbox()).unwrap();
        assert_eq!(drained.snapshots, 1);
        assert_eq!(block_on(fresh.search("waiting", 10)).unwrap().total, 1);
    }

    #[test]
    fn a_wrong_passphrase_or_a_failed_write_changes_nothing() {
        let (vault, ids) = filled();
        let before = vault.store().raw();
        let (wrong, heard) = run(&vault, "not the passphrase at all");
        assert_eq!(wrong, Err(VaultError::WrongPassphrase));
        assert!(heard.is_empty());
        vault.store().fail_next_write(StoreError::QuotaExceeded);
        let (failed, _) = run(&vault, PASS);
        assert_eq!(failed.unwrap_err().code(), "storage");
        assert_eq!(vault.store().raw(), before);
        assert_eq!(block_on(vault.get_conversation(&ids[0])).unwrap().messages.len(), 40);
        let fresh = reopened(&vault);
        block_on(fresh.unlock(PASS)).unwrap();
        assert_eq!(block_on(fresh.get_conversation(&ids[1])).unwrap().messages.len(), 3);
    }

    #[test]
    fn what_does_not_open_is_left_out_and_counted_and_the_rest_is_carried() {
        let (vault, ids) = filled();
        let record = raw_record(&vault, StoreName::Conversations, &ids[1]).unwrap();
        let mut changed = record.clone();
        *changed.last_mut().unwrap() ^= 1;
        vault.store().put_raw(StoreName::Conversations, &ids[1], changed);
        let block = vault
            .store()
            .raw()
            .into_iter()
            .find(|(s, k, _)| *s == StoreName::Messages && k.starts_with(&format!("{}:", ids[0])))
            .unwrap();
        let mut bad = block.2.clone();
        bad[20] ^= 1;
        vault.store().put_raw(StoreName::Messages, &block.1, bad);
        let (report, _) = run(&vault, PASS);
        let report = report.unwrap();
        // The damaged record with its one block, and the damaged block of "a".
        assert_eq!((report.conversations, report.skipped), (2, 3));
        let list = block_on(vault.list_conversations()).unwrap();
        let c = list.conversations.iter().find(|c| c.conversation_id == "c").unwrap();
        assert_eq!(block_on(vault.get_conversation(&c.id)).unwrap().messages.len(), 17);
        let a = list.conversations.iter().find(|c| c.conversation_id == "a").unwrap();
        let read = block_on(vault.read_conversations(std::slice::from_ref(&a.id))).unwrap();
        assert_eq!(read.damaged, vec![a.id.clone()]);
    }

    #[test]
    fn other_writes_wait_while_a_reencryption_runs_and_a_short_passphrase_is_refused() {
        let (vault, _) = filled();
        vault.rekeying.set(true);
        let err = block_on(vault.put_conversation(&conversation("z", &["later"]))).unwrap_err();
        assert_eq!(err, VaultError::Busy);
        assert_eq!(run(&vault, PASS).0, Err(VaultError::Busy));
        vault.rekeying.set(false);
        let short = block_on(vault.reencrypt(PASS, "short", KdfParams::MINIMUM, &mut |_, _| {}));
        assert!(matches!(short, Err(VaultError::InvalidInput(_))));
        assert!(block_on(vault.put_conversation(&conversation("z", &["later"]))).is_ok());
    }

    fn index_names(vault: &Vault<MemoryStore>) -> Vec<String> {
        vault.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).map(|(_, k, _)| k).collect()
    }

    #[test]
    fn the_index_is_carried_over_renamed_and_a_deleted_conversation_stays_gone() {
        let (vault, ids) = filled();
        block_on(vault.delete_conversation(&ids[1])).unwrap();
        assert_eq!(block_on(vault.search("zebra", 10)).unwrap().total, 40);
        let names = index_names(&vault);
        assert!(names.iter().any(|n| n.starts_with("x.")), "updates wrote deltas: {names:?}");
        run(&vault, PASS).0.unwrap();
        // The same segments (a rebuild would have merged the deltas), sealed anew.
        assert_eq!(index_names(&vault), names);
        let fresh = reopened(&vault);
        block_on(fresh.unlock(NEW)).unwrap();
        let found = block_on(fresh.search("zebra", 10)).unwrap();
        assert_eq!((found.total, found.rebuilt), (40, false));
        let a =
            block_on(fresh.list_conversations()).unwrap().conversations.into_iter().find(|c| c.conversation_id == "a");
        assert_eq!(found.results[0].conversation_id, a.unwrap().id);
        assert_eq!(
            found.results[0].hits[0].message_id.split(':').next(),
            Some(found.results[0].conversation_id.as_str())
        );
        assert_eq!(block_on(fresh.search("quokka", 10)).unwrap().total, 0);
    }

    #[test]
    fn an_index_that_does_not_open_is_built_again_from_the_records() {
        let (vault, _) = filled();
        block_on(vault.search("zebra", 10)).unwrap();
        let manifest = raw_record(&vault, StoreName::Index, "m").unwrap();
        let mut bad = manifest.clone();
        bad[30] ^= 1;
        vault.store().put_raw(StoreName::Index, "m", bad);
        run(&vault, PASS).0.unwrap();
        let fresh = reopened(&vault);
        block_on(fresh.unlock(NEW)).unwrap();
        let found = block_on(fresh.search("axolotl", 10)).unwrap();
        assert_eq!((found.total, found.rebuilt), (17, false));
    }

    #[test]
    fn while_sync_is_set_up_re_encryption_is_refused_and_changes_nothing() {
        let (vault, _) = filled();
        block_on(vault.sync_setup("laptop", 1)).unwrap();
        let before = vault.store().raw();
        let refused = run(&vault, PASS).0.unwrap_err();
        assert!(matches!(&refused, VaultError::InvalidInput(why) if why.contains("leave sync first")), "{refused:?}");
        assert_eq!(vault.store().raw(), before);
        block_on(vault.sync_leave()).unwrap();
        run(&vault, PASS).0.unwrap();
    }
}
