//! The production adapters against real servers: DynamoDB and Secrets Manager through moto, Redis through
//! `redis-server`. `make test` runs these on its second pass, with the services it started; each test that stops
//! or counts a service starts a private one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod faults;
mod lifecycle;

use std::time::Duration;

use cloudmind_security::clock::now_ms;
use cloudmind_security::events::EventKind;
use cloudmind_security::keys::Algorithm;
use cloudmind_security::lockout::{Acquire, LockoutPolicy};
use cloudmind_security::store::StoreKind;
use cloudmind_security::tokens::SigningKey;
use cloudmind_tests::services::{self, moto_requests, moto_reset, redis_commands, redis_reset};
use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem, claims_of, required_env};
use serde_json::Value;

fn url(port: u16, scheme: &str) -> String {
    format!("{scheme}://127.0.0.1:{port}")
}

#[tokio::test]
async fn expired_session_and_lockout_items_are_ignored_before_dynamodb_deletes_them() {
    use cloudmind_security::sessions::SessionRecord;
    required_env("DYNAMODB_ENDPOINT");
    let app = TestApp::spawn().await;
    let b = &app.backends;
    assert_eq!(b.store, StoreKind::DynamoDb);
    let now = now_ms();
    let record = |sid: &str| SessionRecord {
        sid: sid.into(),
        username: "nobody".into(),
        created_at: now - 120_000,
        last_used_at: now - 120_000,
        absolute_expiry: now + 600_000,
        ip: "198.51.100.7".into(),
        generation: 0,
        refresh_hash: "0".repeat(64),
        spent: Vec::new(),
        rotated_at: 0,
        revoked: false,
        device: None,
    };
    // A session item already past its expiry: moto never deletes it, the lookup reads it as gone (so every token
    // it issued is refused), while a live one is read, and its revocation (a logout) is seen at once.
    let (expired, live) = ("0".repeat(32), "1".repeat(32));
    b.session_records.create(&record(&expired), now - 1_000).await.unwrap();
    b.session_records.create(&record(&live), now + 60_000).await.unwrap();
    assert!(b.sessions.lookup("nobody", &expired, now).await.unwrap().session.is_none());
    let found = b.sessions.lookup("nobody", &live, now).await.unwrap().session.expect("a live session is read");
    assert!(!found.revoked);
    assert!(b.session_records.revoke("nobody", &live).await.unwrap());
    assert!(b.sessions.lookup("nobody", &live, now).await.unwrap().session.unwrap().revoked);
    // A lockout that ended ten minutes ago.
    let policy = LockoutPolicy { max_attempts: 5, duration_ms: 300_000 };
    let then = now - 600_000;
    for _ in 0..5 {
        assert_eq!(b.lockouts.acquire("eve", &policy, then).await.unwrap(), Acquire::Granted);
        b.lockouts.record_failure("eve", &policy, then).await.unwrap();
    }
    assert!(matches!(b.lockouts.acquire("eve", &policy, then + 1).await.unwrap(), Acquire::Locked { .. }));
    assert_eq!(b.lockouts.acquire("eve", &policy, now).await.unwrap(), Acquire::Granted);
}

