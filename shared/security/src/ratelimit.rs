//! Multi-window rate limits and automatic blocking.
//!
//! A [`Policy`] has several fixed windows (for example 5 a minute, 20 an hour, 100 a day). A request is checked
//! against every window of every key it carries (the client IP, and the user once known) and consumes a unit in
//! each only if all admit; otherwise nothing is consumed and `Retry-After` is the exact time until every exhausted
//! window has rolled over. A client IP that collects too many refusals or malicious-input requests within the
//! violation window is blocked for a while ([`BlockPolicy`]).
//!
//! The decision logic ([`decide`]) is pure: the in-memory limiter runs it under a lock, the Redis limiter runs the
//! same steps in one Lua script.

use std::net::IpAddr;

use async_trait::async_trait;
use serde::Serialize;

use crate::clock::{Millis, seconds_until};
use crate::store::StoreError;

/// One window of a policy: at most `limit` requests per `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub limit: u64,
    pub window_seconds: u64,
}

/// Which policy a route counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyId {
    Login,
    Register,
    /// The API routes: per IP and, once the token is verified, per user.
    Api,
    Health,
}

impl PolicyId {
    pub const ALL: [Self; 4] = [Self::Login, Self::Register, Self::Api, Self::Health];

    /// The name in counter keys, statistics and the `RateLimit-Policy` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::Api => "api",
            Self::Health => "health",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl std::fmt::Display for PolicyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of windows applied to a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: PolicyId,
    pub limits: Vec<Limit>,
}

/// The policies of the API contract, sized by configuration.
#[derive(Debug, Clone)]
pub struct Policies {
    pub login: Policy,
    pub register: Policy,
    pub api: Policy,
    pub health: Policy,
}

impl Policies {
    /// `auth` is the per-IP minute/hour/day limit of login and register; `api_minute`/`api_hour` the
    /// `RATE_LIMIT_PER_MINUTE`/`RATE_LIMIT_PER_HOUR` of the API routes; `health_minute` the health limit.
    pub fn new(auth: [u64; 3], api_minute: u64, api_hour: u64, health_minute: u64) -> Self {
        let auth_limits = vec![
            Limit { limit: auth[0], window_seconds: 60 },
            Limit { limit: auth[1], window_seconds: 3_600 },
            Limit { limit: auth[2], window_seconds: 86_400 },
        ];
        Self {
            login: Policy { name: PolicyId::Login, limits: auth_limits.clone() },
            register: Policy { name: PolicyId::Register, limits: auth_limits },
            api: Policy {
                name: PolicyId::Api,
                limits: vec![
                    Limit { limit: api_minute, window_seconds: 60 },
                    Limit { limit: api_hour, window_seconds: 3_600 },
                ],
            },
            health: Policy { name: PolicyId::Health, limits: vec![Limit { limit: health_minute, window_seconds: 60 }] },
        }
    }

    pub fn all(&self) -> [&Policy; 4] {
        [&self.login, &self.register, &self.api, &self.health]
    }

    /// The policy with this id.
    pub fn get(&self, id: PolicyId) -> &Policy {
        match id {
            PolicyId::Login => &self.login,
            PolicyId::Register => &self.register,
            PolicyId::Api => &self.api,
            PolicyId::Health => &self.health,
        }
    }
}

impl Default for Policies {
    fn default() -> Self {
        Self::new([5, 20, 100], 100, 1_000, 600)
    }
}

/// Who a rate limit or a block applies to: a client address (`ip:<address>`, IPv6 counted per /64 as
/// `ip:2001:db8:1:2::/64`, IPv4-mapped IPv6 as IPv4) or a user (`user:<username>`). Always in canonical form, so one
/// client has one spelling in counters, blocks and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Subject(String);

/// The two kinds of [`Subject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Ip,
    User,
}

