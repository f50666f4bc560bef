//! The convergent merge of conversation changes from several devices (pure).
//!
//! # Why not fold segments into the stored conversation one by one
//!
//! [`crate::capture::merge`] and [`merge_thread`] fold "what a page or a site shows
//! now" into what is stored. They are idempotent (the same input twice changes
//! nothing) but not commutative: `merge_thread` lays the turns out in the incoming
//! order and makes the incoming text current, so merging A then B gives B's order and
//! texts, B then A gives A's. Matching by text "modulo formatting" ([`similar`]) is not
//! transitive either (A ~ B and B ~ C without A ~ C), so no pairwise merge built on it
//! is associative. Folding segments as they arrive would make two devices that
//! received the same segments in another order keep different vaults for good.
//!
//! # The canonical merge
//!
//! Convergence is obtained by making the result a function of a *set*, not of an
//! arrival order:
//!
//! 1. **Registers.** For each conversation (by its store key), what is known is a
//!    [`Known`]: a `base` (the conversation as the last compaction snapshot folded it)
//!    and, for each device, the **latest** [`Entry`] that device pushed for it since
//!    (a write of the whole conversation as that device had it, or a tombstone), with
//!    the sequence number of its segment. Learning an entry keeps the one with the
//!    higher sequence number ([`Known::learn`]): a maximum, so applying segments in any
//!    order, any number of times, leaves the same registers.
//! 2. **Resolution.** The conversation shown is [`resolve`]d from the registers alone,
//!    deterministically: the newest tombstone time `T` (base included) removes every
//!    write made at or before `T` (a delete wins only over older writes); the writes
//!    left are sorted by `(at, base first, device id)` and folded with the capture's own
//!    thread merge ([`merge_thread`], with each write's `at` as its time): turns
//!    matched by site message id, else role and text modulo formatting, the newer
//!    write's order and text current, the older text kept as an earlier version
//!    (at most [`crate::capture::MAX_VERSIONS`]), turns only one write holds kept after
//!    the turn they followed, nothing removed.
//!
//! The same registers give the same conversation on every device: the merge is
//! order-independent and idempotent by construction, whatever `merge_thread` does, as
//! long as it is a function (it is: no clock, no randomness; `now` is the write's
//! `at`). A device's unpushed local changes take part as its own register would
//! (`pending`), so applying a remote segment never loses them; once pushed they are
//! that register.
//!
//! Storage stays bounded: a device's register holds only its latest write of a
//! conversation, and compaction (a snapshot) folds the registers it covers into the
//! base and drops them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capture::merge_thread;
use crate::model::Conversation;

/// A device's random id (16 bytes), as 32 lowercase hex digits in the formats.
pub type DeviceId = [u8; 16];

/// What a device pushed for one conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Entry {
    /// The whole conversation as the device had it after its local change at `at`
    /// (milliseconds since the epoch, the device's clock).
    Write { at: i64, conversation: Conversation },
    /// The device deleted the conversation at `deleted_at`.
    #[serde(rename_all = "camelCase")]
    Tombstone { deleted_at: i64 },
}

/// A conversation at `at` (the newest write folded into it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub at: i64,
    pub conversation: Conversation,
}

/// What a set of entries resolves to: the newest deletion time, and the conversation
/// written after it (if any). Both absent: nothing is known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Folded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<Written>,
}

/// One device's latest entry for a conversation and the segment it came in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub seq: u64,
    pub entry: Entry,
}

/// Everything known of one conversation: the compacted base and each device's latest
/// entry since, by device id (hex, so the map's order is the ids' order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    #[serde(default)]
    pub base: Folded,
    #[serde(default)]
    pub latest: BTreeMap<String, Register>,
}

impl Known {
    /// Learns `entry` of `device`'s segment `seq`, unless the device's register holds a
    /// later one already. Returns whether the register changed.
    pub fn learn(&mut self, device: &DeviceId, seq: u64, entry: Entry) -> bool {
        let slot = self.latest.entry(hex(device));
        match slot {
            std::collections::btree_map::Entry::Occupied(mut held) => {
                if held.get().seq >= seq {
                    return false;
                }
                held.insert(Register { seq, entry });
            }
            std::collections::btree_map::Entry::Vacant(free) => {
                free.insert(Register { seq, entry });
            }
        }
        true
    }

    /// Folds in a snapshot: its `base` replaces this one, and every register it covers
    /// (a segment at or before `covers(device)`) is dropped.
    pub fn compact(&mut self, base: Folded, covers: impl Fn(&str) -> u64) {
        self.base = base;
        self.latest.retain(|device, reg| reg.seq > covers(device));
    }

    /// Whether nothing is known (the record can go).
    pub fn is_empty(&self) -> bool {
        self.base == Folded::default() && self.latest.is_empty()
    }
}

