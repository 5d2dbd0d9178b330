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

/// A private Redis Cluster of three masters (no replicas), each slot served by one of them, as ElastiCache runs
/// in cluster mode; stopped when dropped.
pub struct RedisCluster {
    pub nodes: Vec<Service>,
    /// The nodes' configuration files, removed when dropped.
    dir: std::path::PathBuf,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisCluster {
    /// The URL a cluster client starts from (any node: it learns the others).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[0].port)
    }

    /// `redis-cli` beside the `redis-server` the tests were given.
    pub fn cli() -> String {
        let server = required_env("REDIS_SERVER_BIN");
        std::path::Path::new(&server).with_file_name("redis-cli").to_string_lossy().into_owned()
    }

    /// Runs `redis-cli -p <port> <args>` and returns its output (fails the test if it fails).
    pub fn cli_on(port: u16, args: &[&str]) -> String {
        let out =
            Command::new(Self::cli()).arg("-p").arg(port.to_string()).args(args).output().expect("redis-cli runs");
        assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The node (its index) that serves `key`'s slot.
    pub fn node_of(&self, key: &str) -> usize {
        let slot: u16 = Self::cli_on(self.nodes[0].port, &["cluster", "keyslot", key]).trim().parse().unwrap();
        let shards = Self::cli_on(self.nodes[0].port, &["cluster", "slots"]);
        // `CLUSTER SLOTS` as redis-cli prints it: start, end, then the master's ip and port (and id) per range.
        let lines: Vec<&str> = shards.lines().collect();
        let mut i = 0;
        while i + 3 < lines.len() {
            let (start, end) = (lines[i].trim().parse::<u16>(), lines[i + 1].trim().parse::<u16>());
            if let (Ok(start), Ok(end)) = (start, end) {
                let port: u16 = lines[i + 3].trim().parse().unwrap_or(0);
                if (start..=end).contains(&slot) {
                    return self.nodes.iter().position(|n| n.port == port).expect("a node of the cluster");
                }
                i += 4;
            } else {
                i += 1;
            }
        }
        panic!("no node serves slot {slot}");
    }

    /// The keys each node holds (`DBSIZE`).
    pub fn keys_per_node(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| Self::cli_on(n.port, &["dbsize"]).trim().parse().unwrap()).collect()
    }
}

/// Starts a private three-master Redis Cluster on free ports and waits until every node says `cluster_state:ok`.
pub async fn redis_cluster() -> RedisCluster {
    let bin = required_env("REDIS_SERVER_BIN");
    let dir = std::env::temp_dir().join(format!("cloudmind-cluster-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let (bin, dir) = (bin.clone(), dir.clone());
        let start = move |port: u16| {
            Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .args(["--cluster-port", &free_port().to_string()])
                .args(["--cluster-config-file", &dir.join(format!("nodes-{port}.conf")).to_string_lossy()])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts")
        };
        let port = free_port();
        let service = Service { port, child: Some(start(port)), start: Box::new(start) };
        wait_for_port(port).await;
        nodes.push(service);
    }
    let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let out = Command::new(RedisCluster::cli())
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli runs");
    assert!(out.status.success(), "cluster create: {}", String::from_utf8_lossy(&out.stdout));
    for node in &nodes {
        let mut ok = false;
        for _ in 0..100 {
            if RedisCluster::cli_on(node.port, &["cluster", "info"]).contains("cluster_state:ok") {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ok, "node {} never reported cluster_state:ok", node.port);
    }
    RedisCluster { nodes, dir }
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
