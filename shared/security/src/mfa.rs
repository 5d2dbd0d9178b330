//! MFA with TOTP (RFC 6238) and recovery codes (API.md, v1.1).
//!
//! A user's MFA state lives on the user item (so a protected request still reads the user once): the enrolled
//! secret and a pending one, both sealed with AES-256-GCM under a key kept apart from the tables (the username is
//! the associated data, so a sealed secret moved to another user does not open), the last time step accepted (a
//! code is refused at or before it: no replay), and the recovery codes as HMAC-SHA-256 under a key derived from the
//! same key material (50 random bits each, so an unkeyed hash could be brute-forced from a stolen table).
//!
//! TOTP is `totp-rs` (SHA-1, 6 digits, 30 s steps, the current step ±1); sealing and HMAC are `aws-lc-rs`.

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::clock::Millis;
use crate::store::StoreError;
use crate::users::User;

/// Seconds per TOTP step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// How long an `mfa_token` is valid.
pub const CHALLENGE_TTL_MS: Millis = 300_000;
/// Recovery codes issued at confirmation.
pub const RECOVERY_CODES: usize = 10;
/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "CloudMind";

pub use crate::users::MfaState;

/// A login waiting for its second factor: what an `mfa_token` stands for (stored under the token's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub username: String,
    pub expires_at: Millis,
    /// The login asked `remember_device`: the second step's success issues a device token.
    pub remember_device: bool,
    /// The trusted device the password was checked under, if any: its code is then counted against the device,
    /// not the username's lockout (a stranger's lockout does not stop the owner's device halfway).
    pub device: Option<String>,
    /// The user's token generation when the password was right: a password change, a reset, a disable or an
    /// erasure since then bumps it, and the challenge no longer completes a login.
    pub generation: u64,
}

/// Where MFA state and login challenges live (the users table and the security table, or memory). Every change is
/// conditional, so two requests racing with the same code or recovery code cannot both win.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Stores a pending enrolment (replacing any); `false` when MFA is already on.
    async fn set_pending(&self, username: &str, sealed: &str) -> Result<bool, StoreError>;
    /// Turns MFA on with the pending secret `sealed` (still the pending one), `recovery` hashes, and `step` (the
    /// confirming code's) as the last step used; `false` when the pending secret changed or MFA is already on.
    async fn enable(&self, username: &str, sealed: &str, recovery: &[String], step: u64) -> Result<bool, StoreError>;
    /// Takes time step `step` for a login: `false` when MFA is off or a step at or after it was already used.
    async fn claim_step(&self, username: &str, step: u64) -> Result<bool, StoreError>;
    /// Spends a recovery code by its hash: `false` when it is not (or no longer) there.
    async fn spend_recovery(&self, username: &str, hash: &str) -> Result<bool, StoreError>;
    /// Turns MFA off and forgets the secrets and recovery codes.
    async fn disable(&self, username: &str) -> Result<(), StoreError>;
    /// Stores a login challenge under the hash of its `mfa_token`.
    async fn put_challenge(&self, id: &str, challenge: &Challenge) -> Result<(), StoreError>;
    /// Removes and returns the challenge if it is there and unexpired: each `mfa_token` is good once.
    async fn take_challenge(&self, id: &str, now: Millis) -> Result<Option<Challenge>, StoreError>;
}

/// Seals MFA secrets and keys recovery-code hashes; from `MFA_ENCRYPTION_KEY` (or its Secrets Manager secret).
#[derive(Clone)]
pub struct MfaKeys {
    aead: std::sync::Arc<LessSafeKey>,
    recovery: hmac::Key,
    /// Keys the pseudonyms of erased users in the audit trail.
    pseudonym: hmac::Key,
}

impl std::fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKeys([redacted])")
    }
}

/// Why sealed text did not open. Never carries the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an MFA secret could not be opened (wrong key, or it was moved to another user)")]
pub struct OpenError;