/// The conversation the registers of `known` stand for, `pending` (this device's
/// unpushed entry, if any) taking the place of `own`'s register. See the module docs.
pub fn resolve(known: &Known, own: &DeviceId, pending: Option<&Entry>) -> Folded {
    let own_hex = hex(own);
    let mut entries: Vec<(&str, &Entry)> = known
        .latest
        .iter()
        .filter(|(d, _)| pending.is_none() || **d != own_hex)
        .map(|(d, r)| (d.as_str(), &r.entry))
        .collect();
    if let Some(p) = pending {
        entries.push((own_hex.as_str(), p));
    }
    let deleted_at = entries
        .iter()
        .filter_map(|(_, e)| match e {
            Entry::Tombstone { deleted_at } => Some(*deleted_at),
            Entry::Write { .. } => None,
        })
        .chain(known.base.deleted_at)
        .max();
    let alive = |at: i64| deleted_at.is_none_or(|t| at > t);
    // (at, 0 for the base / 1 for a device, device id, conversation)
    let mut writes: Vec<(i64, u8, &str, &Conversation)> = entries
        .iter()
        .filter_map(|(d, e)| match e {
            Entry::Write { at, conversation } if alive(*at) => Some((*at, 1, *d, conversation)),
            _ => None,
        })
        .collect();
    if let Some(w) = known.base.write.as_ref().filter(|w| alive(w.at)) {
        writes.push((w.at, 0, "", &w.conversation));
    }
    writes.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    let mut writes = writes.into_iter();
    let write = writes.next().map(|(at, _, _, first)| {
        let mut conv = first.clone();
        let mut newest = at;
        for (at, _, _, next) in writes {
            conv = merge_thread(Some(conv), next.clone(), at).conversation;
            newest = newest.max(at);
        }
        Written { at: newest, conversation: conv }
    });
    Folded { deleted_at, write }
}

/// 32 lowercase hex digits of a device id.
pub fn hex(id: &DeviceId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A device id from its 32 hex digits.
pub fn parse_hex(s: &str) -> Option<DeviceId> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Role, Site};

    pub(crate) fn conv(texts: &[&str]) -> Conversation {
        Conversation {
            site: Site::Claude,
            conversation_id: "c".into(),
            title: "T".into(),
            url: "https://claude.ai/chat/c".into(),
            model: None,
            created_at: 1,
            updated_at: 1,
            messages: texts
                .iter()
                .enumerate()
                .map(|(i, t)| Message::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, *t))
                .collect(),
        }
    }

    fn texts(f: &Folded) -> Vec<String> {
        f.write
            .as_ref()
            .map(|w| w.conversation.messages.iter().map(|m| m.markdown.clone()).collect())
            .unwrap_or_default()
    }

    const A: DeviceId = [0xa; 16];
    const B: DeviceId = [0xb; 16];

    #[test]
    fn turns_of_two_devices_are_united_and_the_newer_text_is_current_with_the_older_kept() {
        let with_ids = |texts: &[&str]| {
            let mut c = conv(texts);
            for (i, m) in c.messages.iter_mut().enumerate() {
                m.turn_id = Some(format!("m{i}"));
            }
            c
        };
        let mut k = Known::default();
        k.learn(&A, 1, Entry::Write { at: 10, conversation: with_ids(&["q", "first answer", "a's follow-up"]) });
        k.learn(&B, 1, Entry::Write { at: 20, conversation: with_ids(&["q", "second answer"]) });
        let out = resolve(&k, &[0; 16], None);
        assert_eq!(texts(&out), ["q", "second answer", "a's follow-up"]);
        assert_eq!(out.write.unwrap().conversation.messages[1].versions, ["first answer"]);
    }

    #[test]
    fn a_tombstone_wins_over_older_writes_only() {
        let mut k = Known::default();
        k.learn(&A, 1, Entry::Write { at: 10, conversation: conv(&["old"]) });
        k.learn(&B, 1, Entry::Tombstone { deleted_at: 15 });
        assert_eq!(resolve(&k, &[0; 16], None), Folded { deleted_at: Some(15), write: None });
        k.learn(&A, 2, Entry::Write { at: 20, conversation: conv(&["captured again"]) });
        let out = resolve(&k, &[0; 16], None);
        assert_eq!((out.deleted_at, texts(&out)), (Some(15), vec!["captured again".to_owned()]));
    }

    #[test]
    fn a_register_keeps_the_latest_segment_whatever_the_order() {
        let mut k = Known::default();
        assert!(k.learn(&A, 2, Entry::Tombstone { deleted_at: 5 }));
        assert!(!k.learn(&A, 1, Entry::Write { at: 1, conversation: conv(&["x"]) }));
        assert!(!k.learn(&A, 2, Entry::Tombstone { deleted_at: 5 }));
        assert_eq!(k.latest[&hex(&A)].seq, 2);
    }

    #[test]
    fn pending_local_changes_stand_in_for_the_own_register() {
        let mut k = Known::default();
        k.learn(&A, 1, Entry::Write { at: 10, conversation: conv(&["q", "pushed"]) });
        let pending = Entry::Write { at: 30, conversation: conv(&["q", "pushed", "local", "unpushed"]) };
        assert_eq!(texts(&resolve(&k, &A, Some(&pending))), ["q", "pushed", "local", "unpushed"]);
        assert_eq!(texts(&resolve(&k, &A, None)), ["q", "pushed"]);
    }

    #[test]
    fn device_ids_read_back_from_hex() {
        assert_eq!(parse_hex(&hex(&[0xab; 16])), Some([0xab; 16]));
        assert_eq!(parse_hex("AB"), None);
        assert_eq!(parse_hex(&"g".repeat(32)), None);
    }
}
