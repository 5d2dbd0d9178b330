//! MFA in memory: the state on the stored users (each change checked and made under the users' lock, like the
//! conditional updates of DynamoDB), and login challenges with their expiry, taken once.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::mfa::{Challenge, MfaState, MfaStore};

use super::lock;
use super::users::MemoryUsers;

/// The most challenges held; past it the expired ones go first, then a new one is refused (503).
const CHALLENGES_CAP: usize = 100_000;

/// MFA state (on [`MemoryUsers`]) and challenges.
#[derive(Debug)]
pub struct MemoryMfa {
    users: std::sync::Arc<MemoryUsers>,
    challenges: Mutex<HashMap<String, Challenge>>,
}

impl MemoryMfa {
    pub fn new(users: std::sync::Arc<MemoryUsers>) -> Self {
        Self { users, challenges: Mutex::new(HashMap::new()) }
    }
}

#[async_trait]
impl MfaStore for MemoryMfa {
    async fn set_pending(&self, username: &str, sealed: &str) -> Result<bool, StoreError> {
        self.users.modify_if(username, |m| !m.enabled, |m| m.pending = Some(sealed.to_string()))
    }

    async fn enable(&self, username: &str, sealed: &str, recovery: &[String], step: u64) -> Result<bool, StoreError> {
        self.users.modify_if(
            username,
            |m| !m.enabled && m.pending.as_deref() == Some(sealed),
            |m| {
                *m = MfaState {
                    enabled: true,
                    secret: m.pending.take(),
                    pending: None,
                    last_step: step,
                    recovery: recovery.to_vec(),
                }
            },
        )
    }

    async fn claim_step(&self, username: &str, step: u64) -> Result<bool, StoreError> {
        self.users.modify_if(username, |m| m.enabled && m.last_step < step, |m| m.last_step = step)
    }

    async fn spend_recovery(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        self.users.modify_if(
            username,
            |m| m.enabled && m.recovery.iter().any(|h| h == hash),
            |m| m.recovery.retain(|h| h != hash),
        )
    }

    async fn disable(&self, username: &str) -> Result<(), StoreError> {
        if self.users.modify_if(username, |_| true, |m| *m = MfaState::default())? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn put_challenge(&self, id: &str, challenge: &Challenge) -> Result<(), StoreError> {
        let mut challenges = lock(&self.challenges);
        if challenges.len() >= CHALLENGES_CAP {
            let now = cloudmind_security::clock::now_ms();
            challenges.retain(|_, c| c.expires_at > now);
            if challenges.len() >= CHALLENGES_CAP {
                return Err(StoreError::unavailable("memory mfa", "too many pending MFA challenges"));
            }
        }
        challenges.insert(id.to_string(), challenge.clone());
        Ok(())
    }

    async fn take_challenge(&self, id: &str, now: Millis) -> Result<Option<Challenge>, StoreError> {
        Ok(lock(&self.challenges).remove(id).filter(|c| c.expires_at > now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmind_security::users::{User, UserStore};
    use std::sync::Arc;

    async fn store() -> MemoryMfa {
        let users = Arc::new(MemoryUsers::default());
        users.create(&User::example("alice")).await.unwrap();
        MemoryMfa::new(users)
    }

    #[tokio::test]
    async fn enrolment_steps_and_recovery_codes_change_only_when_their_condition_holds() {
        let mfa = store().await;
        assert!(mfa.set_pending("alice", "p1").await.unwrap());
        assert!(!mfa.enable("alice", "p0", &["r1".into()], 10).await.unwrap(), "not the pending secret");
        assert!(mfa.enable("alice", "p1", &["r1".into(), "r2".into()], 10).await.unwrap());
        assert!(!mfa.set_pending("alice", "p2").await.unwrap(), "already on");
        assert!(!mfa.claim_step("alice", 10).await.unwrap(), "the confirming step cannot be replayed");
        assert!(mfa.claim_step("alice", 11).await.unwrap());
        assert!(!mfa.claim_step("alice", 11).await.unwrap());
        assert!(mfa.spend_recovery("alice", "r1").await.unwrap());
        assert!(!mfa.spend_recovery("alice", "r1").await.unwrap());
        mfa.disable("alice").await.unwrap();
        assert!(!mfa.claim_step("alice", 12).await.unwrap());
        assert!(matches!(mfa.disable("nobody").await, Err(StoreError::NotFound)));
    }

    #[tokio::test]
    async fn a_challenge_is_taken_once_and_not_after_it_expires() {
        let mfa = store().await;
        let c = Challenge {
            username: "alice".into(),
            expires_at: 1_000,
            remember_device: true,
            device: None,
            generation: 0,
        };
        mfa.put_challenge("a", &c).await.unwrap();
        assert_eq!(mfa.take_challenge("a", 999).await.unwrap(), Some(c.clone()));
        assert_eq!(mfa.take_challenge("a", 999).await.unwrap(), None);
        mfa.put_challenge("b", &c).await.unwrap();
        assert_eq!(mfa.take_challenge("b", 1_000).await.unwrap(), None);
    }
}
