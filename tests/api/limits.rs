//! Lockout and rate limits, including concurrent attacks.

use cloudmind_security::events::EventKind;
use cloudmind_tests::{BrokenReads, GOOD_PASSWORD, TestApp, assert_problem};
use serde_json::json;

#[tokio::test]
async fn five_failures_lock_the_account_and_the_right_password_is_still_423() {
    let app = TestApp::spawn().await;
    app.registered("alice").await;
    for _ in 0..5 {
        assert_problem(app.login("alice", "wrong-password").await, 401, "invalid_credentials").await;
    }
    let (h, _) = assert_problem(app.login("alice", GOOD_PASSWORD).await, 423, "account_locked").await;
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((295..=300).contains(&retry), "{retry}");
    assert_eq!(app.events("authn_login_lock").await.len(), 1);
}

#[tokio::test]
async fn an_unknown_username_locks_the_same_way_with_the_same_answers() {
    let app = TestApp::spawn().await;
    app.registered("known").await;
    let mut bodies = Vec::new();
    for name in ["known", "ghost"] {
        for _ in 0..5 {
            let (_, mut body) =
                assert_problem(app.login(name, "wrong-password").await, 401, "invalid_credentials").await;
            body.as_object_mut().unwrap().remove("request_id");
            bodies.push(body);
        }
        let (h, _) = assert_problem(app.login(name, "wrong-password").await, 423, "account_locked").await;
        assert!(h.contains_key("retry-after"));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "known and unknown users get identical bodies");
}

#[tokio::test]
async fn an_unknown_username_costs_one_password_verification_like_a_known_one() {
    let app = TestApp::spawn().await;
    app.registered("known").await;
    let hasher = app.app.login.hasher();
    let before = hasher.verifications();
    app.login("known", "wrong-password").await;
    let known = hasher.verifications() - before;
    let before = hasher.verifications();
    app.login("nobody-here", "wrong-password").await;
    let unknown = hasher.verifications() - before;
    assert_eq!((known, unknown), (1, 1));
}

#[tokio::test]
async fn twenty_parallel_wrong_passwords_count_exactly_five_failures_and_lock() {
    let app = TestApp::spawn().await;
    app.registered("victim").await;
    let statuses = futures_join((0..20).map(|_| app.login("victim", "guess-123"))).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 423).count(), 15, "{statuses:?}");
    let counted = app.events("authn_login_fail").await.iter().filter(|e| e["detail"] == "invalid credentials").count();
    assert_eq!(counted, 5);
    assert_problem(app.login("victim", GOOD_PASSWORD).await, 423, "account_locked").await;
}

