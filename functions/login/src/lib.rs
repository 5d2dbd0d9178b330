//! `POST /api/v1/auth/login`: verifies credentials under the lockout and issues an access token.
//!
//! After the gate's per-IP limit: the lockout takes a slot (423 when none is left, even for the right password),
//! then argon2id verifies, against a dummy hash when the username is unknown so both cost the same. A failure
//! counts toward the lockout; a success clears it, re-hashes if the parameters changed, and returns a token.

use std::sync::Arc;

use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::Settings;
use cloudmind_platform::gate::{Call, Gate, Reply};
use cloudmind_platform::{Body, Request, Response};
use cloudmind_security::ApiError;
use cloudmind_security::clock::seconds_until;
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::{PasswordHasher, Verification};
use cloudmind_security::lockout::{Acquire, LockoutPolicy, LockoutStore};
use cloudmind_security::tokens::TokenService;
use cloudmind_security::users::UserStore;
use cloudmind_security::validation::{LoginRequest, Password, Username, parse_body};
use secrecy::SecretString;
use serde_json::json;

/// What the login function needs.
#[derive(Clone)]
pub struct State {
    gate: Gate,
    users: Arc<dyn UserStore>,
    lockouts: Arc<dyn LockoutStore>,
    tokens: TokenService,
    hasher: PasswordHasher,
    lockout: LockoutPolicy,
}

impl State {
    pub fn new(settings: &Settings, backends: &Backends) -> Self {
        let hasher = PasswordHasher::owasp();
        hasher.warm_up();
        Self {
            gate: Gate::new("login", settings, backends.limiter.clone(), backends.audit(), None),
            users: backends.users.clone(),
            lockouts: backends.lockouts.clone(),
            tokens: backends.tokens(settings),
            hasher,
            lockout: settings.lockout,
        }
    }
}

impl State {
    /// The password hasher (its verification count shows what a login cost).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
}

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    state.gate.serve(req, |call| login(state, call)).await
}

async fn login(state: &State, call: Call) -> Result<Reply, ApiError> {
    let req: LoginRequest = parse_body(&call.body)?;
    let key = Username::lockout_key(&req.username);
    let now = call.now;
    let audit = state.gate.audit();

    if let Acquire::Locked { until } = state.lockouts.acquire(&key, &state.lockout, now).await? {
        audit.record(call.ctx.event(EventKind::LoginFail, now).username(&key).detail("account locked")).await;
        return Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) });
    }

    let user = state.users.get(&key).await?.filter(|u| !u.disabled);
    let password = Password::new(req.password).into_secret();
    let verdict = state.hasher.verify_async(password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await;
    let (user, needs_rehash) = match (verdict, user) {
        (Verification::Valid { needs_rehash }, Some(user)) => (user, needs_rehash),
        _ => {
            let locked = state.lockouts.record_failure(&key, &state.lockout, now).await?;
            audit.record(call.ctx.event(EventKind::LoginFail, now).username(&key).detail("invalid credentials")).await;
            if let Some(until) = locked {
                let detail =
                    format!("locked for {} s after {} failures", seconds_until(now, until), state.lockout.max_attempts);
                audit.record(call.ctx.event(EventKind::LoginLock, now).username(&key).detail(detail)).await;
            }
            return Err(ApiError::InvalidCredentials);
        }
    };

    state.lockouts.clear(&key).await?;
    if needs_rehash {
        rehash(state, &user.username, password, now).await;
    }
    state.tokens.refresh_keys().await;
    let issued = state.tokens.issue(&user, now).map_err(|e| {
        tracing::error!(event = "token_issue_failed", error = %e);
        ApiError::Internal
    })?;
    audit.record(call.ctx.event(EventKind::LoginSuccess, now).username(&user.username)).await;
    Ok(Reply::json(
        200,
        json!({
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": issued.claims.exp - issued.claims.iat,
        }),
    ))
}

/// Stores a hash with the current parameters; a failure is logged and the login still succeeds.
async fn rehash(state: &State, username: &str, password: SecretString, now: u64) {
    match state.hasher.hash_async(password).await {
        Ok(hash) => {
            if let Err(e) = state.users.set_password_hash(username, &hash, false, now).await {
                tracing::warn!(event = "rehash_not_stored", error = %e);
            }
        }
        Err(e) => tracing::warn!(event = "rehash_failed", error = %e),
    }
}
