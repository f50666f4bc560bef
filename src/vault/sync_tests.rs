use std::collections::BTreeMap;

use pollster::block_on;

use super::*;
use crate::capture::merge_thread;
use crate::model::{Role, Site};
use crate::store::memory::MemoryStore;
use crate::vault::test_support::{claude_snapshot, conversation, snapshot, unlocked, PASS};
use crate::vault::test_support::{meaning_model, stored_vectors, waiting, with_vector};

/// A sync folder: names to bytes (the WebDAV side, without HTTP).
type Folder = BTreeMap<String, Vec<u8>>;

/// Sets sync up on `v` and writes what it gives to a new folder.
fn set_up(v: &Vault<MemoryStore>) -> Folder {
    let setup = block_on(v.sync_setup("first", 1)).unwrap();
    let mut folder = Folder::new();
    folder.insert(setup.meta.name, setup.meta.bytes);
    folder.insert(setup.device.name, setup.device.bytes);
    folder
}

/// A new device joining `folder` with the passphrase, in the first free slot.
fn join(folder: &mut Folder) -> Vault<MemoryStore> {
    let v = Vault::new(MemoryStore::new());
    let meta = folder[names::META].clone();
    let mut device = block_on(v.sync_join(&meta, PASS, "another", 0, 2)).unwrap();
    let mut slot = 0;
    while folder.contains_key(&device.name) {
        slot += 1;
        device = block_on(v.sync_device_record(Some(slot), 2)).unwrap();
    }
    folder.insert(device.name, device.bytes);
    v
}

fn push(v: &Vault<MemoryStore>, folder: &mut Folder) -> Option<SyncObject> {
    let segment = block_on(v.sync_prepare_push(3)).unwrap()?;
    folder.insert(segment.name.clone(), segment.bytes.clone());
    let record = block_on(v.sync_confirm_push(3)).unwrap();
    folder.insert(record.name, record.bytes);
    Some(segment)
}

/// Every device of the folder (hex id) and its slot.
fn devices(v: &Vault<MemoryStore>, folder: &Folder) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for slot in 0.. {
        let (name, _) = block_on(v.sync_names(slot, 1)).unwrap();
        let Some(bytes) = folder.get(&name) else { break };
        let view = block_on(v.sync_note_device(slot, bytes)).unwrap();
        out.push((view.device, view.own));
    }
    out
}

/// Applies every segment of the folder `v` has not applied, device by device.
fn pull(v: &Vault<MemoryStore>, folder: &Folder) {
    let status = block_on(v.sync_status()).unwrap().unwrap();
    if let Ok((_, snap)) = block_on(v.sync_names(0, status.epoch + 1)) {
        if let Some(bytes) = folder.get(&snap) {
            block_on(v.sync_apply_snapshot(status.epoch + 1, bytes)).unwrap();
        }
    }
    for (d, own) in devices(v, folder) {
        if own {
            continue;
        }
        loop {
            let next = block_on(v.sync_status()).unwrap().unwrap().applied.get(&d).copied().unwrap_or(0) + 1;
            let name = block_on(v.sync_segment_name(&d, next)).unwrap();
            match folder.get(&name) {
                Some(bytes) => {
                    let out = block_on(v.sync_apply_segment(&d, next, bytes)).unwrap();
                    assert!(matches!(out, SegmentApplied::Applied { .. }), "{out:?}");
                }
                None => {
                    block_on(v.sync_check_missing(&d)).unwrap();
                    break;
                }
            }
        }
    }
}

/// Every conversation `v` holds, by key, as it reads them.
fn everything(v: &Vault<MemoryStore>) -> BTreeMap<String, crate::model::Conversation> {
    let list = block_on(v.list_conversations()).unwrap();
    assert_eq!(list.damaged, 0);
    list.conversations.iter().map(|s| (s.id.clone(), block_on(v.get_conversation(&s.id)).unwrap())).collect()
}

fn own_id(v: &Vault<MemoryStore>) -> String {
    block_on(v.sync_status()).unwrap().unwrap().device
}

#[test]
fn with_sync_off_nothing_of_sync_is_stored() {
    let v = unlocked();
    let id = block_on(v.put_conversation(&conversation("c", &["a", "b"]))).unwrap();
    block_on(v.capture(&snapshot(Site::Claude, "s", &["q", "r"]), 5)).unwrap();
    block_on(v.delete_conversation(&id)).unwrap();
    assert!(v.store().raw().iter().all(|(s, k, _)| !(*s == StoreName::Meta && k.starts_with("sync"))));
    assert_eq!(block_on(v.sync_status()).unwrap(), None);
}

