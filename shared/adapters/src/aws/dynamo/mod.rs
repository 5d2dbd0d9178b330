//! DynamoDB: `UsersTable` (key `username`) and `SecurityTable` (key `pk`, `sk`; TTL attribute `expires_at`, epoch
//! seconds) holding `LOCKOUT#<hash of the name>` counters, `USER#<username>`/`SESSION#<sid>` sessions (a revoked
//! session is the denylist of every token it issued) and `EVENT#<shard>` audit events (indexed by type and by user: `events.rs`).
//!
//! Reads that a security decision depends on are strongly consistent, and an item whose expiry has passed is
//! treated as absent (DynamoDB deletes expired items lazily, within days). Lockout slots and failures are single
//! conditional `UpdateItem`s; a protected request's session lookup is one `BatchGetItem` over both tables.

mod account;
mod devices;
mod events;
mod links;
pub mod mailjobs;

pub use self::events::BY_TYPE;
pub use self::users::BY_NAME;
mod items;
mod lockouts;
mod lookup;
mod mfa;
mod sessions;
mod users;

use aws_sdk_dynamodb::Client;
use cloudmind_security::StoreError;

use self::items::{Item, unavailable};

/// Every DynamoDB-backed port, over one client.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    /// The users table's name.
    users: String,
    /// The security table's name.
    security: String,
    /// How many partitions the audit trail is written over (`AUDIT_SHARDS`).
    audit_shards: usize,
}

/// The audit trail's partitions unless configured: 16 × 1,000 writes a second.
pub const DEFAULT_AUDIT_SHARDS: usize = 16;

impl DynamoStore {
    pub fn new(client: Client, users_table: impl Into<String>, security_table: impl Into<String>) -> Self {
        Self { client, users: users_table.into(), security: security_table.into(), audit_shards: DEFAULT_AUDIT_SHARDS }
    }

    /// The same store writing the audit trail over `shards` partitions (at least one).
    pub fn with_audit_shards(mut self, shards: usize) -> Self {
        self.audit_shards = shards.max(1);
        self
    }

    /// Writes items to the security table in one `BatchWriteItem` (retrying what it leaves unprocessed).
    async fn put_security_items(&self, items: Vec<Item>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::unavailable("dynamodb BatchWriteItem", e))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for _ in 0..3 {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.security, requests)
                .send()
                .await
                .map_err(|e| unavailable("dynamodb BatchWriteItem", e))?;
            match out.unprocessed_items.and_then(|mut u| u.remove(&self.security)).filter(|r| !r.is_empty()) {
                Some(rest) => requests = rest,
                None => return Ok(()),
            }
        }
        Err(StoreError::unavailable("dynamodb BatchWriteItem", "items left unprocessed after three attempts"))
    }

    /// Writes one item to the security table.
    async fn put_security(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.security)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("dynamodb PutItem", e))
    }
}
