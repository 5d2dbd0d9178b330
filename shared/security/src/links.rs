//! Links sent by mail: e-mail verification and password reset (API.md v1.2).
//!
//! A link carries a token of 256 random bits with the username it was made for (base64url of a length byte, the
//! name and the random bytes, so the store finds its record without an index), stored only as its SHA-256. One link
//! of each kind per user is live: a newer one replaces (voids) the older. Taking a link is one conditional write,
//! so of concurrent uses with one token exactly one succeeds. The record also remembers when messages of its kind
//! were sent, which bounds them: at most one a minute and five a day per user.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::clock::Millis;
use crate::store::StoreError;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    VerifyEmail,
    ResetPassword,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify",
            Self::ResetPassword => "reset",
        }
    }
}

/// The most messages of one kind a user gets in a day, and the least time between two.
pub const SENDS_PER_DAY: usize = 5;
pub const SEND_GAP_MS: Millis = 60_000;
const DAY_MS: Millis = 86_400_000;

/// A user's live link of one kind, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkRecord {
    pub username: String,
    /// SHA-256 (hex) of the live token; empty when none is live (used, or only a send reserved so far).
    pub hash: String,
    /// The address a verification link is for (a change of address voids it); empty for a reset.
    pub email: String,
    pub expires_at: Millis,
    /// When messages of this kind were sent in the last day, oldest first.
    pub sends: Vec<Millis>,
}

impl LinkRecord {
    /// How long until another message of this kind may go (0: now).
    pub fn wait_before_send(&self, now: Millis) -> Millis {
        let recent: Vec<Millis> = self.sends.iter().copied().filter(|&t| t + DAY_MS > now).collect();
        let gap = recent.last().map_or(0, |&last| (last + SEND_GAP_MS).saturating_sub(now));
        let day = if recent.len() >= SENDS_PER_DAY { (recent[0] + DAY_MS).saturating_sub(now) } else { 0 };
        gap.max(day)
    }

    /// The sends of the last day with `now` added.
    pub fn sends_with(&self, now: Millis) -> Vec<Millis> {
        let mut sends: Vec<Millis> = self.sends.iter().copied().filter(|&t| t + DAY_MS > now).collect();
        sends.push(now);
        let extra = sends.len().saturating_sub(SENDS_PER_DAY);
        sends.drain(..extra);
        sends
    }
}

/// Where links live (the security table under the user, or memory).
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// The user's link record of `kind`, live or not.
    async fn get(&self, username: &str, kind: LinkKind) -> Result<Option<LinkRecord>, StoreError>;
    /// Reserves a send at `now` if the record's sends still match `seen` (what the caller read): `false` when a
    /// concurrent request reserved one first.
    async fn reserve_send(
        &self,
        username: &str,
        kind: LinkKind,
        seen: &[Millis],
        now: Millis,
    ) -> Result<bool, StoreError>;
    /// Makes `record` the live link of its kind (its hash, address and expiry), keeping the sends.
    async fn put(&self, kind: LinkKind, record: &LinkRecord) -> Result<(), StoreError>;
    /// Spends the live link whose hash is `hash`, if it has not expired at `now`: exactly one of concurrent takers
    /// gets the record, the others `None`.
    async fn take(
        &self,
        username: &str,
        kind: LinkKind,
        hash: &str,
        now: Millis,
    ) -> Result<Option<LinkRecord>, StoreError>;
}

/// A new link token for `username` and the hash it is stored under. The username must be at most 255 bytes (the
/// validated ones are far shorter).
pub fn new_token(username: &str) -> (String, String) {
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    let name = &username.as_bytes()[..username.len().min(255)];
    let mut raw = Vec::with_capacity(1 + name.len() + random.len());
    raw.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    raw.extend_from_slice(name);
    raw.extend_from_slice(&random);
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = token_hash(&token);
    (token, hash)
}

/// The username a token names, if it is well formed (its record decides whether it is live).
pub fn token_username(token: &str) -> Option<String> {
    if token.len() > 512 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let (&len, rest) = raw.split_first()?;
    let len = usize::from(len);
    (rest.len() == len + 32).then(|| String::from_utf8(rest[..len].to_vec()).ok()).flatten()
}

/// SHA-256 (hex) of a token: what is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two hashes in constant time.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_user_carry_256_random_bits_and_are_stored_as_hashes() {
        let (a, ha) = new_token("alice");
        let (b, hb) = new_token("alice");
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(token_username(&a).as_deref(), Some("alice"));
        assert_eq!(ha, token_hash(&a));
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "base64url: {a}");
        assert!(a.len() >= 43 + 7);
        for bad in ["", "x", "AAAA", &a[..a.len() - 1], &"A".repeat(600)] {
            assert_eq!(token_username(bad), None, "{bad}");
        }
    }

    #[test]
    fn sends_are_one_a_minute_and_five_a_day() {
        let mut r = LinkRecord::default();
        let t0 = 1_800_000_000_000;
        assert_eq!(r.wait_before_send(t0), 0);
        r.sends = r.sends_with(t0);
        assert_eq!(r.wait_before_send(t0 + 1_000), 59_000);
        for i in 1..5 {
            r.sends = r.sends_with(t0 + i * 60_000);
        }
        assert_eq!(r.sends.len(), 5);
        let later = t0 + 5 * 60_000;
        assert_eq!(r.wait_before_send(later), DAY_MS - 5 * 60_000, "the sixth waits for the first to age out");
        assert_eq!(r.wait_before_send(t0 + DAY_MS), 0);
        assert_eq!(r.sends_with(t0 + DAY_MS + 1).len(), 5, "a day's worth kept");
    }
}
