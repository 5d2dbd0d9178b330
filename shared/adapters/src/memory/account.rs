//! What is stored under a user in memory, across the stores that hold it.

use std::sync::Arc;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::account::AccountData;
use cloudmind_security::devices::DeviceRecord;

use super::{MemoryDevices, MemoryLinks, MemorySessionStore};

/// The memory stores that hold a user's sessions, devices and links.
#[derive(Debug, Clone)]
pub struct MemoryAccountData {
    pub sessions: Arc<MemorySessionStore>,
    pub devices: Arc<MemoryDevices>,
    pub links: Arc<MemoryLinks>,
}

#[async_trait]
impl AccountData for MemoryAccountData {
    async fn purge(&self, username: &str, _email: &str) -> Result<u64, StoreError> {
        Ok(self.sessions.purge(username) + self.devices.purge(username) + self.links.purge(username))
    }

    async fn devices(&self, username: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        Ok(self.devices.of_user(username))
    }
}
