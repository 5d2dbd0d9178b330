//! The limiter on a real Redis Cluster (three masters from Debian's `redis-server`, started per test on free
//! ports): keys of many owners land on every node, concurrent decisions stay exact when a request's two key owners
//! live on different nodes, a slot moving under load gives no wrong answer, and a master that stops degrades as
//! the contract says. `make test` runs these on its real-backend pass (`REDIS_SERVER_BIN` names the server).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use cloudmind_adapters::aws::redis::RedisLimiter;
use cloudmind_security::clock::now_ms;
use cloudmind_security::ratelimit::{Admission, BlockPolicy, Limit, Limiter, Policy, PolicyId, Subject, WindowCheck};
use cloudmind_tests::services::{RedisCluster, redis_cluster};
use cloudmind_tests::{TestApp, assert_problem};

fn policy(limit: u64) -> Policy {
    Policy { name: PolicyId::Api, limits: vec![Limit { limit, window_seconds: 60 }] }
}

fn ip(i: u32) -> Subject {
    Subject::ip(IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]))
}

/// An admission of `client` against `ip_limit`, and of `user` against `user_limit` when given.
fn admission(client: &Subject, ip_limit: u64, user: Option<(&Subject, u64)>) -> Admission {
    let mut checks = WindowCheck::for_policy(&policy(ip_limit), client);
    if let Some((user, limit)) = user {
        checks.extend(WindowCheck::for_policy(&policy(limit), user));
    }
    Admission { client_key: client.clone(), checks }
}

/// A cluster limiter in a fresh namespace, and that namespace (the start of every key's hash tag).
fn limiter_and_prefix(cluster: &RedisCluster) -> (Arc<RedisLimiter>, String) {
    let prefix = cloudmind_tests::namespace();
    (Arc::new(RedisLimiter::new(&cluster.url(), Duration::from_secs(2), &prefix, true).unwrap()), prefix)
}

fn limiter(cluster: &RedisCluster) -> Arc<RedisLimiter> {
    limiter_and_prefix(cluster).0
}

/// No block gets in the way of counting.
fn lenient() -> BlockPolicy {
    BlockPolicy { rate_limit_violations: 0, malicious_requests: 0, ..BlockPolicy::default() }
}

#[tokio::test]
async fn the_keys_of_many_owners_land_on_every_node() {
    let cluster = redis_cluster().await;
    let limiter = limiter(&cluster);
    for i in 0..600 {
        let user = Subject::user(&format!("user{i}"));
        let a = admission(&ip(i), 10, Some((&user, 10)));
        assert!(limiter.admit(&a, &lenient(), now_ms()).await.unwrap().decision.allowed);
    }
    limiter.stats(now_ms()).await.unwrap(); // writes this instance's statistics shard
    let per_node = cluster.keys_per_node();
    let total: u64 = per_node.iter().sum();
    assert!(total >= 1_200, "{per_node:?}");
    for n in &per_node {
        // Three nodes, about a third each: none below a quarter.
        assert!(*n * 4 >= total, "keys per node {per_node:?}");
    }
    // One owner's keys share one slot: the windows of one address are counted in its slot.
    let owner_slot_keys = RedisCluster::cli_on(cluster.nodes[0].port, &["cluster", "keyslot", "{x:ip:10.0.0.1}"]);
    assert!(owner_slot_keys.trim().parse::<u16>().is_ok());
}

#[tokio::test]
async fn fifty_concurrent_decisions_stay_exact_across_nodes() {
    let cluster = redis_cluster().await;
    let limiter = limiter(&cluster);
    // One address, five a minute: exactly five of fifty.
    let client = ip(1);
    let decisions = futures_util::future::join_all((0..50).map(|_| {
        let (limiter, a) = (limiter.clone(), admission(&client, 5, None));
        async move { limiter.admit(&a, &lenient(), now_ms()).await.unwrap().decision.allowed }
    }))
    .await;
    assert_eq!(decisions.iter().filter(|a| **a).count(), 5);

    // One user, five a minute, from fifty addresses of one a minute each (the two owners on different nodes,
    // decided by two scripts at once): exactly five, and the addresses the user's windows refused get their unit
    // back.
    let user = Subject::user("shared");
    let outcomes = futures_util::future::join_all((100..150).map(|i| {
        let (limiter, a) = (limiter.clone(), admission(&ip(i), 1, Some((&user, 5))));
        async move { (i, limiter.admit(&a, &lenient(), now_ms()).await.unwrap().decision.allowed) }
    }))
    .await;
    let admitted: Vec<u32> = outcomes.iter().filter(|(_, ok)| *ok).map(|(i, _)| *i).collect();
    assert_eq!(admitted.len(), 5, "{outcomes:?}");
    for (i, ok) in &outcomes {
        let fresh = Subject::user(&format!("fresh{i}"));
        let again = limiter.admit(&admission(&ip(*i), 1, Some((&fresh, 5))), &lenient(), now_ms()).await.unwrap();
        // An address the user's window admitted has spent its one unit; a refused one got it back.
        assert_eq!(again.decision.allowed, !*ok, "address {i}");
    }
}

