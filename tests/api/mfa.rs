//! MFA with TOTP (API.md, v1.1), black-box: enrolment and confirmation, the `mfa_required` login step, one use
//! per code and per recovery code, the lockout on wrong codes, turning MFA off, the admin reset, and no secret in
//! the log. Codes are computed from the enrolled secret as an authenticator app does.

use cloudmind_security::clock::now_ms;
use cloudmind_security::mfa::code_for_base32;
use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem, logs};
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// A user with MFA on: its secret (base32) and recovery codes.
async fn enrolled(app: &TestApp, username: &str) -> (String, Vec<String>) {
    app.registered(username).await;
    let token = app.token(username, GOOD_PASSWORD).await;
    let r = post(app, "/api/v1/me/mfa/totp", &token, Some(json!({"password": GOOD_PASSWORD}))).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let code = code_for_base32(&secret, now_ms()).unwrap();
    let r = post(app, "/api/v1/me/mfa/totp/confirm", &token, Some(json!({"code": code}))).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    (secret, codes)
}

/// Logs in with the right password and expects the MFA step: its `mfa_token`.
async fn mfa_token(app: &TestApp, username: &str) -> String {
    let (_, body) = assert_problem(app.login(username, GOOD_PASSWORD).await, 403, "mfa_required").await;
    assert_eq!(body["expires_in"], 300);
    assert!(body.get("access_token").is_none());
    body["mfa_token"].as_str().unwrap().to_string()
}

async fn mfa_step(app: &TestApp, mfa_token: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/mfa", &json!({"mfa_token": mfa_token, "code": code})).await
}

/// A six-digit code that is not the current one (nor its neighbours, but for a one-in-a-million coincidence).
fn wrong_code(secret: &str) -> String {
    let right: u32 = code_for_base32(secret, now_ms()).unwrap().parse().unwrap();
    format!("{:06}", (right + 500_000) % 1_000_000)
}

#[tokio::test]
async fn enrol_confirm_then_each_code_and_recovery_code_logs_in_once() {
    let app = TestApp::spawn().await;
    app.registered("mia").await;
    let token = app.token("mia", GOOD_PASSWORD).await;
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);

    let r = post(&app, "/api/v1/me/mfa/totp/confirm", &token, Some(json!({"code": "123456"}))).await;
    let (_, body) = assert_problem(r, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "code", "no enrolment pending");
    let body: Value =
        post(&app, "/api/v1/me/mfa/totp", &token, Some(json!({"password": GOOD_PASSWORD}))).await.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32 without padding");
    assert_eq!(
        body["otpauth_uri"],
        format!("otpauth://totp/CloudMind:mia?secret={secret}&issuer=CloudMind&algorithm=SHA1&digits=6&period=30")
    );
    let r = post(&app, "/api/v1/me/mfa/totp/confirm", &token, Some(json!({"code": wrong_code(&secret)}))).await;
    assert_problem(r, 400, "validation_failed").await;
    let code = code_for_base32(&secret, now_ms()).unwrap();
    let r = post(&app, "/api/v1/me/mfa/totp/confirm", &token, Some(json!({"code": code}))).await;
    assert_eq!(r.status(), 200);
    let codes: Vec<String> = r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_problem(
        post(&app, "/api/v1/me/mfa/totp", &token, Some(json!({"password": GOOD_PASSWORD}))).await,
        409,
        "mfa_already_enabled",
    )
    .await;
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);

    // The code that confirmed cannot log in (its step is used); wait for a fresh one only if needed.
    let ticket = mfa_token(&app, "mia").await;
    assert_problem(mfa_step(&app, &ticket, &code).await, 401, "invalid_credentials").await;
    // The ticket was spent by that attempt.
    assert_problem(mfa_step(&app, &ticket, &code).await, 401, "unauthorized").await;

    // A recovery code logs in, once.
    let ticket = mfa_token(&app, "mia").await;
    let r = mfa_step(&app, &ticket, &codes[0].to_uppercase()).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    let ticket = mfa_token(&app, "mia").await;
    assert_problem(mfa_step(&app, &ticket, &codes[0]).await, 401, "invalid_credentials").await;
    assert_problem(mfa_step(&app, "not-a-ticket", &codes[1]).await, 401, "unauthorized").await;

    // The code of the next step logs in once; the same code again does not (no replay).
    let next = code_for_base32(&secret, now_ms() + 30_000).unwrap();
    let ticket = mfa_token(&app, "mia").await;
    assert_eq!(mfa_step(&app, &ticket, &next).await.status(), 200);
    let ticket = mfa_token(&app, "mia").await;
    assert_problem(mfa_step(&app, &ticket, &next).await, 401, "invalid_credentials").await;
    assert!(!app.events("authn_mfa_enabled").await.is_empty());
}

