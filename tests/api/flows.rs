//! The main user journeys.

use cloudmind_security::ratelimit::LimiterBackend;
use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem, assert_security_headers, logs};
use serde_json::{Value, json};

#[tokio::test]
async fn health_answers_in_the_seed_shape() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_security_headers(r.headers());
    assert!(r.headers()["ratelimit-policy"].to_str().unwrap().contains("q=600;w=60"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["environment"], "test");
    if app.backends.limiter.backend() == LimiterBackend::Redis {
        assert_eq!(body["redis"]["mode"], "redis");
        assert_eq!(body["redis"]["redis_connected"], true);
        assert!(body["redis"]["redis_memory_used"].is_string(), "{body}");
        assert!(body["redis"]["redis_connected_clients"].as_u64().is_some_and(|n| n >= 1), "{body}");
        assert_eq!(body["database"]["backend"], "dynamodb");
    } else {
        assert_eq!(body["redis"], json!({"mode": "memory"}));
        assert_eq!(body["database"]["backend"], "memory");
    }
    assert_eq!(body["database"]["connection_test"], "passed");
    for key in ["version", "timestamp"] {
        assert!(body[key].is_string(), "{key}");
    }
    for key in ["cpu_percent", "memory_percent", "disk_percent"] {
        assert!(body["system"][key].is_number(), "{key}");
    }
    for key in ["total_requests", "avg_response_time", "slow_requests"] {
        assert!(body["performance"][key].is_number(), "{key}");
    }
    assert_eq!(body["security"], json!({"logging_enabled": true, "security_monitoring": true}));
}

#[tokio::test]
async fn register_login_me_logout_then_me_is_token_revoked() {
    let app = TestApp::spawn().await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "Alice", "email": "alice@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["username"], "alice", "usernames are lower-cased");
    assert_eq!(created["display_name"], "Alice");
    assert_eq!(created["roles"], json!(["user"]));
    assert!(created.get("password_hash").is_none() && created.get("password").is_none());

    let r = app.login("ALICE", GOOD_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1800);
    let token = body["access_token"].as_str().unwrap().to_string();

    let r = app.me(&token).await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me, created);

    let r = app.logout(&token).await;
    assert_eq!(r.status(), 204);
    let (h, _) = assert_problem(app.me(&token).await, 401, "token_revoked").await;
    assert_eq!(h["www-authenticate"], r#"Bearer error="invalid_token""#);
    assert_problem(app.logout(&token).await, 401, "token_revoked").await;
}

#[tokio::test]
async fn a_profile_change_accepts_real_names_and_refuses_markup() {
    let app = TestApp::spawn().await;
    let token = app.user_token("zoe").await;
    let patch = |body: Value| app.client.patch(app.url("/api/v1/me")).bearer_auth(&token).json(&body).send();
    let r = patch(json!({"display_name": "Zoë Ä. O'Brien", "email": "zoe@Example.ORG"})).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["display_name"], "Zoë Ä. O'Brien");
    assert_eq!(body["email"], "zoe@example.org");
    assert_problem(patch(json!({"display_name": "<b>Zoe</b>"})).await.unwrap(), 400, "malicious_input").await;
    assert_problem(patch(json!({"display_name": ""})).await.unwrap(), 400, "validation_failed").await;
    assert_problem(patch(json!({})).await.unwrap(), 400, "validation_failed").await;
    assert_problem(patch(json!({"roles": ["admin"]})).await.unwrap(), 400, "validation_failed").await;
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Zoë Ä. O'Brien", "refused changes changed nothing");
    assert_eq!(me["roles"], json!(["user"]));
}