#[test]
fn a_second_device_joins_with_the_passphrase_and_gets_every_conversation() {
    let a = unlocked();
    block_on(a.put_conversation(&conversation("before-sync", &["one", "two"]))).unwrap();
    let mut folder = set_up(&a);
    block_on(a.capture(&snapshot(Site::Claude, "after", &["q", "answer"]), 5)).unwrap();
    assert_eq!(block_on(a.sync_status()).unwrap().unwrap().outbox, 2);
    push(&a, &mut folder).unwrap();
    assert_eq!(block_on(a.sync_status()).unwrap().unwrap().outbox, 0);
    assert_eq!(push(&a, &mut folder), None, "nothing new to push");

    let b = join(&mut folder);
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    assert_eq!(block_on(b.status()).unwrap().messages, 4);
    // The joined vault is the same vault: it locks and unlocks with the passphrase.
    b.lock();
    block_on(b.unlock(PASS)).unwrap();
    assert_eq!(everything(&b).len(), 2);
}

#[test]
fn a_join_writes_no_vector_and_the_backfill_embeds_what_it_brought_but_what_was_deleted_since() {
    let a = unlocked();
    a.set_meaning_model(meaning_model());
    block_on(a.capture(&snapshot(Site::Claude, "levy", &["a levy on imports", "the levy again"]), 5)).unwrap();
    block_on(a.capture(&snapshot(Site::Claude, "bread", &["bread"]), 5)).unwrap();
    let mut folder = set_up(&a);
    push(&a, &mut folder).unwrap();

    let b = join(&mut folder);
    b.set_meaning_model(meaning_model());
    pull(&b, &folder);
    // Applying the segment computed no vector: all three wait for the backfill.
    let stored = stored_vectors(&b);
    assert_eq!((waiting(&stored), with_vector(&stored)), (3, 0));
    assert_eq!(block_on(b.search("levy", 10)).unwrap().total, 2, "found by its words at once");
    assert!(block_on(b.search("tax", 10)).unwrap().results.is_empty(), "not by meaning yet");

    // Deleted on the first device before the backfill ran here: its vector is zeroed,
    // and the backfill has only the rest to do.
    let bread = block_on(a.list_conversations()).unwrap().conversations.into_iter().find(|c| c.title == "Chat bread");
    block_on(a.delete_conversation(&bread.unwrap().id)).unwrap();
    push(&a, &mut folder).unwrap();
    pull(&b, &folder);
    assert_eq!(waiting(&stored_vectors(&b)), 2);
    let progress = block_on(b.embed_step(2048)).unwrap();
    assert_eq!((progress.done, progress.total), (2, 2));
    let stored = stored_vectors(&b);
    assert_eq!((waiting(&stored), with_vector(&stored)), (0, 2));
    let out = block_on(b.search("tax", 10)).unwrap();
    assert_eq!(out.results[0].title, "Chat levy");
    assert!(out.results[0].hits[0].by_meaning);
}

#[test]
fn a_push_neither_reads_nor_writes_the_search_index() {
    let a = unlocked();
    block_on(a.put_conversation(&conversation("c", &["one", "two"]))).unwrap();
    let mut folder = set_up(&a);
    let index = |v: &Vault<MemoryStore>| -> Vec<_> {
        v.store().raw().into_iter().filter(|(s, _, _)| *s == StoreName::Index).collect()
    };
    let before = index(&a);
    assert!(!before.is_empty());
    // A worker started anew: nothing of the index is open.
    a.lock();
    block_on(a.unlock(PASS)).unwrap();
    push(&a, &mut folder).unwrap();
    assert!(index(&a) == before, "sealing a segment rewrote the index");
    assert!(a.index.borrow().is_none(), "the index was opened for a push");
}

#[test]
fn a_wrong_passphrase_cannot_join_and_leaves_nothing() {
    let a = unlocked();
    let folder = set_up(&a);
    let b = Vault::new(MemoryStore::new());
    let meta = &folder[names::META];
    assert_eq!(block_on(b.sync_join(meta, "not the passphrase", "x", 1, 2)), Err(VaultError::WrongPassphrase));
    assert!(b.store().raw().is_empty());
    assert!(!b.is_unlocked());
    // A meta whose vault id was changed: the passphrase is right, the proof does not open.
    let mut server = format::decode_meta(meta).unwrap();
    server.vault_id = [9; 16];
    let changed = format::encode_meta(&server);
    assert!(matches!(block_on(b.sync_join(&changed, PASS, "x", 1, 2)), Err(VaultError::Damaged(_))));
    assert!(b.store().raw().is_empty());
    // A vault exists here already.
    assert_eq!(block_on(a.sync_join(meta, PASS, "x", 1, 2)), Err(VaultError::AlreadyExists));
}

