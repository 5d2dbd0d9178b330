//! Header and claims chosen by the fuzzer, correctly signed with one of the ring's keys (HS256, ES256 or EdDSA):
//! what passes the signature must still pass every other check (the key's own algorithm, `typ`, key id, issuer,
//! audience, expiry, `nbf`), with no panic on odd JSON.
//!
//! Input: a byte choosing the key, then the header JSON, a 0xFF byte, the claims JSON (without the 0xFF byte, the
//! rest is the claims and the header is CloudMind's own for that key).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudmind_security::tokens::{NBF_LEEWAY_SECONDS, TOKEN_TYPE};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

static SERVICE: std::sync::LazyLock<cloudmind_security::tokens::TokenService> =
    std::sync::LazyLock::new(common::service);
static KEYS: std::sync::LazyLock<[cloudmind_security::tokens::SigningKey; 3]> = std::sync::LazyLock::new(common::keys);

fuzz_target!(|data: &[u8]| {
    let Some((&choice, data)) = data.split_first() else { return };
    let key = &KEYS[usize::from(choice) % 3];
    let alg = match key.algorithm {
        jsonwebtoken::Algorithm::ES256 => "ES256",
        jsonwebtoken::Algorithm::EdDSA => "EdDSA",
        _ => "HS256",
    };
    let kid = key.kid.clone();
    let default_header = format!(r#"{{"alg":"{alg}","typ":"{TOKEN_TYPE}","kid":"{kid}"}}"#);
    let (header, claims) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (default_header.as_bytes(), data),
    };
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let Ok(signature) = jsonwebtoken::crypto::sign(message.as_bytes(), key.encoding(), key.algorithm) else { return };
    let token = format!("{message}.{signature}");
    let Ok(verified) = SERVICE.verify(&token, common::NOW_MS) else { return };
    let header: Value =
        serde_json::from_slice(header).unwrap_or_else(|e| panic!("accepted a header that is not JSON: {e}"));
    assert_eq!(header["alg"], alg, "accepted another algorithm than the key's");
    assert_eq!(header["typ"], TOKEN_TYPE, "accepted another token type");
    assert_eq!(header["kid"], kid.as_str(), "accepted another key id");
    let now = common::NOW_MS / 1000;
    assert_eq!(verified.iss, common::ISSUER);
    assert_eq!(verified.aud, common::AUDIENCE);
    assert!(verified.exp > now, "accepted an expired token");
    assert!(verified.nbf <= now + NBF_LEEWAY_SECONDS, "accepted a token not yet valid");
});
