//! Sessions and refresh tokens: rotation, reuse detection, lifetimes, logout, password change, the sessions list.

use std::time::Duration;

use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem};
use serde_json::{Value, json};

/// Logs in and returns the whole token body.
async fn login(app: &TestApp, username: &str) -> Value {
    let r = app.login(username, GOOD_PASSWORD).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token })).await
}

fn field(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap_or_else(|| panic!("no {name} in {body}")).to_string()
}

fn sid_of(token: &str) -> String {
    cloudmind_tests::claims_of(token)["sid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn each_refresh_gives_a_working_pair_and_spends_the_token_it_was_given() {
    let app = TestApp::spawn().await;
    app.registered("rosa").await;
    let first = login(&app, "rosa").await;
    assert!(first["refresh_expires_in"].as_u64().is_some_and(|s| (1790..=1800).contains(&s)), "{first}");
    assert!(field(&first, "refresh_token").len() >= 43, "at least 256 bits");
    let sid = sid_of(&field(&first, "access_token"));
    let mut current = first;
    for _ in 0..3 {
        let r = refresh(&app, &field(&current, "refresh_token")).await;
        assert_eq!(r.status(), 200);
        let next: Value = r.json().await.unwrap();
        assert_ne!(next["refresh_token"], current["refresh_token"]);
        assert_eq!(sid_of(&field(&next, "access_token")), sid, "the same session");
        assert_eq!(app.me(&field(&next, "access_token")).await.status(), 200);
        current = next;
    }
    let r = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": "bm90LWEtdG9rZW4" })).await;
    assert_problem(r, 401, "unauthorized").await;
    let r = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": 5 })).await;
    assert_problem(r, 400, "validation_failed").await;
}

#[tokio::test]
async fn a_spent_refresh_token_presented_again_revokes_the_whole_session() {
    let app = TestApp::spawn().await;
    app.registered("sami").await;
    let first = login(&app, "sami").await;
    let spent = field(&first, "refresh_token");
    let second: Value = refresh(&app, &spent).await.json().await.unwrap();
    // One more rotation: `spent` is no longer the token rotated last, so no grace covers it.
    let third: Value = refresh(&app, &field(&second, "refresh_token")).await.json().await.unwrap();
    let (access, newest) = (field(&third, "access_token"), field(&third, "refresh_token"));
    assert_eq!(app.me(&access).await.status(), 200);

    // The thief (or a replay) comes back with the spent token.
    assert_problem(refresh(&app, &spent).await, 401, "token_revoked").await;
    assert_problem(app.me(&access).await, 401, "token_revoked").await;
    assert_problem(app.me(&field(&first, "access_token")).await, 401, "token_revoked").await;
    assert_problem(refresh(&app, &newest).await, 401, "token_revoked").await;
    let events = app.events("authn_token_reuse").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["username"], "sami");
    // Another session of the same user is untouched.
    let other = login(&app, "sami").await;
    assert_eq!(refresh(&app, &field(&other, "refresh_token")).await.status(), 200);
}

#[tokio::test]
async fn without_a_grace_the_token_rotated_last_is_reuse_too() {
    let app = TestApp::with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    app.registered("sara").await;
    let first = login(&app, "sara").await;
    let spent = field(&first, "refresh_token");
    let second: Value = refresh(&app, &spent).await.json().await.unwrap();
    assert_problem(refresh(&app, &spent).await, 401, "token_revoked").await;
    assert_problem(app.me(&field(&second, "access_token")).await, 401, "token_revoked").await;
    assert_eq!(app.events("authn_token_reuse").await.len(), 1);
}

#[tokio::test]
async fn the_token_rotated_last_within_the_grace_gets_a_new_pair_and_the_session_lives() {
    // The default grace (10 s): a client that retries, or refreshes from two tabs at once, is not logged out.
    let app = TestApp::spawn().await;
    app.registered("gina").await;
    let first = login(&app, "gina").await;
    let sid = sid_of(&field(&first, "access_token"));
    let spent = field(&first, "refresh_token");
    let second: Value = refresh(&app, &spent).await.json().await.unwrap();
    let r = refresh(&app, &spent).await;
    assert_eq!(r.status(), 200, "the token rotated last, within the grace");
    let retried: Value = r.json().await.unwrap();
    assert_eq!(sid_of(&field(&retried, "access_token")), sid, "a new pair of the same session");
    assert_eq!(app.me(&field(&second, "access_token")).await.status(), 200, "the session survived");
    assert_eq!(app.me(&field(&retried, "access_token")).await.status(), 200);
    assert_eq!(refresh(&app, &field(&retried, "refresh_token")).await.status(), 200);
    assert!(app.events("authn_token_reuse").await.is_empty());
    // Only the token rotated last is covered: the first one, now two rotations back, is reuse.
    assert_problem(refresh(&app, &spent).await, 401, "token_revoked").await;
    assert_eq!(app.events("authn_token_reuse").await.len(), 1);
}

#[tokio::test]
async fn after_the_grace_the_token_rotated_last_is_reuse() {
    let app = TestApp::with(&[("REFRESH_REUSE_GRACE_SECONDS", "1")]).await;
    app.registered("gail").await;
    let first = login(&app, "gail").await;
    let spent = field(&first, "refresh_token");
    let second: Value = refresh(&app, &spent).await.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_problem(refresh(&app, &spent).await, 401, "token_revoked").await;
    assert_problem(app.me(&field(&second, "access_token")).await, 401, "token_revoked").await;
}