#[tokio::test]
async fn a_password_change_revokes_every_earlier_token_even_within_the_same_second() {
    let app = TestApp::spawn().await;
    let old = app.user_token("bob").await;
    let other_old = app.token("bob", GOOD_PASSWORD).await;
    let new_password = "Another-Strong-Pass-77";
    let r = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&old)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let fresh = app.token("bob", new_password).await;
    assert_problem(app.me(&old).await, 401, "token_revoked").await;
    assert_problem(app.me(&other_old).await, 401, "token_revoked").await;
    assert_eq!(app.me(&fresh).await.status(), 200, "a token issued after the change works at once");
    assert_problem(app.login("bob", GOOD_PASSWORD).await, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn a_wrong_current_password_is_401_and_counts_toward_lockout() {
    let app = TestApp::spawn().await;
    let token = app.user_token("carol").await;
    let change = |current: &str| {
        app.client
            .put(app.url("/api/v1/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": "Another-Strong-Pass-77"}))
            .send()
    };
    for _ in 0..5 {
        assert_problem(change("wrong-password").await.unwrap(), 401, "invalid_credentials").await;
    }
    assert_problem(change(GOOD_PASSWORD).await.unwrap(), 423, "account_locked").await;
    assert_problem(app.login("carol", GOOD_PASSWORD).await, 423, "account_locked").await;
    let weak = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": "Password123!"}))
        .send()
        .await
        .unwrap();
    let (_, body) = assert_problem(weak, 422, "weak_password").await;
    assert!(body["violations"].as_array().unwrap().contains(&json!("common_password")));
}

#[tokio::test]
async fn logs_hold_security_events_but_never_passwords_hashes_or_tokens() {
    let app = TestApp::spawn().await;
    let secret_password = "Unique-Log-Probe-Pass-93";
    assert_eq!(app.register("logprobe", secret_password).await.status(), 201);
    let first: Value = app.login("logprobe", secret_password).await.json().await.unwrap();
    let spent = first["refresh_token"].as_str().unwrap().to_string();
    let refreshed: Value =
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": spent})).await.json().await.unwrap();
    let token = refreshed["access_token"].as_str().unwrap().to_string();
    let live = refreshed["refresh_token"].as_str().unwrap().to_string();
    app.login("logprobe", "Wrong-Log-Probe-Pass-11").await;
    app.me(&token).await;
    app.logout(&token).await;
    app.me(&token).await;
    let logs = logs::captured();
    let first_token = first["access_token"].as_str().unwrap();
    for forbidden in [
        secret_password,
        "Wrong-Log-Probe-Pass-11",
        token.as_str(),
        first_token,
        &spent,
        &live,
        "$argon2id$",
        GOOD_PASSWORD,
    ] {
        assert!(!logs.contains(forbidden), "the log contains {forbidden:?}");
    }
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature));
    for event in
        ["user_created", "authn_login_success", "authn_login_fail", "authn_session_revoked", "authn_token_invalid"]
    {
        let line = logs
            .lines()
            .find(|l| l.contains(&format!("\"event\":\"{event}\"")) && l.contains("logprobe"))
            .unwrap_or_else(|| panic!("no {event} line"));
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert!(parsed["request_id"].as_str().is_some_and(|s| !s.is_empty()), "{line}");
        assert_eq!(parsed["client_ip"], "127.0.0.1", "{line}");
    }
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let app = TestApp::with(&[("ALLOWED_ORIGINS", r#"["http://localhost:3000"]"#)]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .send()
    };
    let r = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:3000");
    assert_eq!(r.headers()["access-control-allow-methods"], "GET, PATCH, DELETE");
    assert_security_headers(r.headers());
    let r = preflight("https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app.client.get(app.url("/health")).header("origin", "http://localhost:3000").send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:3000");
}

#[tokio::test]
async fn a_password_typed_into_the_username_field_is_never_logged_nor_shown_to_admins() {
    let app = TestApp::spawn().await;
    app.registered("uma").await;
    let typed = "Uma-S3cret-Passw0rd!";
    assert_eq!(app.login(typed, "whatever").await.status(), 401);
    // A known account's failure is still named.
    assert_eq!(app.login("uma", "wrong-password").await.status(), 401);
    let fails = app.events("authn_login_fail").await;
    let names: Vec<&str> = fails.iter().map(|e| e["username"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["uma", UNKNOWN_USERNAME]);
    let logs = cloudmind_tests::logs::captured();
    assert!(!logs.to_lowercase().contains(&typed.to_lowercase()), "the typed secret reached a log line");
}

/// What the login function shows for a name that is not an account.
const UNKNOWN_USERNAME: &str = "(unknown username)";
