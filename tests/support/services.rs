//! Private service instances for tests that stop, restart or count a service: a `redis-server` and a moto server
//! of their own on free ports (`make test` says where the binaries are), stopped when dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::required_env;

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A process that is killed when dropped.
pub struct Service {
    pub port: u16,
    child: Option<Child>,
    start: Box<dyn Fn(u16) -> Child + Send + Sync>,
}

impl Service {
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        self.child = Some((self.start)(self.port));
        wait_for_port(self.port).await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_for_port(port: u16) {
    for _ in 0..150 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no service came up on port {port}");
}

/// A private `redis-server`.
pub async fn redis() -> Service {
    let bin = required_env("REDIS_SERVER_BIN");
    let start = move |port: u16| {
        Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    };
    let port = free_port();
    let service = Service { port, child: Some(start(port)), start: Box::new(start) };
    wait_for_port(port).await;
    service
}

/// A private moto server (DynamoDB and Secrets Manager), counting the API calls it serves.
pub async fn moto() -> Service {
    let python = required_env("MOTO_PYTHON");
    let script = required_env("MOTO_SCRIPT");
    let start = move |port: u16| {
        Command::new(&python)
            .args([script.as_str(), &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts")
    };
    let port = free_port();
    let service = Service { port, child: Some(start(port)), start: Box::new(start) };
    wait_for_port(port).await;
    service
}

/// API calls a moto server has served (reset with [`moto_reset`]).
pub async fn moto_requests(port: u16) -> (u64, serde_json::Value) {
    let v: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{port}/_cloudmind/requests")).await.unwrap().json().await.unwrap();
    (v["requests"].as_u64().unwrap(), v["by_target"].clone())
}

pub async fn moto_reset(port: u16) {
    reqwest::Client::new().post(format!("http://127.0.0.1:{port}/_cloudmind/requests")).send().await.unwrap();
}

/// Commands a Redis server has served, total and per command (`INFO commandstats`), not counting this query.
pub async fn redis_commands(port: u16) -> (u64, Vec<(String, u64)>) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.unwrap();
    let mut per = Vec::new();
    for line in info.lines() {
        if let Some(rest) = line.strip_prefix("cmdstat_") {
            let (name, stats) = rest.split_once(':').unwrap();
            let calls = stats.split(',').find_map(|f| f.strip_prefix("calls=")).unwrap().parse::<u64>().unwrap();
            if name != "info" && name != "config" && name != "hello" && name != "client" {
                per.push((name.to_string(), calls));
            }
        }
    }
    (per.iter().map(|(_, c)| c).sum(), per)
}

pub async fn redis_reset(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.unwrap();
}
