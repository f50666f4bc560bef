//! The merge converges: three devices capture, edit, re-read threads and delete a few
//! conversations at random, pushing segments now and then; their segments applied on
//! other devices in random orders, with duplicates, and around a compaction snapshot,
//! give every device the same conversations. A hand-written xorshift drives it, so a
//! failing case prints its seed.

use std::collections::BTreeMap;

use super::format::KeyedEntry;
use super::merge::{hex, resolve, DeviceId, Entry, Folded, Known};
use crate::capture::{merge, merge_thread, Snapshot, SnapshotMessage};
use crate::model::{Conversation, Message, Role, Site};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// A segment as the folder holds it (its sealing is tested in `format`).
#[derive(Clone, Debug)]
struct Segment {
    device: DeviceId,
    seq: u64,
    entries: Vec<KeyedEntry>,
}

/// One device: what it knows, what it shows, and its unpushed changes.
struct Replica {
    id: DeviceId,
    known: BTreeMap<String, Known>,
    view: BTreeMap<String, Conversation>,
    /// Unpushed local changes: conversation key -> (time, deleted).
    outbox: BTreeMap<String, (i64, bool)>,
    seq: u64,
    /// The last number applied, per device.
    applied: BTreeMap<DeviceId, u64>,
    /// How far the snapshot applied covers each device: those segments are in its base
    /// (the vault facet's cursors refuse them as applied).
    covered: BTreeMap<DeviceId, u64>,
}

impl Replica {
    fn new(n: u8) -> Self {
        Replica {
            id: [n; 16],
            known: BTreeMap::new(),
            view: BTreeMap::new(),
            outbox: BTreeMap::new(),
            seq: 0,
            applied: BTreeMap::new(),
            covered: BTreeMap::new(),
        }
    }

    fn pending(&self, k: &str) -> Option<Entry> {
        let &(at, deleted) = self.outbox.get(k)?;
        Some(match (deleted, self.view.get(k)) {
            (false, Some(conv)) => Entry::Write { at, conversation: conv.clone() },
            _ => Entry::Tombstone { deleted_at: at },
        })
    }

    fn settle(&mut self, k: &str) {
        let pending = self.pending(k);
        let folded = resolve(&self.known.get(k).cloned().unwrap_or_default(), &self.id, pending.as_ref());
        match folded.write {
            Some(w) => self.view.insert(k.to_owned(), w.conversation),
            None => self.view.remove(k),
        };
    }

    fn local_change(&mut self, k: &str, conv: Option<Conversation>, at: i64) {
        match conv {
            Some(c) => self.view.insert(k.to_owned(), c),
            None => self.view.remove(k),
        };
        let deleted = !self.view.contains_key(k);
        self.outbox.insert(k.to_owned(), (at, deleted));
    }

    fn push(&mut self) -> Option<Segment> {
        if self.outbox.is_empty() {
            return None;
        }
        self.seq += 1;
        let keys: Vec<String> = self.outbox.keys().cloned().collect();
        let entries: Vec<KeyedEntry> =
            keys.iter().map(|k| KeyedEntry { key: k.clone(), entry: self.pending(k).unwrap() }).collect();
        self.outbox.clear();
        for e in &entries {
            self.known.entry(e.key.clone()).or_default().learn(&self.id, self.seq, e.entry.clone());
        }
        for k in &keys {
            self.settle(k);
        }
        Some(Segment { device: self.id, seq: self.seq, entries })
    }

    fn apply(&mut self, s: &Segment) {
        if s.device == self.id || s.seq <= self.covered.get(&s.device).copied().unwrap_or(0) {
            return;
        }
        let applied = self.applied.entry(s.device).or_default();
        *applied = (*applied).max(s.seq);
        for e in &s.entries {
            self.known.entry(e.key.clone()).or_default().learn(&s.device, s.seq, e.entry.clone());
            self.settle(&e.key);
        }
    }

    /// A compaction snapshot of what this replica applied: every conversation folded
    /// from the registers alone, and how far each device is covered.
    fn snapshot(&self) -> (BTreeMap<String, Folded>, BTreeMap<String, u64>) {
        let folded = self.known.iter().map(|(k, known)| (k.clone(), resolve(known, &self.id, None))).collect();
        let mut covers: BTreeMap<String, u64> = self.applied.iter().map(|(d, s)| (hex(d), *s)).collect();
        covers.insert(hex(&self.id), self.seq);
        (folded, covers)
    }