#[test]
fn replayed_reordered_moved_and_swapped_segments_are_refused() {
    let a = unlocked();
    let mut folder = set_up(&a);
    block_on(a.put_conversation(&conversation("one", &["1"]))).unwrap();
    let first = push(&a, &mut folder).unwrap();
    block_on(a.put_conversation(&conversation("two", &["2"]))).unwrap();
    let second = push(&a, &mut folder).unwrap();
    let b = join(&mut folder);
    let d = own_id(&a);
    // Out of order: the second before the first waits, and nothing changes.
    assert_eq!(block_on(b.sync_apply_segment(&d, 2, &second.bytes)).unwrap(), SegmentApplied::Gap { expected: 1 });
    assert!(everything(&b).is_empty());
    // Moved: the second served under the first's name does not open.
    assert!(matches!(block_on(b.sync_apply_segment(&d, 1, &second.bytes)), Err(VaultError::Damaged(_))));
    assert!(matches!(block_on(b.sync_apply_segment(&d, 1, &first.bytes)).unwrap(), SegmentApplied::Applied { .. }));
    // Replayed: a no-op.
    let before = b.store().raw();
    assert_eq!(block_on(b.sync_apply_segment(&d, 1, &first.bytes)).unwrap(), SegmentApplied::AlreadyApplied);
    assert_eq!(b.store().raw(), before);
    // Swapped in from another vault (its own folder, same device numbering).
    let other = unlocked();
    let mut other_folder = set_up(&other);
    block_on(other.put_conversation(&conversation("elsewhere", &["x"]))).unwrap();
    block_on(other.put_conversation(&conversation("elsewhere too", &["y"]))).unwrap();
    push(&other, &mut other_folder).unwrap();
    block_on(other.put_conversation(&conversation("third", &["z"]))).unwrap();
    let foreign = push(&other, &mut other_folder).unwrap();
    assert!(matches!(block_on(b.sync_apply_segment(&d, 2, &foreign.bytes)), Err(VaultError::Damaged(_))));
    assert!(matches!(block_on(b.sync_apply_segment(&own_id(&other), 1, &foreign.bytes)), Err(VaultError::Damaged(_))));
    assert_eq!(b.store().raw(), before);
    assert!(matches!(block_on(b.sync_apply_segment(&d, 2, &second.bytes)).unwrap(), SegmentApplied::Applied { .. }));
    assert_eq!(everything(&b), everything(&a));
}

#[test]
fn a_device_restored_from_a_backup_that_pushes_again_is_a_fork() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let backup = crate::vault::test_support::reopened(&a);
    block_on(backup.unlock(PASS)).unwrap();
    block_on(a.put_conversation(&conversation("one", &["1"]))).unwrap();
    let first = push(&a, &mut folder).unwrap();
    let b = join(&mut folder);
    block_on(b.sync_apply_segment(&own_id(&a), 1, &first.bytes)).unwrap();
    // The restored copy pushes its own numbers 1 and 2 again.
    block_on(backup.put_conversation(&conversation("other", &["x"]))).unwrap();
    let mut elsewhere = Folder::new();
    push(&backup, &mut elsewhere).unwrap();
    block_on(backup.put_conversation(&conversation("more", &["y"]))).unwrap();
    let forked = push(&backup, &mut elsewhere).unwrap();
    let err = block_on(b.sync_apply_segment(&own_id(&a), 2, &forked.bytes)).unwrap_err();
    assert_eq!(err, VaultError::Damaged(SyncError::Fork.to_string()));
}

#[test]
fn a_truncated_history_and_a_rolled_back_device_record_are_reported() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let old_record =
        folder.iter().find(|(n, _)| n.as_str() != names::META).map(|(n, b)| (n.clone(), b.clone())).unwrap();
    block_on(a.put_conversation(&conversation("one", &["1"]))).unwrap();
    let first = push(&a, &mut folder).unwrap();
    block_on(a.put_conversation(&conversation("two", &["2"]))).unwrap();
    push(&a, &mut folder).unwrap();
    let mut b_folder = folder.clone();
    let b = join(&mut b_folder);
    let d = own_id(&a);
    // The server lost the first segment; the device record says 2.
    b_folder.remove(&first.name);
    devices(&b, &b_folder);
    assert!(block_on(b.sync_segment_name(&d, 1)).is_ok());
    assert_eq!(block_on(b.sync_check_missing(&d)), Err(VaultError::Damaged(SyncError::Truncated.to_string())));
    // The server serves the record as it was before the pushes.
    let slot_of_a = 0;
    let err = block_on(b.sync_note_device(slot_of_a, &old_record.1)).unwrap_err();
    assert_eq!(err, VaultError::Damaged(SyncError::RolledBack.to_string()));
}

