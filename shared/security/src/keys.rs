//! Signing keys: a ring of them, the current key (which signs) and the previous ones (which still verify the tokens
//! they signed until those expire), so a rotation logs nobody out.
//!
//! A key is HMAC (`HS256`, `HS384`, `HS512`: one secret signs and verifies, the v1 behaviour) or a key pair
//! (`ES256` on P-256, `EdDSA` on Ed25519), whose public half any other service can verify with, published as a JWK
//! ([`SigningKey::jwk`]). Key pairs come as PKCS#8 (PEM or DER, as OpenSSL and aws-lc-rs write them) and their id
//! is the RFC 7638 thumbprint of the public key, so every instance names a key the same way without sharing any
//! other state; an HMAC key's id is the first 8 bytes of the secret's SHA-256. Everything is parsed once, when a key
//! enters the ring, never per request. The crypto is aws-lc-rs (through jsonwebtoken for the JWS itself).

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};

/// Why a key could not enter the ring. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no `-----BEGIN PRIVATE KEY-----` block (a PKCS#8 PEM is expected)")]
    NotPem,
    #[error("not a PKCS#8 P-256 (ES256) or Ed25519 (EdDSA) private key")]
    Rejected,
    #[error("{0} is not one of HS256, HS384, HS512, ES256, EdDSA")]
    Algorithm(String),
    #[error("the OS random generator failed")]
    Random,
}

/// The algorithms a key can have, by their JOSE names.
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "HS256" => Some(Algorithm::HS256),
        "HS384" => Some(Algorithm::HS384),
        "HS512" => Some(Algorithm::HS512),
        "ES256" => Some(Algorithm::ES256),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// Whether `algorithm` signs with a key pair (its public key can be published).
pub fn is_asymmetric(algorithm: Algorithm) -> bool {
    matches!(algorithm, Algorithm::ES256 | Algorithm::EdDSA)
}

/// One key of the ring.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    /// The one algorithm this key signs and verifies with: a token under this `kid` with any other `alg` is refused.
    pub algorithm: Algorithm,
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
    /// The public key as a JWK (`kid`, `alg`, `use: sig`); none for HMAC keys.
    jwk: Option<Arc<Jwk>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish()
    }
}

impl SigningKey {
    /// An `HS256` key whose id is derived from the secret (the first 8 bytes of its SHA-256, hex).
    pub fn derive(secret: &[u8]) -> Self {
        Self::hmac(secret, Algorithm::HS256)
    }

    /// An HMAC key for `algorithm` (`HS256`, `HS384` or `HS512`), its id derived from the secret.
    pub fn hmac(secret: &[u8], algorithm: Algorithm) -> Self {
        let digest = Sha256::digest(secret);
        // jsonwebtoken refuses only an empty secret; configuration never lets one through (32 bytes at least).
        let secret = if secret.is_empty() { &[0u8][..] } else { secret };
        let (encoding, decoding) = match (EncodingKey::from_secret(secret), DecodingKey::from_secret(secret)) {
            (Ok(e), Ok(d)) => (e, d),
            _ => unreachable!("a non-empty HMAC secret is always a key"),
        };
        Self {
            kid: hex::encode(&digest[..8]),
            algorithm,
            encoding: Arc::new(encoding),
            decoding: Arc::new(decoding),
            jwk: None,
        }
    }

    /// A key pair from its PKCS#8 DER (v1 or v2): `ES256` for a P-256 key, `EdDSA` for an Ed25519 one. The key is
    /// parsed (and so checked) here, once.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            let decoding = DecodingKey::from_ec_der(pair.public_key().as_ref());
            return Self::pair(Algorithm::ES256, EncodingKey::from_ec_der(der), decoding);
        }
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8(der) {
            let decoding = DecodingKey::from_ed_der(pair.public_key().as_ref());
            return Self::pair(Algorithm::EdDSA, EncodingKey::from_ed_der(der), decoding);
        }
        Err(KeyError::Rejected)
    }

    /// A key pair from a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey` writes it).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pkcs8(&pem_decode("PRIVATE KEY", pem).ok_or(KeyError::NotPem)?)
    }

    /// A new key pair for `algorithm` (`ES256` or `EdDSA`), and its PKCS#8 PEM to store.
    pub fn generate(algorithm: Algorithm) -> Result<(Self, String), KeyError> {
        let rng = SystemRandom::new();
        let der = match algorithm {
            Algorithm::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng),
            other => return Err(KeyError::Algorithm(format!("{other:?}"))),
        }
        .map_err(|_| KeyError::Random)?;
        let pem = pem_encode("PRIVATE KEY", der.as_ref());
        Ok((Self::from_pkcs8(der.as_ref())?, pem))
    }

    fn pair(algorithm: Algorithm, encoding: EncodingKey, decoding: DecodingKey) -> Result<Self, KeyError> {
        let mut jwk = Jwk::from_decoding_key(&decoding, Some(algorithm)).map_err(|_| KeyError::Rejected)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| KeyError::Rejected)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            kid,
            algorithm,
            encoding: Arc::new(encoding),
            decoding: Arc::new(decoding),
            jwk: Some(Arc::new(jwk)),
        })
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public key as a JWK, for a key pair.
    pub fn jwk(&self) -> Option<&Jwk> {
        self.jwk.as_deref()
    }
}

