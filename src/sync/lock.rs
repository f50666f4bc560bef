//! The compaction lock: one device at a time writes a snapshot and deletes what it
//! covers. The lock is an object ([`super::names::lock`]) holding a sealed
//! [`LockBody`]: who holds it and until when. It is taken with a conditional request:
//! `If-None-Match: *` when there is none, `If-Match: <its ETag>` to replace one (renew
//! our own, or steal an expired one), so two devices racing for it cannot both win;
//! the loser's request fails with 412 and it reads the lock again.
//!
//! Expiry: a holder sets `expires_at = now + LOCK_TTL_MS` and renews while it works
//! ([`renew`]: once [`RENEW_AFTER_MS`] has passed, `If-Match` the ETag of the lock read,
//! only while the folder still holds exactly the lock it wrote last and that lock has
//! not expired by its own clock); when a renewal fails the holder stops compacting at
//! once and deletes nothing ([`Renewal::Lost`]). A device that dies holding the lock
//! blocks others until its expiry at most. Clocks differ:
//! a lock is never trusted for more than [`LOCK_TTL_MS`] after its `taken_at`, however
//! far its `expires_at`, and a lock taken more than [`LOCK_TTL_MS`] in the reader's
//! future (a holder's clock far ahead) counts as expired. A lock that does not open
//! (changed, or from another vault) is no device's: it may be replaced at once.

use super::format::{self, LockBody, Place};
use super::merge::DeviceId;
use crate::crypto::sync_keys::SyncKeys;

/// How long a lock holds without being renewed: 5 minutes.
pub const LOCK_TTL_MS: i64 = 5 * 60 * 1000;

/// A holder renews its lock once this much of it has passed (a third of the TTL: two
/// more chances before it expires, for a slow server or a renewal that failed once).
pub const RENEW_AFTER_MS: i64 = LOCK_TTL_MS / 3;

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

/// What the holder of a lock does while it works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Not yet: the lock holds for a while still.
    NotDue,
    /// Due: read the folder's lock and ask again with it.
    Due,
    /// Write `body` with `condition` (`If-Match` the ETag of the lock read), then read it
    /// back: the lock is ours until `body.expires_at`.
    Renew { condition: Condition, body: LockBody },
    /// The lock is no longer ours (gone, another device's or changed, or expired before
    /// we renewed it: another device may have taken it since): stop compacting at once,
    /// write and delete nothing more, and leave the lock alone.
    Lost,
}

/// May `me`, holding `ours` (the body it wrote last), keep the lock at `now`? `current`
/// is the lock read from the folder (bytes and ETag, `None`: none), or `None` when only
/// asking whether a renewal is due (then the folder is not read).
pub fn renew(
    keys: &SyncKeys,
    vault_id: &[u8; 16],
    me: &DeviceId,
    ours: &LockBody,
    current: Option<Option<(&[u8], &str)>>,
    now: i64,
) -> Renewal {
    if ours.device != *me || effective_expiry(ours, now) <= now {
        return Renewal::Lost;
    }
    if now < ours.taken_at.saturating_add(RENEW_AFTER_MS) && now >= ours.taken_at {
        return Renewal::NotDue;
    }
    let Some(current) = current else { return Renewal::Due };
    let Some((bytes, etag)) = current else { return Renewal::Lost };
    match format::open::<LockBody>(keys, vault_id, Place::Lock, bytes) {
        Ok(held) if held == *ours => Renewal::Renew {
            condition: Condition::IfMatch(etag.to_owned()),
            body: LockBody { device: *me, taken_at: now, expires_at: now + LOCK_TTL_MS },
        },
        _ => Renewal::Lost,
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

    fn ours(taken_at: i64) -> LockBody {
        LockBody { device: ME, taken_at, expires_at: taken_at + LOCK_TTL_MS }
    }

    #[test]
    fn a_lock_is_renewed_once_a_third_of_it_passed_and_only_while_the_folder_holds_ours() {
        let held = ours(1_000);
        let bytes = lock_of(ME, 1_000, 1_000 + LOCK_TTL_MS);
        let r = |current, now| renew(&keys(), &VAULT, &ME, &held, current, now);
        // Fresh: nothing to do, the folder is not read.
        assert_eq!(r(None, 1_000), Renewal::NotDue);
        assert_eq!(r(None, 1_000 + RENEW_AFTER_MS - 1), Renewal::NotDue);
        // Due: read the folder's lock, then renew it by its ETag, for a whole TTL from now.
        let now = 1_000 + RENEW_AFTER_MS;
        assert_eq!(r(None, now), Renewal::Due);
        assert_eq!(
            r(Some(Some((&bytes, "\"e7\""))), now),
            Renewal::Renew {
                condition: Condition::IfMatch("\"e7\"".into()),
                body: LockBody { device: ME, taken_at: now, expires_at: now + LOCK_TTL_MS }
            }
        );
        // A clock that went back renews too (the lock is still ours and live).
        assert_eq!(r(None, 500), Renewal::Due);
    }

    #[test]
    fn a_lock_gone_taken_changed_or_expired_is_lost_and_never_renewed() {
        let held = ours(1_000);
        let now = 1_000 + RENEW_AFTER_MS;
        let r = |current, now| renew(&keys(), &VAULT, &ME, &held, current, now);
        // Gone from the folder (another device deleted or replaced it).
        assert_eq!(r(Some(None), now), Renewal::Lost);
        // Another device's lock in its place (it stole ours), or ours of another time.
        let theirs = lock_of(OTHER, now - 10, now - 10 + LOCK_TTL_MS);
        assert_eq!(r(Some(Some((&theirs, "e"))), now), Renewal::Lost);
        let older = lock_of(ME, 900, 900 + LOCK_TTL_MS);
        assert_eq!(r(Some(Some((&older, "e"))), now), Renewal::Lost);
        assert_eq!(r(Some(Some((b"garbage", "e"))), now), Renewal::Lost);
        // Expired before we renewed it: another device may hold it by now, even if the
        // folder still shows ours (rclone ignores conditions): lost, without reading.
        let bytes = lock_of(ME, 1_000, 1_000 + LOCK_TTL_MS);
        assert_eq!(r(None, 1_000 + LOCK_TTL_MS), Renewal::Lost);
        assert_eq!(r(Some(Some((&bytes, "e"))), 1_000 + LOCK_TTL_MS), Renewal::Lost);
        // A body that is not ours is never renewed.
        let not_ours = LockBody { device: OTHER, ..held.clone() };
        assert_eq!(renew(&keys(), &VAULT, &ME, &not_ours, None, 1_001), Renewal::Lost);
    }
}
