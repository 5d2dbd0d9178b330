//! The Redis limiter: one Lua script per decision (`EVALSHA`, reloaded on `NOSCRIPT` by the client) that checks
//! the client's block and every window of its IP and user keys and consumes only if all admit, on the server's
//! clock (`TIME`). Blocks, violation counts, statistics and top offenders live in Redis too. Every key carries one
//! hash tag (`{<REDIS_KEY_PREFIX>}`), so a script's keys share a slot in cluster mode (ElastiCache Serverless);
//! window keys expire on their own at the end of their window.
//!
//! TLS and AUTH come with the URL: `rediss://user:password@host:6379`.

use std::time::Duration;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::ratelimit::{
    Admission, Admitted, Block, BlockPolicy, Counts, Decision, Limiter, LimiterBackend, LimiterStats, Offender,
    Subject, Violation, decide,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};
use serde_json::{Value, json};

const TOP_OFFENDERS: isize = 10;

/// Rate limits, blocks and statistics in Redis.
pub struct RedisLimiter {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    timeout: Duration,
    tag: String,
    admit: Script,
    violation: Script,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter").field("tag", &self.tag).field("timeout", &self.timeout).finish()
    }
}

fn unavailable(e: impl Into<cloudmind_security::store::BoxError>) -> StoreError {
    StoreError::unavailable("redis", e)
}

/// A client for `url`. TLS to ElastiCache trusts the AWS roots only; TLS elsewhere the roots compiled into the
/// client (Mozilla's). Neither reads the system's bundle.
fn client(url: &str) -> redis::RedisResult<redis::Client> {
    if url.starts_with("rediss://") && super::trust::is_aws_host(url) {
        let roots = redis::TlsCertificates { client_tls: None, root_cert: Some(super::trust::aws_roots_pem()) };
        redis::Client::build_with_tls(url, roots)
    } else {
        redis::Client::open(url)
    }
}

impl RedisLimiter {
    /// A limiter for `url`; it connects on first use (see [`Self::connect`] to warm it during init).
    pub fn new(url: &str, timeout: Duration, prefix: &str) -> Result<Self, StoreError> {
        Ok(Self {
            client: client(url).map_err(unavailable)?,
            conn: tokio::sync::Mutex::new(None),
            timeout,
            tag: format!("{{{prefix}}}"),
            admit: Script::new(concat!(include_str!("prelude.lua"), include_str!("admit.lua"))),
            violation: Script::new(concat!(include_str!("prelude.lua"), include_str!("violation.lua"))),
        })
    }

    /// The shared connection, opened if needed (within the timeout).
    pub async fn connect(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let conn =
            tokio::time::timeout(self.timeout * 2, ConnectionManager::new_with_config(self.client.clone(), config))
                .await
                .map_err(|_| unavailable("connect timed out"))?
                .map_err(unavailable)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one Redis interaction under the timeout. After a failure the connection is dropped, so the next
    /// attempt (the breaker's probe) connects afresh instead of inheriting a half-reconnected one.
    async fn within<T>(&self, work: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => unavailable(e),
            Err(_) => unavailable("timed out"),
        };
        *self.conn.lock().await = None;
        Err(result)
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.tag.clone();
        for p in parts {
            key.push(':');
            key.push_str(p);
        }
        key
    }

    fn block_key(&self, client: &str) -> String {
        self.key(&["block", client])
    }

    fn violations_key(&self, client: &str, violation: Violation) -> String {
        self.key(&["viol", violation.reason(), client])
    }

    /// `INFO` figures for `/health`.
    pub async fn info(&self) -> Result<Value, StoreError> {
        let mut conn = self.connect().await?;
        let info: String = self.within(redis::cmd("INFO").arg("memory").arg("clients").query_async(&mut conn)).await?;
        let field =
            |name: &str| info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(|v| v.trim().to_string());
        Ok(json!({
            "redis_connected": true,
            "redis_memory_used": field("used_memory_human"),
            "redis_connected_clients": field("connected_clients").and_then(|v| v.parse::<u64>().ok()),
        }))
    }
}

