//! Tokens any service can verify (API.md v1.2): ES256 and EdDSA access tokens end to end, the key set and the
//! discovery document, algorithm confusion as an attacker tries it, and an HMAC deployment moving to a key pair
//! without logging anyone out. (An outside library verifying from the JWKS alone, across a rotation in Secrets
//! Manager: `backends::an_outside_library_verifies_tokens_from_the_jwks_alone_across_rotations`.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudmind_security::keys::{Algorithm, SigningKey, pem_decode};
use cloudmind_tests::{GOOD_PASSWORD, TEST_KEY, TestApp, assert_problem, claims_of, forge, test_header};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::Value;

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

/// A server signing with a fresh key pair of `name`.
async fn app_with(name: &str) -> (TestApp, SigningKey) {
    let algorithm = cloudmind_security::keys::parse_algorithm(name).unwrap();
    let (key, pem) = SigningKey::generate(algorithm).unwrap();
    let app = TestApp::with(&[("JWT_ALGORITHM", name), ("JWT_PRIVATE_KEY", pem.as_str())]).await;
    (app, key)
}

async fn get_json(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Value) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let headers = r.headers().clone();
    (headers, r.json().await.unwrap())
}

#[tokio::test]
async fn es256_and_eddsa_tokens_work_end_to_end_and_their_public_keys_are_published() {
    for name in ["ES256", "EdDSA"] {
        let (app, key) = app_with(name).await;
        let login: Value = {
            app.registered("ada").await;
            app.login("ada", GOOD_PASSWORD).await.json().await.unwrap()
        };
        let token = login["access_token"].as_str().unwrap();
        let header = header_of(token);
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some(name), Some(key.kid.as_str())));
        assert_eq!(app.me(token).await.status(), 200, "{name}");
        // A refresh signs with the same key.
        let refreshed =
            app.post_json("/api/v1/auth/refresh", &serde_json::json!({"refresh_token": login["refresh_token"]})).await;
        let refreshed: Value = refreshed.json().await.unwrap();
        assert_eq!(header_of(refreshed["access_token"].as_str().unwrap())["alg"], name);

        let (headers, set) = get_json(&app, "/.well-known/jwks.json").await;
        assert_eq!(headers["cache-control"], "public, max-age=300", "the one exception to no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let keys = set["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{set}");
        assert_eq!((keys[0]["kid"].as_str(), keys[0]["alg"].as_str()), (Some(key.kid.as_str()), Some(name)));
        assert_eq!(keys[0]["use"], "sig");
        assert!(keys[0].get("d").is_none(), "never the private key: {set}");

        let (headers, discovery) = get_json(&app, "/.well-known/openid-configuration").await;
        assert_eq!(headers["cache-control"], "public, max-age=300");
        assert_eq!(discovery["issuer"], "cloudmind");
        assert_eq!(discovery["jwks_uri"], "http://127.0.0.1:8000/.well-known/jwks.json");
        assert_eq!(discovery["id_token_signing_alg_values_supported"], serde_json::json!([name]));
    }
}

