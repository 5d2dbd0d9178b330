//! Logging: `tracing` with JSON lines (Lambda's JSON log format), one line per security event.
//!
//! `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL` in Lambda) sets the level; the default is `info`. Nothing logs request
//! bodies or the `Authorization` header, so no password, hash or token can reach a log line.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once. Safe to call again (later calls do nothing).
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_lowercase()))
        .unwrap_or_else(|| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(filter))
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .without_time()
        .try_init();
}

/// As [`init`], with timestamps: for the local server, where no Lambda runtime stamps the lines.
pub fn init_local() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(filter))
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init();
}
