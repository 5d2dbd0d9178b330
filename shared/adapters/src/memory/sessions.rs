//! Sessions in memory: each kept until the store may forget it (a day past its absolute end), bounded.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::{Millis, now_ms};
use cloudmind_security::sessions::{SessionRecord, SessionStore, same_hash};

use super::lock;

/// The most sessions kept; at the cap, ended ones are evicted, and if none are, a login is refused (503) rather
/// than a live session dropped.
const SESSIONS_CAP: usize = 1_000_000;

/// Sessions keyed by (username, sid), each with the time it may be forgotten.
#[derive(Debug)]
pub struct MemorySessionStore {
    sessions: Mutex<HashMap<(String, String), (SessionRecord, Millis)>>,
    cap: usize,
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        Self::with_cap(SESSIONS_CAP)
    }
}

impl MemorySessionStore {
    pub fn with_cap(cap: usize) -> Self {
        Self { sessions: Mutex::new(HashMap::new()), cap: cap.max(1) }
    }

    /// The session as stored, if it has not passed its time to be forgotten.
    pub fn read(&self, username: &str, sid: &str, now: Millis) -> Option<SessionRecord> {
        let sessions = lock(&self.sessions);
        sessions.get(&(username.to_string(), sid.to_string())).filter(|(_, ttl)| *ttl > now).map(|(s, _)| s.clone())
    }
}

impl MemorySessionStore {
    /// Forgets every session of the user (an erasure); how many went.
    pub fn purge(&self, username: &str) -> u64 {
        let mut sessions = lock(&self.sessions);
        let before = sessions.len();
        sessions.retain(|(name, _), _| name != username);
        (before - sessions.len()) as u64
    }
}

fn key(username: &str, sid: &str) -> (String, String) {
    (username.to_string(), sid.to_string())
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, session: &SessionRecord, ttl: Millis) -> Result<(), StoreError> {
        let now = now_ms();
        let mut sessions = lock(&self.sessions);
        if sessions.len() >= self.cap {
            sessions.retain(|_, (_, t)| *t > now);
            if sessions.len() >= self.cap {
                return Err(StoreError::unavailable("memory sessions", "full"));
            }
        }
        sessions.insert(key(&session.username, &session.sid), (session.clone(), ttl));
        Ok(())
    }

    async fn get(&self, username: &str, sid: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.read(username, sid, now_ms()))
    }

    async fn rotate(
        &self,
        username: &str,
        sid: &str,
        presented: &str,
        next: &str,
        spent: &[String],
        now: Millis,
        ttl: Millis,
    ) -> Result<bool, StoreError> {
        let mut sessions = lock(&self.sessions);
        let Some((s, t)) = sessions.get_mut(&key(username, sid)).filter(|(_, t)| *t > now) else { return Ok(false) };
        if s.revoked || s.absolute_expiry <= now || !same_hash(&s.refresh_hash, presented) {
            return Ok(false);
        }
        s.refresh_hash = next.to_string();
        s.spent = spent.to_vec();
        s.last_used_at = now;
        s.rotated_at = now;
        *t = ttl;
        Ok(true)
    }

    async fn revoke(&self, username: &str, sid: &str) -> Result<bool, StoreError> {
        let mut sessions = lock(&self.sessions);
        Ok(match sessions.get_mut(&key(username, sid)) {
            Some((s, _)) => !std::mem::replace(&mut s.revoked, true),
            None => false,
        })
    }

    async fn list(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let now = now_ms();
        let sessions = lock(&self.sessions);
        Ok(sessions.iter().filter(|((u, _), (_, t))| u == username && *t > now).map(|(_, (s, _))| s.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sid: &str, hash: &str) -> SessionRecord {
        SessionRecord {
            sid: sid.into(),
            username: "alice".into(),
            created_at: 1,
            last_used_at: 1,
            absolute_expiry: u64::MAX,
            ip: "127.0.0.1".into(),
            generation: 0,
            refresh_hash: hash.into(),
            spent: vec![],
            rotated_at: 0,
            revoked: false,
            device: None,
        }
    }

    #[tokio::test]
    async fn a_refresh_token_rotates_once_and_a_revoked_session_never() {
        let store = MemorySessionStore::default();
        store.create(&record("s1", "h1"), u64::MAX).await.unwrap();
        let spent = ["h1".to_string()];
        assert!(store.rotate("alice", "s1", "h1", "h2", &spent, 5, u64::MAX).await.unwrap());
        assert!(!store.rotate("alice", "s1", "h1", "h3", &spent, 6, u64::MAX).await.unwrap(), "h1 is spent");
        let s = store.get("alice", "s1").await.unwrap().unwrap();
        assert_eq!((s.refresh_hash.as_str(), s.spent.as_slice(), s.rotated_at), ("h2", &["h1".to_string()][..], 5));
        assert!(store.revoke("alice", "s1").await.unwrap());
        assert!(!store.revoke("alice", "s1").await.unwrap(), "already revoked");
        assert!(!store.rotate("alice", "s1", "h2", "h4", &spent, 7, u64::MAX).await.unwrap());
        assert_eq!(store.list("alice").await.unwrap().len(), 1);
        assert!(store.list("bob").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn sessions_past_their_time_are_gone_and_make_room() {
        let store = MemorySessionStore::with_cap(1);
        store.create(&record("old", "h"), 1).await.unwrap();
        assert_eq!(store.get("alice", "old").await.unwrap(), None);
        store.create(&record("new", "h"), u64::MAX).await.unwrap();
        assert!(matches!(store.create(&record("more", "h"), u64::MAX).await, Err(StoreError::Unavailable { .. })));
    }
}
