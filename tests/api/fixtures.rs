//! Every file in `events/` through its function's handler, as Lambda would deliver it, with the answer the
//! contract (and `events/README.md`) gives.

use std::path::Path;

use cloudmind_registry::FunctionId;
use cloudmind_serving::Request;
use cloudmind_tests::{GOOD_PASSWORD, TestApp};
use lambda_http::{Body, RequestExt};
use serde_json::Value;

/// One line of `events/expected.tsv`: the fixture, its function, the status and the problem code it gets.
struct Expected {
    file: String,
    function: FunctionId,
    status: u16,
    code: Option<String>,
}

/// `events/expected.tsv`, the one table of fixture expectations (also read by `scripts/invoke.sh`).
fn expectations() -> Vec<Expected> {
    let table = std::fs::read_to_string(events_dir().join("expected.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert!(cols.len() >= 4, "expected.tsv: {line}");
            Expected {
                file: cols[0].to_string(),
                function: FunctionId::from_name(cols[1])
                    .unwrap_or_else(|| panic!("expected.tsv: no function {}", cols[1])),
                status: cols[2].parse().unwrap(),
                code: (cols[3] != "-").then(|| cols[3].to_string()),
            }
        })
        .collect()
}

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("events")
}

/// Parses a fixture as the Lambda runtime does, swapping in a real token for the placeholder.
fn load(name: &str, token: &str) -> Request {
    let raw = std::fs::read_to_string(events_dir().join(format!("{name}.json"))).unwrap();
    let raw = raw.replace("REPLACE_WITH_ACCESS_TOKEN", token);
    lambda_http::request::from_str(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn invoke(app: &TestApp, function: FunctionId, req: Request) -> lambda_http::Response<Body> {
    app.app.answer(function, req).await
}

#[tokio::test]
async fn every_event_fixture_gets_the_documented_answer() {
    let files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
        // `env.local.json` is the env-vars file of `sam local invoke`, not an event.
        .filter(|name| !name.starts_with("env."))
        .collect();
    let expected = expectations();
    assert_eq!(files.len(), expected.len(), "every fixture has an expectation and every expectation a fixture");
    for Expected { file, function, status, code } in &expected {
        let name = file.as_str();
        assert!(name.starts_with(function.name()), "{name} belongs to {}", function.name());
        assert!(files.contains(file), "missing events/{name}.json");
        let app = TestApp::spawn().await;
        if name != "register-success" {
            app.registered("alice").await;
        }
        let token = if name.starts_with("admin-") {
            app.admin_token().await
        } else if name.starts_with("register-") {
            String::new()
        } else {
            app.token("alice", GOOD_PASSWORD).await
        };
        let response = invoke(&app, *function, load(name, &token)).await;
        assert_eq!(response.status().as_u16(), *status, "{name}: {:?}", response.body());
        let expected_id = load(name, "").request_context_ref().and_then(|c| match c {
            lambda_http::request::RequestContext::ApiGatewayV1(c) => c.request_id.clone(),
            _ => None,
        });
        assert_eq!(response.headers()["x-request-id"].to_str().ok(), expected_id.as_deref(), "{name}");
        if let Some(code) = code {
            let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
            assert_eq!(body["code"], code.as_str(), "{name}");
        }
    }
}

#[tokio::test]
async fn the_client_ip_comes_from_the_request_context_not_x_forwarded_for() {
    let app = TestApp::spawn().await;
    app.registered("alice").await;
    let response = invoke(&app, FunctionId::Login, load("login-spoofed-forwarded-for", "")).await;
    assert_eq!(response.status(), 401);
    let fails = app.events("authn_login_fail").await;
    assert_eq!(fails[0]["ip"], "198.51.100.77");
    let stats = app.backends.limiter.stats(cloudmind_security::clock::now_ms()).await.unwrap();
    let login = stats.by_policy.iter().find(|(p, _)| p == "login").unwrap();
    assert!(login.1.allowed >= 1);
}

/// A runtime emulator that sends a deadline already past (`cargo lambda watch` does) must not turn every request
/// into a 503: the deadline is ignored (and logged), the request answered.
#[tokio::test]
async fn a_deadline_already_past_on_arrival_is_ignored_not_answered_503() {
    let app = TestApp::spawn().await;
    let mut context = lambda_http::Context::default();
    context.deadline = 600_000;
    let request = load("health", "").with_lambda_context(context);
    let response = invoke(&app, FunctionId::Health, request).await;
    assert_eq!(response.status(), 200);
    assert!(cloudmind_tests::logs::captured().contains("lambda_deadline_in_the_past"));
}

/// The discovery document names the key set at the URL API Gateway says the client reached (domain and stage, or
/// a custom domain's base path), whatever `Host` header the client sent.
#[tokio::test]
async fn the_discovery_document_names_the_key_set_where_api_gateway_was_reached() {
    let app = TestApp::spawn().await;
    let ask = |domain: &'static str, full_path: &'static str| {
        let raw = std::fs::read_to_string(events_dir().join("login-openid-configuration.json")).unwrap();
        let mut event: Value = serde_json::from_str(&raw).unwrap();
        event["requestContext"]["domainName"] = domain.into();
        event["requestContext"]["path"] = full_path.into();
        event["headers"]["Host"] = "attacker.example".into();
        event["multiValueHeaders"]["Host"] = serde_json::json!(["attacker.example"]);
        lambda_http::request::from_str(&event.to_string()).unwrap()
    };
    let cases = [
        (
            "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
            "/Prod/.well-known/openid-configuration",
            "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/Prod/.well-known/jwks.json",
        ),
        ("auth.example.com", "/.well-known/openid-configuration", "https://auth.example.com/.well-known/jwks.json"),
        (
            "auth.example.com",
            "/v1/.well-known/openid-configuration",
            "https://auth.example.com/v1/.well-known/jwks.json",
        ),
    ];
    for (domain, path, jwks_uri) in cases {
        let response = invoke(&app, FunctionId::Login, ask(domain, path)).await;
        assert_eq!(response.status(), 200);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["jwks_uri"], jwks_uri, "{domain}{path}");
    }
}
