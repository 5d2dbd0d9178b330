//! Logging: `tracing` with JSON lines (Lambda's JSON log format), one line per security event.
//!
//! `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL` in Lambda) sets the level; the default is `info`. Nothing logs request
//! bodies or the `Authorization` header, so no password, hash or token can reach a log line.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once (later calls do nothing), without timestamps: the Lambda runtime stamps
/// every line.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_lowercase()))
        .unwrap_or_else(|| "info".into());
    let _ = subscriber(&level).without_time().try_init();
}

/// As [`init`], with timestamps: for the local server, where no Lambda runtime stamps the lines.
pub fn init_local() {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let _ = subscriber(&level).try_init();
}

/// One flat JSON object per line: the event's fields at the top level, where metric filters find `$.event`.
fn subscriber(
    level: &str,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    EnvFilter,
> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(level))
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
}
