//! The limiter as deployed: Redis first, the per-instance in-memory limiter when Redis is down or slow.
//!
//! A circuit breaker keeps a dead Redis cheap: after a failure (or a call slower than `REDIS_TIMEOUT_MS`) every
//! decision goes to memory for `REDIS_PROBE_SECONDS`, then one request probes Redis again. While on memory the
//! limiter reports `degraded` (in `/health` and the admin statistics) and the switch is logged as a
//! `sys_dependency_degraded` security event. Limits are never lifted: the fallback enforces the same policies,
//! per instance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::{Millis, now_ms};
use cloudmind_security::events::{EventKind, EventRecorder, SecurityEvent};
use cloudmind_security::ratelimit::{
    Admission, Admitted, Block, BlockPolicy, Limiter, LimiterBackend, LimiterStats, Subject, Violation, WindowCheck,
};
use serde_json::{Value, json};

use super::redis::RedisLimiter;
use crate::memory::MemoryLimiter;

pub struct FallbackLimiter {
    redis: RedisLimiter,
    memory: MemoryLimiter,
    open_until: Mutex<Option<Instant>>,
    degraded: AtomicBool,
    probe: Duration,
    events: Arc<dyn EventRecorder>,
}

impl std::fmt::Debug for FallbackLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackLimiter").field("redis", &self.redis).field("degraded", &self.degraded).finish()
    }
}

impl FallbackLimiter {
    pub fn new(redis: RedisLimiter, probe: Duration, events: Arc<dyn EventRecorder>) -> Self {
        Self {
            redis,
            memory: MemoryLimiter::default(),
            open_until: Mutex::new(None),
            degraded: AtomicBool::new(false),
            probe,
            events,
        }
    }

    fn breaker_open(&self) -> bool {
        let open = self.open_until.lock().unwrap_or_else(|p| p.into_inner());
        open.is_some_and(|until| Instant::now() < until)
    }

    async fn failed(&self, error: &StoreError) {
        *self.open_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + self.probe);
        if !self.degraded.swap(true, Ordering::SeqCst) {
            let event = SecurityEvent::new(EventKind::DependencyDegraded, now_ms())
                .detail(format!("redis unavailable, limiting per instance in memory: {error}"));
            self.events.record(event).await;
        }
    }

    fn recovered(&self) {
        *self.open_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if self.degraded.swap(false, Ordering::SeqCst) {
            tracing::warn!(event = "sys_dependency_recovered", dependency = "redis");
        }
    }

    /// Runs `on_redis` unless the breaker is open; on failure opens it and runs `on_memory`.
    async fn route<T, R, M>(&self, on_redis: R, on_memory: M) -> Result<T, StoreError>
    where
        R: Future<Output = Result<T, StoreError>>,
        M: Future<Output = Result<T, StoreError>>,
    {
        if self.breaker_open() {
            return on_memory.await;
        }
        match on_redis.await {
            Ok(value) => {
                self.recovered();
                Ok(value)
            }
            Err(e) => {
                self.failed(&e).await;
                on_memory.await
            }
        }
    }
}

#[async_trait]
impl Limiter for FallbackLimiter {
    async fn admit(&self, admission: &Admission, blocks: &BlockPolicy, now: Millis) -> Result<Admitted, StoreError> {
        self.route(self.redis.admit(admission, blocks, now), self.memory.admit(admission, blocks, now)).await
    }

    async fn refund(&self, checks: &[WindowCheck], at: Millis) -> Result<(), StoreError> {
        // Where the decision was taken: Redis unless the breaker is open (a refund lost to a Redis failure costs
        // one unit of one window, never a wrong admission).
        self.route(self.redis.refund(checks, at), self.memory.refund(checks, at)).await
    }

    async fn record_violation(
        &self,
        key: &Subject,
        violation: Violation,
        blocks: &BlockPolicy,
        now: Millis,
    ) -> Result<Option<Block>, StoreError> {
        self.route(
            self.redis.record_violation(key, violation, blocks, now),
            self.memory.record_violation(key, violation, blocks, now),
        )
        .await
    }

    async fn unblock(&self, key: &Subject) -> Result<bool, StoreError> {
        // Lift it everywhere it may be: in Redis and in this instance's fallback.
        let in_memory = self.memory.unblock(key).await?;
        let in_redis = self.route(self.redis.unblock(key), async { Ok(false) }).await?;
        Ok(in_memory || in_redis)
    }

    async fn stats(&self, now: Millis) -> Result<LimiterStats, StoreError> {
        self.route(self.redis.stats(now), self.memory.stats(now)).await
    }

    fn backend(&self) -> LimiterBackend {
        LimiterBackend::Redis
    }

    fn degraded(&self) -> bool {
        self.degraded.load(Ordering::SeqCst)
    }

    async fn health(&self) -> Option<Value> {
        if self.breaker_open() {
            return Some(json!({"redis_connected": false, "mode": "redis", "fallback": "memory"}));
        }
        let info = self.route(self.redis.info(), async { Ok(json!({"redis_connected": false})) }).await;
        let mut value = info.unwrap_or_else(|_| json!({"redis_connected": false}));
        value["mode"] = json!("redis");
        if self.degraded() {
            value["fallback"] = json!("memory");
        }
        Some(value)
    }
}