#[test]
fn a_delete_reaches_other_devices_and_loses_to_a_later_capture() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let id = block_on(a.capture(&snapshot(Site::Claude, "c", &["q", "a"]), 5)).unwrap().id.unwrap();
    push(&a, &mut folder);
    let b = join(&mut folder);
    pull(&b, &folder);
    assert_eq!(everything(&b).len(), 1);
    block_on(a.delete_conversation(&id)).unwrap();
    push(&a, &mut folder);
    pull(&b, &folder);
    assert!(everything(&b).is_empty());
    assert_eq!(block_on(b.status()).unwrap().messages, 0);
    // Captured again on b after the delete: it comes back everywhere.
    block_on(b.capture(&snapshot(Site::Claude, "c", &["q", "a", "more"]), 9)).unwrap();
    push(&b, &mut folder);
    pull(&a, &folder);
    assert_eq!(everything(&a), everything(&b));
    assert_eq!(everything(&a)[&id].messages.len(), 3);
}

#[test]
fn unpushed_local_captures_survive_applying_a_segment() {
    let a = unlocked();
    let mut folder = set_up(&a);
    block_on(a.capture(&claude_snapshot("c", &[(Role::User, "q"), (Role::Assistant, "from a")]), 5)).unwrap();
    push(&a, &mut folder);
    let b = join(&mut folder);
    pull(&b, &folder);
    block_on(
        a.capture(&claude_snapshot("c", &[(Role::User, "q"), (Role::Assistant, "from a"), (Role::User, "a2")]), 6),
    )
    .unwrap();
    push(&a, &mut folder);
    // b captured something of its own, not pushed yet, then pulls a's segment.
    block_on(
        b.capture(&claude_snapshot("c", &[(Role::User, "q"), (Role::Assistant, "from a"), (Role::User, "b2")]), 7),
    )
    .unwrap();
    pull(&b, &folder);
    let texts: Vec<String> =
        everything(&b).into_values().next().unwrap().messages.into_iter().map(|m| m.markdown).collect();
    assert!(texts.contains(&"a2".to_owned()) && texts.contains(&"b2".to_owned()), "{texts:?}");
    push(&b, &mut folder);
    pull(&a, &folder);
    assert_eq!(everything(&a), everything(&b));
}

#[test]
fn the_folder_holds_no_key_title_id_or_word_in_plain() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let mut c = conversation("secret-conv-id", &["confidential banana text"]);
    c.title = "Private title".into();
    block_on(a.put_conversation(&c)).unwrap();
    push(&a, &mut folder);
    let key = ::hex::encode(a.session_key().unwrap().as_ref());
    let stored_key = a.conversation_key(&Site::ChatGpt, "secret-conv-id").unwrap();
    let (snapshot, _) = block_on(a.sync_make_snapshot(1, 4)).unwrap();
    folder.insert(snapshot.name, snapshot.bytes);
    for (name, bytes) in &folder {
        let all = format!("{name} {}", String::from_utf8_lossy(bytes));
        for needle in
            ["secret-conv-id", "Private title", "banana", "chatgpt", "first", key.as_str(), stored_key.as_str()]
        {
            assert!(!all.contains(needle), "{needle} in {name}");
        }
        assert!(name == names::META || format::is_store_key(name), "{name}");
    }
}

#[test]
fn a_device_joining_after_compaction_reads_the_snapshot_and_what_follows() {
    let a = unlocked();
    let mut folder = set_up(&a);
    block_on(a.put_conversation(&conversation("one", &["1", "2"]))).unwrap();
    block_on(a.put_conversation(&conversation("gone", &["x"]))).unwrap();
    push(&a, &mut folder);
    let gone = a.conversation_key(&Site::ChatGpt, "gone").unwrap();
    block_on(a.delete_conversation(&gone)).unwrap();
    push(&a, &mut folder);
    assert_eq!(block_on(a.sync_status()).unwrap().unwrap().since_snapshot, 2);
    // a compacts: takes the lock, writes the snapshot, applies it, deletes what it covers.
    let LockStep::Take { name, if_match: None, bytes } = block_on(a.sync_lock(None, 10)).unwrap() else {
        panic!("no lock yet")
    };
    folder.insert(name.clone(), bytes.clone());
    let (snapshot, obsolete) = block_on(a.sync_make_snapshot(1, 10)).unwrap();
    folder.insert(snapshot.name.clone(), snapshot.bytes.clone());
    assert_eq!(
        block_on(a.sync_apply_snapshot(1, &snapshot.bytes)).unwrap(),
        SegmentApplied::Applied { written: 0, deleted: 0 }
    );
    assert_eq!(obsolete.len(), 2);
    for n in obsolete {
        assert!(folder.remove(&n).is_some());
    }
    folder.remove(&name);
    assert_eq!(block_on(a.sync_status()).unwrap().unwrap().since_snapshot, 0);
    block_on(a.put_conversation(&conversation("after", &["3"]))).unwrap();
    push(&a, &mut folder);
    assert_eq!(block_on(a.sync_status()).unwrap().unwrap().since_snapshot, 1);
    // Another device holds no lock: b waits for a's live one.
    let b = join(&mut folder);
    assert!(matches!(block_on(b.sync_lock(Some((&bytes, "e")), 11)).unwrap(), LockStep::Wait { .. }));
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    assert_eq!(everything(&b).len(), 2);
    assert_eq!(block_on(b.sync_status()).unwrap().unwrap().epoch, 1);
}

