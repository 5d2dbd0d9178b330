//! What happened, said in one place. [`Observer`] is the only way a function reports:
//! - a security event ([`Observer::record`]): one JSON log line, its CloudWatch metric when an alarm watches it,
//!   and the audit trail's entry;
//! - a request ([`Observer::request`]): one `request` log line, its metrics, and the process counters `/health`
//!   reads;
//! - a failure the paging alarms watch that is not a security event ([`Observer::failure`]).
//!
//! A new metric is a variant of [`Metric`] (its name, unit and the event it counts, if any, are said there); a new
//! event is a variant of `EventKind` in the security crate. Nothing else writes a log line of these kinds or an
//! EMF line.

mod counters;
mod emf;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cloudmind_security::events::{EventKind, EventRecorder, EventSink, SecurityEvent};
use serde_json::Value;

pub use self::counters::{REQUESTS, RequestMetrics, Snapshot};
pub use self::emf::{Breakdown, line as emf_line, take_cold_start};

/// Every metric the functions publish (CloudWatch embedded metric format), and so every metric an alarm can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Per request, per function and in total.
    Requests,
    Latency,
    ServerErrors,
    ColdStarts,
    /// Security events an alarm watches, in total only.
    LoginFailures,
    AccountLockouts,
    RateLimitExceeded,
    MaliciousRequests,
    ClientsBlocked,
    DependencyDegraded,
    RefreshTokenReuse,
    /// Failures the paging alarms watch: an event that could not be stored, a handler that panicked (the caller got
    /// a generic 500).
    AuditWriteFailures,
    HandlerPanics,
}

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

impl Metric {
    pub const ALL: &'static [Self] = &[
        Self::Requests,
        Self::Latency,
        Self::ServerErrors,
        Self::ColdStarts,
        Self::LoginFailures,
        Self::AccountLockouts,
        Self::RateLimitExceeded,
        Self::MaliciousRequests,
        Self::ClientsBlocked,
        Self::DependencyDegraded,
        Self::RefreshTokenReuse,
        Self::AuditWriteFailures,
        Self::HandlerPanics,
    ];

    /// Its name in CloudWatch (the template's alarms name it so).
    pub fn name(self) -> &'static str {
        match self {
            Self::Requests => "Requests",
            Self::Latency => "Latency",
            Self::ServerErrors => "ServerErrors",
            Self::ColdStarts => "ColdStarts",
            Self::LoginFailures => "LoginFailures",
            Self::AccountLockouts => "AccountLockouts",
            Self::RateLimitExceeded => "RateLimitExceeded",
            Self::MaliciousRequests => "MaliciousRequests",
            Self::ClientsBlocked => "ClientsBlocked",
            Self::DependencyDegraded => "DependencyDegraded",
            Self::RefreshTokenReuse => "RefreshTokenReuse",
            Self::AuditWriteFailures => "AuditWriteFailures",
            Self::HandlerPanics => "HandlerPanics",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::Latency => Unit::Milliseconds,
            _ => Unit::Count,
        }
    }

    /// The metric that counts a security event, if an alarm watches it.
    pub fn for_event(kind: EventKind) -> Option<Self> {
        Some(match kind {
            // A wrong MFA code is a failed login to the alarm that watches guessing.
            EventKind::LoginFail | EventKind::MfaFail => Self::LoginFailures,
            EventKind::LoginLock => Self::AccountLockouts,
            EventKind::RateLimitExceeded => Self::RateLimitExceeded,
            EventKind::MaliciousSqli
            | EventKind::MaliciousXss
            | EventKind::MaliciousPathTraversal
            | EventKind::MaliciousInput => Self::MaliciousRequests,
            EventKind::ClientBlocked => Self::ClientsBlocked,
            EventKind::DependencyDegraded => Self::DependencyDegraded,
            EventKind::TokenReuse => Self::RefreshTokenReuse,
            _ => return None,
        })
    }
}

/// One answered request, as the gate saw it.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord<'a> {
    /// API Gateway's request id (or Lambda's, or a fresh one locally): the `X-Request-Id` of the answer.
    pub request_id: &'a str,
    /// Lambda's own id of the invocation: the key of the platform's START/REPORT lines.
    pub aws_request_id: &'a str,
    pub client_ip: &'a str,
    pub status: http::StatusCode,
    pub elapsed: Duration,
    /// `SLOW_REQUEST_MS`: at or beyond it, the request counts as slow in `/health`.
    pub slow_threshold: Duration,
}