    fn apply_snapshot(&mut self, snap: &(BTreeMap<String, Folded>, BTreeMap<String, u64>)) {
        let (folded, covers) = snap;
        let keys: Vec<String> = self.known.keys().chain(folded.keys()).cloned().collect();
        for k in keys {
            let base = folded.get(&k).cloned().unwrap_or_default();
            self.known.entry(k.clone()).or_default().compact(base, |d| covers.get(d).copied().unwrap_or(0));
            self.settle(&k);
        }
        for (d, s) in covers {
            let d = super::merge::parse_hex(d).unwrap();
            if d != self.id {
                let applied = self.applied.entry(d).or_default();
                *applied = (*applied).max(*s);
                self.covered.insert(d, *s);
            }
        }
    }

    /// What the replica shows, by conversation key.
    fn shown(&self) -> &BTreeMap<String, Conversation> {
        &self.view
    }
}

const KEYS: [&str; 3] =
    ["0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b", "2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c"];
const WORDS: [&str; 8] =
    ["ok", "yes", "tell me more", "why?", "the tide turns", "moon and sea", "**bold** answer", "done"];

fn text(rng: &mut Rng) -> String {
    let w = WORDS[rng.below(WORDS.len() as u64) as usize];
    if rng.chance(2) {
        w.to_owned()
    } else {
        format!("{w} {}", rng.below(6))
    }
}

