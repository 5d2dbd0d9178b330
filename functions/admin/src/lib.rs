//! The admin API (role `admin`): limiter statistics, the audit trail, unlocking accounts, lifting blocks.

use std::net::IpAddr;
use std::sync::Arc;

use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::Settings;
use cloudmind_platform::gate::{Call, Gate, Reply};
use cloudmind_platform::{Body, Request, Response};
use cloudmind_security::clock::rfc3339;
use cloudmind_security::events::{EventKind, EventSink};
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::ratelimit::Policies;
use cloudmind_security::validation::Username;
use cloudmind_security::{ApiError, FieldError};
use serde_json::{Map, Value, json};

/// What the admin function needs.
#[derive(Clone)]
pub struct State {
    gate: Gate,
    lockouts: Arc<dyn LockoutStore>,
    events: Arc<dyn EventSink>,
    policies: Policies,
}

impl State {
    pub fn new(settings: &Settings, backends: &Backends) -> Self {
        let auth = Some(backends.authenticator(settings));
        Self {
            gate: Gate::new("admin", settings, backends.limiter.clone(), backends.audit(), auth),
            lockouts: backends.lockouts.clone(),
            events: backends.events.clone(),
            policies: settings.rate_limits.clone(),
        }
    }
}

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    state.gate.serve(req, |call| dispatch(state, call)).await
}

async fn dispatch(state: &State, call: Call) -> Result<Reply, ApiError> {
    match call.route.operation {
        "getRateLimitStats" => rate_limit_stats(state, &call).await,
        "listSecurityEvents" => security_events(state, &call).await,
        "unlockUser" => unlock(state, &call).await,
        "deleteBlock" => delete_block(state, &call).await,
        _ => Err(ApiError::NotFound),
    }
}

async fn rate_limit_stats(state: &State, call: &Call) -> Result<Reply, ApiError> {
    let limiter = state.gate.limiter();
    let stats = limiter.stats(call.now).await?;
    let by_policy: Map<String, Value> =
        stats.by_policy.iter().map(|(name, counts)| (name.clone(), json!(counts))).collect();
    let blocked: Vec<Value> =
        stats.blocked.iter().map(|b| json!({"key": b.key, "reason": b.reason, "until": rfc3339(b.until)})).collect();
    Ok(Reply::json(
        200,
        json!({
            "backend": limiter.backend(),
            "degraded": limiter.degraded(),
            "policies": state.policies.all(),
            "totals": stats.totals,
            "by_policy": by_policy,
            "top_offenders": stats.top_offenders,
            "blocked": blocked,
        }),
    ))
}

async fn security_events(state: &State, call: &Call) -> Result<Reply, ApiError> {
    let mut errors = Vec::new();
    let kind = match call.query("type") {
        None => None,
        Some(name) => {
            let kind = EventKind::parse(name);
            if kind.is_none() {
                errors.push(FieldError::new("type", "is not a security event type"));
            }
            kind
        }
    };
    let limit = match call.query("limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new("limit", "must be a whole number from 1 to 100"));
            50
        }
    };
    let cursor = call.query("cursor");
    if cursor.is_some_and(|c| c.is_empty() || c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-'))
    {
        errors.push(FieldError::new("cursor", "is not a cursor returned by this API"));
    }
    if !errors.is_empty() {
        return Err(ApiError::ValidationFailed(errors));
    }
    let page = state.events.list(kind, limit, cursor).await?;
    let events: Vec<Value> = page.events.iter().map(|e| e.public()).collect();
    Ok(Reply::json(200, json!({"events": events, "next_cursor": page.next_cursor})))
}

async fn unlock(state: &State, call: &Call) -> Result<Reply, ApiError> {
    let admin = &call.principal()?.user.username;
    let raw = call.param("username").unwrap_or_default();
    if raw.is_empty() || raw.chars().count() > 256 {
        return Err(ApiError::ValidationFailed(vec![FieldError::new("username", "must be 1 to 256 characters")]));
    }
    let username = Username::lockout_key(raw);
    state.lockouts.clear(&username).await?;
    let event = call.ctx.event(EventKind::UserUnlocked, call.now).username(&username).detail(format!("by {admin}"));
    state.gate.audit().record(event).await;
    Ok(Reply::no_content())
}

async fn delete_block(state: &State, call: &Call) -> Result<Reply, ApiError> {
    let admin = &call.principal()?.user.username;
    let key = call.param("key").unwrap_or_default();
    if !is_block_key(key) {
        let message = "must be ip:<address>, ip:<ipv6 prefix>/64 or user:<username>";
        return Err(ApiError::ValidationFailed(vec![FieldError::new("key", message)]));
    }
    if state.gate.limiter().unblock(key).await? {
        let event = call.ctx.event(EventKind::ClientUnblocked, call.now).detail(format!("key={key} by {admin}"));
        state.gate.audit().record(event).await;
    }
    Ok(Reply::no_content())
}

/// `ip:<address>`, `ip:<ipv6 /64 prefix>/64` or `user:<username>`.
fn is_block_key(key: &str) -> bool {
    if let Some(ip) = key.strip_prefix("ip:") {
        let address = ip.strip_suffix("/64").unwrap_or(ip);
        return match address.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => !ip.ends_with("/64"),
            Ok(IpAddr::V6(_)) => true,
            Err(_) => false,
        };
    }
    key.strip_prefix("user:").is_some_and(|u| Username::parse(u).is_ok())
}

#[cfg(test)]
mod tests {
    use super::is_block_key;

    #[test]
    fn block_keys_follow_the_documented_forms() {
        for good in ["ip:203.0.113.9", "ip:2001:db8:1:2::/64", "ip:2001:db8::1", "user:alice"] {
            assert!(is_block_key(good), "{good}");
        }
        for bad in ["", "203.0.113.9", "ip:", "ip:999.1.1.1", "ip:203.0.113.9/64", "user:", "user:a b", "host:x"] {
            assert!(!is_block_key(bad), "{bad}");
        }
    }
}