fn parse_block(key: &str, value: &str) -> Option<Block> {
    let (reason, until) = value.split_once('|')?;
    Some(Block { key: key.to_string(), reason: reason.to_string(), until: until.parse().ok()? })
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn admit(&self, admission: &Admission, blocks: &BlockPolicy, _now: Millis) -> Result<Admitted, StoreError> {
        let mut conn = self.connect().await?;
        let client = admission.client_key.as_str();
        let mut invocation = self.admit.prepare_invoke();
        invocation
            .key(self.block_key(client))
            .key(self.violations_key(client, Violation::RateLimited))
            .key(self.key(&["stats"]))
            .key(self.key(&["offenders"]))
            .key(self.key(&["blocks"]));
        let policy = admission.checks.first().map_or("none", |c| c.policy.as_str());
        invocation
            .arg(admission.checks.len())
            .arg(policy)
            .arg(client)
            .arg(blocks.rate_limit_violations)
            .arg(blocks.window_ms)
            .arg(blocks.block_ms);
        for check in &admission.checks {
            let window = check.limit.window_seconds.to_string();
            invocation.key(self.key(&["rl", check.policy.as_str(), check.key.as_str(), &window]));
            invocation.arg(check.limit.limit).arg(check.limit.window_seconds).arg(check.key.as_str());
        }
        let reply: Vec<redis::Value> = self.within(invocation.invoke_async(&mut conn)).await?;
        let int = |i: usize| match reply.get(i) {
            Some(redis::Value::Int(v)) => Ok(*v as u64),
            _ => Err(unavailable("unexpected script reply")),
        };
        let (status, now) = (int(0)?, int(1)?);
        if status == 1 {
            let raw = match reply.get(2) {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => return Err(unavailable("unexpected block reply")),
            };
            let block = parse_block(client, &raw).ok_or_else(|| unavailable("malformed block"))?;
            return Ok(Admitted { block: Some(block), decision: Decision::unlimited(), newly_blocked: None });
        }
        let newly = int(2)?;
        let counts = (0..admission.checks.len()).map(|i| int(3 + i)).collect::<Result<Vec<_>, _>>()?;
        let decision =
            if admission.checks.is_empty() { Decision::unlimited() } else { decide(&admission.checks, &counts, now) };
        let newly_blocked = (newly > 0).then(|| Block {
            key: client.to_string(),
            reason: Violation::RateLimited.reason().to_string(),
            until: newly,
        });
        Ok(Admitted { block: None, decision, newly_blocked })
    }

    async fn record_violation(
        &self,
        key: &Subject,
        violation: Violation,
        blocks: &BlockPolicy,
        _now: Millis,
    ) -> Result<Option<Block>, StoreError> {
        let key = key.as_str();
        let mut conn = self.connect().await?;
        let mut invocation = self.violation.prepare_invoke();
        invocation
            .key(self.block_key(key))
            .key(self.violations_key(key, violation))
            .key(self.key(&["blocks"]))
            .arg(violation.threshold(blocks))
            .arg(blocks.window_ms)
            .arg(blocks.block_ms)
            .arg(key)
            .arg(violation.reason());
        let until: u64 = self.within(invocation.invoke_async(&mut conn)).await?;
        Ok((until > 0).then(|| Block { key: key.to_string(), reason: violation.reason().to_string(), until }))
    }

    async fn unblock(&self, key: &Subject) -> Result<bool, StoreError> {
        let key = key.as_str();
        let mut conn = self.connect().await?;
        let (removed, _, _, _): (u64, u64, u64, u64) = self
            .within(
                redis::pipe()
                    .del(self.block_key(key))
                    .zrem(self.key(&["blocks"]), key)
                    .del(self.violations_key(key, Violation::RateLimited))
                    .del(self.violations_key(key, Violation::MaliciousInput))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(removed > 0)
    }

    async fn stats(&self, now: Millis) -> Result<LimiterStats, StoreError> {
        let mut conn = self.connect().await?;
        let index = self.key(&["blocks"]);
        let (counters, offenders, blocked): (Vec<(String, u64)>, Vec<(String, f64)>, Vec<String>) = self
            .within(
                redis::pipe()
                    .hgetall(self.key(&["stats"]))
                    .zrevrange_withscores(self.key(&["offenders"]), 0, TOP_OFFENDERS - 1)
                    .zrangebyscore(&index, format!("({now}"), "+inf")
                    .query_async(&mut conn),
            )
            .await?;
        let mut stats = LimiterStats::default();
        let mut by_policy: std::collections::BTreeMap<String, Counts> = Default::default();
        for (field, value) in counters {
            match field.split_once(':') {
                None if field == "allowed" => stats.totals.allowed = value,
                None if field == "limited" => stats.totals.limited = value,
                Some((policy, "allowed")) => by_policy.entry(policy.to_string()).or_default().allowed = value,
                Some((policy, "limited")) => by_policy.entry(policy.to_string()).or_default().limited = value,
                _ => {}
            }
        }
        stats.by_policy = by_policy.into_iter().collect();
        stats.top_offenders =
            offenders.into_iter().map(|(key, score)| Offender { key, limited: score as u64 }).collect();
        if !blocked.is_empty() {
            let keys: Vec<String> = blocked.iter().map(|k| self.block_key(k)).collect();
            let values: Vec<Option<String>> = self.within(conn.mget(keys)).await?;
            stats.blocked =
                blocked.iter().zip(values).filter_map(|(k, v)| v.and_then(|v| parse_block(k, &v))).collect();
        }
        let _: Result<u64, _> = self.within(conn.zrembyscore(&index, "-inf", now)).await;
        Ok(stats)
    }

    fn backend(&self) -> LimiterBackend {
        LimiterBackend::Redis
    }
}
