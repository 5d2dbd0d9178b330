//! Any string as a bearer token: verification never panics, and nothing unsigned by the key is accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

static SERVICE: std::sync::LazyLock<cloudmind_security::tokens::TokenService> =
    std::sync::LazyLock::new(common::service);

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    if let Ok(claims) = SERVICE.verify(&token, common::NOW_MS) {
        // Only reachable with a token signed by the key (the seed corpus holds some): its claims must hold.
        assert_eq!(claims.iss, common::ISSUER);
        assert_eq!(claims.aud, common::AUDIENCE);
        assert!(claims.exp > common::NOW_MS / 1000);
    }
});