/// Where a function reports what happened: the log, the metrics and the audit trail.
#[derive(Clone)]
pub struct Observer {
    sink: Arc<dyn EventSink>,
    /// The function whose events these are (the `function` dimension of their metrics).
    function: &'static str,
}

impl Observer {
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Self { sink, function: "cloudmind" }
    }

    /// The same observer, for the events of `function`.
    pub fn for_function(mut self, function: &'static str) -> Self {
        self.function = function;
        self
    }

    /// A security event: logged, counted when an alarm watches it, and stored in the audit trail. A store failure is
    /// logged and counted, never fatal to the request.
    pub async fn record(&self, event: SecurityEvent) {
        macro_rules! log_event {
            ($level:ident) => {
                tracing::$level!(
                    event = event.kind.as_str(),
                    security_event = true,
                    event_id = %event.id,
                    request_id = event.request_id.as_deref().unwrap_or(""),
                    client_ip = event.ip.as_deref().unwrap_or(""),
                    username = event.username.as_deref().unwrap_or(""),
                    detail = %event.detail,
                )
            };
        }
        if event.kind.is_failure() {
            log_event!(warn);
        } else {
            log_event!(info);
        }
        let request_id = event.request_id.as_deref().unwrap_or("");
        if let Some(metric) = Metric::for_event(event.kind) {
            let extra = [("event", Value::from(event.kind.as_str())), ("request_id", Value::from(request_id))];
            emf::emit(self.function, Breakdown::Total, &[(metric, 1.0)], &extra);
        }
        if let Err(e) = self.sink.record(&event).await {
            tracing::error!(event = "audit_write_failed", error = %cloudmind_security::store::error_chain(&e), event_id = %event.id);
            self.failure(Metric::AuditWriteFailures, request_id);
        }
    }

    /// A security event counted in the metrics only (the high-volume refusals after a client's first of each
    /// minute, which the audit trail already holds).
    pub fn count(&self, kind: EventKind, request_id: &str) {
        if let Some(metric) = Metric::for_event(kind) {
            let extra = [("event", Value::from(kind.as_str())), ("request_id", Value::from(request_id))];
            emf::emit(self.function, Breakdown::Total, &[(metric, 1.0)], &extra);
        }
    }

    /// An answered request: the `request` line (its id is Lambda's or API Gateway's, so Logs Insights joins it with
    /// the platform's START/REPORT lines; `cold_start` marks the first request of the execution environment), the
    /// request metrics per function and in total, and the counters of `/health`.
    pub fn request(&self, r: &RequestRecord<'_>) {
        REQUESTS.record(r.elapsed, r.slow_threshold);
        let (status, duration_ms, cold_start) = (r.status.as_u16(), r.elapsed.as_secs_f64() * 1e3, take_cold_start());
        tracing::info!(
            event = "request",
            request_id = %r.request_id,
            aws_request_id = %r.aws_request_id,
            client_ip = %r.client_ip,
            function = self.function,
            status,
            duration_ms,
            cold_start,
        );
        emf::emit(
            self.function,
            Breakdown::TotalAndFunction,
            &[
                (Metric::Requests, 1.0),
                (Metric::Latency, duration_ms),
                (Metric::ServerErrors, f64::from(u8::from(r.status.is_server_error()))),
                (Metric::ColdStarts, f64::from(u8::from(cold_start))),
            ],
            &[("request_id", Value::from(r.request_id)), ("aws_request_id", Value::from(r.aws_request_id))],
        );
    }

    /// A failure the paging alarms watch that is not a security event.
    pub fn failure(&self, metric: Metric, request_id: &str) {
        emf::emit(self.function, Breakdown::Total, &[(metric, 1.0)], &[("request_id", Value::from(request_id))]);
    }
}

/// Adapters that notice an event (the limiter falling back to memory) report it through the same observer.
#[async_trait]
impl EventRecorder for Observer {
    async fn record(&self, event: SecurityEvent) {
        Observer::record(self, event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarmed_events_have_metrics_and_the_others_none() {
        assert_eq!(Metric::for_event(EventKind::LoginFail), Some(Metric::LoginFailures));
        assert_eq!(Metric::for_event(EventKind::MaliciousXss), Some(Metric::MaliciousRequests));
        assert_eq!(Metric::for_event(EventKind::DependencyDegraded), Some(Metric::DependencyDegraded));
        assert_eq!(Metric::for_event(EventKind::LoginSuccess), None);
    }

    #[test]
    fn metric_names_are_unique() {
        let mut names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }
}