impl MfaKeys {
    /// Keys derived from `material` (at least 32 bytes; checked by the configuration): SHA-256 of a label and
    /// the material, one label per use.
    pub fn derive(material: &SecretString) -> Self {
        let derive = |label: &[u8]| {
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(label);
            ctx.update(material.expose_secret().as_bytes());
            ctx.finish()
        };
        let aead_key = derive(b"cloudmind-mfa-seal\0");
        let hmac_key = derive(b"cloudmind-mfa-recovery\0");
        let pseudonym_key = derive(b"cloudmind-pseudonym\0");
        let unbound = UnboundKey::new(&AES_256_GCM, aead_key.as_ref())
            .unwrap_or_else(|_| unreachable!("a SHA-256 digest is an AES-256 key"));
        Self {
            aead: std::sync::Arc::new(LessSafeKey::new(unbound)),
            recovery: hmac::Key::new(hmac::HMAC_SHA256, hmac_key.as_ref()),
            pseudonym: hmac::Key::new(hmac::HMAC_SHA256, pseudonym_key.as_ref()),
        }
    }

    /// What an erased user is called in the audit trail: `~erased:` and 16 hex digits of a keyed hash of the user's
    /// id, stable per user (its events stay together) and never a username (`~` is no username character, so it
    /// can neither be registered nor get a user's copy of events).
    pub fn pseudonym(&self, user_id: &str) -> String {
        let tag = hmac::sign(&self.pseudonym, user_id.as_bytes());
        format!("~erased:{}", hex::encode(&tag.as_ref()[..8]))
    }

    /// `secret` sealed for `username`: base64url of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, username: &str, secret: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        let _ = getrandom::fill(&mut nonce);
        let mut buf = secret.to_vec();
        // Sealing in memory with a valid key and a fresh nonce does not fail.
        let _ = self.aead.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(username.as_bytes()),
            &mut buf,
        );
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        B64.encode(out)
    }

    /// [`MfaKeys::seal`] of a TOTP secret.
    pub fn seal_secret(&self, username: &str, secret: &SecretSlice<u8>) -> String {
        self.seal(username, secret.expose_secret())
    }

    pub fn open(&self, username: &str, sealed: &str) -> Result<SecretSlice<u8>, OpenError> {
        let raw = B64.decode(sealed).map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(OpenError);
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut buf = rest.to_vec();
        let plain = self.aead.open_in_place(nonce, Aad::from(username.as_bytes()), &mut buf).map_err(|_| OpenError)?;
        Ok(SecretSlice::from(plain.to_vec()))
    }

    /// The stored form of a recovery code (normalized: case, spaces and dashes do not matter).
    pub fn recovery_hash(&self, code: &str) -> String {
        let normal: String =
            code.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
        hex::encode(hmac::sign(&self.recovery, normal.as_bytes()).as_ref())
    }
}

/// A new 160-bit TOTP secret.
pub fn new_secret() -> SecretSlice<u8> {
    let mut b = vec![0u8; 20];
    let _ = getrandom::fill(&mut b);
    SecretSlice::from(b)
}

/// The secret in base32 without padding, as authenticator apps take it.
pub fn base32(secret: &SecretSlice<u8>) -> String {
    totp_rs::Secret::new(secret.expose_secret().to_vec().into_boxed_slice())
        .to_base32()
        .trim_end_matches('=')
        .to_string()
}

/// The `otpauth://` URI of an enrolment (a QR code of it is what apps scan).
pub fn otpauth_uri(username: &str, base32: &str) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{username}?secret={base32}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
}

/// The time step whose code `code` is (the current one ±1), if any. Only six ASCII digits can match.
pub fn matching_step(secret: &SecretSlice<u8>, code: &str, now: Millis) -> Option<u64> {
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret.expose_secret(), DIGITS)?;
    totp.check(code, now / 1_000)
}

fn totp(secret: &[u8], digits: u8) -> Option<totp_rs::Totp> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(totp_rs::Secret::new(secret.to_vec().into_boxed_slice()))
        .build()
        .ok()
}

/// The code of time `now` (clients and tests).
pub fn code_at(secret: &[u8], now: Millis) -> Option<String> {
    totp(secret, DIGITS).map(|t| t.generate(now / 1_000).to_string())
}

/// The code of time `now` for a secret in base32, as an authenticator app computes it (tests and clients).
pub fn code_for_base32(base32: &str, now: Millis) -> Option<String> {
    let secret = totp_rs::Secret::try_from_base32(base32).ok()?;
    code_at(secret.as_bytes(), now)
}

/// Ten recovery codes, `xxxxx-xxxxx` of a 32-letter alphabet (50 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; 10];
            let _ = getrandom::fill(&mut b);
            let chars: String = b.iter().map(|x| char::from(ALPHABET[usize::from(x & 31)])).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A new `mfa_token` (256 random bits, base64url) and the id it is stored under (its SHA-256, hex).
