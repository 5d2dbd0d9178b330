//! Access tokens: issued and verified exactly as the API contract says.
//!
//! A token is a JWT signed by the current key of the ring ([`crate::keys`]: HS256, HS384 or HS512 with a secret,
//! ES256 or EdDSA with a key pair whose public half is published) under its key id (`kid`), with header
//! `typ: at+jwt` and the claims `iss`, `aud`, `sub`, `username`, `roles`, `iat`, `nbf`, `exp`, `jti` (128 random bits,
//! hex) and `gen`, the user's token generation at issue time. Verification looks the key up by `kid` (the current
//! key or a previous one, so a rotation logs nobody out), pins the algorithm to that key's own and the type, and
//! checks every registered claim: an HMAC token signed with a public key's bytes, an `alg` switched, or a key used
//! with another algorithm is refused whatever the signature. The session (revoked at logout) and the revoke-all generation are checked by the caller
//! against the stores, after the signature passed ([`check_revocation`]).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
pub use crate::keys::{KeyProvider, SigningKey, StaticKeys, parse_algorithm};
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

/// Token settings: issuer, audience, the configured algorithm (what new keys are made for; the ring's current key
/// decides what a token is signed with) and lifetime.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub algorithm: Algorithm,
    pub ttl_seconds: u64,
}

impl TokenSettings {
    /// The algorithm of HMAC keys: the configured one when it is HMAC, else `HS256` (the secrets of a deployment
    /// moving from HMAC to a key pair keep verifying what they signed).
    pub fn hmac_algorithm(&self) -> Algorithm {
        match self.algorithm {
            Algorithm::HS384 | Algorithm::HS512 => self.algorithm,
            _ => Algorithm::HS256,
        }
    }
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
    /// The claim checks, built once per algorithm (issuer, audience, required claims are sets): jsonwebtoken takes
    /// one algorithm family per check, and each key verifies with its own algorithm only.
    validations: std::sync::Arc<[(Algorithm, Validation)]>,
    /// Tokens whose key-pair signature this instance already checked.
    verified: std::sync::Arc<VerifiedTokens>,
}

/// The claims of tokens whose signature (under a key pair) verified here, by the SHA-256 of the token, with the id of
/// the key that verified them: a hit counts only while that key is still in the ring. Bounded: at the cap the
/// memory is emptied and refilled by use (a few hundred kilobytes at most).
#[derive(Default)]
struct VerifiedTokens(std::sync::Mutex<std::collections::HashMap<[u8; 32], (String, Claims)>>);

impl VerifiedTokens {
    const CAP: usize = 1_024;

    fn digest(token: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    fn get(&self, digest: &[u8; 32], kid: &str) -> Option<Claims> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(digest).filter(|(k, _)| k == kid).map(|(_, claims)| claims.clone())
    }

    fn insert(&self, digest: [u8; 32], kid: &str, claims: &Claims) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= Self::CAP {
            map.clear();
        }
        map.insert(digest, (kid.to_string(), claims.clone()));
    }
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService").field("settings", &self.settings).finish()
    }
}