/// xorshift64, as in `crate::sync`'s property tests.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Applies the folder's segments to `v` in a random order, with duplicates, until all
/// are applied (a segment past the next waits: its turn comes again).
fn pull_shuffled(v: &Vault<MemoryStore>, folder: &Folder, pushed: &[(String, u64, Vec<u8>)], rng: &mut Rng) {
    let own = own_id(v);
    let mut todo: Vec<&(String, u64, Vec<u8>)> = pushed.iter().filter(|(d, _, _)| *d != own).collect();
    let mut extra: Vec<&(String, u64, Vec<u8>)> = todo.iter().copied().filter(|_| rng.below(3) == 0).collect();
    todo.append(&mut extra);
    devices(v, folder);
    while !todo.is_empty() {
        let i = rng.below(todo.len() as u64) as usize;
        let (d, seq, bytes) = todo[i];
        match block_on(v.sync_apply_segment(d, *seq, bytes)).unwrap() {
            SegmentApplied::Gap { .. } => {}
            _ => {
                todo.swap_remove(i);
            }
        }
    }
}

#[test]
fn three_devices_capturing_deleting_and_pulling_in_random_orders_end_with_the_same_vault() {
    let (mut segments, mut conversations, mut deletes) = (0, 0, 0);
    for case in 0..12u64 {
        let mut rng = Rng(0x5eed_0000_0000_0001 ^ (case * 0x9e37_79b9));
        let a = unlocked();
        let mut folder = set_up(&a);
        let devs = [a, join(&mut folder), join(&mut folder)];
        let mut pushed: Vec<(String, u64, Vec<u8>)> = Vec::new();
        for step in 0..25 {
            let d = &devs[rng.below(3) as usize];
            let id = format!("c{}", rng.below(3));
            let k = d.conversation_key(&Site::Claude, &id).unwrap();
            match rng.below(8) {
                0 => {
                    if block_on(d.delete_conversation(&k)).is_ok() {
                        deletes += 1;
                    }
                }
                1 => {
                    let mut thread = conversation(&id, &["q", &format!("answer {}", rng.below(3))]);
                    thread.site = Site::Claude;
                    thread.messages[1].turn_id = Some(format!("t{}", rng.below(2)));
                    let stored = block_on(d.get_conversations(std::slice::from_ref(&k))).unwrap().pop().flatten();
                    let merged = merge_thread(stored, thread, 100 + step).conversation;
                    block_on(d.put_conversation(&merged)).unwrap();
                }
                2 => {
                    if let Some(seg) = push(d, &mut folder) {
                        pushed.push((own_id(d), block_on(d.sync_status()).unwrap().unwrap().pushed, seg.bytes));
                    }
                }
                3 => pull_shuffled(d, &folder, &pushed, &mut rng),
                _ => {
                    let texts = ["q", "ok", "answer", "more?", "done"];
                    let n = 1 + rng.below(4) as usize;
                    let turns: Vec<&str> = (0..n).map(|_| texts[rng.below(5) as usize]).collect();
                    block_on(d.capture(&snapshot(Site::Claude, &id, &turns), 100 + step)).unwrap();
                }
            }
        }
        for d in &devs {
            if let Some(seg) = push(d, &mut folder) {
                pushed.push((own_id(d), block_on(d.sync_status()).unwrap().unwrap().pushed, seg.bytes));
            }
        }
        let fourth = join(&mut folder);
        pull_shuffled(&fourth, &folder, &pushed, &mut rng);
        let want = everything(&fourth);
        segments += pushed.len();
        conversations += want.len();
        for d in &devs {
            pull_shuffled(d, &folder, &pushed, &mut rng);
            assert_eq!(everything(d), want, "case {case}");
            assert_eq!(block_on(d.status()).unwrap().messages, block_on(fourth.status()).unwrap().messages);
        }
    }
    assert!(segments >= 40 && conversations >= 12 && deletes >= 5, "{segments} {conversations} {deletes}");
}

#[test]
fn setting_sync_up_twice_is_refused_and_leaving_stops_recording() {
    let a = unlocked();
    set_up(&a);
    assert_eq!(block_on(a.sync_setup("again", 2)), Err(VaultError::AlreadyExists));
    block_on(a.sync_leave()).unwrap();
    block_on(a.put_conversation(&conversation("c", &["x"]))).unwrap();
    assert!(a.store().raw().iter().all(|(s, k, _)| !(*s == StoreName::Meta && k.starts_with("sync"))));
}