/// MFA challenges and trusted devices past their time are refused before DynamoDB's TTL deletes them, and the
/// conditional updates let exactly one of many parallel requests use a time step or a recovery code.
#[tokio::test]
async fn mfa_and_device_items_expire_on_read_and_their_updates_are_atomic_in_dynamodb() {
    use cloudmind_security::devices::DeviceRecord;
    use cloudmind_security::mfa::Challenge;
    required_env("DYNAMODB_ENDPOINT");
    let app = TestApp::spawn().await;
    let b = &app.backends;
    assert_eq!(b.store, StoreKind::DynamoDb);
    let now = now_ms();
    let challenge = |expires_at, remember_device| Challenge {
        username: "amy".into(),
        expires_at,
        remember_device,
        device: Some("d3v1ce".into()),
        generation: 3,
    };
    let old = challenge(now - 1, false);
    b.mfa.put_challenge("old", &old).await.unwrap();
    assert_eq!(b.mfa.take_challenge("old", now).await.unwrap(), None);
    let live = challenge(now + 60_000, true);
    b.mfa.put_challenge("live", &live).await.unwrap();
    let takes = futures_util::future::join_all((0..10).map(|_| b.mfa.take_challenge("live", now))).await;
    assert_eq!(takes.iter().filter(|t| matches!(t, Ok(Some(c)) if *c == live)).count(), 1, "{takes:?}");

    let expired = DeviceRecord { username: "amy".into(), issued_at: now - 10_000, expires_at: now - 1 };
    b.devices.put("expired", &expired).await.unwrap();
    assert_eq!(b.devices.get("expired", "amy", now).await.unwrap(), None);
    let device = DeviceRecord { username: "amy".into(), issued_at: now - 10_000, expires_at: now + 60_000 };
    b.devices.put("dev", &device).await.unwrap();
    assert_eq!(b.devices.get("dev", "amy", now).await.unwrap(), Some(device));
    // A device's failures are lockout slots under its own key (atomic like a username's, tested below).

    app.registered("amy").await;
    assert!(b.mfa.set_pending("amy", "sealed").await.unwrap());
    assert!(b.mfa.enable("amy", "sealed", &["r1".into(), "r2".into()], 5).await.unwrap());
    let claims = futures_util::future::join_all((0..10).map(|_| b.mfa.claim_step("amy", 6))).await;
    assert_eq!(claims.iter().filter(|c| matches!(c, Ok(true))).count(), 1, "{claims:?}");
    let spends = futures_util::future::join_all((0..10).map(|_| b.mfa.spend_recovery("amy", "r1"))).await;
    assert_eq!(spends.iter().filter(|c| matches!(c, Ok(true))).count(), 1, "{spends:?}");
    let user = b.users.get("amy").await.unwrap().unwrap();
    assert_eq!((user.mfa.last_step, user.mfa.recovery.clone()), (6, vec!["r2".to_string()]));
    // A login's re-hash is conditional on the hash it checked: of ten racing, one lands; none after a change.
    let old = user.password_hash.clone();
    let rehashes = futures_util::future::join_all(
        (0..10).map(|i| b.users.rehash("amy", &old, if i == 0 { "new-0" } else { "new-n" })),
    )
    .await;
    assert_eq!(rehashes.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{rehashes:?}");
    assert!(!b.users.rehash("amy", &old, "stale").await.unwrap(), "the hash changed: a stale re-hash is refused");
}

#[tokio::test]
async fn lockout_slots_are_atomic_in_dynamodb() {
    required_env("DYNAMODB_ENDPOINT");
    let app = TestApp::spawn().await;
    let policy = LockoutPolicy { max_attempts: 5, duration_ms: 300_000 };
    let now = now_ms();
    let attempts = (0..30).map(|_| app.backends.lockouts.acquire("burst", &policy, now));
    let verdicts = futures_util::future::join_all(attempts).await;
    assert_eq!(verdicts.iter().filter(|v| matches!(v, Ok(Acquire::Granted))).count(), 5);
}

#[tokio::test]
async fn a_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key() {
    let endpoint = required_env("SECRETS_MANAGER_ENDPOINT");
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::secrets_client(&sdk, Some(&endpoint));
    let old_key = format!("first-signing-key-{}-0123456789abcdef", cloudmind_tests::namespace());
    let new_key = format!("second-signing-key-{}-0123456789abcdef", cloudmind_tests::namespace());
    let created = client
        .create_secret()
        .name(format!("cloudmind/{}/jwt", cloudmind_tests::namespace()))
        .secret_string(format!(r#"{{"key":"{old_key}"}}"#))
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();
    let settings = [("JWT_SECRET_ARN", arn.as_str()), ("JWT_KEY_REFRESH_SECONDS", "1")];
    let app = TestApp::with(&settings).await;
    let before = app.user_token("rhea").await;
    assert_eq!(claims_kid(&before), SigningKey::derive(old_key.as_bytes()).kid);

    client.put_secret_value().secret_id(&arn).secret_string(format!(r#"{{"key":"{new_key}"}}"#)).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(app.me(&before).await.status(), 200, "a token under the previous key still verifies");
    let after = app.token("rhea", GOOD_PASSWORD).await;
    assert_eq!(claims_kid(&after), SigningKey::derive(new_key.as_bytes()).kid, "new tokens use the new key");

    // Another instance that cached the old keys for an hour meets a token under the new key: it fetches at once.
    let lagging = TestApp::with(&[("JWT_SECRET_ARN", arn.as_str()), ("JWT_KEY_REFRESH_SECONDS", "3600")]).await;
    lagging.registered("sol").await;
    let sol_token = lagging.token("sol", GOOD_PASSWORD).await;
    assert_eq!(lagging.me(&sol_token).await.status(), 200);
    let _ = claims_of(&sol_token);
}

/// The rotation function's steps against the Secrets Manager API (moto): a new key is created as the pending
/// version, tested, made current; the functions then sign with it and still verify tokens under the old one.
#[tokio::test]
async fn the_rotation_function_makes_a_new_current_key_and_old_tokens_still_verify() {
    use cloudmind_adapters::aws::rotation;
    let endpoint = required_env("SECRETS_MANAGER_ENDPOINT");
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::secrets_client(&sdk, Some(&endpoint));
    let old_key = format!("rotated-signing-key-{}-0123456789abcdef", cloudmind_tests::namespace());
    let created = client
        .create_secret()
        .name(format!("cloudmind/{}/jwt-rotation", cloudmind_tests::namespace()))
        .secret_string(format!(r#"{{"key":"{old_key}"}}"#))
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();
    let app = TestApp::with(&[("JWT_SECRET_ARN", arn.as_str()), ("JWT_KEY_REFRESH_SECONDS", "1")]).await;
    let before = app.user_token("tove").await;

    let token = "00000000-0000-4000-8000-000000000042";
    rotation::create_pending(&client, &arn, token, Algorithm::HS256).await.unwrap();
    // Retried by Secrets Manager: the same pending version, not a second new key.
    let pending = || client.get_secret_value().secret_id(&arn).version_id(token).version_stage("AWSPENDING").send();
    let first = pending().await.unwrap().secret_string().unwrap().to_string();
    rotation::create_pending(&client, &arn, token, Algorithm::HS256).await.unwrap();
    assert_eq!(pending().await.unwrap().secret_string().unwrap(), first);
    let new_key: Value = serde_json::from_str(&first).unwrap();
    let new_key = new_key["key"].as_str().unwrap().to_string();
    assert_eq!(new_key.len(), 64);
    assert_ne!(new_key, old_key);
    rotation::test_pending(&client, &arn, token).await.unwrap();
    rotation::finish(&client, &arn, token).await.unwrap();
    rotation::finish(&client, &arn, token).await.unwrap();
    let current = client.get_secret_value().secret_id(&arn).version_stage("AWSCURRENT").send().await.unwrap();
    assert_eq!(current.version_id(), Some(token));
    let previous = client.get_secret_value().secret_id(&arn).version_stage("AWSPREVIOUS").send().await.unwrap();
    assert!(previous.secret_string().unwrap().contains(&old_key));

    // The dispatcher checks what Secrets Manager would: rotation off is refused, a current version is a no-op.
    let event = |step: &str, token: &str| rotation::RotationEvent {
        secret_id: arn.clone(),
        client_request_token: token.to_string(),
        step: step.to_string(),
    };
    let refused = rotation::rotate(&client, &event("createSecret", token), Algorithm::HS256).await;
    assert!(matches!(refused, Err(rotation::RotationError::NotEnabled)), "{refused:?}");

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(app.me(&before).await.status(), 200, "a token under the rotated-out key still verifies");
    let after = app.token("tove", GOOD_PASSWORD).await;
    assert_eq!(claims_kid(&after), SigningKey::derive(new_key.as_bytes()).kid, "new tokens use the new key");
}

/// Tokens verified the way another service would (PyJWT, a library nobody here wrote, from the JWKS URL alone),
/// across the rotations of a Secrets Manager secret: an HMAC secret moves to an ES256 key pair without logging
/// anyone out (the HMAC token keeps working, PyJWT cannot use it: no public key), then the key pair rotates and the
/// previous public key stays published while tokens it signed live. An EdDSA deployment verifies the same way.
#[tokio::test]
async fn an_outside_library_verifies_tokens_from_the_jwks_alone_across_rotations() {
    use cloudmind_adapters::aws::rotation;
    let endpoint = required_env("SECRETS_MANAGER_ENDPOINT");
    let python = required_env("MOTO_PYTHON");
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::secrets_client(&sdk, Some(&endpoint));
    let created = client
        .create_secret()
        .name(format!("cloudmind/{}/jwt-es256", cloudmind_tests::namespace()))
        .secret_string(format!(r#"{{"key":"hmac-before-the-move-{}-0123456789"}}"#, cloudmind_tests::namespace()))
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();
    let app = TestApp::with(&[
        ("JWT_SECRET_ARN", arn.as_str()),
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_KEY_REFRESH_SECONDS", "1"),
    ])
    .await;
    let verify = |tokens: Vec<String>, base: String| {
        let python = python.clone();
        async move {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/jwks_verify.py");
            let mut args = vec![script.to_string(), base, "cloudmind".into(), "cloudmind-api".into()];
            args.extend(tokens);
            // On the blocking pool: the test server answers PyJWT's JWKS fetch meanwhile.
            let out = tokio::task::spawn_blocking(move || std::process::Command::new(&python).args(&args).output())
                .await
                .unwrap()
                .expect("python runs");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let rotate = |token: &'static str| {
        let (client, arn) = (client.clone(), arn.clone());
        async move {
            rotation::create_pending(&client, &arn, token, Algorithm::ES256).await.unwrap();
            rotation::test_pending(&client, &arn, token).await.unwrap();
            rotation::finish(&client, &arn, token).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1_100)).await; // JWT_KEY_REFRESH_SECONDS
        }
    };
    let alg = |token: &str| {
        use base64::Engine as _;
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        header["alg"].as_str().unwrap().to_string()
    };

    // Before the first rotation the secret is HMAC: tokens are HS256 and the key set is empty.
    let hmac = app.user_token("pia").await;
    assert_eq!(alg(&hmac), "HS256");
    rotate("00000000-0000-4000-8000-0000000000e1").await;
    let first = app.token("pia", GOOD_PASSWORD).await;
    assert_eq!(alg(&first), "ES256");
    assert_eq!(app.me(&hmac).await.status(), 200, "the HMAC token of before the move still verifies");
    let results = verify(vec![first.clone(), hmac.clone()], app.base.clone()).await;
    assert_eq!((results[0]["ok"].as_bool(), results[0]["alg"].as_str()), (Some(true), Some("ES256")), "{results:?}");
    assert_eq!(results[1]["ok"], false, "an HMAC token has no public key: {results:?}");

    // The key pair rotates: the first key stays published (and verifying) beside the new one.
    rotate("00000000-0000-4000-8000-0000000000e2").await;
    let second = app.token("pia", GOOD_PASSWORD).await;
    assert_ne!(claims_kid(&second), claims_kid(&first));
    let results = verify(vec![first.clone(), second.clone()], app.base.clone()).await;
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
    assert_eq!(app.me(&first).await.status(), 200);
    let set: Value = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let kids: Vec<&str> = set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [claims_kid(&second), claims_kid(&first)], "current first, then the previous");

    // EdDSA, configured statically, verifies the same way.
    let (_, pem) = cloudmind_security::tokens::SigningKey::generate(Algorithm::EdDSA).unwrap();
    let ed = TestApp::with(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", pem.as_str())]).await;
    let token = ed.user_token("pia").await;
    let results = verify(vec![token], ed.base.clone()).await;
    assert_eq!((results[0]["ok"].as_bool(), results[0]["alg"].as_str()), (Some(true), Some("EdDSA")), "{results:?}");
}

/// Commands the admit script runs inside Redis (`INFO commandstats` counts them too, but they cost no round trip).
const SCRIPT_COMMANDS: &[&str] = &[
    "time",
    "get",
    "hmget",
    "hset",
    "pexpireat",
    "hincrby",
    "zincrby",
    "zadd",
    "zremrangebyscore",
    "pexpire",
    "zcard",
    "set",
    "del",
];

/// Round trips a client made: script calls, plus any command the scripts do not issue themselves.
fn round_trips(per_command: &[(String, u64)]) -> u64 {
    let scripts: u64 = per_command.iter().filter(|(c, _)| c == "evalsha" || c == "eval").map(|(_, n)| n).sum();
    let direct: u64 = per_command
        .iter()
        .filter(|(c, _)| {
            c != "evalsha" && c != "eval" && !c.starts_with("config") && !SCRIPT_COMMANDS.contains(&c.as_str())
        })
        .map(|(_, n)| n)
        .sum();
    scripts + direct
}

fn claims_kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let h: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    h["kid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_protected_request_costs_one_dynamodb_and_one_redis_round_trip() {
    let (redis, moto) = (services::redis().await, services::moto().await);
    let redis_url = url(redis.port, "redis");
    let moto_url = url(moto.port, "http");
    let app = TestApp::with(&[("REDIS_URL", redis_url.as_str()), ("DYNAMODB_ENDPOINT", moto_url.as_str())]).await;
    let token = app.user_token("counted").await;
    app.me(&token).await; // warm: the script is loaded, connections are open

    let mut report = Vec::new();
    let mut measure = async |name: &str, request: reqwest::RequestBuilder| {
        moto_reset(moto.port).await;
        redis_reset(redis.port).await;
        let status = request.send().await.unwrap().status().as_u16();
        let (dynamo, by_target) = moto_requests(moto.port).await;
        let (_, per_command) = redis_commands(redis.port).await;
        let redis_calls = round_trips(&per_command);
        report.push(format!("{name}: {status}, DynamoDB {dynamo} {by_target}, Redis {redis_calls} {per_command:?}"));
        (dynamo, by_target, redis_calls, per_command)
    };
    let (dynamo, by_target, redis_calls, per_command) =
        measure("GET /api/v1/me", app.client.get(app.url("/api/v1/me")).bearer_auth(&token)).await;
    assert_eq!(dynamo, 1, "{by_target}");
    assert_eq!(by_target["BatchGetItem"], 1);
    assert_eq!(redis_calls, 1, "{per_command:?}");

    let (dynamo, _, redis_calls, _) = measure(
        "PATCH /api/v1/me",
        app.client.patch(app.url("/api/v1/me")).bearer_auth(&token).json(&serde_json::json!({"display_name": "C"})),
    )
    .await;
    assert_eq!((dynamo, redis_calls), (2, 1), "one lookup, one update");
    let (_, _, redis_calls, _) = measure("GET /health", app.client.get(app.url("/health"))).await;
    assert!(redis_calls <= 2);
    measure(
        "POST /api/v1/auth/login",
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "counted", "password": GOOD_PASSWORD})),
    )
    .await;
    let login: Value = app.login("counted", GOOD_PASSWORD).await.json().await.unwrap();
    let (dynamo, by_target, redis_calls, _) = measure(
        "POST /api/v1/auth/refresh",
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .json(&serde_json::json!({"refresh_token": login["refresh_token"]})),
    )
    .await;
    // The session and the user read together (one BatchGetItem), then the conditional rotation; the per-IP limit in
    // one script.
    assert_eq!((dynamo, redis_calls), (2, 1), "{by_target}");
    assert_eq!(
        (by_target["BatchGetItem"].as_u64(), by_target["UpdateItem"].as_u64()),
        (Some(1), Some(1)),
        "{by_target}"
    );
    let (_, by_target, _, _) =
        measure("POST /api/v1/auth/logout", app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&token)).await;
    // The lookup, the session's revocation (which revokes every token it issued: no item per token) and the two
    // audit events with their per-user copies.
    assert_eq!(by_target.get("PutItem"), None, "{by_target}");
    assert_eq!(
        (by_target["BatchGetItem"].as_u64(), by_target["UpdateItem"].as_u64()),
        (Some(1), Some(1)),
        "{by_target}"
    );
    for line in &report {
        println!("round trips: {line}");
    }
}

#[tokio::test]
async fn with_redis_down_requests_are_answered_degraded_and_redis_is_used_again_once_back() {
    let mut redis = services::redis().await;
    let redis_url = url(redis.port, "redis");
    let app = TestApp::with(&[
        ("REDIS_URL", redis_url.as_str()),
        ("REDIS_PROBE_SECONDS", "1"),
        ("REDIS_TIMEOUT_MS", "200"),
        ("AUTH_RATE_LIMIT_PER_MINUTE", "5"),
    ])
    .await;
    let token = app.user_token("dora").await;
    let health = || async { app.client.get(app.url("/health")).send().await.unwrap().json::<Value>().await.unwrap() };
    assert_eq!(health().await["status"], "healthy");

    redis.stop();
    assert_eq!(app.me(&token).await.status(), 200, "answered from the in-memory fallback");
    let h = health().await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["redis"]["redis_connected"], false);
    let admin = app.admin_token().await;
    let stats: Value = app.get_with("/api/v1/admin/rate-limit-stats", &admin).await.json().await.unwrap();
    assert_eq!(stats["degraded"], true);
    assert_eq!(app.stored_events(EventKind::DependencyDegraded).await.len(), 1);
    // Login limits still hold on the fallback: at most five logins a minute from this address on this instance.
    let statuses = futures_util::future::join_all((0..8).map(|_| app.login("dora", "wrong"))).await;
    assert!(statuses.iter().any(|r| r.status() == 429), "the fallback limiter refuses");

    redis.restart().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(app.me(&token).await.status(), 200);
    let h = health().await;
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["redis"]["redis_connected"], true);
    redis_reset(redis.port).await;
    app.me(&token).await;
    let (_, per_command) = redis_commands(redis.port).await;
    assert!(per_command.iter().any(|(c, n)| c.starts_with("eval") && *n >= 1), "back on Redis: {per_command:?}");
}

#[tokio::test]
async fn with_dynamodb_down_protected_requests_are_503_never_200() {
    let mut moto = services::moto().await;
    let moto_url = url(moto.port, "http");
    let app = TestApp::with(&[("DYNAMODB_ENDPOINT", moto_url.as_str())]).await;
    let token = app.user_token("dana").await;
    assert_eq!(app.me(&token).await.status(), 200);
    moto.stop();
    assert_problem(app.me(&token).await, 503, "service_unavailable").await;
    assert_problem(app.logout(&token).await, 503, "service_unavailable").await;
    assert_problem(app.login("dana", GOOD_PASSWORD).await, 503, "service_unavailable").await;
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
}

#[tokio::test]
async fn the_redis_offenders_stay_bounded_under_a_flood_of_refused_clients() {
    use cloudmind_adapters::aws::redis::RedisLimiter;
    use cloudmind_security::ratelimit::{
        Admission, BlockPolicy, Limit, Limiter, Policy, PolicyId, Subject, WindowCheck,
    };
    let prefix = cloudmind_tests::namespace();
    let limiter = RedisLimiter::new(&required_env("REDIS_URL"), Duration::from_secs(2), &prefix, false).unwrap();
    // A policy that refuses everything: every client becomes an offender.
    let closed = Policy { name: PolicyId::Api, limits: vec![Limit { limit: 0, window_seconds: 60 }] };
    let blocks = BlockPolicy { rate_limit_violations: 0, ..BlockPolicy::default() };
    for i in 0..1_200u32 {
        let client = Subject::ip(std::net::IpAddr::from([10, 9, (i / 256) as u8, (i % 256) as u8]));
        let admission = Admission { checks: WindowCheck::for_policy(&closed, &client), client_key: client };
        assert!(!limiter.admit(&admission, &blocks, now_ms()).await.unwrap().decision.allowed);
    }
    let stats = limiter.stats(now_ms()).await.unwrap();
    assert_eq!(stats.totals.limited, 1_200);
    assert_eq!(stats.top_offenders.len(), 10);
    // The offenders are spread over 16 keys, each kept to the 64 with most refusals: about a thousand in all.
    let mut conn =
        redis::Client::open(required_env("REDIS_URL")).unwrap().get_multiplexed_async_connection().await.unwrap();
    let mut total = 0;
    for shard in 0..16 {
        let n: u64 =
            redis::cmd("ZCARD").arg(format!("{{{prefix}:offenders:{shard}}}")).query_async(&mut conn).await.unwrap();
        assert!(n <= 64, "shard {shard} holds {n}");
        total += n;
    }
    assert!((900..=1_024).contains(&total), "{total} offenders kept");
}

#[tokio::test]
async fn a_password_typed_as_a_username_is_not_stored_in_the_lockout_item() {
    let app = TestApp::spawn().await;
    let typed = "Hunter2-Typed-In-The-Wrong-Field!";
    for _ in 0..2 {
        assert_problem(app.login(typed, "anything").await, 401, "invalid_credentials").await;
    }
    let infra = &app.settings.infrastructure;
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    let items = client.scan().table_name(infra.security_table()).send().await.unwrap().items.unwrap_or_default();
    let lockouts: Vec<_> = items.iter().filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("LOCKOUT#"))).collect();
    assert_eq!(lockouts.len(), 1, "the failures were counted on one item");
    let everything = format!("{items:?}").to_lowercase();
    assert!(!everything.contains(&typed.to_lowercase()), "the typed text is stored: {everything}");
}

