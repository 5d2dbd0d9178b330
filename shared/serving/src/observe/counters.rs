//! Per-instance request statistics for `/health` (`performance`): requests served, mean latency, slow requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters shared by every function in the process.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    total: AtomicU64,
    total_micros: AtomicU64,
    slow: AtomicU64,
}

/// A snapshot of [`RequestMetrics`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub total_requests: u64,
    /// Mean response time in seconds.
    pub avg_response_time: f64,
    pub slow_requests: u64,
}

impl RequestMetrics {
    pub const fn new() -> Self {
        Self { total: AtomicU64::new(0), total_micros: AtomicU64::new(0), slow: AtomicU64::new(0) }
    }

    pub fn record(&self, elapsed: Duration, slow_threshold: Duration) {
        self.total.fetch_add(1, Ordering::Relaxed);
        self.total_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if elapsed >= slow_threshold {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let total = self.total.load(Ordering::Relaxed);
        let micros = self.total_micros.load(Ordering::Relaxed);
        Snapshot {
            total_requests: total,
            avg_response_time: if total == 0 { 0.0 } else { micros as f64 / total as f64 / 1e6 },
            slow_requests: self.slow.load(Ordering::Relaxed),
        }
    }
}

/// The process-wide counters.
pub static REQUESTS: RequestMetrics = RequestMetrics::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_averages_in_seconds_and_counts_slow_requests() {
        let m = RequestMetrics::new();
        m.record(Duration::from_millis(10), Duration::from_secs(1));
        m.record(Duration::from_millis(1_990), Duration::from_secs(1));
        let s = m.snapshot();
        assert_eq!(s.total_requests, 2);
        assert!((s.avg_response_time - 1.0).abs() < 1e-9);
        assert_eq!(s.slow_requests, 1);
    }
}