#[test]
fn the_servers_credentials_are_sealed_usable_only_unlocked_and_go_when_leaving() {
    let v = unlocked();
    assert_eq!(block_on(v.sync_server()).unwrap(), None);
    let server = SyncServer {
        url: "https://dav.example/Threadkeeper/".into(),
        username: "ada-user".into(),
        password: "App-Password-7731".into(),
    };
    assert!(block_on(v.sync_set_server(server.clone())).is_err(), "sync is not set up yet");
    set_up(&v);
    assert!(block_on(v.sync_configured()).unwrap());
    assert_eq!(block_on(v.sync_server()).unwrap(), None);
    block_on(v.sync_set_server(server.clone())).unwrap();
    assert_eq!(block_on(v.sync_server()).unwrap(), Some(server.clone()));
    assert!(!format!("{server:?}").contains("App-Password"), "Debug leaves the password out");
    let raw: Vec<u8> = v.store().raw().into_iter().flat_map(|(_, k, val)| [k.into_bytes(), val].concat()).collect();
    for secret in ["App-Password-7731", "ada-user", "dav.example"] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is stored in plain");
    }
    v.lock();
    assert!(block_on(v.sync_configured()).unwrap(), "known while locked");
    assert_eq!(block_on(v.sync_server()), Err(VaultError::Locked));
    block_on(v.unlock(PASS)).unwrap();
    block_on(v.sync_leave()).unwrap();
    assert!(!block_on(v.sync_configured()).unwrap());
    assert_eq!(block_on(v.sync_server()).unwrap(), None);
}

/// Seals segments with `cap` until nothing is left; their plaintext sizes.
fn push_capped(v: &Vault<MemoryStore>, folder: &mut Folder, cap: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while let Some(segment) = block_on(v.prepare_push_capped(3, cap)).unwrap() {
        sizes.push(segment.bytes.len());
        folder.insert(segment.name, segment.bytes);
        let record = block_on(v.sync_confirm_push(3)).unwrap();
        folder.insert(record.name, record.bytes);
    }
    sizes
}

#[test]
fn a_push_is_cut_into_segments_of_bounded_size_and_a_big_conversation_goes_alone() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let text = "x".repeat(1000);
    for i in 0..20 {
        block_on(a.put_conversation(&conversation(&format!("c{i}"), &[&text, &text]))).unwrap();
    }
    let big = "y".repeat(20_000);
    block_on(a.put_conversation(&conversation("big", &[&big]))).unwrap();
    let sizes = push_capped(&a, &mut folder, 5_000);
    // 20 conversations of about 2.3 KB, at most two a segment (one when the big one,
    // which goes alone, comes between a pair in the outbox's order).
    assert!((11..=12).contains(&sizes.len()), "{sizes:?}");
    assert_eq!(sizes.iter().filter(|&&s| s > 20_000).count(), 1, "{sizes:?}");
    assert!(sizes.iter().filter(|&&s| s <= 20_000).all(|&s| s <= 5_000 + 200), "{sizes:?}");
    let status = block_on(a.sync_status()).unwrap().unwrap();
    assert_eq!((status.pushed, status.outbox, status.pending), (sizes.len() as u64, 0, false));

    let b = join(&mut folder);
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    assert_eq!(everything(&b).len(), 21);
}

#[test]
fn a_push_interrupted_between_segments_resumes_without_sealing_a_number_twice() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let text = "z".repeat(3000);
    for i in 0..6 {
        block_on(a.put_conversation(&conversation(&format!("c{i}"), &[&text]))).unwrap();
    }
    // The first segment lands; the second is sealed, its upload fails (never confirmed).
    let first = block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap();
    folder.insert(first.name.clone(), first.bytes.clone());
    block_on(a.sync_confirm_push(3)).unwrap();
    let second = block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap();
    assert_ne!(second.name, first.name);
    let left = block_on(a.sync_status()).unwrap().unwrap();
    assert!(left.pending && left.outbox > 0, "{left:?}");
    // A capture while the push is interrupted joins the outbox.
    block_on(a.put_conversation(&conversation("while-down", &["new"]))).unwrap();
    // The next sync: the same sealed bytes again under the same number, then the rest.
    let again = block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap();
    assert_eq!(again, second);
    folder.insert(again.name, again.bytes);
    block_on(a.sync_confirm_push(3)).unwrap();
    push_capped(&a, &mut folder, 7_000);
    let status = block_on(a.sync_status()).unwrap().unwrap();
    assert_eq!((status.outbox, status.pending), (0, false));

    let b = join(&mut folder);
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    assert_eq!(everything(&b).len(), 7);
}

