//! Each function is built from the ports it uses, as its Lambda builds it: what it needs decides what must be
//! configured and reachable at init.

use std::collections::HashMap;

use cloudmind_registry::FunctionId;
use cloudmind_serving::config::Settings;
use cloudmind_serving::function::{Port, WiringError};
use cloudmind_wiring::Wiring;
use lambda_http::Body;
use serde_json::Value;

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Settings::from_lookup(|k| map.get(k).cloned()).unwrap()
}

fn event(name: &str) -> lambda_http::Request {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(format!("{name}.json"));
    lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn in_production_only_the_functions_that_sign_or_verify_need_a_signing_key() {
    for &function in FunctionId::ALL {
        let wiring = Wiring::new(settings(&[("ENVIRONMENT", "production")]));
        let built = function.ports(wiring).await;
        match function {
            FunctionId::Register | FunctionId::Health => {
                let ports = built.unwrap_or_else(|e| panic!("{function:?} needs no key: {e}"));
                assert!(!ports.contains(&Port::Keys), "{function:?}");
            }
            _ => assert!(
                matches!(built, Err(WiringError::Config(_))),
                "{function:?} must refuse to start without JWT_SECRET_KEY in production"
            ),
        }
    }
}

#[tokio::test]
async fn health_starts_with_its_stores_down_and_says_so() {
    // Nothing listens on port 9 of loopback: DynamoDB and Redis are both unreachable from init on.
    let wiring = Wiring::lambda(settings(&[
        ("DYNAMODB_ENDPOINT", "http://127.0.0.1:9"),
        ("USERS_TABLE", "users"),
        ("SECURITY_TABLE", "security"),
        ("REDIS_URL", "redis://127.0.0.1:9"),
        ("REDIS_TIMEOUT_MS", "100"),
        ("AWS_ACCESS_KEY_ID", "test"),
    ]));
    let response = FunctionId::Health
        .build_and_answer(&wiring, event("health"))
        .await
        .expect("health starts whatever state its dependencies are in");
    assert_eq!(response.status(), 503);
    let body: Value = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"]["connection_test"], "failed");
    assert_eq!(body["redis"]["redis_connected"], false, "{body}");
    assert_eq!(body["redis"]["fallback"], "memory", "{body}");
}

#[tokio::test]
async fn in_lambda_the_persistent_stores_are_required() {
    let wiring = Wiring::lambda(settings(&[("JWT_SECRET_KEY", "k3T9vQ2mX8pL5rW1nB7cZ4hJ6dF0sA2gY9uE3iO8tR5w")]));
    let built = FunctionId::Login.ports(wiring).await;
    assert!(matches!(built, Err(WiringError::Required(_))), "{built:?}");
}