/// The RFC 7517 key set of `keys`: the public keys only (an HMAC key is never published).
pub fn jwk_set<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> JwkSet {
    JwkSet { keys: keys.into_iter().filter_map(|k| k.jwk().cloned()).collect() }
}

/// Where signing keys come from: static configuration locally, Secrets Manager in AWS.
#[async_trait]
pub trait KeyProvider: Send + Sync {
    /// The key new tokens are signed with.
    fn current(&self) -> SigningKey;
    /// A key that may verify a token, by id: the current one or a previous one.
    fn by_kid(&self, kid: &str) -> Option<SigningKey>;
    /// Every key that may verify a live token, the current one first.
    fn keys(&self) -> Vec<SigningKey>;
    /// Fetches the keys again if the cached ones are older than the refresh interval, or (`force`) because a
    /// token named a key id not in the cache. Providers with fixed keys do nothing.
    async fn refresh(&self, _force: bool) {}
}

/// Keys fixed at start: the current key and the previous ones.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    pub current: SigningKey,
    pub previous: Vec<SigningKey>,
}

impl StaticKeys {
    pub fn single(current: SigningKey) -> Self {
        Self { current, previous: Vec::new() }
    }
}

#[async_trait]
impl KeyProvider for StaticKeys {
    fn current(&self) -> SigningKey {
        self.current.clone()
    }

    fn by_kid(&self, kid: &str) -> Option<SigningKey> {
        std::iter::once(&self.current).chain(&self.previous).find(|k| k.kid == kid).cloned()
    }

    fn keys(&self) -> Vec<SigningKey> {
        std::iter::once(&self.current).chain(&self.previous).cloned().collect()
    }
}

/// The DER body of the first `-----BEGIN <label>-----` block; whitespace (and `\n` escaped in JSON) is ignored.
pub fn pem_decode(label: &str, pem: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = pem[start..].find(&end)? + start;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).ok()
}

/// `der` as a PEM block with lines of 64 characters.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pairs_parse_back_under_the_same_id_from_their_pem() {
        for algorithm in [Algorithm::ES256, Algorithm::EdDSA] {
            let (key, pem) = SigningKey::generate(algorithm).unwrap();
            assert_eq!(key.algorithm, algorithm);
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.ends_with("-----END PRIVATE KEY-----\n"));
            let again = SigningKey::from_pem(&pem).unwrap();
            assert_eq!((again.kid.as_str(), again.algorithm), (key.kid.as_str(), algorithm));
            // The id is the RFC 7638 thumbprint: 32 bytes of SHA-256, base64url.
            assert_eq!(key.kid.len(), 43);
            let jwk = serde_json::to_value(key.jwk().unwrap()).unwrap();
            assert_eq!(jwk["kid"], key.kid.as_str());
            assert_eq!(jwk["use"], "sig");
            assert!(jwk.get("d").is_none(), "never the private key: {jwk}");
        }
    }

    #[test]
    fn the_published_jwk_has_the_members_verifiers_need() {
        let (es, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let jwk = serde_json::to_value(es.jwk().unwrap()).unwrap();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(jwk["x"].as_str().is_some_and(|x| x.len() == 43) && jwk["y"].as_str().is_some_and(|y| y.len() == 43));
        let (ed, _) = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let jwk = serde_json::to_value(ed.jwk().unwrap()).unwrap();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
        );
    }

    #[test]
    fn hmac_keys_are_never_published_and_keep_their_v1_ids() {
        let key = SigningKey::derive(b"cloudmind-local-tests-0123456789-abcdefghijklmnop");
        assert!(key.jwk().is_none());
        assert_eq!(key.kid.len(), 16);
        let set = jwk_set([&key]);
        assert!(set.keys.is_empty());
        assert!(!format!("{key:?}").contains("cloudmind-local"));
    }

    #[test]
    fn what_is_not_a_p256_or_ed25519_pkcs8_key_is_refused() {
        assert_eq!(SigningKey::from_pem("no pem here").unwrap_err(), KeyError::NotPem);
        let garbage = pem_encode("PRIVATE KEY", b"not a key at all");
        assert_eq!(SigningKey::from_pem(&garbage).unwrap_err(), KeyError::Rejected);
        assert!(matches!(SigningKey::generate(Algorithm::RS256), Err(KeyError::Algorithm(_))));
    }

    #[test]
    fn openssl_keys_load() {
        // The Ed25519 example key of RFC 8410, section 10.3 (what `openssl genpkey -algorithm ED25519` writes).
        let ed = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(ed).unwrap().algorithm, Algorithm::EdDSA);
        let (_, es_pem) = SigningKey::generate(Algorithm::ES256).unwrap();
        let der = pem_decode("PRIVATE KEY", &es_pem).unwrap();
        assert_eq!(pem_decode("PRIVATE KEY", &pem_encode("PRIVATE KEY", &der)).unwrap(), der);
        // A PEM inside JSON arrives with its line breaks as the two characters `\n` unescaped by the parser; one with
        // stray whitespace still loads.
        let spaced = es_pem.replace('\n', "\n  ");
        assert!(SigningKey::from_pem(&spaced).is_ok());
    }
}
