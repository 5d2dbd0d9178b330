//! The limiter's statistics and top offenders, counted in the process and written to Redis at most once a second
//! into sharded keys: no single key takes every request's write (a hot slot under an attack), and the decision path
//! pays no extra round trip. The admin statistics read every shard; an instance's last second may be lost when
//! Lambda reclaims it (statistics, never decisions).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cloudmind_security::ratelimit::PolicyId;

/// How many keys the statistics, the offenders and the index of blocks are each spread over.
pub(super) const SHARDS: usize = 16;
/// The offenders each shard keeps (those with the most refusals): about a thousand in all.
pub(super) const OFFENDERS_PER_SHARD: usize = 64;
/// How often an instance writes what it counted.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// What one instance counted since its last write.
#[derive(Debug)]
pub(super) struct Tally {
    pub allowed: HashMap<PolicyId, u64>,
    pub limited: HashMap<PolicyId, u64>,
    pub offenders: HashMap<String, u64>,
    since: Instant,
}

impl Default for Tally {
    fn default() -> Self {
        Self { allowed: HashMap::new(), limited: HashMap::new(), offenders: HashMap::new(), since: Instant::now() }
    }
}

impl Tally {
    pub fn count(&mut self, policy: PolicyId, allowed: bool) {
        *if allowed { &mut self.allowed } else { &mut self.limited }.entry(policy).or_default() += 1;
    }

    pub fn offend(&mut self, key: &str) {
        *self.offenders.entry(key.to_string()).or_default() += 1;
    }

    /// Whether it is time to write (a second since the last write, or a flood of offenders to hand over).
    pub fn due(&self) -> bool {
        self.since.elapsed() >= FLUSH_EVERY || self.offenders.len() >= 1_000
    }

    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty() && self.limited.is_empty() && self.offenders.is_empty()
    }

    /// What was counted, leaving an empty tally that starts now.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

/// The shard of a key owner (FNV-1a of its subject): stable, and spread evenly over [`SHARDS`].
pub(super) fn shard_of(subject: &str) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in subject.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % SHARDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_spread_evenly_over_the_shards() {
        let mut counts = [0u32; SHARDS];
        for i in 0..64_000u32 {
            counts[shard_of(&format!("ip:10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))] += 1;
        }
        let mean = 64_000.0 / SHARDS as f64;
        for c in counts {
            assert!((f64::from(c) - mean).abs() / mean < 0.05, "{counts:?}");
        }
    }
}