/// A random local change of `r` at `now`: a page snapshot (a window of the shown turns
/// and new ones, maybe with an edited last turn), a thread read from the site (with
/// turn ids), or a deletion.
fn act(rng: &mut Rng, r: &mut Replica, now: i64) {
    let k = KEYS[rng.below(3) as usize];
    let stored = r.view.get(k).cloned();
    match rng.below(10) {
        0 => {
            if stored.is_some() {
                r.local_change(k, None, now);
            }
        }
        1..=2 => {
            let mut thread = Conversation {
                site: Site::Claude,
                conversation_id: format!("conv-{k}"),
                title: format!("thread {}", rng.below(3)),
                url: String::new(),
                model: None,
                created_at: now,
                updated_at: now,
                messages: Vec::new(),
            };
            let n = 1 + rng.below(5);
            for i in 0..n {
                let mut m = Message::new([Role::User, Role::Assistant][i as usize % 2], text(rng));
                m.turn_id = Some(format!("t{i}-{}", rng.below(2)));
                thread.messages.push(m);
            }
            let out = merge_thread(stored, thread, now);
            r.local_change(k, Some(out.conversation), now);
        }
        _ => {
            let shown: Vec<SnapshotMessage> = stored
                .as_ref()
                .map(|c| {
                    c.messages
                        .iter()
                        .map(|m| SnapshotMessage {
                            role: m.role,
                            markdown: m.markdown.clone(),
                            turn_id: m.turn_id.clone(),
                            streaming: false,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let from = if shown.is_empty() { 0 } else { rng.below(shown.len() as u64) as usize };
            let mut messages: Vec<SnapshotMessage> = shown[from..].to_vec();
            if rng.chance(3) {
                if let Some(last) = messages.last_mut() {
                    last.markdown = text(rng); // an edit or a regeneration
                }
            }
            for _ in 0..rng.below(3) {
                let role = match messages.last() {
                    Some(m) if m.role == Role::User => Role::Assistant,
                    _ => Role::User,
                };
                messages.push(SnapshotMessage { role, markdown: text(rng), turn_id: None, streaming: rng.chance(6) });
            }
            let snap = Snapshot {
                site: Site::Claude,
                conversation_id: format!("conv-{k}"),
                url: format!("https://claude.ai/chat/{k}"),
                title: format!("page {}", rng.below(3)),
                model: None,
                messages,
            };
            let out = merge(stored, &snap, now);
            if !out.is_unchanged() {
                r.local_change(k, Some(out.conversation), now);
            }
        }
    }
}

/// `segments` in a random order, each maybe twice.
fn shuffled_with_duplicates(rng: &mut Rng, segments: &[Segment]) -> Vec<Segment> {
    let mut out: Vec<Segment> = segments.to_vec();
    for s in segments {
        if rng.chance(3) {
            out.push(s.clone());
        }
    }
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// Three devices act and push (and apply what others pushed so far, sometimes);
/// returns them and every segment pushed.
fn run(rng: &mut Rng) -> (Vec<Replica>, Vec<Segment>) {
    let mut devices: Vec<Replica> = (1..=3).map(Replica::new).collect();
    let skew: Vec<i64> = (0..3).map(|_| rng.below(11) as i64 - 5).collect();
    let mut segments: Vec<Segment> = Vec::new();
    let mut clock = 100;
    for _ in 0..(10 + rng.below(30)) {
        clock += rng.below(4) as i64;
        let d = rng.below(3) as usize;
        match rng.below(6) {
            0 => {
                if let Some(s) = devices[d].push() {
                    segments.push(s);
                }
            }
            1 => {
                // Pull some of what is there, in any order.
                for s in shuffled_with_duplicates(rng, &segments) {
                    if rng.chance(2) {
                        devices[d].apply(&s);
                    }
                }
            }
            _ => act(rng, &mut devices[d], clock + skew[d]),
        }
    }
    for d in &mut devices {
        if let Some(s) = d.push() {
            segments.push(s);
        }
    }
    (devices, segments)
}

#[test]
fn segments_applied_in_any_order_and_any_number_of_times_give_every_device_the_same_vault() {
    let cases = 3_000;
    let mut conversations_seen = 0;
    for case in 0..cases {
        let seed = 0x9e37_79b9_7f4a_7c15_u64 ^ (case * 0x1000_0001);
        let mut rng = Rng(seed);
        let (mut devices, segments) = run(&mut rng);
        // Two fresh devices apply everything in two random orders, with duplicates.
        let mut fourth = Replica::new(4);
        let mut fifth = Replica::new(5);
        for s in shuffled_with_duplicates(&mut rng, &segments) {
            fourth.apply(&s);
        }
        for s in shuffled_with_duplicates(&mut rng, &segments) {
            fifth.apply(&s);
        }
        assert_eq!(fourth.known, fifth.known, "seed {seed:#x}");
        assert_eq!(fourth.shown(), fifth.shown(), "seed {seed:#x}");
        // Every device, having pushed all and applied the others' segments, shows the same.
        for d in &mut devices {
            for s in shuffled_with_duplicates(&mut rng, &segments) {
                d.apply(&s);
            }
            assert!(d.outbox.is_empty());
            assert_eq!(d.shown(), fourth.shown(), "seed {seed:#x}, device {}", d.id[0]);
        }
        conversations_seen += fourth.shown().len();
    }
    assert!(conversations_seen > cases as usize, "the cases hold conversations: {conversations_seen}");
}

#[test]
fn a_compaction_snapshot_gives_the_same_vault_to_devices_that_applied_it_before_or_after_the_segments() {
    for case in 0..1_000u64 {
        let seed = 0x2545_f491_4f6c_dd1d_u64 ^ (case * 0x1000_0001);
        let mut rng = Rng(seed);
        let (_, segments) = run(&mut rng);
        // The compactor applied each device's segments up to some number.
        let mut compactor = Replica::new(6);
        let cut: BTreeMap<DeviceId, u64> = (1..=3u8).map(|d| ([d; 16], rng.below(4))).collect();
        let mut covered: Vec<Segment> = segments.iter().filter(|s| s.seq <= cut[&s.device]).cloned().collect();
        covered.sort_by_key(|s| (s.device, s.seq));
        for s in &covered {
            compactor.apply(s);
        }
        let snap = compactor.snapshot();
        // One device applies the snapshot first, another applies some segments first;
        // both then apply everything, in random orders with duplicates.
        let mut first = Replica::new(7);
        first.apply_snapshot(&snap);
        for s in shuffled_with_duplicates(&mut rng, &segments) {
            first.apply(&s);
        }
        let mut later = Replica::new(8);
        for s in shuffled_with_duplicates(&mut rng, &segments) {
            if rng.chance(2) {
                later.apply(&s);
            }
        }
        later.apply_snapshot(&snap);
        for s in shuffled_with_duplicates(&mut rng, &segments) {
            later.apply(&s);
        }
        assert_eq!(first.known, later.known, "seed {seed:#x}");
        assert_eq!(first.shown(), later.shown(), "seed {seed:#x}");
    }
}
