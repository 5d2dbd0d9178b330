//! The Redis limiter. A decision is one Lua script per key owner (`EVALSHA`, reloaded on `NOSCRIPT` by the
//! client): the client address's checks its block and every window of the address; in cluster mode a request with
//! a user sends the user's windows in a second script at the same time (their keys live in another slot). Each
//! consumes only if all its windows admit; when one owner refuses, what the other consumed is given back (a third
//! call, on the refusal path only). On a single server the two owners' windows go in one script, decided and
//! consumed together: one round trip. Everything runs on the server's clock (`TIME`).
//!
//! Keys spread over the cluster's slots (ElastiCache Serverless runs in cluster mode and spreads load by slot):
//! every key of one owner carries that owner's hash tag, `{<REDIS_KEY_PREFIX>:<ip:… or user:…>}`, so a script's
//! keys share a slot and two owners rarely do. The statistics, the top offenders and the index of blocks are spread
//! over [`tally::SHARDS`] keys each, and statistics are written at most once a second per instance (`tally.rs`): no
//! key is touched by every request. Window keys expire on their own at the end of their window.
//!
//! TLS and AUTH come with the URL: `rediss://user:password@host:6379`; `REDIS_CLUSTER=true` selects the cluster
//! client (`conn.rs`).

mod conn;
mod tally;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::ratelimit::{
    Admission, Admitted, Block, BlockPolicy, Counts, Decision, FirstRefusal, Limiter, LimiterBackend, LimiterStats,
    Offender, Subject, Violation, WindowCheck, decide,
};
use redis::Script;
use serde_json::{Value, json};

use self::conn::{Client, Conn};
use self::tally::{OFFENDERS_PER_SHARD, SHARDS, Tally, shard_of};

const TOP_OFFENDERS: usize = 10;

/// Rate limits, blocks and statistics in Redis.
pub struct RedisLimiter {
    client: Client,
    conn: tokio::sync::Mutex<Option<Conn>>,
    timeout: Duration,
    prefix: String,
    /// This instance's statistics shard.
    shard: usize,
    /// A cluster: one script per key owner (a script's keys must share a slot).
    cluster: bool,
    admit: Script,
    violation: Script,
    refund: Script,
    tally: Mutex<Tally>,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter").field("prefix", &self.prefix).field("timeout", &self.timeout).finish()
    }
}

fn unavailable(e: impl Into<cloudmind_security::store::BoxError>) -> StoreError {
    StoreError::unavailable("redis", e)
}

/// What one owner's script answered.
struct OwnerReply {
    blocked: Option<String>,
    consumed: bool,
    at: Millis,
    newly_blocked: Millis,
    first_refusal: Option<FirstRefusal>,
    counts: Vec<u64>,
}

fn first_refusal(raw: u64) -> Option<FirstRefusal> {
    (raw > 0).then(|| FirstRefusal { previous_minute: raw - 1 })
}

impl RedisLimiter {
    /// A limiter for `url` (`cluster`: the cluster client); it connects on first use (see [`Self::connect`] to warm
    /// it during init).
    pub fn new(url: &str, timeout: Duration, prefix: &str, cluster: bool) -> Result<Self, StoreError> {
        let script = |body: &str| Script::new(&format!("{}\n{body}", include_str!("prelude.lua")));
        Ok(Self {
            client: Client::open(url, cluster, timeout).map_err(unavailable)?,
            conn: tokio::sync::Mutex::new(None),
            timeout,
            prefix: prefix.to_string(),
            shard: usize::from(cloudmind_security::ids::random_bytes::<1>()[0]) % SHARDS,
            cluster,
            admit: script(include_str!("admit.lua")),
            violation: script(include_str!("violation.lua")),
            refund: script(include_str!("refund.lua")),
            tally: Mutex::new(Tally::default()),
        })
    }

    /// The shared connection, opened if needed (within the timeout).
    pub async fn connect(&self) -> Result<(), StoreError> {
        self.conn().await.map(|_| ())
    }