#[tokio::test]
async fn twenty_parallel_refreshes_of_one_token_admit_exactly_one_without_a_grace() {
    let app = TestApp::with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    app.registered("para").await;
    let token = field(&login(&app, "para").await, "refresh_token");
    let statuses: Vec<u16> = futures_util::future::join_all((0..20).map(|_| refresh(&app, &token)))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_both_get_a_pair_of_the_same_session() {
    let app = TestApp::spawn().await;
    app.registered("pam").await;
    let first = login(&app, "pam").await;
    let sid = sid_of(&field(&first, "access_token"));
    let token = field(&first, "refresh_token");
    let answers = futures_util::future::join_all((0..2).map(|_| refresh(&app, &token))).await;
    let mut pairs = Vec::new();
    for r in answers {
        assert_eq!(r.status(), 200);
        pairs.push(r.json::<Value>().await.unwrap());
    }
    for pair in &pairs {
        assert_eq!(sid_of(&field(pair, "access_token")), sid);
        assert_eq!(app.me(&field(pair, "access_token")).await.status(), 200);
    }
    assert!(app.events("authn_token_reuse").await.is_empty());
}

#[tokio::test]
async fn logout_ends_the_session_its_refresh_token_and_asks_the_browser_to_forget() {
    let app = TestApp::spawn().await;
    app.registered("lulu").await;
    let body = login(&app, "lulu").await;
    let second: Value = refresh(&app, &field(&body, "refresh_token")).await.json().await.unwrap();
    let r = app.logout(&field(&second, "access_token")).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["clear-site-data"], r#""cache", "cookies", "storage""#);
    assert_problem(refresh(&app, &field(&second, "refresh_token")).await, 401, "token_revoked").await;
    assert_problem(app.me(&field(&second, "access_token")).await, 401, "token_revoked").await;
    assert_eq!(app.events("authn_session_revoked").await.len(), 1);
}

#[tokio::test]
async fn an_unused_session_ends_after_the_idle_timeout() {
    let app = TestApp::with(&[("SESSION_TIMEOUT", "1")]).await;
    app.registered("ida").await;
    let body = login(&app, "ida").await;
    assert_eq!(body["refresh_expires_in"], 1);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_problem(refresh(&app, &field(&body, "refresh_token")).await, 401, "token_expired").await;
}

#[tokio::test]
async fn no_session_outlives_its_absolute_lifetime_however_often_refreshed() {
    // Idle 2 s, absolute 3 s: refreshing every second keeps the session past its idle timeout, never past 3 s.
    let app = TestApp::with(&[("SESSION_TIMEOUT", "2"), ("REFRESH_TOKEN_EXPIRE_MINUTES", "0.05")]).await;
    app.registered("abe").await;
    let mut token = field(&login(&app, "abe").await, "refresh_token");
    let started = std::time::Instant::now();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let r = refresh(&app, &token).await;
        assert_eq!(r.status(), 200, "at {:?}", started.elapsed());
        token = field(&r.json().await.unwrap(), "refresh_token");
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_problem(refresh(&app, &token).await, 401, "token_expired").await;
}

#[tokio::test]
async fn a_password_change_ends_every_session_of_the_user() {
    let app = TestApp::spawn().await;
    app.registered("pete").await;
    let (a, b) = (login(&app, "pete").await, login(&app, "pete").await);
    let r = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(field(&a, "access_token"))
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": "Another-Horse-57-Staple"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for body in [&a, &b] {
        assert_problem(refresh(&app, &field(body, "refresh_token")).await, 401, "token_revoked").await;
        assert_problem(app.me(&field(body, "access_token")).await, 401, "token_revoked").await;
    }
    let fresh = app.token("pete", "Another-Horse-57-Staple").await;
    let listed: Value = app.get_with("/api/v1/me/sessions", &fresh).await.json().await.unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "only the new one: {listed}");
}

#[tokio::test]
async fn the_sessions_list_shows_the_live_ones_and_one_can_be_revoked() {
    let app = TestApp::spawn().await;
    app.registered("sue").await;
    let old = login(&app, "sue").await;
    let current = login(&app, "sue").await;
    let token = field(&current, "access_token");
    let r = app.get_with("/api/v1/me/sessions", &token).await;
    assert_eq!(r.status(), 200);
    let listed: Value = r.json().await.unwrap();
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    assert_eq!(sessions[0]["id"], sid_of(&token), "newest first");
    assert_eq!((sessions[0]["current"].as_bool(), sessions[1]["current"].as_bool()), (Some(true), Some(false)));
    assert_eq!(sessions[1]["ip"], "127.0.0.1");
    assert!(sessions[1]["created_at"].as_str().unwrap().ends_with('Z'));

    let other = sid_of(&field(&old, "access_token"));
    let delete =
        |id: String| app.client.delete(app.url(&format!("/api/v1/me/sessions/{id}"))).bearer_auth(&token).send();
    assert_eq!(delete(other.clone()).await.unwrap().status(), 204);
    assert_problem(app.me(&field(&old, "access_token")).await, 401, "token_revoked").await;
    assert_problem(refresh(&app, &field(&old, "refresh_token")).await, 401, "token_revoked").await;
    assert_problem(delete(other).await.unwrap(), 404, "not_found").await;
    assert_problem(delete("0".repeat(32)).await.unwrap(), 404, "not_found").await;
    // Another user's session id is not the caller's: 404, and it stays live.
    app.registered("tom").await;
    let toms = login(&app, "tom").await;
    assert_problem(delete(sid_of(&field(&toms, "access_token"))).await.unwrap(), 404, "not_found").await;
    assert_eq!(app.me(&field(&toms, "access_token")).await.status(), 200);
    let listed: Value = app.get_with("/api/v1/me/sessions", &token).await.json().await.unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);
}
