//! The audit trail: every security event as one JSON log line and one entry in the [`EventSink`].

use std::sync::Arc;

use cloudmind_security::events::{EventSink, SecurityEvent};

/// Writes security events to the log and the audit store.
#[derive(Clone)]
pub struct Audit {
    sink: Arc<dyn EventSink>,
    /// The function whose events these are (the `function` dimension of their metrics).
    function: &'static str,
}

impl Audit {
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Self { sink, function: "cloudmind" }
    }

    /// The same trail, for the events of `function`.
    pub fn for_function(mut self, function: &'static str) -> Self {
        self.function = function;
        self
    }

    /// Logs the event and stores it. A store failure is logged, never fatal to the request.
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
        crate::emf::security_event(self.function, event.kind, event.request_id.as_deref().unwrap_or(""));
        if let Err(e) = self.sink.record(&event).await {
            tracing::error!(event = "audit_write_failed", error = %cloudmind_security::store::error_chain(&e), event_id = %event.id);
            crate::emf::failure(self.function, "AuditWriteFailures", event.request_id.as_deref().unwrap_or(""));
        }
    }
}
