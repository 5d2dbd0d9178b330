//! Every file in `events/` through its function's handler, as Lambda would deliver it, with the answer the
//! contract (and `events/README.md`) gives.

use std::path::Path;

use cloudmind_platform::Request;
use cloudmind_registry::FunctionId;
use cloudmind_tests::{GOOD_PASSWORD, TestApp};
use lambda_http::{Body, RequestExt};
use serde_json::Value;

/// File → (status, problem code).
const EXPECTED: &[(&str, u16, Option<&str>)] = &[
    ("register-success", 201, None),
    ("register-weak-password", 422, Some("weak_password")),
    ("register-malformed-json", 400, Some("validation_failed")),
    ("register-sql-injection", 400, Some("malicious_input")),
    ("register-wrong-media-type", 415, Some("unsupported_media_type")),
    ("login-success", 200, None),
    ("login-wrong-password", 401, Some("invalid_credentials")),
    ("login-unknown-user", 401, Some("invalid_credentials")),
    ("login-spoofed-forwarded-for", 401, Some("invalid_credentials")),
    ("logout-success", 204, None),
    ("logout-missing-token", 401, Some("unauthorized")),
    ("protected-me", 200, None),
    ("protected-me-alg-none", 401, Some("unauthorized")),
    ("protected-update-profile", 200, None),
    ("protected-xss-display-name", 400, Some("malicious_input")),
    ("protected-change-password", 204, None),
    ("admin-rate-limit-stats", 200, None),
    ("admin-security-events", 200, None),
    ("admin-unlock-user", 204, None),
    ("admin-delete-block", 204, None),
    ("admin-path-traversal", 400, Some("malicious_input")),
    ("health", 200, None),
    ("health-wrong-method", 405, Some("method_not_allowed")),
];

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("events")
}

/// Parses a fixture as the Lambda runtime does, swapping in a real token for the placeholder.
fn load(name: &str, token: &str) -> Request {
    let raw = std::fs::read_to_string(events_dir().join(format!("{name}.json"))).unwrap();
    let raw = raw.replace("REPLACE_WITH_ACCESS_TOKEN", token);
    lambda_http::request::from_str(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn invoke(app: &TestApp, name: &str, req: Request) -> lambda_http::Response<Body> {
    let function = name.split('-').next().and_then(FunctionId::from_name);
    app.app.answer(function.unwrap_or_else(|| panic!("no function for events/{name}.json")), req).await
}

#[tokio::test]
async fn every_event_fixture_gets_the_documented_answer() {
    let files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
        .collect();
    assert_eq!(files.len(), EXPECTED.len(), "every fixture has an expectation and every expectation a fixture");
    for (name, status, code) in EXPECTED {
        assert!(files.contains(&name.to_string()), "missing events/{name}.json");
        let app = TestApp::spawn().await;
        if *name != "register-success" {
            app.registered("alice").await;
        }
        let token = if name.starts_with("admin-") {
            app.admin_token().await
        } else if name.starts_with("register-") {
            String::new()
        } else {
            app.token("alice", GOOD_PASSWORD).await
        };
        let response = invoke(&app, name, load(name, &token)).await;
        assert_eq!(response.status().as_u16(), *status, "{name}: {:?}", response.body());
        let expected_id = load(name, "").request_context_ref().and_then(|c| match c {
            lambda_http::request::RequestContext::ApiGatewayV1(c) => c.request_id.clone(),
            _ => None,
        });
        assert_eq!(response.headers()["x-request-id"].to_str().ok(), expected_id.as_deref(), "{name}");
        if let Some(code) = code {
            let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
            assert_eq!(body["code"], *code, "{name}");
        }
    }
}

#[tokio::test]
async fn the_client_ip_comes_from_the_request_context_not_x_forwarded_for() {
    let app = TestApp::spawn().await;
    app.registered("alice").await;
    let response = invoke(&app, "login-spoofed-forwarded-for", load("login-spoofed-forwarded-for", "")).await;
    assert_eq!(response.status(), 401);
    let fails = app.events("authn_login_fail").await;
    assert_eq!(fails[0]["ip"], "198.51.100.77");
    let stats = app.backends.limiter.stats(cloudmind_security::clock::now_ms()).await.unwrap();
    let login = stats.by_policy.iter().find(|(p, _)| p == "login").unwrap();
    assert!(login.1.allowed >= 1);
}
