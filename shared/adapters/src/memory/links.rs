//! Mailed links in memory: one record per user and kind, bounded.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::links::{LinkKind, LinkRecord, LinkStore, same_hash};

use super::lock;

/// The most link records held (two per user at most); past it a new one is refused (503).
const LINKS_CAP: usize = 200_000;

#[derive(Debug, Default)]
pub struct MemoryLinks {
    records: Mutex<HashMap<(String, LinkKind), LinkRecord>>,
}

impl MemoryLinks {
    /// Forgets the user's links (an erasure); how many went.
    pub fn purge(&self, username: &str) -> u64 {
        let mut records = lock(&self.records);
        let before = records.len();
        records.retain(|(name, _), _| name != username);
        (before - records.len()) as u64
    }
}

#[async_trait]
impl LinkStore for MemoryLinks {
    async fn get(&self, username: &str, kind: LinkKind) -> Result<Option<LinkRecord>, StoreError> {
        Ok(lock(&self.records).get(&(username.to_string(), kind)).cloned())
    }

    async fn reserve_send(
        &self,
        username: &str,
        kind: LinkKind,
        seen: &[Millis],
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut records = lock(&self.records);
        if records.len() >= LINKS_CAP && !records.contains_key(&(username.to_string(), kind)) {
            return Err(StoreError::unavailable("memory links", "too many links"));
        }
        let record = records
            .entry((username.to_string(), kind))
            .or_insert_with(|| LinkRecord { username: username.to_string(), ..LinkRecord::default() });
        if record.sends != seen {
            return Ok(false);
        }
        record.sends = record.sends_with(now);
        Ok(true)
    }

    async fn put(&self, kind: LinkKind, record: &LinkRecord) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        let entry = records
            .entry((record.username.clone(), kind))
            .or_insert_with(|| LinkRecord { username: record.username.clone(), ..LinkRecord::default() });
        entry.hash.clone_from(&record.hash);
        entry.email.clone_from(&record.email);
        entry.expires_at = record.expires_at;
        Ok(())
    }

    async fn take(
        &self,
        username: &str,
        kind: LinkKind,
        hash: &str,
        now: Millis,
    ) -> Result<Option<LinkRecord>, StoreError> {
        let mut records = lock(&self.records);
        let Some(record) = records.get_mut(&(username.to_string(), kind)) else { return Ok(None) };
        if record.hash.is_empty() || !same_hash(&record.hash, hash) || record.expires_at <= now {
            return Ok(None);
        }
        let taken = record.clone();
        record.hash.clear();
        Ok(Some(taken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_link_is_taken_once_and_a_newer_one_voids_it() {
        let store = MemoryLinks::default();
        let record = |hash: &str| LinkRecord {
            username: "ada".into(),
            hash: hash.into(),
            email: String::new(),
            expires_at: 2_000,
            sends: Vec::new(),
        };
        store.put(LinkKind::ResetPassword, &record("h1")).await.unwrap();
        store.put(LinkKind::ResetPassword, &record("h2")).await.unwrap();
        assert!(store.take("ada", LinkKind::ResetPassword, "h1", 1_000).await.unwrap().is_none(), "voided");
        assert!(store.take("ada", LinkKind::VerifyEmail, "h2", 1_000).await.unwrap().is_none(), "another kind");
        assert!(store.take("ada", LinkKind::ResetPassword, "h2", 2_000).await.unwrap().is_none(), "expired");
        assert!(store.take("ada", LinkKind::ResetPassword, "h2", 1_000).await.unwrap().is_some());
        assert!(store.take("ada", LinkKind::ResetPassword, "h2", 1_000).await.unwrap().is_none(), "used");
        assert!(store.reserve_send("ada", LinkKind::ResetPassword, &[], 10).await.unwrap());
        assert!(!store.reserve_send("ada", LinkKind::ResetPassword, &[], 11).await.unwrap(), "another got it");
    }
}
