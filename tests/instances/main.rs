//! Two `cloudmind serve` processes sharing Redis and the DynamoDB emulator, as two Lambda instances share them:
//! lockouts, rate limits and logouts hold across both. Runs on `make test`'s real-backend pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use cloudmind_tests::{GOOD_PASSWORD, TEST_KEY, real_backend_vars, required_env};
use serde_json::{Value, json};

/// A server process, killed when dropped.
struct Instance {
    base: String,
    child: Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `cloudmind` binary of this build (`cargo nextest run --workspace` and `cargo test --workspace` build it
/// beside the test binaries).
fn cloudmind_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let binary = dir.join("cloudmind");
    assert!(binary.exists(), "{} is missing: build it first (`cargo build -p cloudmind`)", binary.display());
    binary
}

fn command(vars: &[(String, String)], extra: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(cloudmind_binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JWT_SECRET_KEY", TEST_KEY)
        .env("CLOUDMIND_ADMIN_USERNAME", "root")
        .env("CLOUDMIND_ADMIN_PASSWORD", "Admin-Pass-For-Tests-7!")
        .env("AWS_ACCESS_KEY_ID", "cloudmind-test")
        .env("AWS_SECRET_ACCESS_KEY", "cloudmind-test")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "warn")
        // The file transport's folder (the default, `.tmp/outbox`, would be relative to the test's directory).
        .env("MAIL_OUTBOX_DIR", std::env::temp_dir().join("cloudmind-instances-outbox"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// Starts an instance on a free port and waits for its address.
fn start(vars: &[(String, String)], extra: &[(&str, &str)]) -> Instance {
    let mut child = command(vars, extra)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloudmind serve starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let base = loop {
        let Some(Ok(line)) = lines.next() else { panic!("the server exited before listening: {seen:#?}") };
        if let Some(rest) = line.strip_prefix("CloudMind listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        seen.push(line);
    };
    std::thread::spawn(move || for _ in lines {});
    Instance { base, child }
}

/// Creates the namespace's tables, then two instances on them.
fn pair(extra: &[(&str, &str)]) -> (Instance, Instance) {
    required_env("REDIS_URL");
    let vars = real_backend_vars();
    let status = command(&vars, &[]).arg("create-tables").stdout(Stdio::null()).status().unwrap();
    assert!(status.success(), "create-tables");
    (start(&vars, extra), start(&vars, extra))
}

async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn register(client: &reqwest::Client, base: &str, user: &str) {
    let body = json!({"username": user, "email": format!("{user}@example.com"), "password": GOOD_PASSWORD});
    let r = client.post(format!("{base}/api/v1/auth/register")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
}

const GENEROUS: &[(&str, &str)] = &[
    ("AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
    ("AUTH_RATE_LIMIT_PER_HOUR", "10000"),
    ("AUTH_RATE_LIMIT_PER_DAY", "100000"),
];

#[tokio::test]
async fn fifty_concurrent_wrong_passwords_across_two_instances_count_exactly_five_failures() {
    let (a, b) = pair(GENEROUS);
    let client = reqwest::Client::new();
    register(&client, &a.base, "shared").await;
    let attempts = (0..50).map(|i| login(&client, if i % 2 == 0 { &a.base } else { &b.base }, "shared", "guess-123"));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 423).count(), 45, "{statuses:?}");
    assert_eq!(login(&client, &b.base, "shared", GOOD_PASSWORD).await.status(), 423);
}

#[tokio::test]
async fn fifty_concurrent_requests_across_two_instances_against_five_a_minute_admit_exactly_five() {
    let (a, b) = pair(&[("AUTH_RATE_LIMIT_PER_MINUTE", "5"), ("BLOCK_RATE_LIMIT_VIOLATIONS", "1000")]);
    let client = reqwest::Client::new();
    let attempts = (0..50).map(|i| login(&client, if i % 2 == 0 { &a.base } else { &b.base }, "nobody", "x"));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 45, "{statuses:?}");
}

#[tokio::test]
async fn a_logout_on_one_instance_is_honoured_by_the_other_at_once() {
    let (a, b) = pair(GENEROUS);
    let client = reqwest::Client::new();
    register(&client, &a.base, "roamer").await;
    let body: Value = login(&client, &a.base, "roamer", GOOD_PASSWORD).await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let me = |base: &str| client.get(format!("{base}/api/v1/me")).bearer_auth(token).send();
    assert_eq!(me(&b.base).await.unwrap().status(), 200);
    let r = client.post(format!("{}/api/v1/auth/logout", a.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = me(&b.base).await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "token_revoked");
}