impl TokenService {
    pub fn new(settings: TokenSettings, keys: std::sync::Arc<dyn KeyProvider>) -> Self {
        let validation = |algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[&settings.issuer]);
            validation.set_audience(&[&settings.audience]);
            validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]);
            // Time (`nbf`, `exp`) is checked in `verify` against the caller's clock, with no leeway.
            validation.validate_nbf = false;
            validation.validate_exp = false;
            validation.leeway = 0;
            (algorithm, validation)
        };
        let algorithms = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512, Algorithm::ES256, Algorithm::EdDSA];
        Self { validations: algorithms.map(validation).into(), settings, keys, verified: Default::default() }
    }

    /// The settings tokens are issued and checked with.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The RFC 7517 set of the public keys that may verify a live token (empty with HMAC keys).
    pub fn jwks(&self) -> JwkSet {
        crate::keys::jwk_set(&self.keys.keys())
    }

    /// The algorithm new tokens are signed with: the current key's.
    pub fn signing_algorithm(&self) -> Algorithm {
        self.keys.current().algorithm
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
        let mut header = Header::new(key.algorithm);
        header.typ = Some(TOKEN_TYPE.to_string());
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, key.encoding())
            .map_err(|_| TokenError::Invalid("signing failed"))?;
        Ok(IssuedToken { token, claims })
    }

    /// Verifies signature, algorithm, type, key id and the registered claims at `now`. The session and revoke-all
    /// are checked afterwards against the stores.
    pub fn verify(&self, token: &str, now: Millis) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid("malformed"))?;
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(TokenError::Invalid("type"));
        }
        let kid = header.kid.ok_or(TokenError::Invalid("no key id"))?;
        let key = self.keys.by_kid(&kid).ok_or(TokenError::UnknownKey)?;
        // The key decides the algorithm: an HS256 token under an ES256 key's id (signed with its public bytes), or a
        // key from the set used with another algorithm, stops here.
        if header.alg != key.algorithm {
            return Err(TokenError::Invalid("algorithm"));
        }
        // A key pair's signature costs 20 to 30 times an HMAC (BENCHMARKS.md): a token this instance verified under a
        // key it still holds is not verified again (its bytes are the same, so is the verdict); its time and
        // revocation are checked on every request all the same.
        let digest = crate::keys::is_asymmetric(key.algorithm).then(|| VerifiedTokens::digest(token));
        if let Some(claims) = digest.as_ref().and_then(|d| self.verified.get(d, &key.kid)) {
            return self.check_time(claims, now);
        }
        let validation = self
            .validations
            .iter()
            .find_map(|(algorithm, v)| (*algorithm == key.algorithm).then_some(v))
            .ok_or(TokenError::Invalid("algorithm"))?;
        let data = jsonwebtoken::decode::<Claims>(token, key.decoding(), validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::Invalid("not yet valid"),
            ErrorKind::InvalidSignature => TokenError::Invalid("signature"),
            ErrorKind::InvalidIssuer => TokenError::Invalid("issuer"),
            ErrorKind::InvalidAudience => TokenError::Invalid("audience"),
            ErrorKind::MissingRequiredClaim(_) => TokenError::Invalid("missing claim"),
            _ => TokenError::Invalid("malformed"),
        })?;
        if let Some(digest) = digest {
            self.verified.insert(digest, &key.kid, &data.claims);
        }
        self.check_time(data.claims, now)
    }

    /// The checks of time, made on every verification: `nbf` (with the leeway of clocks between instances) and the
    /// lifetime.
    fn check_time(&self, claims: Claims, now: Millis) -> Result<Claims, TokenError> {
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
        service_with(StaticKeys { current: SigningKey::derive(&[7u8; 32]), previous: Vec::new() })
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

        let other_key = service_with(StaticKeys { current: SigningKey::derive(&[8u8; 32]), previous: Vec::new() });
        let token = other_key.issue(&user(), SID, NOW).unwrap().token;
        assert_eq!(svc.verify(&token, NOW), Err(TokenError::UnknownKey));
    }

    #[test]
    fn tokens_signed_with_the_previous_key_still_verify_after_a_rotation() {
        let old = SigningKey::derive(&[1u8; 32]);
        let before = service_with(StaticKeys { current: old.clone(), previous: Vec::new() });
        let token = before.issue(&user(), SID, NOW).unwrap().token;
        let after = service_with(StaticKeys { current: SigningKey::derive(&[2u8; 32]), previous: vec![old] });
        assert!(after.verify(&token, NOW).is_ok());
        let fresh = after.issue(&user(), SID, NOW).unwrap().token;
        assert!(before.verify(&fresh, NOW).is_err());
    }

    #[test]
    fn key_pairs_sign_and_verify_and_each_key_pins_its_own_algorithm() {
        for algorithm in [Algorithm::ES256, Algorithm::EdDSA] {
            let (key, _) = SigningKey::generate(algorithm).unwrap();
            let svc = service_with(StaticKeys { current: key.clone(), previous: vec![SigningKey::derive(&[7u8; 32])] });
            let issued = svc.issue(&user(), SID, NOW).unwrap();
            assert_eq!(svc.verify(&issued.token, NOW), Ok(issued.claims.clone()));
            // The same claims as HMAC under the key pair's id (signed with its public key's bytes): refused.
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some(TOKEN_TYPE.into());
            header.kid = Some(key.kid.clone());
            let public = serde_json::to_vec(key.jwk().unwrap()).unwrap();
            let hs = jsonwebtoken::encode(
                &header,
                &issued.claims,
                &jsonwebtoken::EncodingKey::from_secret(&public).unwrap(),
            )
            .unwrap();
            assert_eq!(svc.verify(&hs, NOW), Err(TokenError::Invalid("algorithm")));
            // The HMAC key of the ring still verifies its own tokens, under its own id only.
            let hmac_only = service();
            let old = hmac_only.issue(&user(), SID, NOW).unwrap();
            assert!(svc.verify(&old.token, NOW).is_ok());
        }
    }

    #[test]
    fn a_verified_key_pair_token_is_remembered_but_its_time_is_checked_every_time() {
        let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let svc = service_with(StaticKeys::single(key.clone()));
        let issued = svc.issue(&user(), SID, NOW).unwrap();
        assert!(svc.verify(&issued.token, NOW).is_ok());
        assert!(svc.verified.get(&VerifiedTokens::digest(&issued.token), &key.kid).is_some(), "remembered");
        assert_eq!(svc.verify(&issued.token, NOW + 1_000), Ok(issued.claims.clone()), "a hit");
        assert_eq!(svc.verify(&issued.token, NOW + 1_800_000), Err(TokenError::Expired), "expiry still applies");
        // Once its key leaves the ring the memory does not help it.
        let (other, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let rotated = TokenService { keys: Arc::new(StaticKeys::single(other)), ..svc.clone() };
        assert_eq!(rotated.verify(&issued.token, NOW), Err(TokenError::UnknownKey));
        // A tampered copy is another digest: verified afresh, and refused.
        let mut parts = segments(&issued.token);
        parts[2] = parts[2].chars().rev().collect();
        assert!(svc.verify(&parts.join("."), NOW).is_err());
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
