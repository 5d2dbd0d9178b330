//! Token attacks as an attacker would try them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cloudmind_tests::{TEST_KEY, TestApp, assert_problem, claims_of, forge, test_header};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Re-signs the claims of a real token after `edit`, with the test key and CloudMind's header.
fn resigned(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims_of(token);
    edit(&mut claims);
    forge(&test_header(), &claims, TEST_KEY.as_bytes())
}

#[tokio::test]
async fn a_tampered_payload_is_401() {
    let app = TestApp::spawn().await;
    let token = app.user_token("tess").await;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = claims_of(&token);
    claims["roles"] = json!(["admin"]);
    let forged = format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2]);
    let (h, _) = assert_problem(app.me(&forged).await, 401, "unauthorized").await;
    assert_eq!(h["www-authenticate"], r#"Bearer error="invalid_token""#);
    let mut sig = parts[2].to_string();
    sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
    assert_problem(app.me(&format!("{}.{}.{sig}", parts[0], parts[1])).await, 401, "unauthorized").await;
    assert_eq!(app.me(&token).await.status(), 200);
}

#[tokio::test]
async fn alg_none_and_algorithm_swaps_are_401() {
    let app = TestApp::spawn().await;
    let token = app.user_token("nina").await;
    let parts: Vec<&str> = token.split('.').collect();
    let kid = test_header().kid.unwrap();
    for header in [
        json!({"alg": "none", "typ": "at+jwt"}),
        json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "None", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "HS512", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}),
    ] {
        let h = B64.encode(header.to_string());
        for sig in ["", parts[2]] {
            let forged = format!("{h}.{}.{sig}", parts[1]);
            assert_problem(app.me(&forged).await, 401, "unauthorized").await;
        }
    }
    // A correctly signed token under another HMAC algorithm is refused: the algorithm is pinned.
    let mut hs512 = test_header();
    hs512.alg = Algorithm::HS512;
    let swapped = forge(&hs512, &claims_of(&token), TEST_KEY.as_bytes());
    assert_problem(app.me(&swapped).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn expired_not_yet_valid_wrong_audience_issuer_type_or_key_are_401() {
    let app = TestApp::spawn().await;
    let token = app.user_token("exp").await;
    let t = now();
    let expired = resigned(&token, |c| {
        c["iat"] = json!(t - 4000);
        c["nbf"] = json!(t - 4000);
        c["exp"] = json!(t - 10);
    });
    let (h, _) = assert_problem(app.me(&expired).await, 401, "token_expired").await;
    assert_eq!(h["www-authenticate"], r#"Bearer error="invalid_token""#);
    let future = resigned(&token, |c| c["nbf"] = json!(t + 600));
    assert_problem(app.me(&future).await, 401, "unauthorized").await;
    let no_exp = resigned(&token, |c| {
        c.as_object_mut().unwrap().remove("exp");
    });
    assert_problem(app.me(&no_exp).await, 401, "unauthorized").await;
    let wrong_aud = resigned(&token, |c| c["aud"] = json!("another-api"));
    assert_problem(app.me(&wrong_aud).await, 401, "unauthorized").await;
    let wrong_iss = resigned(&token, |c| c["iss"] = json!("evil"));
    assert_problem(app.me(&wrong_iss).await, 401, "unauthorized").await;

    let mut plain_jwt = test_header();
    plain_jwt.typ = Some("JWT".into());
    let wrong_typ = forge(&plain_jwt, &claims_of(&token), TEST_KEY.as_bytes());
    assert_problem(app.me(&wrong_typ).await, 401, "unauthorized").await;
    let other_key = forge(&test_header(), &claims_of(&token), b"another-key-another-key-another-key-42");
    assert_problem(app.me(&other_key).await, 401, "unauthorized").await;
    let mut no_kid = test_header();
    no_kid.kid = None;
    assert_problem(app.me(&forge(&no_kid, &claims_of(&token), TEST_KEY.as_bytes())).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_valid_signature_for_a_forged_user_or_role_does_not_grant_access() {
    let app = TestApp::spawn().await;
    let token = app.user_token("mia").await;
    // Claims re-signed with the real key (a leaked key) but naming a user that does not exist.
    let ghost = resigned(&token, |c| c["username"] = json!("ghost"));
    assert_problem(app.me(&ghost).await, 401, "token_revoked").await;
    // A self-granted admin role: the stored user decides, not the claim.
    let admin_claim = resigned(&token, |c| c["roles"] = json!(["user", "admin"]));
    let r = app.get_with("/api/v1/admin/rate-limit-stats", &admin_claim).await;
    assert_problem(r, 403, "forbidden").await;
}

#[tokio::test]
async fn issued_tokens_carry_the_contract_claims() {
    let app = TestApp::spawn().await;
    let token = app.user_token("claire").await;
    let header: Value = serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    let c = claims_of(&token);
    for claim in ["iss", "aud", "sub", "username", "jti"] {
        assert!(c[claim].is_string(), "{claim}");
    }
    for claim in ["iat", "nbf", "exp"] {
        assert!(c[claim].is_u64(), "{claim}");
    }
    assert_eq!(c["roles"], json!(["user"]));
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 1800);
    assert_eq!(c["jti"].as_str().unwrap().len(), 32, "128 random bits, hex");
    let _ = Header::default();
}
