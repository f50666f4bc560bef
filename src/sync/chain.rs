//! Each device's history: segments numbered 1, 2, 3..., each carrying the SHA-256 of
//! the previous one's whole object, and a device record naming the head (the last
//! number and hash). The reader keeps, per device, a cursor (the last number applied
//! and its hash) and the highest head it has seen in the device's record.
//!
//! - **Replayed**: a number at or before the cursor is already applied ([`Order::Applied`]):
//!   nothing changes.
//! - **Reordered**: a number past the next one is not applied ([`Order::Gap`]): the
//!   reader fetches the missing ones first (the merge would not mind the order; the
//!   cursor does, so that a hole is never skipped silently).
//! - **Forked**: the next number whose `prev` is not the hash of the segment applied
//!   before it ([`SyncError::Fork`]), or a head whose hash differs from the segment
//!   applied at that number: a device pushed two different histories (a profile
//!   restored from a backup).
//! - **Truncated**: the next segment is missing from the folder while the device's
//!   record names a head further on, and no snapshot covers it ([`SyncError::Truncated`]):
//!   the server lost or withholds the tail. The device record is written after each
//!   push (it may lag behind its segments, never run ahead of them).
//! - **Rolled back**: a device record naming an older head than one already seen
//!   ([`SyncError::RolledBack`]). A server that rolls a record back before a reader has
//!   seen the newer one cannot be told from a device that has not pushed yet (a freeze);
//!   the device itself notices, its own record being behind what it pushed.

use sha2::{Digest, Sha256};

use super::format::Head;
use super::SyncError;

/// What to do with segment `seq` of a device whose cursor is `cursor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The next one: check its link, then apply it.
    Next,
    /// Applied already: nothing to do.
    Applied,
    /// Segments are missing before it: apply `expected` first.
    Gap { expected: u64 },
}

/// Where segment `seq` stands against `cursor`.
pub fn order(cursor: &Head, seq: u64) -> Order {
    if seq <= cursor.seq {
        Order::Applied
    } else if seq == cursor.seq + 1 {
        Order::Next
    } else {
        Order::Gap { expected: cursor.seq + 1 }
    }
}

/// The hash that links a segment to the next one: SHA-256 of its whole object.
pub fn digest(object: &[u8]) -> [u8; 32] {
    Sha256::digest(object).into()
}

/// Checks that the next segment's `prev` is the hash of the segment at `cursor`.
///
/// # Errors
/// [`SyncError::Fork`].
pub fn check_link(cursor: &Head, prev: &[u8; 32]) -> Result<(), SyncError> {
    if *prev == cursor.hash {
        Ok(())
    } else {
        Err(SyncError::Fork)
    }
}

/// Checks a device record's head against the highest head seen (`seen`) and what was
/// applied (`cursor`); returns the new highest head.
///
/// # Errors
/// [`SyncError::RolledBack`] for a head before one seen; [`SyncError::Fork`] for a head
/// at the cursor's number with another hash.
pub fn check_head(seen: &Head, cursor: &Head, head: &Head) -> Result<Head, SyncError> {
    if head.seq < seen.seq {
        return Err(SyncError::RolledBack);
    }
    if head.seq == seen.seq && head.hash != seen.hash || head.seq == cursor.seq && head.hash != cursor.hash {
        return Err(SyncError::Fork);
    }
    Ok(*head)
}

/// What a reader concludes when the segment after `cursor` is not in the folder:
/// `Ok(())` when nothing is missing (the head is not past the cursor, or a snapshot
/// covering up to `covered` takes the missing part's place).
///
/// # Errors
/// [`SyncError::Truncated`] when the head is further and nothing covers the hole.
pub fn check_missing(cursor: &Head, head: &Head, covered: u64) -> Result<(), SyncError> {
    if head.seq > cursor.seq && covered <= cursor.seq {
        Err(SyncError::Truncated)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(seq: u64, h: u8) -> Head {
        Head { seq, hash: [h; 32] }
    }

    #[test]
    fn a_replayed_segment_is_a_no_op_and_one_out_of_order_waits() {
        let cursor = head(3, 3);
        assert_eq!(order(&cursor, 1), Order::Applied);
        assert_eq!(order(&cursor, 3), Order::Applied);
        assert_eq!(order(&cursor, 4), Order::Next);
        assert_eq!(order(&cursor, 6), Order::Gap { expected: 4 });
        assert_eq!(order(&Head::default(), 1), Order::Next);
    }

    #[test]
    fn a_segment_not_linked_to_the_one_applied_before_is_a_fork() {
        assert_eq!(check_link(&head(3, 3), &[3; 32]), Ok(()));
        assert_eq!(check_link(&head(3, 3), &[4; 32]), Err(SyncError::Fork));
        assert_eq!(check_link(&Head::default(), &[0; 32]), Ok(()));
    }

    #[test]
    fn a_head_rolled_back_or_contradicting_what_was_applied_is_refused() {
        assert_eq!(check_head(&head(5, 5), &head(5, 5), &head(7, 7)), Ok(head(7, 7)));
        assert_eq!(check_head(&head(5, 5), &head(5, 5), &head(4, 4)), Err(SyncError::RolledBack));
        assert_eq!(check_head(&head(5, 5), &head(5, 5), &head(5, 6)), Err(SyncError::Fork));
        assert_eq!(check_head(&head(2, 2), &head(6, 6), &head(6, 9)), Err(SyncError::Fork));
        // A record lagging behind the segments already applied is normal.
        assert_eq!(check_head(&head(2, 2), &head(6, 6), &head(4, 4)), Ok(head(4, 4)));
    }

    #[test]
    fn a_truncated_history_is_reported_unless_a_snapshot_covers_it() {
        assert_eq!(check_missing(&head(3, 3), &head(5, 5), 0), Err(SyncError::Truncated));
        assert_eq!(check_missing(&head(3, 3), &head(5, 5), 4), Ok(()));
        assert_eq!(check_missing(&head(5, 5), &head(5, 5), 0), Ok(()));
        assert_eq!(check_missing(&head(6, 6), &head(5, 5), 0), Ok(()));
    }
}
