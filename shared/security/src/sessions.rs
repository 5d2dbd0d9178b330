//! Sessions: what a login starts, a refresh token continues and a logout, a password change or a detected reuse
//! ends. Every access token names its session (`sid`); a protected request reads the session with the token's
//! user (one `BatchGetItem`), so revoking a session refuses every access token it issued at once.
//!
//! A refresh token is opaque to clients: base64url of the session id (16 bytes), 32 random bytes and the username,
//! so the server finds its session without an index. Only its SHA-256 is stored. Each refresh spends the presented
//! token and issues the next (single use, a conditional write decides between concurrent refreshes); a spent token
//! presented again is a stolen copy or a replay, and revokes the whole session (outside the reuse grace).

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::clock::Millis;
use crate::store::StoreError;

/// One session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// 128 random bits, hex.
    pub sid: String,
    pub username: String,
    pub created_at: Millis,
    /// The login or the last refresh.
    pub last_used_at: Millis,
    /// No session outlives this (`REFRESH_TOKEN_EXPIRE_MINUTES` after its login).
    pub absolute_expiry: Millis,
    /// The client address of the login.
    pub ip: String,
    /// The user's token generation at the login: a password change bumps the user's, which ends the session.
    pub generation: u64,
    /// SHA-256 (hex) of the live refresh token.
    pub refresh_hash: String,
    /// SHA-256 of the refresh tokens this session spent most recently, the last one spent last: at most
    /// [`SPENT_KEPT`], so the item stays small however long the session lives.
    pub spent: Vec<String>,
    /// When the last refresh token was spent (0: never).
    pub rotated_at: Millis,
    pub revoked: bool,
    /// The trusted device the login was made under (or trusted at it), by id: a re-authentication from this
    /// session (a password change, MFA off) is counted against that device rather than the username's lockout.
    pub device: Option<String>,
}

/// How many spent refresh tokens a session remembers. A spent token is reuse (the session is revoked); one spent
/// longer ago than this many rotations is no longer recognised and is answered like an unknown token (401
/// `unauthorized`, the session untouched). With 30-minute access tokens that is 16 hours of continuous use.
pub const SPENT_KEPT: usize = 32;

/// The token rotated last: what [`SessionRecord::spent`] holds after `presented` is spent too (oldest dropped).
pub fn spent_after(spent: &[String], presented: &str) -> Vec<String> {
    let mut next: Vec<String> = spent.iter().filter(|h| h.as_str() != presented).cloned().collect();
    next.push(presented.to_string());
    let extra = next.len().saturating_sub(SPENT_KEPT);
    next.drain(..extra);
    next
}

impl SessionRecord {
    /// When the session ends unless it is refreshed: idle (`SESSION_TIMEOUT` after its last use) or absolute.
    pub fn ends_at(&self, idle_ms: Millis) -> Millis {
        self.absolute_expiry.min(self.last_used_at.saturating_add(idle_ms))
    }

    /// Whether the session is usable at `now` for a user at `generation`.
    pub fn is_live(&self, idle_ms: Millis, now: Millis, generation: u64) -> bool {
        !self.revoked && now < self.ends_at(idle_ms) && self.generation == generation
    }
}

/// A new refresh token for a session and its stored hash.
pub struct NewRefreshToken {
    pub token: String,
    pub hash: String,
}

/// Mints a refresh token for session `sid` of `username`: 256 random bits between the two.
pub fn new_refresh_token(sid: &str, username: &str) -> Result<NewRefreshToken, StoreError> {
    let sid_bytes = hex::decode(sid).map_err(|e| StoreError::unavailable("refresh token", e))?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| StoreError::unavailable("refresh token", e.to_string()))?;
    let mut raw = Vec::with_capacity(sid_bytes.len() + secret.len() + username.len());
    raw.extend_from_slice(&sid_bytes);
    raw.extend_from_slice(&secret);
    raw.extend_from_slice(username.as_bytes());
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = refresh_hash(&token);
    Ok(NewRefreshToken { token, hash })
}

/// The session a refresh token names, `(sid, username)`, if it has the shape of one.
pub fn refresh_token_session(token: &str) -> Option<(String, String)> {
    if token.len() > 256 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() <= 48 {
        return None;
    }
    let username = std::str::from_utf8(&raw[48..]).ok()?;
    crate::validation::Username::parse(username).ok().filter(|u| u.as_str() == username)?;
    Some((hex::encode(&raw[..16]), username.to_string()))
}