impl Subject {
    /// The subject of a client address.
    pub fn ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(format!("ip:{v4}")),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(format!("ip:{v4}")),
                None => {
                    let s = v6.segments();
                    let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    Self(format!("ip:{prefix}/64"))
                }
            },
        }
    }

    /// The subject of a client whose address the platform did not give.
    pub fn unknown_ip() -> Self {
        Self("ip:unknown".into())
    }

    /// The subject of a (normalized) username.
    pub fn user(username: &str) -> Self {
        Self(format!("user:{username}"))
    }

    /// Reads a subject as an operator writes it (`ip:203.0.113.9`, `ip:2001:DB8:0:0:0:0:0:1`, `ip:2001:db8::/64`,
    /// `user:Alice`) into its canonical form; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(ip) = text.strip_prefix("ip:") {
            return match ip.strip_suffix("/64") {
                Some(prefix) => match prefix.parse::<IpAddr>().ok()? {
                    IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => Some(Self::ip(IpAddr::V6(v6))),
                    _ => None,
                },
                None => ip.parse::<IpAddr>().ok().map(Self::ip),
            };
        }
        let username = crate::validation::Username::parse(text.strip_prefix("user:")?).ok()?;
        Some(Self::user(username.as_str()))
    }

    pub fn kind(&self) -> SubjectKind {
        if self.0.starts_with("user:") { SubjectKind::User } else { SubjectKind::Ip }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::User => "user",
        }
    }
}

/// A counter to check: one window of one policy for one key, at the current window index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowCheck {
    pub key: Subject,
    pub policy: PolicyId,
    pub limit: Limit,
}

impl WindowCheck {
    /// Every window of `policy` for `key`.
    pub fn for_policy(policy: &Policy, key: &Subject) -> Vec<Self> {
        policy.limits.iter().map(|&limit| Self { key: key.clone(), policy: policy.name, limit }).collect()
    }

    /// The start of the current window and its end (exclusive), in milliseconds.
    pub fn window(&self, now: Millis) -> (Millis, Millis) {
        let len = self.limit.window_seconds * 1000;
        let start = now - now % len;
        (start, start + len)
    }

    /// The storage key of the current window's counter.
    pub fn counter_key(&self, now: Millis) -> String {
        let (start, _) = self.window(now);
        format!("rl:{}:{}:{}:{}", self.policy, self.key, self.limit.window_seconds, start / 1000)
    }
}

/// The state of one window after a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowState {
    pub key: Subject,
    pub policy: PolicyId,
    pub limit: Limit,
    pub remaining: u64,
    /// Seconds until this window starts over.
    pub reset_seconds: u64,
}

/// A rate-limit decision over all windows of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub windows: Vec<WindowState>,
    /// When refused: whole seconds until every exhausted window admits again.
    pub retry_after: u64,
    /// When refused: the subjects whose windows were exhausted.
    pub limited_keys: Vec<Subject>,
}

impl Decision {
    /// A decision with no windows (nothing to limit).
    pub fn unlimited() -> Self {
        Self { allowed: true, windows: vec![], retry_after: 0, limited_keys: vec![] }
    }

    /// The window closest to refusing, for the `RateLimit` field.
    pub fn tightest(&self) -> Option<&WindowState> {
        self.windows.iter().min_by_key(|w| (w.remaining, std::cmp::Reverse(w.reset_seconds)))
    }
}

/// Decides given the current counts (one per check, same order). Admits only if every window has room; the caller
/// then adds one to every counter.
pub fn decide(checks: &[WindowCheck], counts: &[u64], now: Millis) -> Decision {
    let mut allowed = true;
    let mut retry_after = 0;
    let mut limited_keys: Vec<Subject> = Vec::new();
    let mut windows = Vec::with_capacity(checks.len());
    for (check, &count) in checks.iter().zip(counts) {
        let (_, end) = check.window(now);
        let reset_seconds = seconds_until(now, end).max(1);
        if count >= check.limit.limit {
            allowed = false;
            retry_after = retry_after.max(reset_seconds);
            if !limited_keys.contains(&check.key) {
                limited_keys.push(check.key.clone());
            }
        }
        windows.push(WindowState {
            key: check.key.clone(),
            policy: check.policy,
            limit: check.limit,
            remaining: check.limit.limit.saturating_sub(count),
            reset_seconds,
        });
    }
    if allowed {
        for w in &mut windows {
            w.remaining = w.remaining.saturating_sub(1);
        }
        retry_after = 0;
    }
    Decision { allowed, windows, retry_after, limited_keys }
}

/// The automatic-block settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPolicy {
    pub rate_limit_violations: u32,
    pub malicious_requests: u32,
    pub window_ms: Millis,
    pub block_ms: Millis,
}

impl Default for BlockPolicy {
    fn default() -> Self {
        Self { rate_limit_violations: 20, malicious_requests: 5, window_ms: 600_000, block_ms: 900_000 }
    }
}