#[tokio::test]
async fn an_audit_burst_spreads_over_the_shards_and_reads_back_in_order() {
    use cloudmind_security::events::SecurityEvent;
    // A moto of its own: the burst would hold the shared one (a single thread) for seconds.
    let moto = services::moto().await;
    let endpoint = url(moto.port, "http");
    // Four partitions (AUDIT_SHARDS): moto answers a query in time proportional to the partition and the page, so
    // fewer partitions and pages of 250 keep each read under the SDK's one-second attempt timeout here (pages of
    // 1,000 did not on a busy machine); the layout is the same for any count.
    let app = TestApp::with(&[("DYNAMODB_ENDPOINT", endpoint.as_str()), ("AUDIT_SHARDS", "4")]).await;
    let events = &app.backends.events;
    let start = now_ms();
    // (Eight at a time: moto serves one request at a time, at about 3 ms a write.)
    for chunk in 0..625u64 {
        let writes = (0..8u64).map(|i| {
            let event = SecurityEvent::new(EventKind::LoginFail, start + chunk * 8 + i).detail(format!("burst {i}"));
            async move { events.record(&event).await }
        });
        for r in futures_util::future::join_all(writes).await {
            r.unwrap();
        }
    }
    // Read back a page at a time, newest first, across every shard: all 5,000, in order, each once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = events.list(None, 250, cursor.as_deref()).await.unwrap();
        seen.extend(page.events.iter().map(|e| e.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5_000);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    // The index by type reads the same order (a first page of it).
    let by_type = events.list(Some(EventKind::LoginFail), 100, None).await.unwrap();
    assert_eq!(by_type.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), seen[..100]);
    // Spread over the four write partitions: each within a fifth of its even share.
    let infra = &app.settings.infrastructure;
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    for shard in 0..4 {
        let out = client
            .query()
            .table_name(infra.security_table())
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S(format!("EVENT#{shard}")))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap();
        let n = out.count();
        assert!((1_000..=1_500).contains(&n), "partition EVENT#{shard} holds {n} of 5,000");
    }
}

