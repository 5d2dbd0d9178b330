//! What the token targets share: CloudMind's token service with a fixed key, and a fixed "now".

use std::sync::Arc;

use cloudmind_security::tokens::{SigningKey, StaticKeys, TokenService, TokenSettings, parse_algorithm};

pub const SECRET: &[u8] = b"cloudmind-fuzz-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const ISSUER: &str = "cloudmind";
pub const AUDIENCE: &str = "cloudmind-api";
/// 2026-12-01T00:00:00Z in milliseconds; the seed tokens' claims are built around it.
pub const NOW_MS: u64 = 1_796_083_200_000;

pub fn service() -> TokenService {
    let settings = TokenSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        algorithm: parse_algorithm("HS256").unwrap_or_else(|| unreachable!("HS256 is supported")),
        ttl_seconds: 1800,
    };
    TokenService::new(settings, Arc::new(StaticKeys { current: SigningKey::derive(SECRET), previous: None }))
}
