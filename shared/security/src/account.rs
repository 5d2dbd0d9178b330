//! An account's end: erasure (the admin's `DELETE /api/v1/admin/users/{username}` and the owner's `DELETE
//! /api/v1/me`), and what an export gathers besides the user.
//!
//! Erasure runs in an order that leaves nothing a login could use at any point where it might stop: first the user
//! is disabled and its token generation bumped (one conditional write: every session, access token, device token
//! and pending MFA step is void from then on), then everything stored under the user goes (sessions, trusted
//! devices, links, the address index, the lockout), then its audit events are renamed to a pseudonym, and last the
//! user item itself, which frees the username. Run again after a crash, it finishes the job.

use async_trait::async_trait;

use crate::clock::Millis;
use crate::devices::DeviceRecord;
use crate::events::EventSink;
use crate::lockout::LockoutStore;
use crate::store::StoreError;
use crate::users::UserStore;

/// What is stored under a user besides the user item and the audit trail.
#[async_trait]
pub trait AccountData: Send + Sync {
    /// Deletes it all: sessions, trusted devices and their revocation mark, links, the index entry of `email`.
    /// The number of items deleted.
    async fn purge(&self, username: &str, email: &str) -> Result<u64, StoreError>;
    /// The user's trusted devices (for an export; their tokens are not stored, only their hashes).
    async fn devices(&self, username: &str) -> Result<Vec<DeviceRecord>, StoreError>;
}

/// What an erasure touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub pseudonym: String,
    pub items: u64,
    pub events: u64,
}

/// The stores an erasure goes through.
pub struct Stores<'a> {
    pub users: &'a dyn UserStore,
    pub account: &'a dyn AccountData,
    pub lockouts: &'a dyn LockoutStore,
    pub events: &'a dyn EventSink,
}

/// Erases `username` (see the module's documentation); [`StoreError::NotFound`] when there is no such user.
/// `pseudonym` names it in the audit trail from now on.
pub async fn erase(
    stores: &Stores<'_>,
    username: &str,
    pseudonym: impl FnOnce(&str) -> String,
    now: Millis,
) -> Result<Erased, StoreError> {
    let user = stores.users.set_disabled(username, true, now).await?;
    let pseudonym = pseudonym(&user.id);
    let items = stores.account.purge(username, &user.email).await?;
    stores.lockouts.clear(username).await?;
    let events = stores.events.pseudonymize(username, &pseudonym).await?;
    stores.users.delete(username).await?;
    Ok(Erased { pseudonym, items, events })
}
