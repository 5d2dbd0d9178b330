//! The in-memory limiter: fixed-window counters, sliding violation windows, blocks and statistics, all under one
//! lock so a decision over several windows is atomic. Also the per-instance fallback of the Redis limiter.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::ratelimit::{
    Admission, Admitted, Block, BlockPolicy, Counts, Limiter, LimiterBackend, LimiterStats, Offender, PolicyId,
    RefusalMinute, Subject, Violation, WindowCheck, decide,
};

use super::lock;

const COUNTER_CAP: usize = 200_000;
const OFFENDER_CAP: usize = 10_000;
const TOP_OFFENDERS: usize = 10;

#[derive(Debug, Default)]
struct State {
    /// Counter key → (count, expiry).
    counters: HashMap<String, (u64, Millis)>,
    /// (client, violation) → times of recent violations, at most the threshold.
    violations: HashMap<(String, &'static str), VecDeque<Millis>>,
    blocks: HashMap<String, Block>,
    totals: Counts,
    by_policy: HashMap<PolicyId, Counts>,
    offenders: HashMap<String, u64>,
    /// Client key → its refusals this minute (the first of each minute reaches the audit trail).
    refusals: HashMap<String, RefusalMinute>,
}

/// Rate limits, blocks and statistics of one process.
#[derive(Debug)]
pub struct MemoryLimiter {
    state: Mutex<State>,
    cap: usize,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::with_cap(COUNTER_CAP)
    }
}

impl MemoryLimiter {
    pub fn with_cap(cap: usize) -> Self {
        Self { state: Mutex::new(State::default()), cap: cap.max(16) }
    }

    /// How many counters are held (for tests of the bound).
    pub fn counters(&self) -> usize {
        lock(&self.state).counters.len()
    }
}

impl State {
    fn active_block(&mut self, key: &str, now: Millis) -> Option<Block> {
        match self.blocks.get(key) {
            Some(b) if b.until > now => Some(b.clone()),
            Some(_) => {
                self.blocks.remove(key);
                None
            }
            None => None,
        }
    }

    fn make_room(&mut self, cap: usize, now: Millis) {
        if self.counters.len() < cap {
            return;
        }
        self.counters.retain(|_, (_, exp)| *exp > now);
        if self.counters.len() >= cap {
            // Still full of live counters: drop the eighth closest to expiry.
            let mut by_expiry: Vec<(Millis, String)> =
                self.counters.iter().map(|(k, (_, exp))| (*exp, k.clone())).collect();
            by_expiry.sort_unstable();
            for (_, k) in by_expiry.into_iter().take(cap / 8) {
                self.counters.remove(&k);
            }
        }
        self.violations.retain(|_, times| times.back().is_some_and(|&t| t + 86_400_000 > now));
        self.blocks.retain(|_, b| b.until > now);
        self.refusals.retain(|_, r| r.minute + 1 >= now / 60_000);
    }

    fn violate(&mut self, key: &str, violation: Violation, policy: &BlockPolicy, now: Millis) -> Option<Block> {
        let threshold = violation.threshold(policy) as usize;
        let times = self.violations.entry((key.to_string(), violation.reason())).or_default();
        times.push_back(now);
        while times.front().is_some_and(|&t| t + policy.window_ms <= now) || times.len() > threshold {
            times.pop_front();
        }
        if threshold == 0 || times.len() < threshold || self.active_block(key, now).is_some() {
            return None;
        }
        self.violations.remove(&(key.to_string(), violation.reason()));
        let block =
            Block { key: key.to_string(), reason: violation.reason().to_string(), until: now + policy.block_ms };
        self.blocks.insert(key.to_string(), block.clone());
        Some(block)
    }

    fn count(&mut self, policy: PolicyId, allowed: bool) {
        let entry = self.by_policy.entry(policy).or_default();
        if allowed {
            entry.allowed += 1;
            self.totals.allowed += 1;
        } else {
            entry.limited += 1;
            self.totals.limited += 1;
        }
    }