#[tokio::test]
async fn a_backup_restores_into_a_new_table_exactly_as_it_was() {
    use cloudmind_adapters::aws::backups::{self, RestoreFrom};
    required_env("DYNAMODB_ENDPOINT");
    let app = TestApp::spawn().await;
    let infra = &app.settings.infrastructure;
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    app.registered("before").await;
    let users = infra.users_table().to_string();
    let arn = backups::create(&client, &users, &format!("{users}-first")).await.unwrap();
    // Later writes: a new user, and a change to the one that was there.
    app.registered("after").await;
    let token = app.token("before", GOOD_PASSWORD).await;
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"display_name": "Changed Later"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let listed = backups::list(&client, &users).await.unwrap();
    assert!(listed.iter().any(|b| b.arn == arn), "{listed:?}");
    let target = format!("{users}-restored");
    let stream =
        backups::restore(&client, &RestoreFrom::Backup(arn), &target, Default::default(), Duration::from_secs(60))
            .await
            .unwrap();
    assert_eq!(stream, None, "the users table has no stream");
    let items = client.scan().table_name(&target).send().await.unwrap().items.unwrap_or_default();
    let names: Vec<String> = items.iter().map(|i| i["username"].as_s().unwrap().clone()).collect();
    assert!(names.contains(&"before".to_string()) && !names.contains(&"after".to_string()), "{names:?}");
    let before = items.iter().find(|i| i["username"].as_s().unwrap() == "before").unwrap();
    assert_eq!(before["display_name"].as_s().unwrap(), "before", "the state of the backup, not the change after it");
    // What DynamoDB does not copy is turned on again: point-in-time recovery and deletion protection.
    let backups_on = client.describe_continuous_backups().table_name(&target).send().await.unwrap();
    let pitr = backups_on.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    assert_eq!(
        pitr.and_then(|p| p.point_in_time_recovery_status()).map(|s| s.as_str()),
        Some("ENABLED"),
        "point-in-time recovery on the restored table"
    );
    let described = client.describe_table().table_name(&target).send().await.unwrap();
    assert_eq!(described.table().and_then(|t| t.deletion_protection_enabled()), Some(true), "deletion protection");
    // The operator's command does the same (`cloudmind backup create`, then `list`).
    let cli = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("cloudmind");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&cli)
            .args(args)
            .env("DYNAMODB_ENDPOINT", infra.dynamodb_endpoint.as_deref().unwrap())
            .env("USERS_TABLE", &users)
            .env("SECURITY_TABLE", infra.security_table())
            .output()
            .expect("the cloudmind binary runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let created = run(&["backup", "create", "--table", "users", "--name", "by-cli"]);
    assert!(created.contains("arn:"), "{created}");
    assert!(run(&["backup", "list"]).contains(&format!("{users}-by-cli")));
    // Restoring onto a table that exists is refused.
    let again = backups::create(&client, &users, &format!("{users}-second")).await.unwrap();
    assert!(
        backups::restore(&client, &RestoreFrom::Backup(again), &target, Default::default(), Duration::from_secs(5))
            .await
            .is_err()
    );
    // A restored security table gets its TTL and the stream that feeds the mail worker back, and the command prints
    // the stream's ARN for the stack's SecurityTableStreamOverride.
    let security = infra.security_table().to_string();
    let created = run(&["backup", "create", "--table", "security", "--name", "for-restore"]);
    let arn = created.split_whitespace().find(|w| w.starts_with("arn:")).expect("an ARN").to_string();
    let restored = format!("{security}-restored");
    let out = run(&["backup", "restore", "--table", "security", "--backup", &arn, "--to", &restored]);
    let described = client.describe_table().table_name(&restored).send().await.unwrap();
    let table = described.table().unwrap();
    let stream = table.stream_specification().expect("a stream");
    assert!(
        stream.stream_enabled()
            && stream.stream_view_type() == Some(&aws_sdk_dynamodb::types::StreamViewType::NewImage)
    );
    let stream_arn = table.latest_stream_arn().expect("the stream's ARN");
    assert!(out.contains(&format!("(SecurityTableStreamOverride): {stream_arn}")), "{out}");
    let ttl = client.describe_time_to_live().table_name(&restored).send().await.unwrap();
    let ttl = ttl.time_to_live_description().and_then(|d| d.attribute_name());
    assert_eq!(ttl, Some("expires_at"));
}