#[test]
fn after_a_passphrase_change_the_folder_gets_the_new_meta_and_only_the_new_passphrase_joins() {
    let a = unlocked();
    block_on(a.put_conversation(&conversation("kept", &["1", "2"]))).unwrap();
    let mut folder = set_up(&a);
    push(&a, &mut folder);
    let old_meta = folder[names::META].clone();
    assert_eq!(block_on(a.sync_meta_update(&old_meta)).unwrap(), None, "nothing changed yet");
    const NEW: &str = "a brand new passphrase 77";
    block_on(a.change_passphrase(PASS, NEW, crate::crypto::kdf::KdfParams::MINIMUM)).unwrap();
    assert!(block_on(a.sync_status()).unwrap().unwrap().meta_stale);
    // Another vault's meta object is refused.
    let other = unlocked();
    let other_meta = block_on(other.sync_setup("x", 1)).unwrap().meta.bytes;
    assert!(matches!(block_on(a.sync_meta_update(&other_meta)), Err(VaultError::Damaged(_))));
    let update = block_on(a.sync_meta_update(&old_meta)).unwrap().expect("the new meta");
    assert_eq!(update.name, names::META);
    folder.insert(update.name, update.bytes.clone());
    // Read back: it landed, the flag goes.
    assert_eq!(block_on(a.sync_meta_update(&update.bytes)).unwrap(), None);
    assert!(!block_on(a.sync_status()).unwrap().unwrap().meta_stale);
    assert_eq!(block_on(a.sync_meta_update(&old_meta)).unwrap(), None, "flag gone");

    let meta = folder[names::META].clone();
    let refused = Vault::new(MemoryStore::new());
    assert_eq!(block_on(refused.sync_join(&meta, PASS, "old", 1, 2)), Err(VaultError::WrongPassphrase));
    let b = Vault::new(MemoryStore::new());
    let device = block_on(b.sync_join(&meta, NEW, "new", 1, 2)).unwrap();
    folder.insert(device.name, device.bytes);
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    b.lock();
    block_on(b.unlock(NEW)).unwrap();
}

#[test]
fn a_passphrase_change_with_sync_off_marks_nothing() {
    let a = unlocked();
    block_on(a.change_passphrase(PASS, "another passphrase 12", crate::crypto::kdf::KdfParams::MINIMUM)).unwrap();
    assert!(a.store().raw().iter().all(|(s, k, _)| !(*s == StoreName::Meta && k.starts_with("sync"))));
}

#[test]
fn the_device_list_is_kept_in_the_sealed_record_and_a_device_that_left_is_no_longer_listed() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let b = join(&mut folder);
    block_on(a.put_conversation(&conversation("listed", &["one", "two"]))).unwrap();
    push(&a, &mut folder).unwrap();
    pull(&b, &folder);
    let listed = |v: &Vault<MemoryStore>| {
        let s = block_on(v.sync_status()).unwrap().unwrap();
        s.devices.iter().map(|d| (d.label.clone(), d.own, d.last_seen > 0)).collect::<Vec<_>>()
    };
    let mut seen = listed(&b);
    seen.sort();
    assert_eq!(seen, vec![("another".to_owned(), true, true), ("first".to_owned(), false, true)]);
    // Kept in the store: the same vault opened again knows it before any sync.
    let store = MemoryStore::new();
    for (name, key, value) in b.store().raw() {
        store.put_raw(name, &key, value);
    }
    let again = Vault::new(store);
    block_on(again.unlock(PASS)).unwrap();
    assert_eq!(listed(&again).len(), 2);
    assert!(b.store().raw().iter().all(|(_, _, v)| !v.windows(b"another".len()).any(|w| w == b"another")));
    // a's record removed from the folder (it left): b lists only itself, keeps what it had.
    let (a_record, _) = block_on(b.sync_names(0, 1)).unwrap();
    folder.remove(&a_record);
    block_on(b.sync_keep_devices(&[1])).unwrap();
    assert_eq!(listed(&b), vec![("another".to_owned(), true, true)]);
    assert_eq!(everything(&b), everything(&a));
    assert!(block_on(b.sync_status()).unwrap().unwrap().applied.contains_key(&own_id(&a)));
}

/// `v` compacts the folder: the next snapshot written, applied, what it covers deleted;
/// then its record (naming the new epoch) written.
fn compact(v: &Vault<MemoryStore>, folder: &mut Folder) {
    let epoch = block_on(v.sync_status()).unwrap().unwrap().epoch + 1;
    let (snapshot, obsolete) = block_on(v.sync_make_snapshot(epoch, 10)).unwrap();
    folder.insert(snapshot.name.clone(), snapshot.bytes.clone());
    block_on(v.sync_apply_snapshot(epoch, &snapshot.bytes)).unwrap();
    for n in obsolete {
        folder.remove(&n);
    }
    let record = block_on(v.sync_device_record(None, 10)).unwrap();
    folder.insert(record.name, record.bytes);
}

