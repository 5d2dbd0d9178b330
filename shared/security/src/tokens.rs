//! Access tokens: issued and verified exactly as the API contract says.
//!
//! A token is a JWT signed with the configured HMAC algorithm (HS256 by default) under a key id (`kid`), with header
//! `typ: at+jwt` and the claims `iss`, `aud`, `sub`, `username`, `roles`, `iat`, `nbf`, `exp`, `jti` (128 random bits,
//! hex) and `gen`, the user's token generation at issue time. Verification pins the algorithm and the type, looks
//! the key up by `kid` (the current key or the previous one, so a rotation logs nobody out) and checks every
//! registered claim. The session (revoked at logout) and the revoke-all generation are checked by the caller
//! against the stores, after the signature passed ([`check_revocation`]).

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::users::{Session, User};

/// The JWT `typ` header of access tokens (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";

/// The claims of a CloudMind access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub username: String,
    pub roles: Vec<String>,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
    /// The user's token generation when the token was issued; a password change bumps it (revoke-all).
    #[serde(rename = "gen")]
    pub generation: u64,
    /// The session the token belongs to: revoking it refuses the token.
    pub sid: String,
}

impl Claims {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// A signing key and its id.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: SecretSlice<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("secret", &"[redacted]").finish()
    }
}

impl SigningKey {
    /// A key whose id is derived from the secret (the first 8 bytes of its SHA-256, hex), so every instance that
    /// holds the same secret names it the same way without sharing any other state.
    pub fn derive(secret: &[u8]) -> Self {
        let digest = Sha256::digest(secret);
        Self { kid: hex::encode(&digest[..8]), secret: SecretSlice::from(secret.to_vec()) }
    }
}

/// Where signing keys come from: static configuration locally, Secrets Manager in AWS.
#[async_trait]
pub trait KeyProvider: Send + Sync {
    /// The key new tokens are signed with.
    fn current(&self) -> SigningKey;
    /// A key that may verify a token, by id: the current one or the previous one.
    fn by_kid(&self, kid: &str) -> Option<SigningKey>;
    /// Fetches the keys again if the cached ones are older than the refresh interval, or (`force`) because a
    /// token named a key id not in the cache. Providers with fixed keys do nothing.
    async fn refresh(&self, _force: bool) {}
}

/// Keys fixed at start: the current key and, optionally, the previous one.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    pub current: SigningKey,
    pub previous: Option<SigningKey>,
}

#[async_trait]
impl KeyProvider for StaticKeys {
    fn current(&self) -> SigningKey {
        self.current.clone()
    }

    fn by_kid(&self, kid: &str) -> Option<SigningKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref()).find(|k| k.kid == kid).cloned()
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// A well-formed token under a key id this instance does not hold (rotated elsewhere, or forged).
    #[error("invalid token: unknown key id")]
    UnknownKey,
    #[error("token expired")]
    Expired,
    #[error("token revoked")]
    Revoked,
}

impl From<TokenError> for crate::ApiError {
    /// The refusal for a token that failed verification or revocation.
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid(_) | TokenError::UnknownKey => Self::Unauthorized { token_presented: true },
            TokenError::Expired => Self::TokenExpired,
            TokenError::Revoked => Self::TokenRevoked,
        }
    }
}

/// Token settings: issuer, audience, algorithm and lifetime.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub algorithm: Algorithm,
    pub ttl_seconds: u64,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
}

/// How far in the future `nbf` may be (clock skew between instances); `exp` has no leeway.
pub const NBF_LEEWAY_SECONDS: u64 = 5;

/// Issues and verifies access tokens.
#[derive(Clone)]
pub struct TokenService {
    settings: TokenSettings,
    keys: std::sync::Arc<dyn KeyProvider>,
    /// The claim checks, built once (issuer, audience, required claims are sets).
    validation: std::sync::Arc<Validation>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService").field("settings", &self.settings).finish()
    }
}

/// The HMAC algorithms CloudMind signs with; the others need key pairs it does not manage.
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "HS256" => Some(Algorithm::HS256),
        "HS384" => Some(Algorithm::HS384),
        "HS512" => Some(Algorithm::HS512),
        _ => None,
    }
}

