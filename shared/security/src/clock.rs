//! Time as the security logic sees it: milliseconds since the Unix epoch, passed in explicitly so that every
//! expiry (lockouts, windows, blocks, sessions) can be tested without sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// The current wall-clock time in milliseconds.
pub fn now_ms() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or_default()
}

/// Whole seconds from `now` until `until`, rounded up; at least 1 while `until` is in the future.
pub fn seconds_until(now: Millis, until: Millis) -> u64 {
    until.saturating_sub(now).div_ceil(1000)
}

/// An RFC 3339 rendering (UTC, second precision) of a time in milliseconds.
pub fn rfc3339(at: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_until_rounds_up_and_never_goes_negative() {
        assert_eq!(seconds_until(1_000, 1_001), 1);
        assert_eq!(seconds_until(1_000, 2_000), 1);
        assert_eq!(seconds_until(1_000, 2_001), 2);
        assert_eq!(seconds_until(5_000, 1_000), 0);
    }

    #[test]
    fn rfc3339_renders_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
