//! Lockout records, bounded: at the cap, expired records go first, then unlocked ones, fewest failures first and
//! then closest to expiry; records of locked accounts are kept. So a flood of new names (one guess each) evicts its
//! own records before it can reset a victim's count: reaching a record with four failures takes a store full of
//! records with four failures, that is four guesses per name through the rate limits.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::lockout::{Acquire, LockoutPolicy, LockoutRecord, LockoutStore};

use super::lock;

const LOCKOUT_CAP: usize = 200_000;

#[derive(Debug)]
pub struct MemoryLockouts {
    records: Mutex<HashMap<String, LockoutRecord>>,
    cap: usize,
}

impl Default for MemoryLockouts {
    fn default() -> Self {
        Self::with_cap(LOCKOUT_CAP)
    }
}

impl MemoryLockouts {
    pub fn with_cap(cap: usize) -> Self {
        Self { records: Mutex::new(HashMap::new()), cap: cap.max(8) }
    }

    /// The record of `username` as it stands at `now`.
    pub fn record(&self, username: &str, now: Millis) -> LockoutRecord {
        lock(&self.records).get(username).copied().unwrap_or_default().at(now)
    }

    fn make_room(records: &mut HashMap<String, LockoutRecord>, cap: usize, now: Millis) {
        if records.len() < cap {
            return;
        }
        records.retain(|_, r| r.expires_at > now);
        if records.len() < cap {
            return;
        }
        // Evict an eighth of the unlocked records, fewest failures first, then closest to expiry, so the scan is
        // amortized.
        let mut unlocked: Vec<(u32, Millis, String)> = records
            .iter()
            .filter(|(_, r)| r.locked_until <= now)
            .map(|(k, r)| (r.failures, r.expires_at, k.clone()))
            .collect();
        unlocked.sort_unstable();
        for (_, _, key) in unlocked.into_iter().take((cap / 8).max(1)) {
            records.remove(&key);
        }
    }
}

#[async_trait]
impl LockoutStore for MemoryLockouts {
    async fn acquire(&self, username: &str, policy: &LockoutPolicy, now: Millis) -> Result<Acquire, StoreError> {
        let mut records = lock(&self.records);
        if !records.contains_key(username) {
            Self::make_room(&mut records, self.cap, now);
        }
        let current = records.get(username).copied().unwrap_or_default();
        let (next, verdict) = current.acquire(policy, now);
        records.insert(username.to_string(), next);
        Ok(verdict)
    }

    async fn record_failure(
        &self,
        username: &str,
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let mut records = lock(&self.records);
        let current = records.get(username).copied().unwrap_or_default();
        let (next, locked) = current.fail(policy, now);
        records.insert(username.to_string(), next);
        Ok(locked)
    }

    async fn clear(&self, username: &str) -> Result<(), StoreError> {
        lock(&self.records).remove(username);
        Ok(())
    }

    async fn locked_until(&self, username: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        let record = lock(&self.records).get(username).copied().unwrap_or_default().at(now);
        Ok((record.locked_until > now).then_some(record.locked_until))
    }

    async fn release(&self, username: &str, now: Millis) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        if let Some(record) = records.get_mut(username) {
            *record = record.release(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const POLICY: LockoutPolicy = LockoutPolicy { max_attempts: 5, duration_ms: 300_000 };

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_attempts_get_at_most_five_slots() {
        let store = Arc::new(MemoryLockouts::default());
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(async move { s.acquire("alice", &POLICY, 1_000).await.unwrap() })
            })
            .collect();
        let mut granted = 0;
        for t in tasks {
            if t.await.unwrap() == Acquire::Granted {
                granted += 1;
            }
        }
        assert_eq!(granted, 5);
    }

    #[tokio::test]
    async fn clear_unlocks() {
        let store = MemoryLockouts::default();
        for _ in 0..5 {
            store.acquire("bob", &POLICY, 0).await.unwrap();
            store.record_failure("bob", &POLICY, 0).await.unwrap();
        }
        assert!(matches!(store.acquire("bob", &POLICY, 1).await.unwrap(), Acquire::Locked { .. }));
        store.clear("bob").await.unwrap();
        assert_eq!(store.acquire("bob", &POLICY, 1).await.unwrap(), Acquire::Granted);
    }

    #[tokio::test]
    async fn a_flood_of_new_names_cannot_reset_a_victims_failure_count() {
        let store = MemoryLockouts::with_cap(64);
        for _ in 0..4 {
            store.acquire("victim", &POLICY, 0).await.unwrap();
            store.record_failure("victim", &POLICY, 0).await.unwrap();
        }
        // The flood's records are younger (they would expire later) but hold fewer failures.
        for i in 0..10_000 {
            let name = format!("flood{i}");
            store.acquire(&name, &POLICY, 1).await.unwrap();
            store.record_failure(&name, &POLICY, 1).await.unwrap();
        }
        assert_eq!(store.record("victim", 2).failures, 4, "the victim's count survived");
        store.acquire("victim", &POLICY, 2).await.unwrap();
        assert!(store.record_failure("victim", &POLICY, 2).await.unwrap().is_some(), "the fifth failure locks");
    }

    #[tokio::test]
    async fn a_flood_of_names_stays_under_the_cap_and_keeps_locked_accounts() {
        let store = MemoryLockouts::with_cap(64);
        for _ in 0..5 {
            store.acquire("victim", &POLICY, 0).await.unwrap();
            store.record_failure("victim", &POLICY, 0).await.unwrap();
        }
        for i in 0..10_000 {
            store.acquire(&format!("flood-{i}"), &POLICY, 1).await.unwrap();
        }
        assert!(lock(&store.records).len() <= 64);
        assert!(store.record("victim", 2).locked_until > 2);
    }
}
