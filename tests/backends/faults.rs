//! Faults injected between CloudMind and its stores (a TCP proxy in front of redis-server and of moto's DynamoDB):
//! latency, dropped and black-holed connections, DynamoDB throttling; Secrets Manager unreachable at init; a
//! request near the Lambda deadline. Each prints what the fault cost (`cargo nextest … --no-capture` shows it).

use std::path::Path;
use std::time::{Duration, Instant};

use cloudmind_registry::{App, FunctionId};
use cloudmind_security::clock::now_ms;
use cloudmind_serving::config::Settings;
use cloudmind_tests::proxy::{Fault, FaultProxy};
use cloudmind_tests::{TestApp, assert_problem, required_env};
use cloudmind_wiring::Wiring;
use lambda_http::RequestExt as _;
use serde_json::Value;

/// The port of a service URL the test run exported (`redis://127.0.0.1:6379`).
fn port_of(var: &str) -> u16 {
    let url = required_env(var);
    url.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).unwrap_or_else(|| panic!("{var}={url}"))
}

/// An app whose Redis and DynamoDB traffic goes through a proxy each.
async fn behind_proxies(extra: &[(&str, &str)]) -> (TestApp, FaultProxy, FaultProxy) {
    let redis = FaultProxy::start(port_of("REDIS_URL")).await;
    let dynamo = FaultProxy::start(port_of("DYNAMODB_ENDPOINT")).await;
    let (redis_url, dynamo_url) = (redis.url("redis"), dynamo.url("http"));
    let mut vars = vec![
        ("REDIS_URL", redis_url.as_str()),
        ("DYNAMODB_ENDPOINT", dynamo_url.as_str()),
        ("REDIS_TIMEOUT_MS", "200"),
        ("REDIS_PROBE_SECONDS", "1"),
    ];
    vars.extend_from_slice(extra);
    (TestApp::with(&vars).await, redis, dynamo)
}

/// The fastest and the median time of `n` authenticated `GET /api/v1/me`, each asserted to be `status`.
async fn time_me(app: &TestApp, token: &str, n: usize, status: u16) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let r = app.me(token).await;
        times.push(started.elapsed());
        assert_eq!(r.status().as_u16(), status);
    }
    times.sort();
    (times[0], times[n / 2])
}

#[tokio::test]
async fn latency_on_redis_or_dynamodb_is_paid_once_per_round_trip_and_changes_no_answer() {
    let (app, redis, dynamo) = behind_proxies(&[]).await;
    let token = app.user_token("lara").await;
    let base = time_me(&app, &token, 15, 200).await;
    let delay = Duration::from_millis(100);
    dynamo.set(Fault::Latency(delay));
    let with_dynamo = time_me(&app, &token, 7, 200).await;
    dynamo.set(Fault::None);
    redis.set(Fault::Latency(delay));
    let with_redis = time_me(&app, &token, 7, 200).await;
    redis.set(Fault::None);
    println!(
        "fault latency (fastest, median): GET /me {base:?}; +100 ms on DynamoDB {with_dynamo:?}; +100 ms on Redis \
         {with_redis:?}"
    );
    // Every request waits for each store (the fault is in the path: even the fastest pays the delay), and one
    // DynamoDB and one Redis round trip per request means the delay is paid once, not per retry or per key: paid
    // twice, even the fastest request would take 200 ms.
    for (fastest, _) in [with_dynamo, with_redis] {
        assert!(fastest >= delay && fastest < 2 * delay, "{fastest:?} against {base:?}");
    }
}

#[tokio::test]
async fn dropped_or_black_holed_dynamodb_is_503_in_bounded_time_and_recovers() {
    let (app, _redis, dynamo) = behind_proxies(&[]).await;
    let token = app.user_token("dina").await;
    for fault in [Fault::Drop, Fault::Blackhole] {
        dynamo.set(fault);
        let started = Instant::now();
        assert_problem(app.me(&token).await, 503, "service_unavailable").await;
        let took = started.elapsed();
        println!("fault {fault:?} on DynamoDB: GET /me answered 503 in {took:?}");
        // The SDK's operation timeout (3 s) bounds it.
        assert!(took < Duration::from_secs(5), "{took:?}");
        dynamo.set(Fault::None);
        assert_eq!(app.me(&token).await.status(), 200, "back after {fault:?}");
    }
}