#[tokio::test]
async fn a_slot_moving_under_load_gives_no_wrong_answer() {
    let cluster = redis_cluster().await;
    let (limiter, prefix) = limiter_and_prefix(&cluster);
    let client = ip(7);
    // Where the owner's keys live, and where they go.
    let tag = format!("{{{prefix}:{}}}", client.as_str());
    let from = cluster.node_of(&tag);
    let to = (from + 1) % 3;
    let (src, dst) = (cluster.nodes[from].port, cluster.nodes[to].port);
    let slot = RedisCluster::cli_on(src, &["cluster", "keyslot", &tag]).trim().to_string();
    let (src_id, dst_id) = (
        RedisCluster::cli_on(src, &["cluster", "myid"]).trim().to_string(),
        RedisCluster::cli_on(dst, &["cluster", "myid"]).trim().to_string(),
    );
    // Some keys exist before the move.
    for _ in 0..20 {
        limiter.admit(&admission(&client, 100, None), &lenient(), now_ms()).await.unwrap();
    }
    let load = {
        let limiter = limiter.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..280 {
                let a = admission(&client, 100, None);
                answers.push(limiter.admit(&a, &lenient(), now_ms()).await.map(|r| r.decision.allowed));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The manual resharding of one slot (what `redis-cli --cluster reshard` does slot by slot).
    RedisCluster::cli_on(dst, &["cluster", "setslot", &slot, "importing", &src_id]);
    RedisCluster::cli_on(src, &["cluster", "setslot", &slot, "migrating", &dst_id]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let keys = RedisCluster::cli_on(src, &["cluster", "getkeysinslot", &slot, "1000"]);
    let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
    assert!(!keys.is_empty(), "the owner's keys are in the slot");
    let mut migrate = vec!["migrate", "127.0.0.1"];
    let dst_port = dst.to_string();
    migrate.extend([dst_port.as_str(), "", "0", "5000", "keys"]);
    migrate.extend(keys.iter().copied());
    RedisCluster::cli_on(src, &migrate);
    for node in &cluster.nodes {
        RedisCluster::cli_on(node.port, &["cluster", "setslot", &slot, "node", &dst_id]);
    }
    let answers = load.await.unwrap();
    let errors = answers.iter().filter(|a| a.is_err()).count();
    let allowed = answers.iter().filter(|a| matches!(a, Ok(true))).count();
    let failures: Vec<String> =
        answers.iter().filter_map(|a| a.as_ref().err()).map(|e| cloudmind_security::store::error_chain(e)).collect();
    assert_eq!(errors, 0, "every decision answered during the move: {failures:?}");
    // 20 before and 80 of the 280 after: exactly the 100 the window holds.
    assert_eq!(allowed, 80);
    assert_eq!(cluster.node_of(&tag), to, "the slot moved");
}

#[tokio::test]
async fn a_stopped_master_degrades_to_the_local_limiter_never_lifting_limits() {
    let mut cluster = redis_cluster().await;
    let url = cluster.url();
    let app = TestApp::with(&[
        ("REDIS_URL", url.as_str()),
        ("REDIS_CLUSTER", "true"),
        ("REDIS_TIMEOUT_MS", "300"),
        ("AUTH_RATE_LIMIT_PER_MINUTE", "5"),
    ])
    .await;
    let health: serde_json::Value = app.client.get(app.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "healthy", "{health}");
    // Stop the master that holds this client's keys.
    let tag = format!("{{{}:ip:127.0.0.1}}", app.settings.infrastructure.redis_key_prefix);
    let node = cluster.node_of(&tag);
    cluster.nodes[node].stop();
    // Logins are still limited (per instance, in memory), nothing is a 5xx, and health says degraded.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.login("nobody", "Wrong-Pass-1!").await.status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    assert!(statuses.contains(&429), "the limit still holds: {statuses:?}");
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let health: serde_json::Value = r.json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_problem(app.login("nobody", "Wrong-Pass-1!").await, 429, "rate_limited").await;
}