    async fn conn(&self) -> Result<Conn, StoreError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(self.timeout * 2, self.client.connect(self.timeout))
            .await
            .map_err(|_| unavailable("connect timed out"))?
            .map_err(unavailable)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one Redis interaction under the timeout. After a failure the connection is dropped, so the next
    /// attempt (the breaker's probe) connects afresh instead of inheriting a half-reconnected one.
    async fn within<T>(&self, work: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        let result = match tokio::time::timeout(self.timeout * 2, work).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => unavailable(e),
            Err(_) => unavailable("timed out"),
        };
        *self.conn.lock().await = None;
        Err(result)
    }

    /// A key of one owner (`ip:…`, `user:…`): every key of an owner shares its hash tag, so its slot.
    fn owner_key(&self, owner: &str, part: &str) -> String {
        format!("{{{}:{owner}}}:{part}", self.prefix)
    }

    fn window_key(&self, check: &WindowCheck) -> String {
        self.owner_key(check.key.as_str(), &format!("rl:{}:{}", check.policy, check.limit.window_seconds))
    }

    fn block_key(&self, owner: &str) -> String {
        self.owner_key(owner, "block")
    }

    fn violations_key(&self, owner: &str, violation: Violation) -> String {
        self.owner_key(owner, &format!("viol:{}", violation.reason()))
    }

    fn refusals_key(&self, owner: &str) -> String {
        self.owner_key(owner, "refused")
    }

    /// One of the keys a kind of shared figure is spread over (`stats`, `offenders`, `blocks`).
    fn shard_key(&self, kind: &str, shard: usize) -> String {
        format!("{{{}:{kind}:{shard}}}", self.prefix)
    }

    /// `INFO` figures for `/health`.
    pub async fn info(&self) -> Result<Value, StoreError> {
        let mut conn = self.conn().await?;
        let info = self.within(conn.info(&["memory", "clients"])).await?;
        let field =
            |name: &str| info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(|v| v.trim().to_string());
        Ok(json!({
            "redis_connected": true,
            "redis_memory_used": field("used_memory_human"),
            "redis_connected_clients": field("connected_clients").and_then(|v| v.parse::<u64>().ok()),
        }))
    }

    /// One owner's decision over its `checks` (`client`: a client address, whose block is checked first).
    async fn owner_admit(
        &self,
        owner: &Subject,
        checks: &[&WindowCheck],
        client: bool,
        blocks: &BlockPolicy,
    ) -> Result<OwnerReply, StoreError> {
        let mut conn = self.conn().await?;
        let owner = owner.as_str();
        let mut invocation = self.admit.prepare_invoke();
        invocation
            .key(self.block_key(owner))
            .key(self.violations_key(owner, Violation::RateLimited))
            .key(self.refusals_key(owner))
            .arg(checks.len())
            .arg(u8::from(client))
            .arg(blocks.rate_limit_violations)
            .arg(blocks.window_ms)
            .arg(blocks.block_ms);
        for check in checks {
            invocation.key(self.window_key(check)).arg(check.limit.limit).arg(check.limit.window_seconds);
        }
        let reply: Vec<redis::Value> = self.within(invocation.invoke_async(&mut conn)).await?;
        let int = |i: usize| match reply.get(i) {
            Some(redis::Value::Int(v)) => Ok(*v as u64),
            _ => Err(unavailable("unexpected script reply")),
        };
        let (status, at) = (int(0)?, int(1)?);
        if status == 1 {
            let raw = match reply.get(2) {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => return Err(unavailable("unexpected block reply")),
            };
            let no = Vec::new();
            return Ok(OwnerReply {
                blocked: Some(raw),
                consumed: false,
                at,
                newly_blocked: 0,
                first_refusal: None,
                counts: no,
            });
        }
        let counts = (0..checks.len()).map(|i| int(4 + i)).collect::<Result<Vec<_>, _>>()?;
        Ok(OwnerReply {
            blocked: None,
            consumed: status == 0,
            at,
            newly_blocked: int(2)?,
            first_refusal: first_refusal(int(3)?),
            counts,
        })
    }

    /// Counts a violation of `owner` (a client address), giving back first what it consumed in `refunds` at `at`.
    async fn violate(
        &self,
        owner: &str,
        violation: Violation,
        blocks: &BlockPolicy,
        refunds: &[&WindowCheck],
        at: Millis,
    ) -> Result<(Millis, Option<FirstRefusal>), StoreError> {
        let mut conn = self.conn().await?;
        let mut invocation = self.violation.prepare_invoke();
        invocation
            .key(self.block_key(owner))
            .key(self.violations_key(owner, violation))
            .key(self.refusals_key(owner))
            .arg(violation.threshold(blocks))
            .arg(blocks.window_ms)
            .arg(blocks.block_ms)
            .arg(violation.reason())
            .arg(u8::from(violation == Violation::RateLimited))
            .arg(at);
        for check in refunds {
            invocation.key(self.window_key(check)).arg(check.limit.window_seconds);
        }
        let (until, first): (u64, u64) = self.within(invocation.invoke_async(&mut conn)).await?;
        Ok((until, first_refusal(first)))
    }

    /// Adds a new block to the index the admin statistics read.
    async fn index_block(&self, block: &Block) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let index = self.shard_key("blocks", shard_of(&block.key));
        let _: u64 =
            self.within(redis::cmd("ZADD").arg(index).arg(block.until).arg(&block.key).query_async(&mut conn)).await?;
        Ok(())
    }

    /// Counts a decision in this instance's tally, and writes the tally when it is due.
    async fn tally(&self, admission: &Admission, decision: &Decision) {
        let flush = {
            let mut tally = self.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(policy) = admission.checks.first().map(|c| c.policy) {
                tally.count(policy, decision.allowed);
            }
            for key in &decision.limited_keys {
                tally.offend(key.as_str());
            }
            tally.due().then(|| tally.take())
        };
        if let Some(counted) = flush
            && let Err(e) = self.write_tally(counted).await
        {
            tracing::warn!(event = "limiter_statistics_not_written", error = %cloudmind_security::store::error_chain(&e));
        }
    }

    /// Writes what this instance counted: its statistics shard, and each offender's shard (trimmed to the most
    /// refused). One pipeline per key, so each stays in its slot.
    async fn write_tally(&self, counted: Tally) -> Result<(), StoreError> {
        if counted.is_empty() {
            return Ok(());
        }
        let conn = self.conn().await?;
        let mut pipes = Vec::new();
        let mut stats = redis::pipe();
        let stats_key = self.shard_key("stats", self.shard);
        for (policy, n) in &counted.allowed {
            stats.hincr(&stats_key, "allowed", *n).ignore().hincr(&stats_key, format!("{policy}:allowed"), *n).ignore();
        }
        for (policy, n) in &counted.limited {
            stats.hincr(&stats_key, "limited", *n).ignore().hincr(&stats_key, format!("{policy}:limited"), *n).ignore();
        }
        pipes.push(stats);
        let mut by_shard: BTreeMap<usize, Vec<(&String, u64)>> = BTreeMap::new();
        for (key, n) in &counted.offenders {
            by_shard.entry(shard_of(key)).or_default().push((key, *n));
        }
        for (shard, offenders) in by_shard {
            let key = self.shard_key("offenders", shard);
            let mut pipe = redis::pipe();
            for (offender, n) in offenders {
                pipe.zincr(&key, offender, n).ignore();
            }
            pipe.zremrangebyrank(&key, 0, -(OFFENDERS_PER_SHARD as isize) - 1).ignore();
            pipes.push(pipe);
        }
        let writes = pipes.iter().map(|pipe| {
            let mut conn = conn.clone();
            async move { pipe.query_async::<()>(&mut conn).await }
        });
        self.within(async { futures_util::future::try_join_all(writes).await.map(|_| ()) }).await
    }
}

