//! Every error code of the API contract, reached by a real request, with its headers.

use std::sync::Arc;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::events::EventKind;
use cloudmind_security::users::{Session, SessionLookup};
use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem, assert_security_headers, logs};
use serde_json::{Value, json};

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_security_headers(r.headers());
    assert_problem(r, 404, "not_found").await;
    // (v1.2 adds DELETE /api/v1/me, the caller's erasure: PUT is the wrong method now.)
    let r = app.client.put(app.url("/api/v1/me")).send().await.unwrap();
    assert_security_headers(r.headers());
    assert_eq!(r.headers()["allow"], "GET, PATCH, DELETE");
    assert_problem(r, 405, "method_not_allowed").await;
    let r = app.client.post(app.url("/health")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET");
}

#[tokio::test]
async fn bodies_over_16_kib_are_413_and_non_json_bodies_415() {
    let app = TestApp::spawn().await;
    let huge = json!({"username": "x".repeat(17 * 1024), "email": "a@b.co", "password": GOOD_PASSWORD});
    let r = app.post_json("/api/v1/auth/register", &huge).await;
    assert_security_headers(r.headers());
    assert_problem(r, 413, "payload_too_large").await;

    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body(r#"{"username":"a","password":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_security_headers(r.headers());
    assert_problem(r, 415, "unsupported_media_type").await;
    let r = app.client.post(app.url("/api/v1/auth/login")).body("{}").send().await.unwrap();
    assert_problem(r, 415, "unsupported_media_type").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"username":"nobody","password":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields_are_400_with_field_errors() {
    let app = TestApp::spawn().await;
    let raw = |body: &'static str| {
        app.client.post(app.url("/api/v1/auth/register")).header("content-type", "application/json").body(body).send()
    };
    let (_, body) =
        assert_problem(raw(r#"{"username": "carol", "email": "#).await.unwrap(), 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "body");
    let (_, body) = assert_problem(
        raw(r#"{"username": 42, "email": "a@b.co", "password": "x"}"#).await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "username");
    let (_, body) = assert_problem(
        raw(r#"{"username": "carol", "email": "a@b.co", "password": "Correct-Horse-42-Battery", "roles": ["admin"]}"#)
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "roles");
    assert_problem(raw("\u{feff}not json").await.unwrap(), 400, "validation_failed").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, 0x00, 0x7b])
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "validation_failed").await;
    let (_, body) = assert_problem(
        app.post_json("/api/v1/auth/register", &json!({"username": "a b", "email": "nope", "password": GOOD_PASSWORD}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"email"), "{body}");
}

#[tokio::test]
async fn a_weak_password_is_422_listing_every_rule() {
    let app = TestApp::spawn().await;
    let (_, body) = assert_problem(app.register("dave", "password").await, 422, "weak_password").await;
    let v: Vec<&str> = body["violations"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    // "password" is also in the breach corpus (v1.1: the bundled list when no range service is configured).
    assert_eq!(
        v,
        vec![
            "too_short",
            "missing_uppercase",
            "missing_digit",
            "missing_special",
            "common_password",
            "breached_password"
        ]
    );
    let (_, body) = assert_problem(app.register("dave", "Dave-Is-Great-2024").await, 422, "weak_password").await;
    assert_eq!(body["violations"], json!(["contains_username"]));
    let (_, body) =
        assert_problem(app.register("dave", &format!("Aa1!{}", "xy".repeat(70))).await, 422, "weak_password").await;
    assert_eq!(body["violations"], json!(["too_long"]));
    assert_eq!(app.login("dave", "password").await.status(), 401, "nothing was created");
}

#[tokio::test]
async fn a_taken_username_is_409_and_disabled_registration_403() {
    let app = TestApp::spawn().await;
    app.registered("erin").await;
    assert_problem(app.register("ERIN", GOOD_PASSWORD).await, 409, "username_taken").await;
    let closed = TestApp::with(&[("REGISTRATION_ENABLED", "false")]).await;
    assert_problem(closed.register("frank", GOOD_PASSWORD).await, 403, "registration_disabled").await;
}

#[tokio::test]
async fn missing_or_malformed_bearer_tokens_are_401() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_problem(r, 401, "unauthorized").await;
    for header in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer a.b.c.d"] {
        let r = app.client.get(app.url("/api/v1/me")).header("authorization", header).send().await.unwrap();
        assert_problem(r, 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn sql_injection_xss_traversal_and_control_characters_are_400_malicious_input() {
    let app = TestApp::with(&[("BLOCK_MALICIOUS_REQUESTS", "100")]).await;
    let attempts = [
        json!({"username": "admin' OR '1'='1", "email": "a@b.co", "password": GOOD_PASSWORD}),
        json!({"username": "mallory", "email": "a@b.co", "password": GOOD_PASSWORD, "display_name": "<script>alert(1)</script>"}),
        json!({"username": "../../etc/passwd", "email": "a@b.co", "password": GOOD_PASSWORD}),
        json!({"username": "nul\u{0}byte", "email": "a@b.co", "password": GOOD_PASSWORD}),
    ];
    for body in &attempts {
        assert_problem(app.post_json("/api/v1/auth/register", body).await, 400, "malicious_input").await;
    }
    // Passwords are secret and never scanned: an attack-looking password is just a password.
    let r = app.register("quinn", "' OR 1=1 -- Aa9!xyz").await;
    assert_eq!(r.status(), 201);
    // The query is scanned too, unknown parameters included.
    let r = app.client.get(app.url("/health?debug=%3Cscript%3E")).send().await.unwrap();
    assert_problem(r, 400, "malicious_input").await;
    assert_eq!(app.client.get(app.url("/health?verbose=1")).send().await.unwrap().status(), 200);
    for event in ["malicious_sqli", "malicious_xss", "malicious_path_traversal", "malicious_input"] {
        assert!(!app.events(event).await.is_empty(), "{event}");
    }
}

/// Found by `cloudmind probe`: serde reads a struct from a JSON array in field order, and a repeated key used to
/// resolve to its last copy (a reader in front may take the first). Both are refused now, before any lookup.
#[tokio::test]
async fn an_array_body_or_a_repeated_key_is_400_and_logs_nobody_in() {
    let app = TestApp::spawn().await;
    app.registered("ruth").await;
    let raw = |body: String| {
        app.client.post(app.url("/api/v1/auth/login")).header("content-type", "application/json").body(body).send()
    };
    let (_, body) =
        assert_problem(raw(format!(r#"["ruth", "{GOOD_PASSWORD}"]"#)).await.unwrap(), 400, "validation_failed").await;
    assert_eq!(body["errors"][0], json!({"field": "body", "message": "must be a JSON object"}));
    let twice = format!(r#"{{"username": "nobody", "username": "ruth", "password": "{GOOD_PASSWORD}"}}"#);
    let (_, body) = assert_problem(raw(twice).await.unwrap(), 400, "validation_failed").await;
    assert_eq!(body["errors"][0], json!({"field": "username", "message": "appears more than once"}));
    // (The admin's own login, for reading the events, is the only success.)
    assert!(app.events("authn_login_success").await.iter().all(|e| e["username"] != "ruth"));
}

/// Found by `cloudmind probe`: a line break in a path segment or a query value (header splitting, log forging),
/// however deeply encoded, or in a body field that is not free text, is malicious input; in a display name it is
/// the field's rule that refuses it.
#[tokio::test]
async fn line_breaks_in_the_url_or_a_name_are_malicious_input() {
    let app = TestApp::with(&[("BLOCK_MALICIOUS_REQUESTS", "100")]).await;
    for target in [
        "/health?q=probe%0D%0ASet-Cookie%3A%20a%3D1",
        "/health?q=probe%250d%250aX-Injected%3A%201",
        "/api/v1/admin/users/probe%0Aadmin/unlock",
    ] {
        let method = if target.contains("unlock") { reqwest::Method::POST } else { reqwest::Method::GET };
        let r = app.client.request(method, app.url(target)).send().await.unwrap();
        assert!(r.headers().get("set-cookie").is_none());
        assert_problem(r, 400, "malicious_input").await;
    }
    let r = app.post_json("/api/v1/auth/login", &json!({"username": "ruth\r\nX-Injected: 1", "password": "x"})).await;
    assert_problem(r, 400, "malicious_input").await;
    let body = json!({"username": "sam", "email": "a@b.co", "password": GOOD_PASSWORD, "display_name": "two\nlines"});
    let (_, problem) =
        assert_problem(app.post_json("/api/v1/auth/register", &body).await, 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "display_name");
}

#[tokio::test]
async fn repeated_malicious_input_blocks_the_client_on_every_route_with_retry_after() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for _ in 0..5 {
        let r = app.client.get(app.url("/health?q=1%27%20OR%20%271%27%3D%271")).send().await.unwrap();
        assert_eq!(r.status(), 400);
    }
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_security_headers(r.headers());
    let (h, _) = assert_problem(r, 403, "ip_blocked").await;
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "{retry}");
    assert_problem(app.login("anyone", "x").await, 403, "ip_blocked").await;
    assert_problem(app.me(&admin).await, 403, "ip_blocked").await;
    let blocked = app.backends.events.list(Some(EventKind::ClientBlocked), 10, None).await.unwrap();
    assert_eq!(blocked.events.len(), 1);
    assert_eq!(blocked.events[0].ip.as_deref(), Some("127.0.0.1"));
}

/// A session store whose backend is down.
struct DownSessions;

#[async_trait]
impl SessionLookup for DownSessions {
    async fn lookup(&self, _: &str, _: &str, _: Millis) -> Result<Session, StoreError> {
        Err(StoreError::unavailable("sessions", "connection refused"))
    }
}

#[tokio::test]
async fn a_dependency_down_is_503_never_a_pass() {
    let healthy = TestApp::spawn().await;
    let token = healthy.user_token("gina").await;
    let app = TestApp::serving(healthy.wiring.with_sessions(Arc::new(DownSessions))).await;
    let (_, body) = assert_problem(app.me(&token).await, 503, "service_unavailable").await;
    assert!(!body.to_string().contains("connection refused"), "the cause stays in the log");
    assert_problem(app.logout(&token).await, 503, "service_unavailable").await;
}

#[tokio::test]
async fn health_is_unhealthy_503_when_the_store_is_down() {
    use cloudmind_security::users::{ProfileChange, User, UserStore};
    struct DownUsers;
    #[async_trait]
    impl UserStore for DownUsers {
        async fn create(&self, _: &User) -> Result<(), StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn get(&self, _: &str) -> Result<Option<User>, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn update_profile(&self, _: &str, _: &ProfileChange) -> Result<User, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn set_password_hash(&self, _: &str, _: &str, _: bool, _: Millis) -> Result<User, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn rehash(&self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn add_role(&self, _: &str, _: &str) -> Result<User, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn set_email_verified(&self, _: &str, _: &str) -> Result<Option<User>, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn set_disabled(&self, _: &str, _: bool, _: Millis) -> Result<User, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn list(&self, _: &str, _: Option<&str>, _: usize) -> Result<(Vec<User>, Option<String>), StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn by_email(&self, _: &str) -> Result<Vec<User>, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn delete(&self, _: &str) -> Result<bool, StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Err(StoreError::unavailable("users", "down"))
        }
    }
    let base = TestApp::spawn().await;
    // The admin cannot be created on a dead store: the server starts without one.
    let app = TestApp::serving(base.wiring.with_users(Arc::new(DownUsers))).await;
    let url = &app.base;
    let r = reqwest::get(format!("{url}/health")).await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"]["connection_test"], "failed");
    let r = base
        .client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": "x", "password": "y"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 503, "service_unavailable").await;
}

#[tokio::test]
async fn a_body_with_bytes_after_its_json_value_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.user_token("tess").await;
    let patch = |body: &'static str| {
        app.client
            .patch(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Without the extra byte the scan refuses it; with it, nothing may parse the first object and skip the scan.
    assert_problem(patch(r#"{"display_name":"x' OR 1=1 --"}"#).await.unwrap(), 400, "malicious_input").await;
    for body in [
        r#"{"display_name":"x' OR 1=1 --"}}"#,
        r#"{"display_name":"Tess"} {"display_name":"y"}"#,
        "{\"display_name\":\"Tess\"}\u{0}",
    ] {
        let (_, problem) = assert_problem(patch(body).await.unwrap(), 400, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "body", "{body}: {problem}");
    }
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["display_name"], "tess", "nothing was stored");
    // Registration alike: no user is created from a body with trailing bytes.
    let r = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(r#"{"username":"trailer","email":"t@example.com","password":"Correct-Horse-42-Battery"}]"#)
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "validation_failed").await;
    assert_problem(app.login("trailer", "Correct-Horse-42-Battery").await, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn injection_without_spaces_and_triple_encoding_are_refused() {
    let app = TestApp::with(&[("BLOCK_MALICIOUS_REQUESTS", "100")]).await;
    for username in ["admin'OR'1'='1", "x'OR(1)=(1)", "admin'#"] {
        let body = json!({"username": username, "email": "a@b.co", "password": GOOD_PASSWORD});
        assert_problem(app.post_json("/api/v1/auth/register", &body).await, 400, "malicious_input").await;
    }
    // `../../etc/passwd` and `<script>` percent-encoded three times.
    for query in ["q=%2525252e%2525252e%2525252f%2525252e%2525252e%2525252fetc", "q=%2525253Cscript%2525253E"] {
        let r = app.client.get(app.url(&format!("/health?{query}"))).send().await.unwrap();
        assert_problem(r, 400, "malicious_input").await;
    }
}

#[tokio::test]
async fn names_that_look_like_sql_pass_and_low_confidence_free_text_is_accepted_and_logged() {
    let app = TestApp::spawn().await;
    let token = app.user_token("jean").await;
    let patch = |name: &str| {
        app.client.patch(app.url("/api/v1/me")).bearer_auth(&token).json(&json!({"display_name": name})).send()
    };
    for name in ["Jean 'JJ' -- Smith", "Select from the menu", "Robert \"Bob\" Jones", "Done; update later"] {
        let r = patch(name).await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let me: Value = app.me(&token).await.json().await.unwrap();
        assert_eq!(me["display_name"], name);
    }
    // A display name shaped like a statement, with `=` or parentheses (API.md, corrections): a name, stored and
    // output-encoded like any text. Accepted, the low-confidence match logged (never the value), nothing counted.
    for name in ["Select one from the list", "Delete from my cart later", "x = (y + 1)", "Alice (admin = no)"] {
        let r = patch(name).await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let me: Value = app.me(&token).await.json().await.unwrap();
        assert_eq!(me["display_name"], name);
    }
    for _ in 0..6 {
        assert_eq!(patch("Select one from the list").await.unwrap().status(), 200);
    }
    assert!(logs::captured().contains("suspicious_free_text"));
    assert!(app.events("malicious_sqli").await.is_empty());
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), 200);
    // A high-confidence shape in the same field is still refused.
    assert_problem(patch("<script>alert(1)</script>").await.unwrap(), 400, "malicious_input").await;
    assert_problem(patch("x' OR '1'='1").await.unwrap(), 400, "malicious_input").await;
    // The same text in a query parameter is not a person's free text: it counts; with the two refusals above,
    // three of them make the five that block.
    for _ in 0..3 {
        let r = app.client.get(app.url("/health?q=Select%20one%20from%20the%20list")).send().await.unwrap();
        assert_eq!(r.status(), 400);
    }
    assert_problem(app.client.get(app.url("/health")).send().await.unwrap(), 403, "ip_blocked").await;
}

#[tokio::test]
async fn null_for_an_optional_field_is_a_wrong_type_not_an_absent_one() {
    let app = TestApp::spawn().await;
    let token = app.user_token("nell").await;
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&json!({"display_name": "Nell", "email": null}));
    let (_, problem) = assert_problem(r.send().await.unwrap(), 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "email", "{problem}");
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["display_name"], "nell", "nothing was changed");
    let body = json!({"username": "nora", "email": "n@example.com", "password": GOOD_PASSWORD, "display_name": null});
    let (_, problem) =
        assert_problem(app.post_json("/api/v1/auth/register", &body).await, 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "display_name", "{problem}");
}
