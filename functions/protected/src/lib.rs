//! The caller's own profile: `GET /api/v1/me`, `PATCH /api/v1/me` and `PUT /api/v1/me/password`.
//!
//! A password change verifies the current password under the lockout (a wrong one counts as a failed login) and
//! revokes every token issued before it (the user's token generation is bumped).

use std::sync::Arc;

use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::Settings;
use cloudmind_platform::gate::{Call, Gate, Reply};
use cloudmind_platform::{Body, Request, Response};
use cloudmind_security::clock::seconds_until;
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::{PasswordHasher, Verification};
use cloudmind_security::lockout::{Acquire, LockoutPolicy, LockoutStore};
use cloudmind_security::password::PasswordPolicy;
use cloudmind_security::users::{ProfileChange, UserStore};
use cloudmind_security::validation::{
    ChangePasswordRequest, DisplayName, Email, Password, UpdateProfileRequest, parse_body,
};
use cloudmind_security::{ApiError, FieldError};

/// What the protected function needs.
#[derive(Clone)]
pub struct State {
    gate: Gate,
    users: Arc<dyn UserStore>,
    lockouts: Arc<dyn LockoutStore>,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    lockout: LockoutPolicy,
}

impl State {
    pub fn new(settings: &Settings, backends: &Backends) -> Self {
        let auth = Some(backends.authenticator(settings));
        Self {
            gate: Gate::new("protected", settings, backends.limiter.clone(), backends.audit(), auth),
            users: backends.users.clone(),
            lockouts: backends.lockouts.clone(),
            hasher: PasswordHasher::owasp(),
            policy: settings.password_policy.clone(),
            lockout: settings.lockout,
        }
    }
}

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    state.gate.serve(req, |call| dispatch(state, call)).await
}

async fn dispatch(state: &State, call: Call) -> Result<Reply, ApiError> {
    match call.route.operation {
        "getMe" => Ok(Reply::json(200, call.principal()?.user.public())),
        "updateMe" => update_profile(state, &call).await,
        "changePassword" => change_password(state, &call).await,
        _ => Err(ApiError::NotFound),
    }
}

async fn update_profile(state: &State, call: &Call) -> Result<Reply, ApiError> {
    let user = &call.principal()?.user;
    let req: UpdateProfileRequest = parse_body(&call.body)?;
    if req.display_name.is_none() && req.email.is_none() {
        return Err(ApiError::ValidationFailed(vec![FieldError::new("body", "give display_name, email or both")]));
    }
    let display_name = req.display_name.as_deref().map(DisplayName::parse).transpose();
    let email = req.email.as_deref().map(Email::parse).transpose();
    let change = match (display_name, email) {
        (Ok(d), Ok(e)) => {
            ProfileChange { display_name: d.map(DisplayName::into_inner), email: e.map(Email::into_inner) }
        }
        (d, e) => return Err(ApiError::ValidationFailed([d.err(), e.err()].into_iter().flatten().collect())),
    };
    let updated = state.users.update_profile(&user.username, &change).await?;
    Ok(Reply::json(200, updated.public()))
}

async fn change_password(state: &State, call: &Call) -> Result<Reply, ApiError> {
    let user = &call.principal()?.user;
    let req: ChangePasswordRequest = parse_body(&call.body)?;
    let violations = state.policy.check(&req.new_password, &user.username);
    if !violations.is_empty() {
        return Err(ApiError::WeakPassword(violations));
    }
    let (now, audit) = (call.now, state.gate.audit());
    if let Acquire::Locked { until } = state.lockouts.acquire(&user.username, &state.lockout, now).await? {
        let event =
            call.ctx.event(EventKind::PasswordChangeFail, now).username(&user.username).detail("account locked");
        audit.record(event).await;
        return Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) });
    }
    let current = Password::new(req.current_password).into_secret();
    if state.hasher.verify_async(current, Some(user.password_hash.clone())).await == Verification::Invalid {
        let locked = state.lockouts.record_failure(&user.username, &state.lockout, now).await?;
        let event = call
            .ctx
            .event(EventKind::PasswordChangeFail, now)
            .username(&user.username)
            .detail("wrong current password");
        audit.record(event).await;
        if locked.is_some() {
            audit
                .record(call.ctx.event(EventKind::LoginLock, now).username(&user.username).detail("password change"))
                .await;
        }
        return Err(ApiError::InvalidCredentials);
    }
    state.lockouts.clear(&user.username).await?;
    let hash = state.hasher.hash_async(Password::new(req.new_password).into_secret()).await.map_err(|e| {
        tracing::error!(event = "hash_failed", error = %e);
        ApiError::Internal
    })?;
    state.users.set_password_hash(&user.username, &hash, true, now).await?;
    let event =
        call.ctx.event(EventKind::PasswordChange, now).username(&user.username).detail("all earlier tokens revoked");
    audit.record(event).await;
    Ok(Reply::no_content())
}
