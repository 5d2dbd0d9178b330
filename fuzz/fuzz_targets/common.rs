//! What the token targets share: CloudMind's token service with a ring of fixed keys (HS256, ES256, EdDSA: the
//! three algorithms it signs with), and a fixed "now".

use std::sync::Arc;

use cloudmind_security::tokens::{SigningKey, StaticKeys, TokenService, TokenSettings, parse_algorithm};

pub const SECRET: &[u8] = b"cloudmind-fuzz-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const ISSUER: &str = "cloudmind";
pub const AUDIENCE: &str = "cloudmind-api";
/// 2026-12-01T00:00:00Z in milliseconds; the seed tokens' claims are built around it.
pub const NOW_MS: u64 = 1_796_083_200_000;

/// A P-256 key made for the fuzz targets alone.
pub const ES256_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMRZLydFmR91Ep69U\nu6V0hJlJczUnhEZIIJAfxUwDWAOhRANCAAR5q/Oug71BmOzRPiSj4Q7LOWy26NZL\ncxZ6910SnIVX3sIBkjQ1/ja/mVoAlryx2Mj+hijcB+Ne7SlMUjy2NUMU\n-----END PRIVATE KEY-----\n";
/// The Ed25519 example key of RFC 8410.
pub const EDDSA_PEM: &str =
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";

/// The ring's keys: the HMAC key signs, the key pairs verify (as after a move from HMAC).
pub fn keys() -> [SigningKey; 3] {
    let pair = |pem| SigningKey::from_pem(pem).unwrap_or_else(|e| unreachable!("the fixed keys parse: {e}"));
    [SigningKey::derive(SECRET), pair(ES256_PEM), pair(EDDSA_PEM)]
}

pub fn service() -> TokenService {
    let settings = TokenSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        algorithm: parse_algorithm("HS256").unwrap_or_else(|| unreachable!("HS256 is supported")),
        ttl_seconds: 1800,
    };
    let [hmac, es, ed] = keys();
    TokenService::new(settings, Arc::new(StaticKeys { current: hmac, previous: vec![es, ed] }))
}
