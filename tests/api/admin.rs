//! The admin API.

use cloudmind_security::ratelimit::{Subject, Violation};
use cloudmind_tests::{TestApp, assert_problem};
use serde_json::{Value, json};

#[tokio::test]
async fn a_user_token_on_admin_routes_is_403_and_logged() {
    let app = TestApp::spawn().await;
    let token = app.user_token("uma").await;
    for (method, path) in [
        ("GET", "/api/v1/admin/rate-limit-stats"),
        ("GET", "/api/v1/admin/security-events"),
        ("POST", "/api/v1/admin/users/uma/unlock"),
        ("DELETE", "/api/v1/admin/blocks/ip:127.0.0.1"),
    ] {
        let r = app.client.request(method.parse().unwrap(), app.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_problem(r, 403, "forbidden").await;
    }
    assert_eq!(app.events("authz_fail").await.len(), 4);
    assert_problem(
        app.client.get(app.url("/api/v1/admin/rate-limit-stats")).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn rate_limit_stats_show_policies_totals_offenders_and_blocks() {
    let app = TestApp::with_seed_limits().await;
    let admin = app.admin_token().await;
    // The admin's own login was the first of five allowed in this minute.
    for _ in 0..5 {
        app.login("nobody", "x").await;
    }
    let r = app.get_with("/api/v1/admin/rate-limit-stats", &admin).await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["backend"], app.backends.limiter.backend().as_str());
    assert_eq!(s["degraded"], false);
    let login = s["policies"].as_array().unwrap().iter().find(|p| p["name"] == "login").unwrap();
    assert_eq!(
        login["limits"],
        json!([{"limit": 5, "window_seconds": 60}, {"limit": 20, "window_seconds": 3600}, {"limit": 100, "window_seconds": 86400}])
    );
    assert_eq!(s["by_policy"]["login"], json!({"allowed": 5, "limited": 1}));
    assert!(s["totals"]["allowed"].as_u64().unwrap() >= 6);
    assert_eq!(s["top_offenders"][0], json!({"key": "ip:127.0.0.1", "limited": 1}));
    assert_eq!(s["blocked"], json!([]));
}

#[tokio::test]
async fn security_events_page_newest_first_and_validate_their_query() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Existing accounts: the audit trail names only those (an unknown login name is shown as a marker).
    for i in 0..7 {
        app.registered(&format!("user{i}")).await;
    }
    for i in 0..7 {
        app.login(&format!("user{i}"), "wrong").await;
    }
    let page = |q: String| {
        let url = app.url(&format!("/api/v1/admin/security-events?{q}"));
        app.client.get(url).bearer_auth(&admin).send()
    };
    let first: Value = page("type=authn_login_fail&limit=3".into()).await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        first["events"].as_array().unwrap().iter().map(|e| e["username"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["user6", "user5", "user4"]);
    let event = &first["events"][0];
    for field in ["id", "type", "at", "ip", "detail"] {
        assert!(event[field].is_string(), "{field}");
    }
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value =
        page(format!("type=authn_login_fail&limit=3&cursor={cursor}")).await.unwrap().json().await.unwrap();
    assert_eq!(second["events"][0]["username"], "user3");
    let all: Value = page("type=authn_login_fail&limit=100".into()).await.unwrap().json().await.unwrap();
    assert_eq!(all["events"].as_array().unwrap().len(), 7);
    assert_eq!(all["next_cursor"], Value::Null);
    for bad in ["limit=0", "limit=101", "limit=ten", "type=nope", "cursor=%27%3B"] {
        let r = page(bad.into()).await.unwrap();
        assert!(r.status() == 400, "{bad}: {}", r.status());
    }
}

#[tokio::test]
async fn an_admin_unlock_clears_a_lockout_for_any_username() {
    let app = TestApp::spawn().await;
    app.registered("lou").await;
    let admin = app.admin_token().await;
    for _ in 0..5 {
        app.login("lou", "wrong").await;
    }
    assert_problem(app.login("lou", cloudmind_tests::GOOD_PASSWORD).await, 423, "account_locked").await;
    let unlock = |name: &'static str| {
        app.client.post(app.url(&format!("/api/v1/admin/users/{name}/unlock"))).bearer_auth(&admin).send()
    };
    assert_eq!(unlock("LOU").await.unwrap().status(), 204);
    assert_eq!(app.login("lou", cloudmind_tests::GOOD_PASSWORD).await.status(), 200);
    assert_eq!(unlock("never-registered").await.unwrap().status(), 204);
    assert_eq!(app.events("user_unlocked").await.len(), 2);
    let r = app
        .client
        .post(app.url("/api/v1/admin/users/..%2F..%2Fetc%2Fpasswd/unlock"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "malicious_input").await;
}

#[tokio::test]
async fn deleting_a_block_lets_the_client_back_in() {
    let app = TestApp::with(&[("BLOCK_MALICIOUS_REQUESTS", "2")]).await;
    let admin = app.admin_token().await;
    for _ in 0..2 {
        app.client.get(app.url("/health?x=%3Cscript%3E")).send().await.unwrap();
    }
    assert_problem(app.client.get(app.url("/health")).send().await.unwrap(), 403, "ip_blocked").await;
    // The admin is on the same (blocked) address: lift the block through the store, as another address would.
    let stats = app.backends.limiter.stats(cloudmind_security::clock::now_ms()).await.unwrap();
    assert_eq!(stats.blocked[0].key, "ip:127.0.0.1");
    assert_eq!(stats.blocked[0].reason, "malicious_input");
    assert!(app.backends.limiter.unblock(&Subject::ip("127.0.0.1".parse().unwrap())).await.unwrap());
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), 200);

    let delete = |key: &'static str| {
        app.client.delete(app.url(&format!("/api/v1/admin/blocks/{key}"))).bearer_auth(&admin).send()
    };
    let blocks = app.settings.blocks;
    let now = cloudmind_security::clock::now_ms();
    let other = Subject::ip("203.0.113.9".parse().unwrap());
    app.backends.limiter.record_violation(&other, Violation::MaliciousInput, &blocks, now).await.unwrap();
    app.backends.limiter.record_violation(&other, Violation::MaliciousInput, &blocks, now).await.unwrap();
    assert_eq!(app.backends.limiter.stats(now).await.unwrap().blocked.len(), 1);
    assert_eq!(delete("ip:203.0.113.9").await.unwrap().status(), 204);
    assert!(app.backends.limiter.stats(now).await.unwrap().blocked.is_empty());
    assert_eq!(app.events("client_unblocked").await.len(), 1);
    assert_eq!(delete("ip:203.0.113.9").await.unwrap().status(), 204, "204 also when there was no block");
    assert_eq!(delete("ip%3A2001%3Adb8%3A1%3A2%3A%3A%2F64").await.unwrap().status(), 204);
    assert_eq!(delete("user:alice").await.unwrap().status(), 204);
    assert_problem(delete("host:example").await.unwrap(), 400, "validation_failed").await;

    // An IPv6 client is blocked as its /64; any spelling of it (upper case, zeros written out, one address of the
    // prefix) lifts that block.
    let v6 = Subject::ip("2001:db8:1:2::77".parse().unwrap());
    for spelling in ["ip%3A2001%3ADB8%3A1%3A2%3A0%3A0%3A0%3A5", "ip%3A2001%3A0db8%3A0001%3A0002%3A%3A%2F64"] {
        app.backends.limiter.record_violation(&v6, Violation::MaliciousInput, &blocks, now).await.unwrap();
        app.backends.limiter.record_violation(&v6, Violation::MaliciousInput, &blocks, now).await.unwrap();
        assert_eq!(app.backends.limiter.stats(now).await.unwrap().blocked.len(), 1);
        assert_eq!(delete(spelling).await.unwrap().status(), 204);
        assert!(app.backends.limiter.stats(now).await.unwrap().blocked.is_empty(), "{spelling} lifts the block");
    }
}