pub fn new_challenge_token() -> (SecretString, String) {
    let mut b = [0u8; 32];
    let _ = getrandom::fill(&mut b);
    let token = B64.encode(b);
    let id = challenge_id(&token);
    (SecretString::from(token), id)
}

/// The id of a presented `mfa_token`.
pub fn challenge_id(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// The time step of `code` under `user`'s pending enrolment (`Ok(None)`: no enrolment pending, or not its code).
pub fn pending_step(keys: &MfaKeys, user: &User, code: &str, now: Millis) -> Result<Option<u64>, StoreError> {
    let Some(sealed) = &user.mfa.pending else { return Ok(None) };
    let secret = open_logged(keys, &user.username, sealed)?;
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(matching_step(&secret, &digits, now))
}

fn open_logged(keys: &MfaKeys, username: &str, sealed: &str) -> Result<SecretSlice<u8>, StoreError> {
    keys.open(username, sealed).map_err(|e| {
        tracing::error!(event = "mfa_secret_unreadable", error = %e);
        StoreError::unavailable("mfa secret", e.to_string())
    })
}

/// Whether `code` is `user`'s TOTP code of now (its step is then claimed: used once) or one of their unused recovery
/// codes (then spent). `false` when MFA is off. A sealed secret that does not open is a store failure (503), logged
/// without the secret.
pub async fn accept_code(
    store: &dyn MfaStore,
    keys: &MfaKeys,
    user: &User,
    code: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let (true, Some(sealed)) = (user.mfa.enabled, &user.mfa.secret) else { return Ok(false) };
    let secret = open_logged(keys, &user.username, sealed)?;
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(step) = matching_step(&secret, &digits, now) {
        return store.claim_step(&user.username, step).await;
    }
    store.spend_recovery(&user.username, &keys.recovery_hash(code)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed "12345678901234567890" and 8 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        let totp = totp(seed, 8).unwrap();
        for (time, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.generate(time).to_string(), code, "T = {time}");
        }
        // Six digits are the last six of the same value.
        assert_eq!(code_at(seed, 59_000).unwrap(), "287082");
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let secret = new_secret();
        let now: Millis = 1_800_000_000_000;
        let step = now / 1_000 / STEP_SECONDS;
        let code = code_at(secret.expose_secret(), now).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some(step));
        assert_eq!(matching_step(&secret, &code, now + 30_000), Some(step));
        assert_eq!(matching_step(&secret, &code, now + 90_000), None);
        for bad in ["", "12345", "1234567", "12345a", " 123456", "١٢٣٤٥٦"] {
            assert_eq!(matching_step(&secret, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn sealed_secrets_open_for_their_user_only() {
        let keys = MfaKeys::derive(&SecretString::from("k".repeat(40)));
        let sealed = keys.seal("alice", b"0123456789abcdefghij");
        assert!(!sealed.contains("0123456789"));
        assert_eq!(keys.open("alice", &sealed).unwrap().expose_secret(), b"0123456789abcdefghij");
        assert_eq!(keys.open("bob", &sealed).err(), Some(OpenError));
        let other = MfaKeys::derive(&SecretString::from("x".repeat(40)));
        assert_eq!(other.open("alice", &sealed).err(), Some(OpenError));
        assert_ne!(keys.seal("alice", b"same"), keys.seal("alice", b"same"), "a fresh nonce each time");
    }

    #[test]
    fn recovery_codes_are_random_and_hashed_with_a_key() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        let keys = MfaKeys::derive(&SecretString::from("k".repeat(40)));
        let other = MfaKeys::derive(&SecretString::from("x".repeat(40)));
        assert_eq!(keys.recovery_hash(&codes[0]), keys.recovery_hash(&codes[0].to_uppercase().replace('-', " ")));
        assert_ne!(keys.recovery_hash(&codes[0]), other.recovery_hash(&codes[0]));
    }

    #[test]
    fn the_uri_is_what_apps_scan() {
        let secret = SecretSlice::from(b"12345678901234567890".to_vec());
        let b32 = base32(&secret);
        assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            otpauth_uri("alice", &b32),
            "otpauth://totp/CloudMind:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=CloudMind&algorithm=SHA1&digits=6&period=30"
        );
    }
}
