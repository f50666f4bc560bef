//! The compaction lock: one device at a time writes a snapshot and deletes what it
//! covers. The lock is an object ([`super::names::lock`]) holding a sealed
//! [`LockBody`]: who holds it and until when. It is taken with a conditional request:
//! `If-None-Match: *` when there is none, `If-Match: <its ETag>` to replace one (renew
//! our own, or steal an expired one), so two devices racing for it cannot both win;
//! the loser's request fails with 412 and it reads the lock again.
//!
//! Expiry: a holder sets `expires_at = now + LOCK_TTL_MS` and renews while it works; a
//! device that dies holding the lock blocks others until then at most. Clocks differ:
//! a lock is never trusted for more than [`LOCK_TTL_MS`] after its `taken_at`, however
//! far its `expires_at`, and a lock taken more than [`LOCK_TTL_MS`] in the reader's
//! future (a holder's clock far ahead) counts as expired. A lock that does not open
//! (changed, or from another vault) is no device's: it may be replaced at once.

use super::format::{self, LockBody, Place};
use super::merge::DeviceId;
use crate::crypto::sync_keys::SyncKeys;

/// How long a lock holds without being renewed: 5 minutes.
pub const LOCK_TTL_MS: i64 = 5 * 60 * 1000;

/// The condition of the request that writes the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: there was no lock.
    IfNoneMatch,
    /// `If-Match: <etag>`: replace exactly the lock read.
    IfMatch(String),
}

/// What a device may do about the lock it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockDecision {
    /// Write `body` with `condition`; on success the lock is ours until `body.expires_at`.
    Take { condition: Condition, body: LockBody },
    /// Another device holds it until `until` (milliseconds since the epoch).
    Wait { holder: DeviceId, until: i64 },
}

/// When a lock read as `body` stops holding, by the reader's clock `now`.
pub fn effective_expiry(body: &LockBody, now: i64) -> i64 {
    if body.taken_at > now.saturating_add(LOCK_TTL_MS) {
        return i64::MIN; // taken in the far future: a clock gone wrong
    }
    body.expires_at.min(body.taken_at.saturating_add(LOCK_TTL_MS))
}

/// May `me` take the lock, given what the folder holds (`current`: the lock's bytes and
/// ETag, `None` when there is none) and the time `now`?
pub fn decide(
    keys: &SyncKeys,
    vault_id: &[u8; 16],
    me: &DeviceId,
    current: Option<(&[u8], &str)>,
    now: i64,
) -> LockDecision {
    let body = LockBody { device: *me, taken_at: now, expires_at: now + LOCK_TTL_MS };
    let Some((bytes, etag)) = current else {
        return LockDecision::Take { condition: Condition::IfNoneMatch, body };
    };
    let replace = LockDecision::Take { condition: Condition::IfMatch(etag.to_owned()), body };
    match format::open::<LockBody>(keys, vault_id, Place::Lock, bytes) {
        Ok(held) if held.device != *me && effective_expiry(&held, now) > now => {
            LockDecision::Wait { holder: held.device, until: effective_expiry(&held, now) }
        }
        // Ours (renewed), expired (stolen) or no device's (replaced).
        _ => replace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::DataKey;

    const VAULT: [u8; 16] = [1; 16];
    const ME: DeviceId = [0xa; 16];
    const OTHER: DeviceId = [0xb; 16];

    fn keys() -> SyncKeys {
        SyncKeys::derive(&DataKey::from_bytes([7; 32]), &VAULT)
    }

    fn lock_of(device: DeviceId, taken_at: i64, expires_at: i64) -> Vec<u8> {
        format::seal(&keys(), &VAULT, Place::Lock, &LockBody { device, taken_at, expires_at }).unwrap()
    }

    fn takes(d: &LockDecision) -> Option<&Condition> {
        match d {
            LockDecision::Take { condition, .. } => Some(condition),
            LockDecision::Wait { .. } => None,
        }
    }

    #[test]
    fn no_lock_is_taken_only_if_still_none() {
        let d = decide(&keys(), &VAULT, &ME, None, 1_000);
        assert_eq!(
            d,
            LockDecision::Take {
                condition: Condition::IfNoneMatch,
                body: LockBody { device: ME, taken_at: 1_000, expires_at: 1_000 + LOCK_TTL_MS }
            }
        );
    }

    #[test]
    fn another_devices_live_lock_is_waited_for_and_an_expired_one_stolen_by_its_etag() {
        let bytes = lock_of(OTHER, 1_000, 1_000 + LOCK_TTL_MS);
        let d = decide(&keys(), &VAULT, &ME, Some((&bytes, "\"e1\"")), 2_000);
        assert_eq!(d, LockDecision::Wait { holder: OTHER, until: 1_000 + LOCK_TTL_MS });
        let later = decide(&keys(), &VAULT, &ME, Some((&bytes, "\"e1\"")), 1_000 + LOCK_TTL_MS);
        assert_eq!(takes(&later), Some(&Condition::IfMatch("\"e1\"".into())));
    }

    #[test]
    fn our_own_lock_is_renewed() {
        let bytes = lock_of(ME, 1_000, 1_000 + LOCK_TTL_MS);
        let d = decide(&keys(), &VAULT, &ME, Some((&bytes, "e2")), 2_000);
        assert_eq!(takes(&d), Some(&Condition::IfMatch("e2".into())));
    }

    #[test]
    fn a_dead_holder_with_a_far_expiry_or_a_clock_ahead_blocks_no_longer_than_the_ttl() {
        let forever = lock_of(OTHER, 1_000, i64::MAX);
        assert!(matches!(decide(&keys(), &VAULT, &ME, Some((&forever, "e")), 2_000), LockDecision::Wait { .. }));
        assert!(takes(&decide(&keys(), &VAULT, &ME, Some((&forever, "e")), 1_000 + LOCK_TTL_MS)).is_some());
        let future = lock_of(OTHER, 10 * LOCK_TTL_MS, 11 * LOCK_TTL_MS);
        assert!(takes(&decide(&keys(), &VAULT, &ME, Some((&future, "e")), 1_000)).is_some());
    }

    #[test]
    fn a_lock_that_does_not_open_is_replaced_by_its_etag() {
        let other_vault = format::seal(
            &SyncKeys::derive(&DataKey::from_bytes([7; 32]), &[2; 16]),
            &[2; 16],
            Place::Lock,
            &LockBody { device: OTHER, taken_at: 1_000, expires_at: 1_000 + LOCK_TTL_MS },
        )
        .unwrap();
        for bytes in [other_vault, b"garbage".to_vec()] {
            let d = decide(&keys(), &VAULT, &ME, Some((&bytes, "e3")), 2_000);
            assert_eq!(takes(&d), Some(&Condition::IfMatch("e3".into())));
        }
    }
}
