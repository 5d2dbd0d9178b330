//! Taking a genuine access token apart and putting forged ones together: the tampering an attacker tries without
//! the key, and (given `--signing-key`) correctly signed tokens whose claims are wrong, so the claim checks behind
//! the signature are reached.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

/// A JWT's three parts, the first two decoded.
#[derive(Debug, Clone)]
pub struct Parts {
    pub header: Value,
    pub claims: Value,
    pub signature: String,
}

impl Parts {
    pub fn parse(token: &str) -> Option<Self> {
        let mut it = token.split('.');
        let (h, c, s) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        let decode = |part: &str| -> Option<Value> { serde_json::from_slice(&B64.decode(part).ok()?).ok() };
        Some(Self { header: decode(h)?, claims: decode(c)?, signature: s.to_string() })
    }

    /// The token with these header and claims and the given signature text, exactly as written.
    pub fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
        format!("{}.{}.{signature}", B64.encode(header.to_string()), B64.encode(claims.to_string()))
    }
}

/// The forgeries that need no key: each a name for the report and the token.
pub fn unkeyed_forgeries(token: &str, parts: &Parts) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let with_alg = |alg: &str| {
        let mut h = parts.header.clone();
        h["alg"] = Value::from(alg);
        h
    };
    for alg in ["none", "None", "NONE", "nOnE"] {
        out.push(("alg none, no signature", Parts::assemble(&with_alg(alg), &parts.claims, "")));
        out.push(("alg none, signature kept", Parts::assemble(&with_alg(alg), &parts.claims, &parts.signature)));
    }
    for alg in ["HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA"] {
        if parts.header["alg"] != alg {
            out.push((
                "algorithm swapped, signature kept",
                Parts::assemble(&with_alg(alg), &parts.claims, &parts.signature),
            ));
        }
    }
    let mut no_alg = parts.header.clone();
    if let Some(h) = no_alg.as_object_mut() {
        h.remove("alg");
    }
    out.push(("no alg in the header", Parts::assemble(&no_alg, &parts.claims, &parts.signature)));
    let (signed, _) = token.rsplit_once('.').unwrap_or((token, ""));
    out.push(("signature stripped, dot kept", format!("{signed}.")));
    out.push(("signature stripped, dot removed", signed.to_string()));
    out.push(("signature altered", format!("{signed}.{}", flip_middle(&parts.signature))));
    out.push(("signature of another token", format!("{signed}.{}", B64.encode([0x42u8; 32]))));
    let mut admin = parts.claims.clone();
    admin["roles"] = serde_json::json!(["user", "admin"]);
    out.push(("claims altered (admin role), signature kept", Parts::assemble(&parts.header, &admin, &parts.signature)));
    let mut later = parts.claims.clone();
    if let Some(exp) = later["exp"].as_i64() {
        later["exp"] = Value::from(exp + 365 * 86_400);
    }
    out.push((
        "claims altered (exp a year on), signature kept",
        Parts::assemble(&parts.header, &later, &parts.signature),
    ));
    let mut kid = parts.header.clone();
    kid["kid"] = Value::from("../../../../dev/null");
    out.push(("kid pointed at a file, signature kept", Parts::assemble(&kid, &parts.claims, &parts.signature)));
    out.push(("a second signature segment", format!("{token}.{}", parts.signature)));
    out
}

