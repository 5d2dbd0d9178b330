//! Trusted devices (API.md, v1.1): a login that asked `remember_device` gets a `device_token`; a later login that
//! presents it for the same username is judged by the device's own failure count instead of the username's
//! lockout, so a stranger who locks an account by guessing does not lock out its owner's known devices.
//!
//! A device token is 256 random bits (base64url), stored only as its SHA-256. Its attempts take slots of the
//! lockout store under [`lockout_key`], the same discipline as a username's (however many guesses arrive at once
//! under one token, at most `MAX_LOGIN_ATTEMPTS` get a verdict; the rest are ordinary logins, under the username's
//! lockout), and the failure that locks that key revokes the device. A password change and
//! `DELETE /api/v1/me/devices` revoke every device of the user at once: a per-user mark, `valid_after`, that every
//! device issued before it fails.
//!
//! What a trusted device is for: it is proof that its holder completed a login as that user on it before. It does
//! not replace the password or MFA; it exempts its holder from a lockout that strangers caused. A login under it, its
//! MFA step, and a re-authentication from a session it started (a password change, turning MFA off) are counted
//! against the device, not the username.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};

use crate::clock::Millis;
use crate::store::StoreError;

/// A trusted device as stored (under the hash of its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub username: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

/// Where trusted devices live (the security table, or memory).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn put(&self, id: &str, record: &DeviceRecord) -> Result<(), StoreError>;
    /// The device if it exists, belongs to `username`, has not expired and was issued after the user's last
    /// revoke-all (`None` otherwise: the login is then an ordinary one).
    async fn get(&self, id: &str, username: &str, now: Millis) -> Result<Option<DeviceRecord>, StoreError>;
    /// Revokes the device `id` of `username`.
    async fn revoke(&self, username: &str, id: &str) -> Result<(), StoreError>;
    /// Revokes every device of `username` issued up to `now`; the mark is kept for `keep_ms` (the longest a device
    /// lives), after which no device it could revoke is left.
    async fn revoke_all(&self, username: &str, now: Millis, keep_ms: Millis) -> Result<(), StoreError>;
}

/// A new device token and the id it is stored under.
pub fn new_device_token() -> (SecretString, String) {
    let mut b = [0u8; 32];
    let _ = getrandom::fill(&mut b);
    let token = B64.encode(b);
    let id = device_id(&token);
    (SecretString::from(token), id)
}

/// The lockout-store key of a device's attempts. It starts with a NUL, which no login name reaching the lockout can
/// hold (the gate refuses control characters in every non-secret field), so no username shares a device's count.
pub fn lockout_key(device_id: &str) -> String {
    format!("\u{0}device:{device_id}")
}

/// The id of a presented device token (its SHA-256, hex).
pub fn device_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn tokens_are_256_random_bits_stored_as_their_hash() {
        let (a, id) = new_device_token();
        let (b, _) = new_device_token();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(id, device_id(a.expose_secret()));
        assert!(!id.contains(a.expose_secret()));
    }
}