#[tokio::test]
async fn the_sixth_login_in_a_minute_is_429_and_a_spoofed_forwarded_for_does_not_escape() {
    let app = TestApp::with_seed_limits().await;
    for i in 0..5 {
        let r = app.login("someone", "wrong").await;
        assert_eq!(r.status(), 401);
        let remaining = format!("r={}", 4 - i);
        assert!(r.headers()["ratelimit"].to_str().unwrap().contains(&remaining), "{:?}", r.headers()["ratelimit"]);
    }
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.7")
        .header("x-real-ip", "198.51.100.8")
        .header("forwarded", "for=198.51.100.9")
        .json(&json!({"username": "someone", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    let (h, _) = assert_problem(r, 429, "rate_limited").await;
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        h["ratelimit-policy"],
        r#""login-ip-minute";q=5;w=60, "login-ip-hour";q=20;w=3600, "login-ip-day";q=100;w=86400"#
    );
    assert!(h["ratelimit"].to_str().unwrap().starts_with(r#""login-ip-minute";r=0;t="#));
    let events = app.stored_events(EventKind::RateLimitExceeded).await;
    assert_eq!(events[0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn fifty_parallel_logins_against_five_a_minute_admit_exactly_five() {
    let app = TestApp::with_seed_limits().await;
    let statuses = futures_join((0..50).map(|i| app.login(if i % 2 == 0 { "a-user" } else { "b-user" }, "x"))).await;
    let admitted = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(admitted, 5, "{statuses:?}");
    // The refusals count toward the automatic block: the twentieth blocks the client, the rest are 403.
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 25, "{statuses:?}");
}

#[tokio::test]
async fn twenty_refusals_in_ten_minutes_block_the_client() {
    // The hourly window, not the minute's: windows are aligned to the clock, and a run that crossed a minute
    // boundary would see a fresh one.
    let app = TestApp::with(&[("AUTH_RATE_LIMIT_PER_MINUTE", "1000"), ("AUTH_RATE_LIMIT_PER_HOUR", "1")]).await;
    app.login("x", "y").await;
    for _ in 0..20 {
        assert_eq!(app.login("x", "y").await.status(), 429);
    }
    assert_problem(app.login("x", "y").await, 403, "ip_blocked").await;
    assert_problem(app.client.get(app.url("/health")).send().await.unwrap(), 403, "ip_blocked").await;
    let blocked = app.backends.events.list(Some(EventKind::ClientBlocked), 10, None).await.unwrap();
    assert_eq!(blocked.events.len(), 1);
}

#[tokio::test]
async fn api_routes_limit_per_user_across_addresses() {
    let app = TestApp::with(&[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    let token = app.user_token("busy").await;
    for _ in 0..3 {
        assert_eq!(app.me(&token).await.status(), 200);
    }
    let (h, _) = assert_problem(app.me(&token).await, 429, "rate_limited").await;
    assert!(h["ratelimit-policy"].to_str().unwrap().contains(r#""api-user-minute";q=3;w=60"#));
}

/// Runs the requests concurrently and returns their statuses.
async fn futures_join<F>(requests: impl Iterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Response>,
{
    futures_util::future::join_all(requests).await.iter().map(|r| r.status().as_u16()).collect()
}

/// The peak resident memory of this process (the test and the server it runs), MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// The threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|t| {
            let comm = std::fs::read_to_string(t.as_ref().unwrap().path().join("comm")).unwrap_or_default();
            comm.starts_with(prefix)
        })
        .count()
}

#[tokio::test]
async fn three_hundred_concurrent_logins_hash_on_a_bounded_set_of_threads_and_the_rest_are_503_at_once() {
    // Three hundred clients would come from many addresses; here they share one, so its connection cap is raised.
    let base = TestApp::spawn().await;
    let limits = cloudmind_tests::Limits { max_connections_per_ip: 512, ..Default::default() };
    let app = TestApp::serving_within(base.wiring.clone(), limits).await;
    let names: Vec<String> = (0..300).map(|i| format!("nobody-{i}")).collect();
    let requests = names.iter().map(|name| app.login(name, "not-the-password"));
    let responses = futures_util::future::join_all(requests).await;
    let mut busy = 0;
    for r in responses {
        match r.status().as_u16() {
            401 => {}
            503 => {
                busy += 1;
                assert_eq!(r.headers()["retry-after"], "1");
                let (_, body) = assert_problem(r, 503, "service_unavailable").await;
                assert!(body["detail"].as_str().unwrap().contains("busy"), "{body}");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(busy > 0, "300 logins at once exceed the hashing threads and their queue");
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(threads_named("argon2-") <= cores, "at most one hashing thread per core");
    // One 19 MiB argon2 block per hashing thread, not one per request (300 would be 5.7 GB).
    assert!(peak_rss_mib() < 512, "peak RSS {} MiB", peak_rss_mib());
    // A busy refusal counted nothing: the account is not locked and a later login is answered normally.
    assert_problem(app.login("nobody-1", "not-the-password").await, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn attempts_that_die_between_the_lockout_slot_and_the_verdict_give_their_slot_back() {
    let app = TestApp::spawn().await;
    app.registered("olga").await;
    // Same stores, but every user read fails after the slot is taken: five attempts end without a verdict.
    let broken = BrokenReads { inner: app.backends.users.clone(), hang: false };
    let failing = TestApp::serving(app.wiring.with_users(std::sync::Arc::new(broken))).await;
    for _ in 0..5 {
        assert_problem(failing.login("olga", GOOD_PASSWORD).await, 503, "service_unavailable").await;
    }
    // The owner is not locked out: the slots were given back (on a spawned task, so allow it a moment).
    let mut status = 0;
    for _ in 0..50 {
        status = app.login("olga", GOOD_PASSWORD).await.status().as_u16();
        if status != 423 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "five aborted attempts must not lock the account");
    assert!(cloudmind_tests::logs::captured().contains("authn_attempt_aborted"), "an aborted attempt is logged");
}

#[tokio::test]
async fn a_flood_of_refusals_writes_one_audit_event_per_client_and_minute() {
    let app = TestApp::with(&[("AUTH_RATE_LIMIT_PER_MINUTE", "5"), ("BLOCK_RATE_LIMIT_VIOLATIONS", "1000")]).await;
    for last in [31u8, 32] {
        let client = app.client_from(last);
        for _ in 0..30 {
            client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": "x", "password": "y"}))
                .send()
                .await
                .unwrap();
        }
    }
    // 25 refusals from each client: one audit event each (two if the minute turned meanwhile), the rest in metrics.
    let events = app.stored_events(EventKind::RateLimitExceeded).await;
    for ip in ["127.0.0.31", "127.0.0.32"] {
        let mine: Vec<_> = events.iter().filter(|e| e["ip"] == ip).collect();
        assert!((1..=2).contains(&mine.len()), "{ip}: {mine:?}");
        assert!(mine[0]["detail"].as_str().unwrap().contains("refusals_previous_minute="), "{mine:?}");
    }
}