/// What is stored of a refresh token.
pub fn refresh_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new session id: 128 random bits, hex.
pub fn new_session_id() -> String {
    crate::ids::random_hex(16)
}

/// Equality of two hashes in time that does not depend on where they differ.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long an ended session is kept before the store forgets it: a refresh with its token is then still
/// answered `token_expired` or `token_revoked` (and a spent one still detected), not `unauthorized`.
pub const ENDED_SESSION_RETENTION_MS: Millis = 86_400_000;

impl SessionRecord {
    /// When the store may forget the session.
    pub fn forget_at(&self) -> Millis {
        self.absolute_expiry.saturating_add(ENDED_SESSION_RETENTION_MS)
    }
}

/// Sessions by user and id.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session, kept until `ttl` ([`SessionRecord::forget_at`]; never read after it).
    async fn create(&self, session: &SessionRecord, ttl: Millis) -> Result<(), StoreError>;

    /// The session, read consistently.
    async fn get(&self, username: &str, sid: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Spends `presented` and makes `next` the live refresh token, if `presented` is still the live one and the
    /// session is not revoked (atomic: of concurrent rotations with the same token, one succeeds). `spent` is the
    /// session's spent list afterwards ([`spent_after`] of the list read). False if not.
    #[allow(clippy::too_many_arguments)]
    async fn rotate(
        &self,
        username: &str,
        sid: &str,
        presented: &str,
        next: &str,
        spent: &[String],
        now: Millis,
        ttl: Millis,
    ) -> Result<bool, StoreError>;

    /// Revokes the session; true if it was not revoked before.
    async fn revoke(&self, username: &str, sid: &str) -> Result<bool, StoreError>;

    /// Every stored session of the user (live or not), read consistently.
    async fn list(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_locate_their_session_and_are_stored_as_hashes() {
        let sid = new_session_id();
        assert_eq!(sid.len(), 32);
        let a = new_refresh_token(&sid, "alice").unwrap();
        let b = new_refresh_token(&sid, "alice").unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 71, "16 + 32 bytes and the name, base64url");
        assert_eq!(refresh_token_session(&a.token), Some((sid.clone(), "alice".into())));
        assert_eq!(a.hash, refresh_hash(&a.token));
        assert!(!a.hash.contains(&a.token) && a.hash.len() == 64);
        for bad in ["", "x", "not base64!", &"A".repeat(300), &URL_SAFE_NO_PAD.encode([0u8; 48])] {
            assert_eq!(refresh_token_session(bad), None, "{bad}");
        }
        // A username that is not one (upper case, or bytes that are not a username) does not locate anything.
        let mut raw = hex::decode(&sid).unwrap();
        raw.extend_from_slice(&[7u8; 32]);
        raw.extend_from_slice(b"Alice");
        assert_eq!(refresh_token_session(&URL_SAFE_NO_PAD.encode(&raw)), None);
    }

    #[test]
    fn a_session_remembers_its_last_spent_tokens_only() {
        let mut spent = Vec::new();
        for i in 0..100 {
            spent = spent_after(&spent, &format!("h{i}"));
        }
        assert_eq!(spent.len(), SPENT_KEPT);
        assert_eq!(spent.first().map(String::as_str), Some("h68"));
        assert_eq!(spent.last().map(String::as_str), Some("h99"), "the token rotated last is last");
        assert_eq!(spent_after(&spent, "h80").last().map(String::as_str), Some("h80"));
        assert_eq!(spent_after(&spent, "h80").len(), SPENT_KEPT);
    }

    #[test]
    fn a_session_ends_idle_or_absolute_whichever_first_and_with_a_password_change() {
        let s = SessionRecord {
            sid: new_session_id(),
            username: "alice".into(),
            created_at: 0,
            last_used_at: 1_000,
            absolute_expiry: 10_000,
            ip: "127.0.0.1".into(),
            generation: 2,
            refresh_hash: String::new(),
            spent: vec![],
            rotated_at: 0,
            revoked: false,
            device: None,
        };
        assert_eq!(s.ends_at(5_000), 6_000);
        assert_eq!(s.ends_at(50_000), 10_000);
        assert!(s.is_live(5_000, 5_999, 2));
        assert!(!s.is_live(5_000, 6_000, 2));
        assert!(!s.is_live(5_000, 2_000, 3), "a newer generation ends it");
        assert!(!SessionRecord { revoked: true, ..s }.is_live(5_000, 2_000, 2));
        assert!(same_hash("abc", "abc") && !same_hash("abc", "abd") && !same_hash("abc", "ab"));
    }
}