/// What a client did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    RateLimited,
    MaliciousInput,
}

impl Violation {
    pub fn reason(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::MaliciousInput => "malicious_input",
        }
    }

    pub fn threshold(self, policy: &BlockPolicy) -> u32 {
        match self {
            Self::RateLimited => policy.rate_limit_violations,
            Self::MaliciousInput => policy.malicious_requests,
        }
    }
}

/// An automatic block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    pub key: String,
    pub reason: String,
    pub until: Millis,
}

/// One rate-limit question: the client key with its windows, and the user's windows once the user is known.
#[derive(Debug, Clone)]
pub struct Admission {
    pub client_key: Subject,
    pub checks: Vec<WindowCheck>,
}

/// The answer to an [`Admission`]: a block of the client (checked first, consumes nothing), or a decision.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub block: Option<Block>,
    pub decision: Decision,
    /// Set when this refusal pushed the client over the threshold and blocked it.
    pub newly_blocked: Option<Block>,
    /// The limiter's clock when it decided (Redis's own), which a [`Limiter::refund`] of what it consumed names.
    pub at: Millis,
    /// When refused: set for the client's first refusal in this minute, the one the audit trail records (the
    /// others are counted in metrics only, so a flood of refusals cannot make the trail the bottleneck or the bill).
    pub first_refusal: Option<FirstRefusal>,
}

impl Admitted {
    /// A client that is blocked: nothing decided, nothing consumed.
    pub fn blocked(block: Block, at: Millis) -> Self {
        Self { block: Some(block), decision: Decision::unlimited(), newly_blocked: None, at, first_refusal: None }
    }

    /// Nothing to limit (a route without windows): only the block was checked.
    pub fn unlimited(at: Millis) -> Self {
        Self { block: None, decision: Decision::unlimited(), newly_blocked: None, at, first_refusal: None }
    }
}

/// A client's first refusal in a minute, with how many it had in the minute before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstRefusal {
    pub previous_minute: u64,
}

/// Counts a client's refusals per minute, to tell the first of each minute (what [`Admitted::first_refusal`]
/// carries): `(minute, count in it, count in the minute before)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusalMinute {
    pub minute: u64,
    pub count: u64,
    pub previous: u64,
}

impl RefusalMinute {
    /// Counts one refusal at `now`; the first refusal of a minute answers with the count of the minute before.
    pub fn refuse(&mut self, now: Millis) -> Option<FirstRefusal> {
        let minute = now / 60_000;
        if self.count > 0 && self.minute == minute {
            self.count += 1;
            return None;
        }
        let previous = if self.minute + 1 == minute { self.count } else { 0 };
        *self = Self { minute, count: 1, previous };
        Some(FirstRefusal { previous_minute: previous })
    }
}

/// Counts per policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub allowed: u64,
    pub limited: u64,
}

/// A client with refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offender {
    pub key: String,
    pub limited: u64,
}

/// The limiter statistics of the admin API (as seen by this limiter: all instances when it is Redis).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimiterStats {
    pub totals: Counts,
    pub by_policy: Vec<(String, Counts)>,
    pub top_offenders: Vec<Offender>,
    pub blocked: Vec<Block>,
}

/// The limiter: rate-limit decisions, automatic blocks and statistics (Redis, or memory).
#[async_trait]
pub trait Limiter: Send + Sync {
    /// Checks the client's block, then every window; consumes only if all admit. A refusal counts as a
    /// violation toward the client's automatic block.
    async fn admit(&self, admission: &Admission, blocks: &BlockPolicy, now: Millis) -> Result<Admitted, StoreError>;
    /// Gives back the unit an admitted decision took from each of `checks` at `at` ([`Admitted::at`]): a request
    /// that turned out not to be the user's (its token refused) is not charged to the user, and a decision refused
    /// by one key owner gives back what the other consumed. A window that has rolled over since keeps its count.
    async fn refund(&self, checks: &[WindowCheck], at: Millis) -> Result<(), StoreError>;
    /// Counts a violation of `key`; returns the block when this one crossed the threshold.
    async fn record_violation(
        &self,
        key: &Subject,
        violation: Violation,
        blocks: &BlockPolicy,
        now: Millis,
    ) -> Result<Option<Block>, StoreError>;
    /// Lifts a block (and forgets its violations). `true` when there was one.
    async fn unblock(&self, key: &Subject) -> Result<bool, StoreError>;
    async fn stats(&self, now: Millis) -> Result<LimiterStats, StoreError>;
    /// Where its counters live.
    fn backend(&self) -> LimiterBackend;
    /// True while a Redis limiter is falling back to memory.
    fn degraded(&self) -> bool {
        false
    }
    /// Figures about the backend for `/health` (Redis `INFO`), where it has any.
    async fn health(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Where a limiter keeps its counters (the admin statistics' `backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterBackend {
    Redis,
    Memory,
}

impl LimiterBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Memory => "memory",
        }
    }
}