/// The forgeries that use the server's own published keys (`/.well-known/jwks.json`): algorithm confusion, where an
/// HMAC token is signed with a public key's bytes under its `kid`; a published key used with another algorithm;
/// and an unknown `kid`. Empty when nothing is published (HMAC tokens).
pub fn key_set_forgeries(parts: &Parts, jwks: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for key in jwks["keys"].as_array().into_iter().flatten() {
        let Some(kid) = key["kid"].as_str() else { continue };
        let coordinate = |c: &str| key[c].as_str().and_then(|v| B64.decode(v).ok());
        let mut hmac_secrets: Vec<(&'static str, Vec<u8>)> = vec![
            ("HS256 signed with the published JWK under its kid", key.to_string().into_bytes()),
            ("HS256 signed with the published x under its kid", key["x"].as_str().unwrap_or("").as_bytes().to_vec()),
        ];
        match (coordinate("x"), coordinate("y")) {
            (Some(x), Some(y)) => {
                hmac_secrets.push(("HS256 signed with the raw public point under its kid", [vec![4u8], x, y].concat()))
            }
            (Some(x), None) => hmac_secrets.push(("HS256 signed with the raw public key under its kid", x)),
            _ => {}
        }
        let mut header = parts.header.clone();
        header["kid"] = Value::from(kid);
        header["alg"] = Value::from("HS256");
        for (what, secret) in hmac_secrets {
            if let Ok(t) = sign(&header, &parts.claims, &secret) {
                out.push((what, t));
            }
        }
        // The key with an algorithm that is not its own, and an id that names no key (any signature: the server
        // must refuse before it matters).
        let other = if key["alg"] == "EdDSA" { "ES256" } else { "EdDSA" };
        header["alg"] = Value::from(other);
        out.push((
            "a published key used with another algorithm",
            Parts::assemble(&header, &parts.claims, &parts.signature),
        ));
        header["alg"] = key["alg"].clone();
        header["kid"] = Value::from(format!("{kid}-unknown"));
        out.push(("an unknown kid", Parts::assemble(&header, &parts.claims, &parts.signature)));
    }
    out
}

/// A token signed with `key` under the genuine header's `alg` and `kid`, with `header` fields and `claims` as given.
pub fn sign(parts_header: &Value, claims: &Value, key: &[u8]) -> Result<String, String> {
    let alg = match parts_header["alg"].as_str() {
        Some("HS256") => Algorithm::HS256,
        Some("HS384") => Algorithm::HS384,
        Some("HS512") => Algorithm::HS512,
        other => return Err(format!("--signing-key signs HMAC tokens; this server's tokens are {other:?}")),
    };
    // jsonwebtoken refuses an empty HMAC key; an attacker's empty key is one byte of nothing.
    let key = if key.is_empty() { &[0u8][..] } else { key };
    let mut header = Header::new(alg);
    header.typ = parts_header["typ"].as_str().map(str::to_string);
    header.kid = parts_header["kid"].as_str().map(str::to_string);
    let key = EncodingKey::from_secret(key).map_err(|e| format!("signing key: {e}"))?;
    jsonwebtoken::encode(&header, claims, &key).map_err(|e| format!("signing: {e}"))
}

/// Flips one bit of the middle character of a base64url signature (the last one may only carry padding bits).
fn flip_middle(signature: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = signature.as_bytes().to_vec();
    if bytes.is_empty() {
        return "AAAA".into();
    }
    let mid = bytes.len() / 2;
    let index = ALPHABET.iter().position(|&c| c == bytes[mid]).unwrap_or(0);
    bytes[mid] = ALPHABET[index ^ 1];
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        let header = serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"});
        let claims = serde_json::json!({"sub": "u1", "roles": ["user"], "exp": 2_000_000_000});
        sign(&header, &claims, b"a key of the tests, long enough").unwrap()
    }

    #[test]
    fn a_token_round_trips() {
        let t = token();
        let p = Parts::parse(&t).unwrap();
        assert_eq!(p.header["kid"], "k1");
        assert_eq!(p.header["typ"], "at+jwt");
        assert_eq!(p.claims["sub"], "u1");
        assert_eq!(Parts::assemble(&p.header, &p.claims, &p.signature).split('.').nth(2), t.split('.').nth(2));
    }

    #[test]
    fn every_forgery_differs_from_the_genuine_token() {
        let t = token();
        let p = Parts::parse(&t).unwrap();
        let forged = unkeyed_forgeries(&t, &p);
        assert!(forged.len() >= 15);
        for (name, f) in &forged {
            assert_ne!(f, &t, "{name}");
        }
        let altered = forged.iter().find(|(n, _)| *n == "signature altered").unwrap();
        assert_eq!(altered.1.len(), t.len());
    }

    #[test]
    fn only_hmac_tokens_are_signed() {
        let header = serde_json::json!({"alg": "RS256"});
        assert!(sign(&header, &serde_json::json!({}), b"k").is_err());
    }
}