#[test]
fn a_device_many_compactions_behind_learns_the_newest_epoch_from_the_records_and_goes_there() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let b = join(&mut folder);
    block_on(a.put_conversation(&conversation("first", &["1"]))).unwrap();
    push(&a, &mut folder);
    pull(&b, &folder);
    for i in 0..20 {
        block_on(a.put_conversation(&conversation(&format!("round-{i}"), &["r"]))).unwrap();
        push(&a, &mut folder);
        compact(&a, &mut folder);
    }
    // Only the newest snapshot is left: 19 epochs between b's and it.
    let (_, first) = block_on(b.sync_names(0, 1)).unwrap();
    assert!(!folder.contains_key(&first));
    assert_eq!(block_on(b.sync_status()).unwrap().unwrap().folder_epoch, 0);
    devices(&b, &folder);
    let status = block_on(b.sync_status()).unwrap().unwrap();
    assert_eq!(status.folder_epoch, 20);
    let (_, newest) = block_on(b.sync_names(0, status.folder_epoch)).unwrap();
    block_on(b.sync_apply_snapshot(20, &folder[&newest])).unwrap();
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    assert_eq!(everything(&b).len(), 21);
}

#[test]
fn a_version_1_device_record_is_still_read_and_names_no_epoch() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let b = join(&mut folder);
    compact(&a, &mut folder);
    devices(&b, &folder);
    assert_eq!(block_on(b.sync_status()).unwrap().unwrap().folder_epoch, 1);
    // a's record as a version-1 build writes it: read (its head and label), epoch 0, and
    // the epoch already learnt stays.
    let vault_id = format::decode_meta(&folder[names::META]).unwrap().vault_id;
    let keys = SyncKeys::derive(&a.keys().unwrap().data, &vault_id);
    let v1 = format::DeviceRecordV1 {
        device: parse_hex(&own_id(&a)).unwrap(),
        slot: 0,
        label: "first, older build".into(),
        created_at: 1,
        head: Head::default(),
        updated_at: 20,
    };
    let bytes = format::seal_version(&keys, &vault_id, Place::Device { slot: 0 }, &v1, format::VERSION_1, &[9; 12]);
    let (name, _) = block_on(b.sync_names(0, 1)).unwrap();
    folder.insert(name, bytes.clone());
    let view = block_on(b.sync_note_device(0, &bytes)).unwrap();
    assert_eq!(view.label, "first, older build");
    let status = block_on(b.sync_status()).unwrap().unwrap();
    assert_eq!(status.folder_epoch, 1);
    assert!(status.devices.iter().any(|d| d.label == "first, older build" && d.last_seen == 20));
}

#[test]
fn a_pipelined_push_seals_the_next_segment_during_an_upload_confirms_in_order_and_resumes_without_a_number_twice() {
    let a = unlocked();
    let mut folder = set_up(&a);
    let text = "p".repeat(3000);
    for i in 0..7 {
        block_on(a.put_conversation(&conversation(&format!("c{i}"), &[&text]))).unwrap();
    }
    let b = join(&mut folder);
    // Segment 1 uploads while segment 2 is sealed; the upload of 1 fails: both wait.
    let first = block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap();
    let second = block_on(a.seal_next_capped(3, 7_000)).unwrap().unwrap();
    assert_ne!(first.name, second.name);
    // Asked again (a retry, or after the worker stopped): the same two, no third.
    assert_eq!(block_on(a.seal_next_capped(3, 7_000)).unwrap().unwrap(), second);
    assert_eq!(block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap(), first);
    let waiting = block_on(a.sync_status()).unwrap().unwrap();
    assert_eq!((waiting.pushed, waiting.pending), (2, true));
    // Segment 2 landing first is not enough: b sees a gap until segment 1 is there.
    folder.insert(second.name.clone(), second.bytes.clone());
    let a_id = own_id(&a);
    assert_eq!(block_on(b.sync_apply_segment(&a_id, 2, &second.bytes)).unwrap(), SegmentApplied::Gap { expected: 1 });
    // The next sync: 1 again, confirmed; then 2 is the older and uploads while 3 seals.
    folder.insert(first.name.clone(), first.bytes.clone());
    block_on(a.sync_confirm_push(3)).unwrap();
    assert_eq!(block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap(), second);
    let third = block_on(a.seal_next_capped(3, 7_000)).unwrap().unwrap();
    assert!(![&first.name, &second.name].contains(&&third.name));
    block_on(a.sync_confirm_push(3)).unwrap();
    assert_eq!(block_on(a.prepare_push_capped(3, 7_000)).unwrap().unwrap(), third);
    folder.insert(third.name.clone(), third.bytes.clone());
    let record = block_on(a.sync_confirm_push(3)).unwrap();
    folder.insert(record.name, record.bytes);
    push_capped(&a, &mut folder, 7_000);
    let status = block_on(a.sync_status()).unwrap().unwrap();
    assert_eq!((status.outbox, status.pending), (0, false));
    pull(&b, &folder);
    assert_eq!(everything(&b), everything(&a));
    assert_eq!(everything(&b).len(), 7);
}