impl std::fmt::Display for LimiterBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refusal_of_each_minute_carries_the_count_of_the_one_before() {
        let mut m = RefusalMinute::default();
        assert_eq!(m.refuse(60_000), Some(FirstRefusal { previous_minute: 0 }));
        assert_eq!(m.refuse(60_001), None);
        assert_eq!(m.refuse(119_999), None);
        assert_eq!(m.refuse(120_000), Some(FirstRefusal { previous_minute: 3 }));
        assert_eq!(m.refuse(300_000), Some(FirstRefusal { previous_minute: 0 }), "a quiet minute in between");
    }

    fn login_checks() -> Vec<WindowCheck> {
        WindowCheck::for_policy(&Policies::default().login, &Subject::ip("203.0.113.9".parse().unwrap()))
    }

    #[test]
    fn all_windows_must_admit_and_retry_after_is_the_longest_exhausted_window() {
        let checks = login_checks();
        let now = 3_600_000 * 10 + 30_000; // 30 s into a minute, hour and day
        let d = decide(&checks, &[4, 19, 99], now);
        assert!(d.allowed);
        assert_eq!(d.windows.iter().map(|w| w.remaining).collect::<Vec<_>>(), vec![0, 0, 0]);

        let d = decide(&checks, &[5, 5, 5], now);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, 30);
        let d = decide(&checks, &[5, 20, 20], now);
        assert_eq!(d.retry_after, 3_600 - 30, "the hour window is the one that admits last");
        assert_eq!(d.limited_keys.iter().map(Subject::as_str).collect::<Vec<_>>(), vec!["ip:203.0.113.9"]);
    }

    #[test]
    fn counter_keys_roll_over_with_the_window() {
        let check = &login_checks()[0];
        assert_eq!(check.counter_key(59_999), "rl:login:ip:203.0.113.9:60:0");
        assert_eq!(check.counter_key(60_000), "rl:login:ip:203.0.113.9:60:60");
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(Subject::ip(a).as_str(), "ip:2001:db8:1:2::/64");
        assert_eq!(Subject::ip(a), Subject::ip(b));
        assert_eq!(Subject::ip("::ffff:192.0.2.1".parse().unwrap()).as_str(), "ip:192.0.2.1");
        assert_eq!(Subject::ip("203.0.113.9".parse().unwrap()).as_str(), "ip:203.0.113.9");
    }

    #[test]
    fn subjects_parse_into_one_canonical_spelling() {
        let canonical = |text: &str| Subject::parse(text).map(|s| s.as_str().to_string());
        for (text, expected) in [
            ("ip:203.0.113.9", "ip:203.0.113.9"),
            ("ip:::ffff:203.0.113.9", "ip:203.0.113.9"),
            ("ip:2001:DB8:1:2:0:0:0:0/64", "ip:2001:db8:1:2::/64"),
            ("ip:2001:0db8:0001:0002::/64", "ip:2001:db8:1:2::/64"),
            ("ip:2001:db8:1:2::7", "ip:2001:db8:1:2::/64"),
            ("user:Alice", "user:alice"),
        ] {
            assert_eq!(canonical(text).as_deref(), Some(expected), "{text}");
        }
        for bad in [
            "",
            "203.0.113.9",
            "ip:",
            "ip:999.1.1.1",
            "ip:203.0.113.9/64",
            "ip:::ffff:1.2.3.4/64",
            "user:",
            "user:a b",
            "host:x",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_tightest_window_has_the_least_room() {
        let d = decide(&login_checks(), &[1, 19, 2], 0);
        let t = d.tightest().unwrap();
        assert_eq!((t.limit.window_seconds, t.remaining), (3_600, 0));
    }
}
