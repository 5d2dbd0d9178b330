//! The admin API (role `admin`): limiter statistics, the audit trail, unlocking accounts, lifting blocks, and the
//! users (`users.rs`: list, get, disable, enable, end sessions, erase).

mod users;

use std::sync::Arc;

use cloudmind_security::account::AccountData;
use cloudmind_security::clock::rfc3339;
use cloudmind_security::devices::DeviceStore;
use cloudmind_security::events::{EventKind, EventSink};
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::mfa::{MfaKeys, MfaStore};
use cloudmind_security::ratelimit::{Policies, PolicyId, Subject};
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::users::UserStore;
use cloudmind_security::validation::Username;
use cloudmind_security::{ApiError, FieldError};
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{AdminPrincipal, Call, Gate, Reply, StatusCode};
use cloudmind_serving::routes::{Method, Operation, Route};
use serde_json::{Map, Value, json};

/// The admin function.
#[derive(Clone)]
pub struct Admin {
    gate: Gate,
    lockouts: Arc<dyn LockoutStore>,
    events: Arc<dyn EventSink>,
    policies: Policies,
    mfa: Arc<dyn MfaStore>,
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    devices: Arc<dyn DeviceStore>,
    account: Arc<dyn AccountData>,
    /// Keys the pseudonyms of erased users.
    mfa_keys: MfaKeys,
    device_token_ms: u64,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetRateLimitStats,
    ListSecurityEvents,
    UnlockUser,
    ResetMfa,
    DeleteBlock,
    ListUsers,
    GetUser,
    DisableUser,
    EnableUser,
    EndUserSessions,
    EraseUser,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[
        Self::GetRateLimitStats,
        Self::ListSecurityEvents,
        Self::UnlockUser,
        Self::ResetMfa,
        Self::DeleteBlock,
        Self::ListUsers,
        Self::GetUser,
        Self::DisableUser,
        Self::EnableUser,
        Self::EndUserSessions,
        Self::EraseUser,
    ];
    fn route(self) -> Route {
        let api = PolicyId::Api;
        match self {
            Self::GetRateLimitStats => {
                Route::new(Method::GET, "/api/v1/admin/rate-limit-stats", "getRateLimitStats", api, false)
            }
            Self::ListSecurityEvents => {
                Route::new(Method::GET, "/api/v1/admin/security-events", "listSecurityEvents", api, false)
            }
            Self::UnlockUser => {
                Route::new(Method::POST, "/api/v1/admin/users/{username}/unlock", "unlockUser", api, false)
            }
            Self::ResetMfa => {
                Route::new(Method::DELETE, "/api/v1/admin/users/{username}/mfa", "resetUserMfa", api, false)
            }
            Self::DeleteBlock => Route::new(Method::DELETE, "/api/v1/admin/blocks/{key}", "deleteBlock", api, false),
            Self::ListUsers => Route::new(Method::GET, "/api/v1/admin/users", "listUsers", api, false),
            Self::GetUser => Route::new(Method::GET, "/api/v1/admin/users/{username}", "getUser", api, false),
            Self::DisableUser => {
                Route::new(Method::POST, "/api/v1/admin/users/{username}/disable", "disableUser", api, false)
            }
            Self::EnableUser => {
                Route::new(Method::POST, "/api/v1/admin/users/{username}/enable", "enableUser", api, false)
            }
            Self::EndUserSessions => {
                Route::new(Method::DELETE, "/api/v1/admin/users/{username}/sessions", "endUserSessions", api, false)
            }
            Self::EraseUser => Route::new(Method::DELETE, "/api/v1/admin/users/{username}", "eraseUser", api, false),
        }
    }
}

