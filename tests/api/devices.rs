//! Trusted devices (API.md, v1.1): a stranger who locks an account by guessing does not lock out its owner's
//! device; guesses under a device token count against the device and revoke it; a password change and
//! `DELETE /api/v1/me/devices` revoke every device; MFA still applies; the token never reaches the log.

use cloudmind_security::clock::now_ms;
use cloudmind_security::mfa::code_for_base32;
use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem, logs};
use serde_json::{Value, json};

async fn login(app: &TestApp, username: &str, password: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"username": username, "password": password});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post_json("/api/v1/auth/login", &body).await
}

/// Logs in remembering the device: the device token.
async fn remembered(app: &TestApp, username: &str) -> String {
    let r = login(app, username, GOOD_PASSWORD, json!({"remember_device": true})).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let token = body["device_token"].as_str().unwrap().to_string();
    assert!(token.len() >= 43, "256 bits");
    token
}

/// Five wrong passwords from a stranger, without a device token: the username is locked.
async fn locked_by_a_stranger(app: &TestApp, username: &str) {
    for _ in 0..5 {
        login(app, username, "Wrong-Guess-Pass-1", json!({})).await;
    }
    assert_problem(login(app, username, GOOD_PASSWORD, json!({})).await, 423, "account_locked").await;
}

#[tokio::test]
async fn a_locked_account_still_admits_its_owners_device_and_guesses_under_it_revoke_it() {
    let app = TestApp::spawn().await;
    app.registered("rita").await;
    let device = remembered(&app, "rita").await;
    // An ordinary login does not get a device token.
    let body: Value = app.login("rita", GOOD_PASSWORD).await.json().await.unwrap();
    assert!(body.get("device_token").is_none());

    locked_by_a_stranger(&app, "rita").await;
    assert_eq!(login(&app, "rita", GOOD_PASSWORD, json!({"device_token": device})).await.status(), 200);
    // Another user's device token is ignored: an ordinary (locked) login.
    app.registered("sven").await;
    let svens = remembered(&app, "sven").await;
    assert_problem(login(&app, "rita", GOOD_PASSWORD, json!({"device_token": svens})).await, 423, "account_locked")
        .await;

    // Five wrong passwords under the device token: each 401, none refused by the username's lockout...
    for _ in 0..5 {
        let r = login(&app, "rita", "Wrong-Guess-Pass-2", json!({"device_token": device})).await;
        assert_problem(r, 401, "invalid_credentials").await;
    }
    // ...and the device is revoked: the login is an ordinary one again, and the username is locked.
    assert_problem(login(&app, "rita", GOOD_PASSWORD, json!({"device_token": device})).await, 423, "account_locked")
        .await;
    assert!(!app.events("authn_device_trusted").await.is_empty());
}

#[tokio::test]
async fn a_password_change_and_delete_me_devices_revoke_every_device() {
    let app = TestApp::spawn().await;
    app.registered("tara").await;
    let first = remembered(&app, "tara").await;
    let second = remembered(&app, "tara").await;
    let token = app.token("tara", GOOD_PASSWORD).await;
    let r = app.client.delete(app.url("/api/v1/me/devices")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    locked_by_a_stranger(&app, "tara").await;
    for device in [&first, &second] {
        assert_problem(
            login(&app, "tara", GOOD_PASSWORD, json!({"device_token": device})).await,
            423,
            "account_locked",
        )
        .await;
    }

    app.registered("uma").await;
    let device = remembered(&app, "uma").await;
    let token = app.token("uma", GOOD_PASSWORD).await;
    let r = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": "Another-Horse-77-Battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for _ in 0..5 {
        login(&app, "uma", "Wrong-Guess-Pass-3", json!({})).await;
    }
    let r = login(&app, "uma", "Another-Horse-77-Battery", json!({"device_token": device})).await;
    assert_problem(r, 423, "account_locked").await;
}

#[tokio::test]
async fn mfa_still_applies_to_a_device_and_remember_device_rides_on_the_mfa_token() {
    let app = TestApp::spawn().await;
    app.registered("vera").await;
    let token = app.token("vera", GOOD_PASSWORD).await;
    let body: Value = app
        .client
        .post(app.url("/api/v1/me/mfa/totp"))
        .bearer_auth(&token)
        .json(&json!({"password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let r = app
        .client
        .post(app.url("/api/v1/me/mfa/totp/confirm"))
        .bearer_auth(&token)
        .json(&json!({"code": code_for_base32(&secret, now_ms()).unwrap()}))
        .send()
        .await
        .unwrap();
    let codes: Vec<String> = r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let (_, body) =
        assert_problem(login(&app, "vera", GOOD_PASSWORD, json!({"remember_device": true})).await, 403, "mfa_required")
            .await;
    let r = app.post_json("/api/v1/auth/mfa", &json!({"mfa_token": body["mfa_token"], "code": codes[0]})).await;
    assert_eq!(r.status(), 200);
    let device = r.json::<Value>().await.unwrap()["device_token"].as_str().unwrap().to_string();
    // The device skips the lockout, not the second factor.
    assert_problem(login(&app, "vera", GOOD_PASSWORD, json!({"device_token": device})).await, 403, "mfa_required")
        .await;
    let logs = logs::captured();
    assert!(!logs.contains(&device), "the log contains the device token");
}