impl TokenService {
    pub fn new(settings: TokenSettings, keys: std::sync::Arc<dyn KeyProvider>) -> Self {
        let mut validation = Validation::new(settings.algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]);
        // Time (`nbf`, `exp`) is checked in `verify` against the caller's clock, with no leeway.
        validation.validate_nbf = false;
        validation.validate_exp = false;
        validation.leeway = 0;
        Self { settings, keys, validation: std::sync::Arc::new(validation) }
    }

    /// Lets the key provider refresh stale keys (one call per request; a cache check unless they are stale).
    pub async fn refresh_keys(&self) {
        self.keys.refresh(false).await;
    }

    /// Verifies like [`Self::verify`]; a token under a key id the cache does not know makes the provider fetch
    /// the keys once more (a rotation elsewhere) before the verdict.
    pub async fn verify_fresh(&self, token: &str, now: Millis) -> Result<Claims, TokenError> {
        self.keys.refresh(false).await;
        match self.verify(token, now) {
            Err(TokenError::UnknownKey) => {
                self.keys.refresh(true).await;
                self.verify(token, now)
            }
            other => other,
        }
    }

    /// Issues a token for `user` at `now`.
    pub fn issue(&self, user: &User, sid: &str, now: Millis) -> Result<IssuedToken, TokenError> {
        let key = self.keys.current();
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|_| TokenError::Invalid("no randomness"))?;
        let iat = now / 1000;
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user.id.clone(),
            username: user.username.clone(),
            roles: user.roles.clone(),
            iat,
            nbf: iat,
            exp: iat + self.settings.ttl_seconds,
            jti: hex::encode(jti),
            generation: user.token_generation,
            sid: sid.to_string(),
        };
        let mut header = Header::new(self.settings.algorithm);
        header.typ = Some(TOKEN_TYPE.to_string());
        header.kid = Some(key.kid.clone());
        let encoding_key =
            EncodingKey::from_secret(key.secret.expose_secret()).map_err(|_| TokenError::Invalid("signing key"))?;
        let token =
            jsonwebtoken::encode(&header, &claims, &encoding_key).map_err(|_| TokenError::Invalid("signing failed"))?;
        Ok(IssuedToken { token, claims })
    }

    /// Verifies signature, algorithm, type, key id and the registered claims at `now`. The session and revoke-all
    /// are checked afterwards against the stores.
    pub fn verify(&self, token: &str, now: Millis) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid("malformed"))?;
        if header.alg != self.settings.algorithm {
            return Err(TokenError::Invalid("algorithm"));
        }
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(TokenError::Invalid("type"));
        }
        let kid = header.kid.ok_or(TokenError::Invalid("no key id"))?;
        let key = self.keys.by_kid(&kid).ok_or(TokenError::UnknownKey)?;

        let decoding_key =
            DecodingKey::from_secret(key.secret.expose_secret()).map_err(|_| TokenError::Invalid("key"))?;
        let data =
            jsonwebtoken::decode::<Claims>(token, &decoding_key, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::Invalid("not yet valid"),
                ErrorKind::InvalidSignature => TokenError::Invalid("signature"),
                ErrorKind::InvalidIssuer => TokenError::Invalid("issuer"),
                ErrorKind::InvalidAudience => TokenError::Invalid("audience"),
                ErrorKind::MissingRequiredClaim(_) => TokenError::Invalid("missing claim"),
                _ => TokenError::Invalid("malformed"),
            })?;
        let claims = data.claims;
        let now_s = now / 1000;
        // A verifier whose clock runs a little behind the issuer's (another instance) still takes a fresh token.
        if claims.nbf > now_s + NBF_LEEWAY_SECONDS {
            return Err(TokenError::Invalid("not yet valid"));
        }
        // A token lives at most the configured lifetime from its issue, whatever its `exp` says: a lifetime lowered
        // by configuration takes effect on the tokens already out, and a token signed with a year of life (a leaked
        // key, an old configuration) still ends on time.
        if claims.exp.min(claims.iat.saturating_add(self.settings.ttl_seconds)) <= now_s {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// The revocation verdict for verified claims, given what the stores said: the user gone, disabled, or past a
/// revoke-all (a higher token generation), or the token's session gone, revoked (a logout) or ended (`idle_ms`:
/// `SESSION_TIMEOUT`) means revoked.
pub fn check_revocation(claims: &Claims, found: &Session, idle_ms: Millis, now: Millis) -> Result<(), TokenError> {
    let Some(user) = found.user.as_ref() else { return Err(TokenError::Revoked) };
    let session_live = found.session.as_ref().is_some_and(|s| {
        s.sid == claims.sid && s.username == user.username && s.is_live(idle_ms, now, user.token_generation)
    });
    if user.disabled || user.id != claims.sub || user.token_generation > claims.generation || !session_live {
        return Err(TokenError::Revoked);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::sync::Arc;

    const NOW: Millis = 1_800_000_000_000;
    const SID: &str = "0123456789abcdef0123456789abcdef";

    fn service_with(keys: StaticKeys) -> TokenService {
        TokenService::new(
            TokenSettings {
                issuer: "cloudmind".into(),
                audience: "cloudmind-api".into(),
                algorithm: Algorithm::HS256,
                ttl_seconds: 1800,
            },
            Arc::new(keys),
        )
    }

    fn service() -> TokenService {
        service_with(StaticKeys { current: SigningKey::derive(&[7u8; 32]), previous: None })
    }

    fn user() -> User {
        User::example("alice")
    }

    fn segments(token: &str) -> Vec<String> {
        token.split('.').map(str::to_string).collect()
    }

    #[test]
    fn an_issued_token_verifies_and_carries_every_claim() {
        let svc = service();
        let issued = svc.issue(&user(), SID, NOW).unwrap();
        let claims = svc.verify(&issued.token, NOW).unwrap();
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.exp - claims.iat, 1800);
        assert_eq!(claims.jti.len(), 32);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&segments(&issued.token)[0]).unwrap()).unwrap();
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "HS256");
        assert!(header["kid"].is_string());
    }

    #[test]
    fn expiry_is_exact_and_not_before_is_enforced() {
        let svc = service();
        let issued = svc.issue(&user(), SID, NOW).unwrap();
        assert_eq!(svc.verify(&issued.token, NOW + 1_799_999), Ok(issued.claims.clone()));
        assert_eq!(svc.verify(&issued.token, NOW + 1_800_000), Err(TokenError::Expired));
        // A verifier a few milliseconds (or seconds) behind the issuer takes the token; a minute is too far.
        assert_eq!(svc.verify(&issued.token, NOW - 1), Ok(issued.claims.clone()));
        assert_eq!(svc.verify(&issued.token, NOW - NBF_LEEWAY_SECONDS * 1000), Ok(issued.claims.clone()));
        assert_eq!(svc.verify(&issued.token, NOW - 60_000), Err(TokenError::Invalid("not yet valid")));
    }

    #[test]
    fn a_token_lives_at_most_the_configured_lifetime_whatever_its_exp() {
        // Signed with the right key but with a year of life (a longer lifetime configured then, or a leaked key).
        let svc = service();
        let long =
            TokenService::new(TokenSettings { ttl_seconds: 365 * 86_400, ..svc.settings.clone() }, svc.keys.clone());
        let issued = long.issue(&user(), SID, NOW).unwrap();
        assert_eq!(issued.claims.exp - issued.claims.iat, 365 * 86_400);
        assert!(svc.verify(&issued.token, NOW + 1_799_000).is_ok());
        assert_eq!(svc.verify(&issued.token, NOW + 1_800_000), Err(TokenError::Expired));
        assert_eq!(svc.verify(&issued.token, NOW + 86_400_000), Err(TokenError::Expired));
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let svc = service();
        let issued = svc.issue(&user(), SID, NOW).unwrap();
        let mut parts = segments(&issued.token);
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["roles"] = serde_json::json!(["admin"]);
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(svc.verify(&parts.join("."), NOW), Err(TokenError::Invalid("signature")));
    }

    #[test]
    fn alg_none_and_algorithm_switching_are_refused() {
        let svc = service();
        let issued = svc.issue(&user(), SID, NOW).unwrap();
        let parts = segments(&issued.token);
        for header in [
            r#"{"alg":"none","typ":"at+jwt"}"#.to_string(),
            format!(r#"{{"alg":"HS512","typ":"at+jwt","kid":"{}"}}"#, svc.keys.current().kid),
            format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#, svc.keys.current().kid),
        ] {
            let forged = format!("{}.{}.", URL_SAFE_NO_PAD.encode(header.as_bytes()), parts[1]);
            assert!(svc.verify(&forged, NOW).is_err(), "{header}");
            let forged = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header.as_bytes()), parts[1], parts[2]);
            assert!(svc.verify(&forged, NOW).is_err(), "{header}");
        }
    }

    #[test]
    fn wrong_type_issuer_audience_or_key_are_refused() {
        let svc = service();
        let other = TokenService::new(
            TokenSettings { audience: "someone-else".into(), ..svc.settings.clone() },
            svc.keys.clone(),
        );
        let token = other.issue(&user(), SID, NOW).unwrap().token;
        assert_eq!(svc.verify(&token, NOW), Err(TokenError::Invalid("audience")));

        let other_key = service_with(StaticKeys { current: SigningKey::derive(&[8u8; 32]), previous: None });
        let token = other_key.issue(&user(), SID, NOW).unwrap().token;
        assert_eq!(svc.verify(&token, NOW), Err(TokenError::UnknownKey));
    }

    #[test]
    fn tokens_signed_with_the_previous_key_still_verify_after_a_rotation() {
        let old = SigningKey::derive(&[1u8; 32]);
        let before = service_with(StaticKeys { current: old.clone(), previous: None });
        let token = before.issue(&user(), SID, NOW).unwrap().token;
        let after = service_with(StaticKeys { current: SigningKey::derive(&[2u8; 32]), previous: Some(old) });
        assert!(after.verify(&token, NOW).is_ok());
        let fresh = after.issue(&user(), SID, NOW).unwrap().token;
        assert!(before.verify(&fresh, NOW).is_err());
    }

    #[test]
    fn revocation_follows_the_user_the_generation_and_the_session() {
        use crate::sessions::SessionRecord;
        let mut u = user();
        let claims = service().issue(&u, SID, NOW).unwrap().claims;
        assert_eq!(claims.sid, SID);
        let record = SessionRecord {
            sid: SID.into(),
            username: u.username.clone(),
            created_at: NOW,
            last_used_at: NOW,
            absolute_expiry: NOW + 86_400_000,
            ip: "127.0.0.1".into(),
            generation: u.token_generation,
            refresh_hash: String::new(),
            spent: vec![],
            rotated_at: 0,
            revoked: false,
            device: None,
        };
        let idle = 1_800_000;
        let found = |u: Option<&User>, s: Option<&SessionRecord>| Session { user: u.cloned(), session: s.cloned() };
        assert_eq!(check_revocation(&claims, &found(Some(&u), Some(&record)), idle, NOW), Ok(()));
        let revoked = Err(TokenError::Revoked);
        assert_eq!(check_revocation(&claims, &found(None, Some(&record)), idle, NOW), revoked);
        assert_eq!(check_revocation(&claims, &found(Some(&u), None), idle, NOW), revoked, "no session");
        let ended = SessionRecord { revoked: true, ..record.clone() };
        assert_eq!(check_revocation(&claims, &found(Some(&u), Some(&ended)), idle, NOW), revoked);
        assert_eq!(check_revocation(&claims, &found(Some(&u), Some(&record)), idle, NOW + idle), revoked, "idle");
        let other = SessionRecord { sid: "f".repeat(32), ..record.clone() };
        assert_eq!(check_revocation(&claims, &found(Some(&u), Some(&other)), idle, NOW), revoked);
        u.token_generation += 1;
        assert_eq!(check_revocation(&claims, &found(Some(&u), Some(&record)), idle, NOW), revoked);
    }
}