    fn offend(&mut self, key: &str) {
        if self.offenders.len() >= OFFENDER_CAP && !self.offenders.contains_key(key) {
            let least = self.offenders.iter().min_by_key(|(_, n)| **n).map(|(k, _)| k.clone());
            if let Some(k) = least {
                self.offenders.remove(&k);
            }
        }
        *self.offenders.entry(key.to_string()).or_default() += 1;
    }
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn admit(&self, admission: &Admission, blocks: &BlockPolicy, now: Millis) -> Result<Admitted, StoreError> {
        let mut state = lock(&self.state);
        if let Some(block) = state.active_block(admission.client_key.as_str(), now) {
            return Ok(Admitted::blocked(block, now));
        }
        if admission.checks.is_empty() {
            return Ok(Admitted::unlimited(now));
        }
        state.make_room(self.cap, now);
        let keys: Vec<String> = admission.checks.iter().map(|c| c.counter_key(now)).collect();
        let counts: Vec<u64> =
            keys.iter().map(|k| state.counters.get(k).filter(|(_, exp)| *exp > now).map_or(0, |(n, _)| *n)).collect();
        let decision = decide(&admission.checks, &counts, now);
        let policy = admission.checks[0].policy;
        state.count(policy, decision.allowed);
        let (mut newly_blocked, mut first_refusal) = (None, None);
        if decision.allowed {
            for (check, key) in admission.checks.iter().zip(keys) {
                let (_, end) = check.window(now);
                let entry = state.counters.entry(key).or_insert((0, end));
                if entry.1 <= now {
                    *entry = (0, end);
                }
                entry.0 += 1;
            }
        } else {
            for key in &decision.limited_keys {
                state.offend(key.as_str());
            }
            newly_blocked = state.violate(admission.client_key.as_str(), Violation::RateLimited, blocks, now);
            first_refusal = state.refusals.entry(admission.client_key.as_str().to_string()).or_default().refuse(now);
        }
        Ok(Admitted { block: None, decision, newly_blocked, at: now, first_refusal })
    }

    async fn refund(&self, checks: &[WindowCheck], at: Millis) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        for check in checks {
            if let Some((count, _)) = state.counters.get_mut(&check.counter_key(at)) {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn record_violation(
        &self,
        key: &Subject,
        violation: Violation,
        blocks: &BlockPolicy,
        now: Millis,
    ) -> Result<Option<Block>, StoreError> {
        Ok(lock(&self.state).violate(key.as_str(), violation, blocks, now))
    }

    async fn unblock(&self, key: &Subject) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.violations.retain(|(k, _), _| k != key.as_str());
        Ok(state.blocks.remove(key.as_str()).is_some())
    }

    async fn stats(&self, now: Millis) -> Result<LimiterStats, StoreError> {
        let mut state = lock(&self.state);
        state.blocks.retain(|_, b| b.until > now);
        let mut by_policy: Vec<(String, Counts)> = state.by_policy.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        by_policy.sort_by(|a, b| a.0.cmp(&b.0));
        let mut top_offenders: Vec<Offender> =
            state.offenders.iter().map(|(k, n)| Offender { key: k.clone(), limited: *n }).collect();
        top_offenders.sort_by(|a, b| b.limited.cmp(&a.limited).then_with(|| a.key.cmp(&b.key)));
        top_offenders.truncate(TOP_OFFENDERS);
        let mut blocked: Vec<Block> = state.blocks.values().cloned().collect();
        blocked.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LimiterStats { totals: state.totals, by_policy, top_offenders, blocked })
    }

