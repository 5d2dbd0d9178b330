//! Users and the ports that store them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::store::StoreError;
use crate::validation::{DisplayName, Email, Username};

/// The role every new user gets.
pub const ROLE_USER: &str = "user";
/// The role the admin API requires.
pub const ROLE_ADMIN: &str = "admin";

/// A stored user. `password_hash` never leaves the process: [`User::public`] is what bodies show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// The normalized (lower-cased) username, the key.
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: Vec<String>,
    pub created_at: Millis,
    /// When the last revoke-all happened (a password change), for the audit view.
    pub tokens_valid_after: Option<Millis>,
    /// Bumped by every revoke-all; tokens carry the value they were issued under.
    pub token_generation: u64,
    pub disabled: bool,
    /// MFA (TOTP) state: sealed secrets, the last step used, recovery-code hashes.
    #[serde(default)]
    pub mfa: MfaState,
    /// The owner followed a verification link sent to `email` (a change of address clears it).
    #[serde(default)]
    pub email_verified: bool,
}

impl User {
    /// A new user with the `user` role: the one constructor of registration and the admin bootstrap, from values
    /// that passed validation and a hash made under the current parameters.
    pub fn new(
        username: Username,
        email: Email,
        display_name: DisplayName,
        password_hash: String,
        now: Millis,
    ) -> Self {
        Self {
            id: crate::ids::uuid_v4(),
            username: username.into_inner(),
            email: email.into_inner(),
            display_name: display_name.into_inner(),
            password_hash,
            roles: vec![ROLE_USER.into()],
            created_at: now,
            tokens_valid_after: None,
            token_generation: 0,
            disabled: false,
            mfa: MfaState::default(),
            email_verified: false,
        }
    }

    /// The same user with the `admin` role as well.
    pub fn with_admin_role(mut self) -> Self {
        if !self.has_role(ROLE_ADMIN) {
            self.roles.push(ROLE_ADMIN.into());
        }
        self
    }

    /// The user as the API shows it: never the hash, never the generation.
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "display_name": self.display_name,
            "roles": self.roles,
            "created_at": rfc3339(self.created_at),
            "mfa_enabled": self.mfa.enabled,
            "email_verified": self.email_verified,
        })
    }

    /// The user as an administrator sees it: [`User::public`] with `disabled` and `locked` (the lockout, read by the
    /// caller).
    pub fn admin_view(&self, locked: bool) -> Value {
        let mut view = self.public();
        view["disabled"] = json!(self.disabled);
        view["locked"] = json!(locked);
        view
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// A user for tests and examples (the hash is not a real one).
    pub fn example(username: &str) -> Self {
        Self {
            id: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f".into(),
            username: username.into(),
            email: format!("{username}@example.com"),
            display_name: username.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            roles: vec![ROLE_USER.into()],
            created_at: 1_800_000_000_000,
            tokens_valid_after: None,
            token_generation: 0,
            disabled: false,
            mfa: MfaState::default(),
            email_verified: false,
        }
    }
}

/// A change to a user's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub email: Option<String>,
}

/// Where users live (DynamoDB `UsersTable`, or memory).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; [`StoreError::Conflict`] when the username exists.
    async fn create(&self, user: &User) -> Result<(), StoreError>;
    /// The user with this normalized username (strongly consistent).
    async fn get(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Applies a profile change and returns the updated user; [`StoreError::NotFound`] when gone.
    async fn update_profile(&self, username: &str, change: &ProfileChange) -> Result<User, StoreError>;
    /// Replaces the password hash. With `revoke_all` it also bumps the token generation and records `now` as
    /// `tokens_valid_after`, so every token issued before is refused.
    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
        revoke_all: bool,
        now: Millis,
    ) -> Result<User, StoreError>;
    /// Replaces the password hash `old` with `new` (a re-hash under the current parameters, same password), if it
    /// is still `old`: a login's re-hash never overwrites a password changed meanwhile. `false` when it changed.
    async fn rehash(&self, username: &str, old: &str, new: &str) -> Result<bool, StoreError>;
    /// Grants a role (used to create the first admin).
    async fn add_role(&self, username: &str, role: &str) -> Result<User, StoreError>;
    /// Marks the address verified if it is still `email` (a link for an address changed since verifies nothing):
    /// the updated user, or `None` when the address changed or the user is gone.
    async fn set_email_verified(&self, username: &str, email: &str) -> Result<Option<User>, StoreError>;
    /// Disables or enables the account. Disabling also bumps the token generation (at `now`), so every session,
    /// access token, device token and pending MFA step of the user ends at once.
    async fn set_disabled(&self, username: &str, disabled: bool, now: Millis) -> Result<User, StoreError>;
    /// Users in username order whose name starts with `prefix`, after the username `after` (exclusive), at most
    /// `limit`; the second value is the last username of the page when more may follow.
    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<User>, Option<String>), StoreError>;
    /// Every account whose address is `email` (compared as stored: the domain lower-cased).
    async fn by_email(&self, email: &str) -> Result<Vec<User>, StoreError>;
    /// Deletes the user item (the last step of an erasure); `false` when it was already gone.
    async fn delete(&self, username: &str) -> Result<bool, StoreError>;
    /// A cheap round trip to the store, for `/health`.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A user's MFA state (on the user item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaState {
    pub enabled: bool,
    /// The enrolled secret, sealed.
    pub secret: Option<String>,
    /// An enrolment waiting for its first code, sealed.
    pub pending: Option<String>,
    /// The last time step accepted; codes of this step or earlier are refused.
    pub last_step: u64,
    /// Keyed hashes of the unused recovery codes.
    pub recovery: Vec<String>,
}

/// What a protected request needs to know beyond the signature, fetched in one round trip.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token's user as stored now (roles, generation, profile), if it still exists.
    pub user: Option<User>,
    /// The token's session as stored now, if it still exists.
    pub session: Option<crate::sessions::SessionRecord>,
}

/// Reads a token's session and its user together (one `BatchGetItem` on DynamoDB): what a protected request and a
/// refresh need to know beyond the signature. A revoked session is the denylist of every token it issued.
#[async_trait]
pub trait SessionLookup: Send + Sync {
    async fn lookup(&self, username: &str, sid: &str, now: Millis) -> Result<Session, StoreError>;
}