#[tokio::test]
async fn five_wrong_codes_lock_the_account_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let (secret, _) = enrolled(&app, "nico").await;
    for _ in 0..5 {
        let ticket = mfa_token(&app, "nico").await;
        assert_problem(mfa_step(&app, &ticket, &wrong_code(&secret)).await, 401, "invalid_credentials").await;
    }
    // Right passwords in between did not reset the count: five wrong codes locked the account.
    let (headers, _) = assert_problem(app.login("nico", GOOD_PASSWORD).await, 423, "account_locked").await;
    assert!(headers.contains_key("retry-after"));
}

#[tokio::test]
async fn turning_mfa_off_needs_the_password_and_a_code_and_an_admin_can_reset_it() {
    let app = TestApp::spawn().await;
    let (secret, codes) = enrolled(&app, "omar").await;
    let ticket = mfa_token(&app, "omar").await;
    // The current step was used by the confirmation: the next one logs in.
    let body: Value =
        mfa_step(&app, &ticket, &code_for_base32(&secret, now_ms() + 30_000).unwrap()).await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let off = |password: &str, code: String| {
        app.client
            .delete(app.url("/api/v1/me/mfa/totp"))
            .bearer_auth(&token)
            .json(&json!({"password": password, "code": code}))
            .send()
    };
    // Every step of the window is used by now: a recovery code turns MFA off.
    assert_problem(off("Wrong-Pass-Word-99", codes[0].clone()).await.unwrap(), 401, "invalid_credentials").await;
    assert_problem(off(GOOD_PASSWORD, wrong_code(&secret)).await.unwrap(), 401, "invalid_credentials").await;
    assert_eq!(off(GOOD_PASSWORD, codes[0].clone()).await.unwrap().status(), 204);
    assert_eq!(app.login("omar", GOOD_PASSWORD).await.status(), 200, "no MFA step any more");

    enrolled(&app, "petra").await;
    mfa_token(&app, "petra").await;
    let admin = app.admin_token().await;
    let reset =
        |name: &str| app.client.delete(app.url(&format!("/api/v1/admin/users/{name}/mfa"))).bearer_auth(&admin).send();
    assert_eq!(reset("petra").await.unwrap().status(), 204);
    assert_eq!(app.login("petra", GOOD_PASSWORD).await.status(), 200);
    assert_problem(reset("nobody-here").await.unwrap(), 404, "not_found").await;
    let user = app.token("omar", GOOD_PASSWORD).await;
    let r = app.client.delete(app.url("/api/v1/admin/users/petra/mfa")).bearer_auth(&user).send().await.unwrap();
    assert_problem(r, 403, "forbidden").await;
}

#[tokio::test]
async fn no_mfa_secret_code_recovery_code_or_ticket_reaches_the_log() {
    let app = TestApp::spawn().await;
    let (secret, codes) = enrolled(&app, "quin").await;
    let ticket = mfa_token(&app, "quin").await;
    let code = code_for_base32(&secret, now_ms()).unwrap();
    mfa_step(&app, &ticket, &wrong_code(&secret)).await;
    let ticket2 = mfa_token(&app, "quin").await;
    mfa_step(&app, &ticket2, &codes[3]).await;
    let logs = logs::captured();
    for forbidden in [secret.as_str(), ticket.as_str(), ticket2.as_str(), codes[3].as_str(), codes[4].as_str()] {
        assert!(!logs.contains(forbidden), "the log contains {forbidden:?}");
    }
    // A six-digit code is too common a string to search the whole log for; it is not in any MFA event line.
    assert!(logs.lines().filter(|l| l.contains("mfa")).all(|l| !l.contains(&code)));
    assert!(logs.contains("authn_mfa_required"));
}