fn parse_block(key: &str, value: &str) -> Option<Block> {
    let (reason, until) = value.split_once('|')?;
    Some(Block { key: key.to_string(), reason: reason.to_string(), until: until.parse().ok()? })
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn admit(&self, admission: &Admission, blocks: &BlockPolicy, _now: Millis) -> Result<Admitted, StoreError> {
        let client = &admission.client_key;
        let (own, other): (Vec<&WindowCheck>, Vec<&WindowCheck>) = if self.cluster {
            admission.checks.iter().partition(|c| &c.key == client)
        } else {
            // One server: every window in the client's script, decided together.
            (admission.checks.iter().collect(), Vec::new())
        };
        // The windows of the client address and of the user (at most one other owner), decided at the same time.
        let user = other.first().map(|c| c.key.clone());
        let user_call = async {
            match &user {
                Some(user) => self.owner_admit(user, &other, false, blocks).await.map(Some),
                None => Ok(None),
            }
        };
        let (ip, user_reply) = tokio::try_join!(self.owner_admit(client, &own, true, blocks), user_call)?;
        if let Some(raw) = &ip.blocked {
            if let Some(u) = user_reply.as_ref().filter(|u| u.consumed) {
                self.refund(&other.iter().map(|c| (*c).clone()).collect::<Vec<_>>(), u.at).await?;
            }
            let block = parse_block(client.as_str(), raw).ok_or_else(|| unavailable("malformed block"))?;
            return Ok(Admitted::blocked(block, ip.at));
        }
        if admission.checks.is_empty() {
            return Ok(Admitted::unlimited(ip.at));
        }
        // The counts in the order of the checks.
        let (mut own_counts, mut other_counts) =
            (ip.counts.iter(), user_reply.as_ref().map(|u| u.counts.clone()).unwrap_or_default().into_iter());
        let counts: Vec<u64> = admission
            .checks
            .iter()
            .map(|c| {
                if !self.cluster || &c.key == client { own_counts.next().copied() } else { other_counts.next() }
                    .unwrap_or(0)
            })
            .collect();
        let decision = decide(&admission.checks, &counts, ip.at);
        let (mut newly, mut first) = (ip.newly_blocked, ip.first_refusal);
        if !decision.allowed {
            if ip.consumed {
                // The address admitted, the user refused: the address's units back, and its violation counted.
                (newly, first) = self.violate(client.as_str(), Violation::RateLimited, blocks, &own, ip.at).await?;
            }
            if let Some(u) = user_reply.as_ref().filter(|u| u.consumed) {
                let refunds: Vec<WindowCheck> = other.iter().map(|c| (*c).clone()).collect();
                self.refund(&refunds, u.at).await?;
            }
        }
        let newly_blocked = (newly > 0).then(|| Block {
            key: client.as_str().to_string(),
            reason: Violation::RateLimited.reason().to_string(),
            until: newly,
        });
        if let Some(block) = &newly_blocked {
            self.index_block(block).await?;
        }
        self.tally(admission, &decision).await;
        Ok(Admitted { block: None, decision, newly_blocked, at: ip.at, first_refusal: first })
    }

    async fn refund(&self, checks: &[WindowCheck], at: Millis) -> Result<(), StoreError> {
        // One call per owner: each call's keys share a slot.
        let mut by_owner: BTreeMap<&str, Vec<&WindowCheck>> = BTreeMap::new();
        for check in checks {
            by_owner.entry(check.key.as_str()).or_default().push(check);
        }
        for checks in by_owner.values() {
            let mut conn = self.conn().await?;
            let mut invocation = self.refund.prepare_invoke();
            invocation.arg(at);
            for check in checks {
                invocation.key(self.window_key(check)).arg(check.limit.window_seconds);
            }
            let _: u64 = self.within(invocation.invoke_async(&mut conn)).await?;
        }
        Ok(())
    }

    async fn record_violation(
        &self,
        key: &Subject,
        violation: Violation,
        blocks: &BlockPolicy,
        _now: Millis,
    ) -> Result<Option<Block>, StoreError> {
        let (until, _) = self.violate(key.as_str(), violation, blocks, &[], 0).await?;
        let block =
            (until > 0).then(|| Block { key: key.as_str().to_string(), reason: violation.reason().to_string(), until });
        if let Some(block) = &block {
            self.index_block(block).await?;
        }
        Ok(block)
    }

    async fn unblock(&self, key: &Subject) -> Result<bool, StoreError> {
        let key = key.as_str();
        let mut conn = self.conn().await?;
        let (removed, _, _): (u64, u64, u64) = self
            .within(
                redis::pipe()
                    .del(self.block_key(key))
                    .del(self.violations_key(key, Violation::RateLimited))
                    .del(self.violations_key(key, Violation::MaliciousInput))
                    .query_async(&mut conn),
            )
            .await?;
        let _: u64 = self
            .within(redis::cmd("ZREM").arg(self.shard_key("blocks", shard_of(key))).arg(key).query_async(&mut conn))
            .await?;
        Ok(removed > 0)
    }

    async fn stats(&self, now: Millis) -> Result<LimiterStats, StoreError> {
        // This instance's last counts first, so the figures include what it saw up to now.
        let counted = self.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        self.write_tally(counted).await?;
        let conn = self.conn().await?;
        type Shard = (Vec<(String, u64)>, Vec<(String, f64)>, Vec<String>);
        let reads = (0..SHARDS).map(|shard| {
            let mut conn = conn.clone();
            let (stats, offenders, index) =
                (self.shard_key("stats", shard), self.shard_key("offenders", shard), self.shard_key("blocks", shard));
            async move {
                let counters: Vec<(String, u64)> = redis::cmd("HGETALL").arg(&stats).query_async(&mut conn).await?;
                let offenders: Vec<(String, f64)> = redis::cmd("ZREVRANGE")
                    .arg(&offenders)
                    .arg(0)
                    .arg(TOP_OFFENDERS - 1)
                    .arg("WITHSCORES")
                    .query_async(&mut conn)
                    .await?;
                let _: u64 =
                    redis::cmd("ZREMRANGEBYSCORE").arg(&index).arg("-inf").arg(now).query_async(&mut conn).await?;
                let blocked: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                    .arg(&index)
                    .arg(format!("({now}"))
                    .arg("+inf")
                    .query_async(&mut conn)
                    .await?;
                Ok::<Shard, redis::RedisError>((counters, offenders, blocked))
            }
        });
        let shards = self.within(futures_util::future::try_join_all(reads)).await?;
        let mut stats = LimiterStats::default();
        let mut by_policy: BTreeMap<String, Counts> = BTreeMap::new();
        let mut offenders = Vec::new();
        let mut blocked_keys = Vec::new();
        for (counters, top, blocked) in shards {
            for (field, value) in counters {
                match field.split_once(':') {
                    None if field == "allowed" => stats.totals.allowed += value,
                    None if field == "limited" => stats.totals.limited += value,
                    Some((policy, "allowed")) => by_policy.entry(policy.to_string()).or_default().allowed += value,
                    Some((policy, "limited")) => by_policy.entry(policy.to_string()).or_default().limited += value,
                    _ => {}
                }
            }
            offenders.extend(top.into_iter().map(|(key, score)| Offender { key, limited: score as u64 }));
            blocked_keys.extend(blocked);
        }
        stats.by_policy = by_policy.into_iter().collect();
        offenders.sort_by(|a, b| b.limited.cmp(&a.limited).then_with(|| a.key.cmp(&b.key)));
        offenders.truncate(TOP_OFFENDERS);
        stats.top_offenders = offenders;
        let gets = blocked_keys.iter().map(|owner| {
            let mut conn = conn.clone();
            let key = self.block_key(owner);
            async move { redis::cmd("GET").arg(key).query_async::<Option<String>>(&mut conn).await }
        });
        let values = self.within(futures_util::future::try_join_all(gets)).await?;
        stats.blocked =
            blocked_keys.iter().zip(values).filter_map(|(k, v)| v.and_then(|v| parse_block(k, &v))).collect();
        stats.blocked.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(stats)
    }

    fn backend(&self) -> LimiterBackend {
        LimiterBackend::Redis
    }
}

