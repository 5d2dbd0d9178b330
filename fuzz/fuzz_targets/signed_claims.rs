//! Header and claims chosen by the fuzzer, correctly signed with the key: what passes the signature must still pass
//! every other check (algorithm, `typ`, key id, issuer, audience, expiry, `nbf`), with no panic on odd JSON.
//!
//! Input: the header JSON, a 0xFF byte, the claims JSON (without the byte, the input is the claims and the header
//! is CloudMind's own).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudmind_security::tokens::{NBF_LEEWAY_SECONDS, SigningKey, TOKEN_TYPE};
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

static SERVICE: std::sync::LazyLock<cloudmind_security::tokens::TokenService> =
    std::sync::LazyLock::new(common::service);

fuzz_target!(|data: &[u8]| {
    let kid = SigningKey::derive(common::SECRET).kid;
    let default_header = format!(r#"{{"alg":"HS256","typ":"{TOKEN_TYPE}","kid":"{kid}"}}"#);
    let (header, claims) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (default_header.as_bytes(), data),
    };
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let Ok(key) = EncodingKey::from_secret(common::SECRET) else { unreachable!("an HMAC key of any length") };
    let Ok(signature) = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256) else { return };
    let token = format!("{message}.{signature}");
    let Ok(verified) = SERVICE.verify(&token, common::NOW_MS) else { return };
    let header: Value =
        serde_json::from_slice(header).unwrap_or_else(|e| panic!("accepted a header that is not JSON: {e}"));
    assert_eq!(header["alg"], "HS256", "accepted another algorithm");
    assert_eq!(header["typ"], TOKEN_TYPE, "accepted another token type");
    assert_eq!(header["kid"], kid.as_str(), "accepted another key id");
    let now = common::NOW_MS / 1000;
    assert_eq!(verified.iss, common::ISSUER);
    assert_eq!(verified.aud, common::AUDIENCE);
    assert!(verified.exp > now, "accepted an expired token");
    assert!(verified.nbf <= now + NBF_LEEWAY_SECONDS, "accepted a token not yet valid");
});