    fn backend(&self) -> LimiterBackend {
        LimiterBackend::Memory
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmind_security::ratelimit::{Policies, WindowCheck};
    use std::sync::Arc;

    /// The subject of a test client: `a` is 192.0.2.10, `b` 192.0.2.11, … ; anything else is an address.
    fn client(name: &str) -> Subject {
        let ip = match name.as_bytes() {
            [c @ b'a'..=b'z'] => format!("192.0.2.{}", 10 + c - b'a'),
            _ => name.to_string(),
        };
        Subject::ip(ip.parse().unwrap())
    }

    fn login(name: &str) -> Admission {
        let key = client(name);
        Admission { checks: WindowCheck::for_policy(&Policies::default().login, &key), client_key: key }
    }

    const BLOCKS: BlockPolicy =
        BlockPolicy { rate_limit_violations: 3, malicious_requests: 2, window_ms: 600_000, block_ms: 900_000 };

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn fifty_concurrent_requests_against_five_a_minute_admit_exactly_five() {
        let limiter = Arc::new(MemoryLimiter::default());
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move { l.admit(&login("203.0.113.1"), &BlockPolicy::default(), 1_000).await })
            })
            .collect();
        let mut admitted = 0;
        for t in tasks {
            let answer = t.await.unwrap().unwrap();
            if answer.block.is_none() && answer.decision.allowed {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 5);
    }

    #[tokio::test]
    async fn a_refusal_consumes_nothing_and_the_window_rolls_over() {
        let limiter = MemoryLimiter::default();
        for _ in 0..5 {
            assert!(limiter.admit(&login("a"), &BLOCKS, 0).await.unwrap().decision.allowed);
        }
        let refused = limiter.admit(&login("a"), &BLOCKS, 59_000).await.unwrap().decision;
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 1);
        let next = limiter.admit(&login("a"), &BLOCKS, 60_000).await.unwrap().decision;
        assert!(next.allowed, "a new minute admits again");
        assert_eq!(next.windows[1].remaining, 20 - 6, "the hour counted the six admitted requests only");
    }

    #[tokio::test]
    async fn repeated_refusals_block_the_client_until_unblocked() {
        let limiter = MemoryLimiter::default();
        for _ in 0..5 {
            limiter.admit(&login("b"), &BLOCKS, 0).await.unwrap();
        }
        let mut blocked = None;
        for _ in 0..3 {
            blocked = blocked.or(limiter.admit(&login("b"), &BLOCKS, 0).await.unwrap().newly_blocked);
        }
        let block = blocked.expect("the third refusal blocks");
        assert_eq!((block.key.as_str(), block.until), ("ip:192.0.2.11", 900_000));
        let during = limiter.admit(&login("b"), &BLOCKS, 899_999).await.unwrap();
        assert!(during.block.is_some());
        assert!(limiter.admit(&login("b"), &BLOCKS, 900_000).await.unwrap().block.is_none(), "blocks expire");

        limiter.record_violation(&client("c"), Violation::MaliciousInput, &BLOCKS, 0).await.unwrap();
        assert!(limiter.record_violation(&client("c"), Violation::MaliciousInput, &BLOCKS, 0).await.unwrap().is_some());
        assert!(limiter.unblock(&client("c")).await.unwrap());
        assert!(limiter.admit(&login("c"), &BLOCKS, 1).await.unwrap().block.is_none());
        let stats = limiter.stats(1).await.unwrap();
        assert_eq!(stats.top_offenders[0], Offender { key: "ip:192.0.2.11".into(), limited: 3 });
    }

    #[tokio::test]
    async fn violations_outside_the_window_do_not_count() {
        let limiter = MemoryLimiter::default();
        limiter.record_violation(&client("d"), Violation::MaliciousInput, &BLOCKS, 0).await.unwrap();
        let later = limiter.record_violation(&client("d"), Violation::MaliciousInput, &BLOCKS, 600_000).await.unwrap();
        assert!(later.is_none());
    }

    #[tokio::test]
    async fn a_flood_of_unique_clients_stays_bounded() {
        let limiter = MemoryLimiter::with_cap(1_000);
        for i in 0..20_000 {
            limiter.admit(&login(&format!("10.0.{}.{}", i / 256, i % 256)), &BLOCKS, 0).await.unwrap();
        }
        assert!(limiter.counters() <= 1_000, "{}", limiter.counters());
    }
}