#[tokio::test]
async fn an_issuer_url_is_where_the_keys_are_found() {
    let (key, pem) = SigningKey::generate(Algorithm::ES256).unwrap();
    let issuer = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod";
    let app =
        TestApp::with(&[("JWT_ALGORITHM", "ES256"), ("JWT_PRIVATE_KEY", pem.as_str()), ("JWT_ISSUER", issuer)]).await;
    let (_, discovery) = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(discovery["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    let token = app.user_token("ivo").await;
    assert_eq!(
        (claims_of(&token)["iss"].as_str(), header_of(&token)["kid"].as_str()),
        (Some(issuer), Some(key.kid.as_str()))
    );
}

#[tokio::test]
async fn with_hmac_keys_the_key_set_is_empty() {
    let app = TestApp::spawn().await;
    let (_, set) = get_json(&app, "/.well-known/jwks.json").await;
    assert_eq!(set, serde_json::json!({"keys": []}), "an HMAC key is never published");
    let (_, discovery) = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(discovery["id_token_signing_alg_values_supported"], serde_json::json!(["HS256"]));
    assert!(!serde_json::to_string(&set).unwrap().contains(TEST_KEY));
}

#[tokio::test]
async fn algorithm_confusion_and_unknown_keys_are_401() {
    let (app, key) = app_with("ES256").await;
    let token = app.user_token("eve").await;
    let claims = claims_of(&token);
    let jwk = serde_json::to_value(key.jwk().unwrap()).unwrap();
    let coordinate = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
    let point = [vec![4u8], coordinate("x"), coordinate("y")].concat();

    let mut forgeries: Vec<(&str, String)> = Vec::new();
    // HS256 under the EC key's id, its HMAC key the public key in every form a confused verifier might use.
    let mut hs = test_header();
    hs.kid = Some(key.kid.clone());
    for (what, secret) in [
        ("HS256 signed with the raw public point", point.clone()),
        ("HS256 signed with the JWK", jwk.to_string().into_bytes()),
        ("HS256 signed with x", jwk["x"].as_str().unwrap().as_bytes().to_vec()),
    ] {
        forgeries.push((what, forge(&hs, &claims, &secret)));
    }
    // The EC key's id with another asymmetric algorithm (a fresh Ed25519 key signs).
    let (_, ed_pem) = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let ed = EncodingKey::from_ed_der(&pem_decode("PRIVATE KEY", &ed_pem).unwrap());
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.typ = Some("at+jwt".into());
    ed_header.kid = Some(key.kid.clone());
    forgeries.push(("EdDSA under the ES256 key's id", jsonwebtoken::encode(&ed_header, &claims, &ed).unwrap()));
    // ES256 signed by another P-256 key, under the genuine id, and under an unknown id.
    let (_, other_pem) = SigningKey::generate(Algorithm::ES256).unwrap();
    let other = EncodingKey::from_ec_der(&pem_decode("PRIVATE KEY", &other_pem).unwrap());
    let mut es_header = Header::new(Algorithm::ES256);
    es_header.typ = Some("at+jwt".into());
    es_header.kid = Some(key.kid.clone());
    forgeries.push(("ES256 by another key", jsonwebtoken::encode(&es_header, &claims, &other).unwrap()));
    es_header.kid = Some("no-such-key".into());
    forgeries.push(("an unknown kid", jsonwebtoken::encode(&es_header, &claims, &other).unwrap()));
    // `alg: none` with the genuine id, and the genuine signature under a header claiming HS256.
    let parts: Vec<&str> = token.split('.').collect();
    let none = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, key.kid));
    forgeries.push(("alg none", format!("{none}.{}.", parts[1])));
    let switched = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, key.kid));
    forgeries.push(("alg switched, signature kept", format!("{switched}.{}.{}", parts[1], parts[2])));

    for (what, forged) in forgeries {
        let r = app.me(&forged).await;
        assert_eq!(r.status(), 401, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{what}");
    }
    assert_eq!(app.me(&token).await.status(), 200, "the genuine token still works");
}

#[tokio::test]
async fn an_hmac_deployment_moves_to_a_key_pair_without_logging_anyone_out() {
    // The key pair signs; the HMAC key of before (`JWT_PREVIOUS_SECRET_KEY`) still verifies what it signed.
    let (key, pem) = SigningKey::generate(Algorithm::ES256).unwrap();
    let app = TestApp::with(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PRIVATE_KEY", pem.as_str()),
        ("JWT_PREVIOUS_SECRET_KEY", TEST_KEY),
    ])
    .await;
    let token = app.user_token("mia").await;
    assert_eq!(header_of(&token)["kid"], key.kid.as_str());
    // The same live session's token as the HMAC deployment issued it before the move.
    let before = forge(&test_header(), &claims_of(&token), TEST_KEY.as_bytes());
    assert_eq!(app.me(&before).await.status(), 200, "an HMAC token of a live session still verifies");
    // Only the key pair is published.
    let (_, set) = get_json(&app, "/.well-known/jwks.json").await;
    assert_eq!(set["keys"].as_array().unwrap().len(), 1);
    // The HMAC key verifies HS256 under its own id only.
    let mut wrong = test_header();
    wrong.kid = Some(key.kid.clone());
    assert_problem(app.me(&forge(&wrong, &claims_of(&token), TEST_KEY.as_bytes())).await, 401, "unauthorized").await;
    // After logout both are refused: revocation does not depend on the algorithm.
    assert_eq!(app.logout(&token).await.status(), 204);
    assert_problem(app.me(&before).await, 401, "token_revoked").await;
}