#[cfg(test)]
mod tests {
    /// The slot Redis Cluster gives a key: CRC16 (XMODEM) of its hash tag (the text between the first `{` and the
    /// next `}`, if not empty), modulo 16384.
    fn slot(key: &str) -> u16 {
        let bytes = key.as_bytes();
        let tagged = key.find('{').and_then(|open| {
            let close = key[open + 1..].find('}')?;
            (close > 0).then(|| &bytes[open + 1..open + 1 + close])
        });
        let mut crc: u16 = 0;
        for &b in tagged.unwrap_or(bytes) {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            }
        }
        crc % 16_384
    }

    #[test]
    fn the_slot_function_is_redis_s() {
        assert_eq!(slot("123456789"), 12_739);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("foo{}{bar}"), slot("foo{}{bar}"), "an empty tag hashes the whole key");
    }

    #[test]
    fn a_million_addresses_spread_over_the_slots_within_a_few_per_cent_of_uniform() {
        // Every limiter key of an address carries the tag `{cloudmind:ip:<address>}`. Grouped as a 64-shard cluster
        // would hold them (256 slots a shard), each shard's share of a million addresses is within 5 % of even,
        // and no single slot takes more than a thousandth of them.
        const ADDRESSES: u32 = 1_000_000;
        let mut per_slot = vec![0u32; 16_384];
        for i in 0..ADDRESSES {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i * 13);
            per_slot[usize::from(slot(&format!("{{cloudmind:ip:{ip}}}:rl:login:60")))] += 1;
        }
        let even = f64::from(ADDRESSES) / 64.0;
        for (shard, slots) in per_slot.chunks(256).enumerate() {
            let n: u32 = slots.iter().sum();
            assert!((f64::from(n) - even).abs() / even < 0.05, "shard {shard}: {n} of an even {even}");
        }
        let hottest = per_slot.iter().max().copied().unwrap_or(0);
        assert!(hottest < ADDRESSES / 1_000, "the hottest slot holds {hottest}");
    }
}
