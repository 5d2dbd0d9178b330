//! Trusted devices in memory: records by token hash with their expiry, and the per-user revoke-all marks.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::devices::{DeviceRecord, DeviceStore};

use super::lock;

/// The most devices held; past it the expired ones go first, then a new one is refused (503).
const DEVICES_CAP: usize = 200_000;

#[derive(Debug, Default)]
pub struct MemoryDevices {
    devices: Mutex<HashMap<String, DeviceRecord>>,
    /// username → (revoked up to, mark kept until).
    marks: Mutex<HashMap<String, (Millis, Millis)>>,
}

#[async_trait]
impl DeviceStore for MemoryDevices {
    async fn put(&self, id: &str, record: &DeviceRecord) -> Result<(), StoreError> {
        let mut devices = lock(&self.devices);
        if devices.len() >= DEVICES_CAP {
            devices.retain(|_, d| d.expires_at > record.issued_at);
            if devices.len() >= DEVICES_CAP {
                return Err(StoreError::unavailable("memory devices", "too many trusted devices"));
            }
        }
        devices.insert(id.to_string(), record.clone());
        Ok(())
    }

    async fn get(&self, id: &str, username: &str, now: Millis) -> Result<Option<DeviceRecord>, StoreError> {
        let mark = lock(&self.marks).get(username).filter(|(_, keep)| *keep > now).map(|(after, _)| *after);
        let device = lock(&self.devices).get(id).cloned();
        Ok(device
            .filter(|d| d.username == username && d.expires_at > now && mark.is_none_or(|after| d.issued_at > after)))
    }

    async fn revoke(&self, username: &str, id: &str) -> Result<(), StoreError> {
        let mut devices = lock(&self.devices);
        if devices.get(id).is_some_and(|d| d.username == username) {
            devices.remove(id);
        }
        Ok(())
    }

    async fn revoke_all(&self, username: &str, now: Millis, keep_ms: Millis) -> Result<(), StoreError> {
        lock(&self.marks).insert(username.to_string(), (now, now.saturating_add(keep_ms)));
        lock(&self.devices).retain(|_, d| d.username != username || d.issued_at > now);
        Ok(())
    }
}

impl MemoryDevices {
    /// The user's live devices (an export).
    pub fn of_user(&self, username: &str) -> Vec<DeviceRecord> {
        lock(&self.devices).values().filter(|d| d.username == username).cloned().collect()
    }

    /// Forgets the user's devices and mark (an erasure); how many entries went.
    pub fn purge(&self, username: &str) -> u64 {
        let mut devices = lock(&self.devices);
        let before = devices.len();
        devices.retain(|_, d| d.username != username);
        let gone = before - devices.len() + usize::from(lock(&self.marks).remove(username).is_some());
        gone as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(username: &str, issued_at: Millis) -> DeviceRecord {
        DeviceRecord { username: username.into(), issued_at, expires_at: issued_at + 1_000 }
    }

    #[tokio::test]
    async fn a_device_serves_its_user_until_it_expires_or_is_revoked() {
        let store = MemoryDevices::default();
        store.put("a", &record("alice", 100)).await.unwrap();
        assert!(store.get("a", "alice", 500).await.unwrap().is_some());
        assert!(store.get("a", "bob", 500).await.unwrap().is_none(), "another user's device is ignored");
        assert!(store.get("a", "alice", 1_100).await.unwrap().is_none(), "expired");
        store.revoke_all("alice", 200, 10_000).await.unwrap();
        assert!(store.get("a", "alice", 500).await.unwrap().is_none());
        store.put("b", &record("alice", 300)).await.unwrap();
        assert!(store.get("b", "alice", 500).await.unwrap().is_some(), "issued after the revoke-all");
        store.revoke("bob", "b").await.unwrap();
        assert!(store.get("b", "alice", 500).await.unwrap().is_some(), "only its user revokes a device");
        store.revoke("alice", "b").await.unwrap();
        assert!(store.get("b", "alice", 500).await.unwrap().is_none());
    }
}
