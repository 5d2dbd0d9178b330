//! DynamoDB: `UsersTable` (key `username`) and `SecurityTable` (key `pk`, `sk`; TTL attribute `expires_at`, epoch
//! seconds) holding `TOKEN#<jti>` denylist items, `LOCKOUT#<hash of the name>` counters, `USER#<username>`/`SESSION#<sid>`
//! sessions and `EVENT#<day>` audit events.
//!
//! Reads that a security decision depends on are strongly consistent, and an item whose expiry has passed is
//! treated as absent (DynamoDB deletes expired items lazily, within days). Lockout slots and failures are single
//! conditional `UpdateItem`s; a protected request's session lookup is one `BatchGetItem` over both tables.

mod devices;
mod events;
mod items;
mod lockouts;
mod mfa;
mod sessions;
mod tokens;
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
}

impl DynamoStore {
    pub fn new(client: Client, users_table: impl Into<String>, security_table: impl Into<String>) -> Self {
        Self { client, users: users_table.into(), security: security_table.into() }
    }

    /// Writes one item (a denylist entry, an audit event) to the security table.
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
