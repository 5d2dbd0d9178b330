//! The security events of the gate's refusals: rate limits, blocks, malicious input, bad tokens.

use cloudmind_security::ApiError;
use cloudmind_security::clock::{Millis, seconds_until};
use cloudmind_security::events::{EventKind, clip};
use cloudmind_security::ratelimit::{Block, Decision, FirstRefusal, Subject, Violation};
use cloudmind_security::threats::{Finding, Threat};

use super::Gate;
use super::call::Ctx;

impl Gate {
    /// A rate-limit refusal: the client's first of each minute is an audit event (with the count of the minute
    /// before); every one is counted in the metrics. A flood of refusals therefore writes one audit item per client
    /// per minute, not one per request.
    pub(super) async fn record_refusal(
        &self,
        ctx: &Ctx,
        d: &Decision,
        newly_blocked: Option<Block>,
        first: Option<FirstRefusal>,
        now: Millis,
    ) {
        match first {
            Some(first) => {
                let policy = d.windows.first().map_or("", |w| w.policy.as_str());
                let event = ctx.event(EventKind::RateLimitExceeded, now).detail(format!(
                    "policy={policy} limited={} retry_after={} refusals_previous_minute={} (the others of this \
                     minute are counted in metrics only)",
                    d.limited_keys.iter().map(Subject::as_str).collect::<Vec<_>>().join(","),
                    d.retry_after,
                    first.previous_minute,
                ));
                self.observer.record(event).await;
            }
            None => self.observer.count(EventKind::RateLimitExceeded, &ctx.request_id),
        }
        if let Some(block) = newly_blocked {
            self.record_block(ctx, &block, now).await;
        }
    }

    pub(super) async fn record_block(&self, ctx: &Ctx, block: &Block, now: Millis) {
        let event = ctx.event(EventKind::ClientBlocked, now).detail(format!(
            "key={} reason={} for={}s",
            block.key,
            block.reason,
            seconds_until(now, block.until)
        ));
        self.observer.record(event).await;
    }

    pub(super) async fn record_malicious(&self, ctx: &Ctx, finding: &Finding, now: Millis) {
        let kind = match finding.threat {
            Threat::SqlInjection => EventKind::MaliciousSqli,
            Threat::Xss => EventKind::MaliciousXss,
            Threat::PathTraversal => EventKind::MaliciousPathTraversal,
            Threat::ControlCharacters => EventKind::MaliciousInput,
        };
        let detail = format!("location={} confidence={}", clip(&finding.location), finding.confidence.as_str());
        self.observer.record(ctx.event(kind, now).detail(detail)).await;
        // A low-confidence match on a display name is refused but is not a violation: five people named like an
        // SQL statement must not block their office's address.
        if !finding.counts_toward_block() {
            return;
        }
        match self.limiter.record_violation(&ctx.client_key, Violation::MaliciousInput, &self.blocks, now).await {
            Ok(Some(block)) => self.record_block(ctx, &block, now).await,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(event = "violation_not_recorded", error = %cloudmind_security::store::error_chain(&e))
            }
        }
    }

    /// Logs a refused token; `username` only when the signature proved it.
    pub(super) async fn record_token_failure(&self, ctx: &Ctx, error: &ApiError, username: Option<&str>, now: Millis) {
        let detail = match error {
            ApiError::Unauthorized { token_presented: false } => return,
            ApiError::TokenExpired => "expired",
            ApiError::TokenRevoked => "revoked token presented",
            _ => "invalid",
        };
        let mut event = ctx.event(EventKind::TokenInvalid, now).detail(detail);
        event.username = username.map(str::to_string);
        self.observer.record(event).await;
    }
}
