//! Users, and the session lookup that reads a token's session and user at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::users::{ProfileChange, Session, SessionLookup, User, UserStore};

use super::lock;

/// The most users the in-memory store holds (each holds a hash and a profile, under 1 KiB); beyond it a
/// registration is refused as a store that is full (503), never by dropping an account.
const USERS_CAP: usize = 100_000;

/// Users keyed by normalized username, bounded.
#[derive(Debug)]
pub struct MemoryUsers {
    users: Mutex<HashMap<String, User>>,
    cap: usize,
}

impl Default for MemoryUsers {
    fn default() -> Self {
        Self::with_cap(USERS_CAP)
    }
}

impl MemoryUsers {
    pub fn with_cap(cap: usize) -> Self {
        Self { users: Mutex::new(HashMap::new()), cap: cap.max(1) }
    }

    /// Changes a user's MFA state if `condition` holds, atomically; `Ok(false)` when it does not or the user is gone.
    pub(super) fn modify_if(
        &self,
        username: &str,
        condition: impl FnOnce(&cloudmind_security::mfa::MfaState) -> bool,
        change: impl FnOnce(&mut cloudmind_security::mfa::MfaState),
    ) -> Result<bool, StoreError> {
        let mut users = lock(&self.users);
        let Some(user) = users.get_mut(username) else { return Ok(false) };
        if !condition(&user.mfa) {
            return Ok(false);
        }
        change(&mut user.mfa);
        Ok(true)
    }

    fn modify(&self, username: &str, f: impl FnOnce(&mut User)) -> Result<User, StoreError> {
        let mut users = lock(&self.users);
        let user = users.get_mut(username).ok_or(StoreError::NotFound)?;
        f(user);
        Ok(user.clone())
    }
}

#[async_trait]
impl UserStore for MemoryUsers {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        if users.contains_key(&user.username) {
            return Err(StoreError::Conflict);
        }
        if users.len() >= self.cap {
            return Err(StoreError::unavailable("memory users", "the in-memory user store is full"));
        }
        users.insert(user.username.clone(), user.clone());
        Ok(())
    }

    async fn get(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(lock(&self.users).get(username).cloned())
    }

    async fn update_profile(&self, username: &str, change: &ProfileChange) -> Result<User, StoreError> {
        self.modify(username, |u| {
            if let Some(name) = &change.display_name {
                u.display_name = name.clone();
            }
            if let Some(email) = &change.email
                && *email != u.email
            {
                u.email = email.clone();
                u.email_verified = false;
            }
        })
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
        revoke_all: bool,
        now: Millis,
    ) -> Result<User, StoreError> {
        self.modify(username, |u| {
            u.password_hash = password_hash.to_string();
            if revoke_all {
                u.token_generation += 1;
                u.tokens_valid_after = Some(now);
            }
        })
    }

    async fn rehash(&self, username: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        let mut users = lock(&self.users);
        Ok(match users.get_mut(username) {
            Some(u) if u.password_hash == old => {
                u.password_hash = new.to_string();
                true
            }
            _ => false,
        })
    }

    async fn add_role(&self, username: &str, role: &str) -> Result<User, StoreError> {
        self.modify(username, |u| {
            if !u.has_role(role) {
                u.roles.push(role.to_string());
            }
        })
    }

    async fn set_email_verified(&self, username: &str, email: &str) -> Result<Option<User>, StoreError> {
        let mut users = lock(&self.users);
        Ok(users.get_mut(username).filter(|u| u.email == email).map(|u| {
            u.email_verified = true;
            u.clone()
        }))
    }

    async fn set_disabled(&self, username: &str, disabled: bool, now: Millis) -> Result<User, StoreError> {
        self.modify(username, |u| {
            u.disabled = disabled;
            if disabled {
                u.token_generation += 1;
                u.tokens_valid_after = Some(now);
            }
        })
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        let users = lock(&self.users);
        let mut names: Vec<&String> =
            users.keys().filter(|name| name.starts_with(prefix) && after.is_none_or(|a| name.as_str() > a)).collect();
        names.sort();
        let more = names.len() > limit;
        let page: Vec<User> = names.into_iter().take(limit).filter_map(|n| users.get(n).cloned()).collect();
        let next = if more { page.last().map(|u| u.username.clone()) } else { None };
        Ok((page, next))
    }

    async fn by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        let mut found: Vec<User> = lock(&self.users).values().filter(|u| u.email == email).cloned().collect();
        found.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(found)
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.users).remove(username).is_some())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        drop(lock(&self.users));
        Ok(())
    }
}

/// Reads a token's session and its user.
#[derive(Debug, Clone)]
pub struct MemorySessions {
    pub users: Arc<MemoryUsers>,
    pub records: Arc<super::MemorySessionStore>,
}

#[async_trait]
impl SessionLookup for MemorySessions {
    async fn lookup(&self, username: &str, sid: &str, now: Millis) -> Result<Session, StoreError> {
        Ok(Session { user: self.users.get(username).await?, session: self.records.read(username, sid, now) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_user_store_is_bounded_and_refuses_rather_than_drops() {
        let store = MemoryUsers::with_cap(2);
        store.create(&User::example("a")).await.unwrap();
        store.create(&User::example("b")).await.unwrap();
        assert!(matches!(store.create(&User::example("c")).await, Err(StoreError::Unavailable { .. })));
        assert!(store.get("a").await.unwrap().is_some() && store.get("b").await.unwrap().is_some());
        assert!(matches!(store.create(&User::example("a")).await, Err(StoreError::Conflict)));
    }

    #[tokio::test]
    async fn usernames_are_unique() {
        let users = MemoryUsers::default();
        users.create(&User::example("alice")).await.unwrap();
        assert!(matches!(users.create(&User::example("alice")).await, Err(StoreError::Conflict)));
    }

    #[tokio::test]
    async fn a_password_change_with_revoke_all_bumps_the_generation() {
        let users = MemoryUsers::default();
        users.create(&User::example("alice")).await.unwrap();
        let u = users.set_password_hash("alice", "h2", false, 5).await.unwrap();
        assert_eq!((u.token_generation, u.tokens_valid_after), (0, None));
        let u = users.set_password_hash("alice", "h3", true, 6).await.unwrap();
        assert_eq!((u.token_generation, u.tokens_valid_after, u.password_hash.as_str()), (1, Some(6), "h3"));
        assert!(matches!(users.set_password_hash("bob", "h", true, 6).await, Err(StoreError::NotFound)));
    }
}
