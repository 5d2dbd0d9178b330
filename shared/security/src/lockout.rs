//! Account lockout: `max_login_attempts` failures lock a username for `lockout_duration`.
//!
//! Every attempt first takes a slot atomically ([`LockoutStore::acquire`]); with no slot left the answer is 423
//! without a password check, so however many guesses arrive at once, at most `max_attempts` get a verdict. A wrong
//! password keeps its slot and counts a failure ([`LockoutStore::record_failure`]); the failure that reaches the
//! maximum sets `locked_until`. A success clears everything. Usernames are counted whether or not they exist, and
//! the record expires `lockout_duration` after the last attempt (or when the lock ends).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::store::StoreError;

/// The lockout settings (`MAX_LOGIN_ATTEMPTS`, `LOCKOUT_DURATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_attempts: u32,
    pub duration_ms: Millis,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, duration_ms: 300_000 }
    }
}

/// The answer to a request for an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquire {
    /// The attempt may check the password.
    Granted,
    /// No attempt is allowed until `until`.
    Locked { until: Millis },
}

/// The stored state of one username's attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutRecord {
    /// Attempts that took a slot: counted failures plus those still checking.
    pub slots: u32,
    pub failures: u32,
    pub locked_until: Millis,
    pub expires_at: Millis,
}

impl LockoutRecord {
    /// The record as it stands at `now`: an expired record is no record.
    pub fn at(self, now: Millis) -> Self {
        if self.expires_at <= now { Self::default() } else { self }
    }

    /// Takes a slot if one is free; the new record and the verdict.
    pub fn acquire(self, policy: &LockoutPolicy, now: Millis) -> (Self, Acquire) {
        let current = self.at(now);
        if current.locked_until > now {
            return (current, Acquire::Locked { until: current.locked_until });
        }
        if current.slots >= policy.max_attempts {
            // Every slot is held by an attempt still being checked.
            return (current, Acquire::Locked { until: now + policy.duration_ms });
        }
        let next = Self { slots: current.slots + 1, expires_at: now + policy.duration_ms, ..current };
        (next, Acquire::Granted)
    }

    /// Counts a failure for an attempt that held a slot; the new record and, when this failure locked the
    /// account, the end of the lock.
    pub fn fail(self, policy: &LockoutPolicy, now: Millis) -> (Self, Option<Millis>) {
        let current = self.at(now);
        let failures = current.failures + 1;
        if failures >= policy.max_attempts && current.locked_until <= now {
            let until = now + policy.duration_ms;
            let next = Self { slots: current.slots.max(failures), failures, locked_until: until, expires_at: until };
            return (next, Some(until));
        }
        (Self { failures, expires_at: now + policy.duration_ms, ..current }, None)
    }

    /// Gives back the slot of an attempt that ended without a verdict (the request died between taking it and
    /// the password check): it counts neither as a failure nor against the free slots.
    pub fn release(self, now: Millis) -> Self {
        let current = self.at(now);
        Self { slots: current.slots.saturating_sub(1).max(current.failures), ..current }
    }
}

/// The id a store keeps a login name's lockout under: a SHA-256 of the name salted with `scope` (the table), never
/// the name itself, since what is typed into the username field is sometimes a password.
pub fn stored_id(scope: &str, name: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::new()
        .chain_update(b"cloudmind-lockout\0")
        .chain_update(scope.as_bytes())
        .chain_update(b"\0")
        .chain_update(name.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// Where lockout records live (DynamoDB `LOCKOUT#<username>` TTL items, or memory). Every operation is atomic.
#[async_trait]
pub trait LockoutStore: Send + Sync {
    async fn acquire(&self, username: &str, policy: &LockoutPolicy, now: Millis) -> Result<Acquire, StoreError>;
    /// Counts a failure; `Some(until)` when this failure locked the account.
    async fn record_failure(
        &self,
        username: &str,
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError>;
    /// Clears the record (a successful login, or an admin unlock).
    async fn clear(&self, username: &str) -> Result<(), StoreError>;
    /// Gives back a slot taken by [`LockoutStore::acquire`] whose attempt got no verdict.
    async fn release(&self, username: &str, now: Millis) -> Result<(), StoreError>;
    /// Until when the name is locked at `now` (`None`: it is not), without taking a slot (the admin's view).
    async fn locked_until(&self, username: &str, now: Millis) -> Result<Option<Millis>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LockoutPolicy = LockoutPolicy { max_attempts: 5, duration_ms: 300_000 };

    #[test]
    fn five_failures_lock_for_the_duration() {
        let mut r = LockoutRecord::default();
        let mut locked = None;
        for i in 0..5 {
            let (next, verdict) = r.acquire(&POLICY, 1_000 + i);
            assert_eq!(verdict, Acquire::Granted);
            (r, locked) = next.fail(&POLICY, 1_000 + i);
        }
        assert_eq!(locked, Some(1_004 + 300_000));
        assert_eq!(r.acquire(&POLICY, 2_000).1, Acquire::Locked { until: 301_004 });
        assert_eq!(r.acquire(&POLICY, 301_004).1, Acquire::Granted, "the lock ends on time");
    }

    #[test]
    fn in_flight_attempts_hold_slots_so_a_burst_gets_at_most_five_verdicts() {
        let mut r = LockoutRecord::default();
        let granted = (0..20)
            .filter(|_| {
                let (next, verdict) = r.acquire(&POLICY, 1_000);
                r = next;
                verdict == Acquire::Granted
            })
            .count();
        assert_eq!(granted, 5);
    }

    #[test]
    fn a_released_slot_is_free_again_and_failures_stay() {
        let (r, _) = LockoutRecord::default().acquire(&POLICY, 0);
        let (r, _) = r.fail(&POLICY, 0);
        let (r, _) = r.acquire(&POLICY, 0);
        assert_eq!((r.slots, r.failures), (2, 1));
        let r = r.release(1);
        assert_eq!((r.slots, r.failures), (1, 1));
        assert_eq!(r.release(1).slots, 1, "a counted failure is never released");
    }

    #[test]
    fn a_record_expires_after_the_duration_without_attempts() {
        let (r, _) = LockoutRecord::default().acquire(&POLICY, 0);
        let (r, _) = r.fail(&POLICY, 0);
        assert_eq!(r.at(299_999).failures, 1);
        assert_eq!(r.at(300_000), LockoutRecord::default());
    }
}