#[tokio::test]
async fn dropped_or_black_holed_redis_degrades_to_the_local_limiter_and_recovers() {
    let (app, redis, _dynamo) = behind_proxies(&[]).await;
    let token = app.user_token("rhea").await;
    let health = || async { app.client.get(app.url("/health")).send().await.unwrap().json::<Value>().await.unwrap() };
    for fault in [Fault::Drop, Fault::Blackhole] {
        redis.set(fault);
        let started = Instant::now();
        assert_eq!(app.me(&token).await.status(), 200, "answered on the fallback limiter under {fault:?}");
        let took = started.elapsed();
        println!("fault {fault:?} on Redis: GET /me answered 200 (degraded) in {took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(health().await["status"], "degraded");
        redis.set(Fault::None);
        tokio::time::sleep(Duration::from_millis(1_100)).await; // the probe interval
        assert_eq!(app.me(&token).await.status(), 200);
        assert_eq!(health().await["status"], "healthy", "Redis used again after {fault:?}");
    }
}

#[tokio::test]
async fn dynamodb_throttling_is_retried_a_bounded_number_of_times_then_503() {
    let (app, _redis, dynamo) = behind_proxies(&[]).await;
    let token = app.user_token("theo").await;
    dynamo.set(Fault::Throttle);
    // The first request meets the pooled connection being closed by the switch; the second only throttling.
    assert_problem(app.me(&token).await, 503, "service_unavailable").await;
    let before = dynamo.throttled();
    let started = Instant::now();
    assert_problem(app.me(&token).await, 503, "service_unavailable").await;
    let took = started.elapsed();
    let attempts = dynamo.throttled() - before;
    println!("fault Throttle on DynamoDB: GET /me answered 503 after {attempts} attempts in {took:?}");
    assert_eq!(attempts, 3, "the SDK's standard retries: three attempts, then the error");
    dynamo.set(Fault::None);
    assert_eq!(app.me(&token).await.status(), 200);
}

#[tokio::test]
async fn secrets_manager_unreachable_at_init_fails_with_a_clear_message() {
    let hole = FaultProxy::start(port_of("SECRETS_MANAGER_ENDPOINT")).await;
    hole.set(Fault::Blackhole);
    let endpoint = hole.url("http");
    let vars = [
        ("JWT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:cloudmind-signing"),
        ("SECRETS_MANAGER_ENDPOINT", endpoint.as_str()),
        ("DYNAMODB_ENDPOINT", &required_env("DYNAMODB_ENDPOINT")),
    ];
    let settings = Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let started = Instant::now();
    let error = match App::build(&Wiring::new(settings)).await {
        Ok(_) => panic!("init succeeded without the signing keys"),
        Err(e) => cloudmind_security::store::error_chain(&e),
    };
    let took = started.elapsed();
    println!("Secrets Manager black-holed at init: failed in {took:?}: {error}");
    assert!(error.contains("Keys") && error.contains("secrets manager GetSecretValue"), "{error}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_request_near_the_lambda_deadline_is_answered_503_before_it() {
    let (app, _redis, dynamo) = behind_proxies(&[]).await;
    let token = app.user_token("dell").await;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/protected-me.json");
    let event = std::fs::read_to_string(fixture).unwrap().replace("REPLACE_WITH_ACCESS_TOKEN", &token);
    dynamo.set(Fault::Blackhole);
    let mut context = lambda_http::Context::default();
    context.deadline = now_ms() + 1_500;
    let request = lambda_http::request::from_str(&event).unwrap().with_lambda_context(context);
    let started = Instant::now();
    let response = app.app.answer(FunctionId::Protected, request).await;
    let took = started.elapsed();
    println!("deadline in 1500 ms, DynamoDB black-holed: 503 after {took:?}");
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("x-content-type-options"));
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(body["code"], "service_unavailable");
    // Answered with the margin to spare: at 1 s of the 1.5 s, not at the SDK's 3 s.
    assert!(took < Duration::from_millis(1_500) && took >= Duration::from_millis(900), "{took:?}");
}