impl Function for Admin {
    const NAME: &'static str = "admin";
    type Op = Op;
    type Caller = AdminPrincipal;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        Ok(Self {
            gate: ports.gate::<Self>().await?,
            lockouts: ports.lockouts().await?,
            events: ports.events().await?,
            policies: ports.settings().rate_limits.clone(),
            mfa: ports.mfa().await?,
            users: ports.users().await?,
            sessions: ports.session_store().await?,
            devices: ports.devices().await?,
            account: ports.account_data().await?,
            mfa_keys: ports.mfa_keys().await?,
            device_token_ms: ports.settings().device_token_ms,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call<AdminPrincipal>) -> Result<Reply, ApiError> {
        match op {
            Op::GetRateLimitStats => rate_limit_stats(self, &call).await,
            Op::ListSecurityEvents => security_events(self, &call).await,
            Op::UnlockUser => unlock(self, &call).await,
            Op::ResetMfa => reset_mfa(self, &call).await,
            Op::DeleteBlock => delete_block(self, &call).await,
            Op::ListUsers => users::list(self, &call).await,
            Op::GetUser => users::get(self, &call).await,
            Op::DisableUser => users::set_disabled(self, &call, true).await,
            Op::EnableUser => users::set_disabled(self, &call, false).await,
            Op::EndUserSessions => users::end_sessions(self, &call).await,
            Op::EraseUser => users::erase(self, &call).await,
        }
    }
}

async fn rate_limit_stats(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let limiter = state.gate.limiter();
    let stats = limiter.stats(call.now).await?;
    let by_policy: Map<String, Value> =
        stats.by_policy.iter().map(|(name, counts)| (name.clone(), json!(counts))).collect();
    let blocked: Vec<Value> =
        stats.blocked.iter().map(|b| json!({"key": b.key, "reason": b.reason, "until": rfc3339(b.until)})).collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({
            "backend": limiter.backend().as_str(),
            "degraded": limiter.degraded(),
            "policies": state.policies.all(),
            "totals": stats.totals,
            "by_policy": by_policy,
            "top_offenders": stats.top_offenders,
            "blocked": blocked,
        }),
    ))
}

async fn security_events(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
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
    Ok(Reply::json(StatusCode::OK, json!({"events": events, "next_cursor": page.next_cursor})))
}

async fn unlock(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let admin = &call.caller.0.user.username;
    let raw = call.param("username").unwrap_or_default();
    // The names a lockout can matter for: every account's username fits, and so does an e-mail address typed into
    // the login form. A lockout on any other string only ever guards a name that is not an account.
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '+' | '-');
    if raw.is_empty() || raw.len() > 256 || !raw.chars().all(fits) {
        return Err(ApiError::ValidationFailed(vec![FieldError::new(
            "username",
            "must be 1 to 256 of A-Z a-z 0-9 _ . @ + -",
        )]));
    }
    let username = Username::lockout_key(raw);
    state.lockouts.clear(&username).await?;
    let event = call.event(EventKind::UserUnlocked).username(&username).detail(format!("by {admin}"));
    state.gate.observer().record(event).await;
    Ok(Reply::no_content())
}

/// `DELETE /api/v1/admin/users/{username}/mfa`: MFA off for a user who lost the authenticator and the recovery
/// codes (after the admin has verified who is asking, out of band). 404 for a name that is no account.
async fn reset_mfa(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let admin = &call.caller.0.user.username;
    let username =
        Username::parse(call.param("username").unwrap_or_default()).map_err(|e| ApiError::ValidationFailed(vec![e]))?;
    state.mfa.disable(username.as_str()).await?;
    let event = call.event(EventKind::MfaDisabled).username(username.as_str()).detail(format!("reset by {admin}"));
    state.gate.observer().record(event).await;
    Ok(Reply::no_content())
}

async fn delete_block(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let admin = &call.caller.0.user.username;
    // One spelling per client: an IPv6 address in any notation names its /64, a username its normalized form.
    let Some(key) = call.param("key").and_then(Subject::parse) else {
        let message = "must be ip:<address>, ip:<ipv6 prefix>/64 (write / as %2F) or user:<username>";
        return Err(ApiError::ValidationFailed(vec![FieldError::new("key", message)]));
    };
    if state.gate.limiter().unblock(&key).await? {
        let event = call.event(EventKind::ClientUnblocked).detail(format!("key={key} by {admin}"));
        state.gate.observer().record(event).await;
    }
    Ok(Reply::no_content())
}
