//! The caller's own profile: `GET /api/v1/me`, `PATCH /api/v1/me` and `PUT /api/v1/me/password`.
//!
//! A password change verifies the current password under the lockout (a wrong one counts as a failed login) and
//! revokes every token issued before it (the user's token generation is bumped).

use std::sync::Arc;

use cloudmind_platform::function::Function;
use cloudmind_platform::gate::{Call, Gate, Principal, Reply};
use cloudmind_platform::routes::{Operation, Route};
use cloudmind_platform::wiring::{Wiring, WiringError};
use cloudmind_security::clock::seconds_until;
use cloudmind_security::credentials::{CredentialCheck, Verdict};
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::lockout::{LockoutPolicy, LockoutStore};
use cloudmind_security::password::PasswordPolicy;
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::users::{ProfileChange, UserStore};
use cloudmind_security::validation::{ChangePasswordRequest, DisplayName, Email, Password, UpdateProfileRequest};
use cloudmind_security::{ApiError, FieldError};

/// The protected function: the caller's own profile.
#[derive(Clone)]
pub struct Protected {
    gate: Gate,
    users: Arc<dyn UserStore>,
    lockouts: Arc<dyn LockoutStore>,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    lockout: LockoutPolicy,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetMe,
    UpdateMe,
    ChangePassword,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[Self::GetMe, Self::UpdateMe, Self::ChangePassword];
    fn route(self) -> Route {
        match self {
            Self::GetMe => Route::new("GET", "/api/v1/me", "getMe", PolicyId::Api, false),
            Self::UpdateMe => Route::new("PATCH", "/api/v1/me", "updateMe", PolicyId::Api, true),
            Self::ChangePassword => Route::new("PUT", "/api/v1/me/password", "changePassword", PolicyId::Api, true),
        }
    }
}

impl Function for Protected {
    const NAME: &'static str = "protected";
    type Op = Op;
    type Caller = Principal;

    async fn build(wiring: &Wiring) -> Result<Self, WiringError> {
        let settings = wiring.settings();
        Ok(Self {
            gate: wiring.gate::<Self>().await?,
            users: wiring.users().await?,
            lockouts: wiring.lockouts().await?,
            hasher: PasswordHasher::owasp(),
            policy: settings.password_policy.clone(),
            lockout: settings.lockout,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call<Principal>) -> Result<Reply, ApiError> {
        match op {
            Op::GetMe => Ok(Reply::json(200, call.caller.user.public())),
            Op::UpdateMe => update_profile(self, &call).await,
            Op::ChangePassword => change_password(self, &call).await,
        }
    }
}

async fn update_profile(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: UpdateProfileRequest = call.body()?;
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

async fn change_password(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: ChangePasswordRequest = call.body()?;
    let violations = state.policy.check(&req.new_password, &user.username);
    if !violations.is_empty() {
        return Err(ApiError::WeakPassword(violations));
    }
    let (now, audit) = (call.now, state.gate.audit());
    let check = CredentialCheck { lockouts: &state.lockouts, policy: &state.lockout, hasher: &state.hasher };
    let account = async { Ok(Some(((), user.password_hash.clone()))) };
    let current = Password::new(req.current_password).into_secret();
    match check.check(&user.username, account, current, now).await? {
        Verdict::Valid { .. } => {}
        Verdict::Locked { until } => {
            let event = call.event(EventKind::PasswordChangeFail).username(&user.username).detail("account locked");
            audit.record(event).await;
            return Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) });
        }
        Verdict::Invalid { locked_until, .. } => {
            let event =
                call.event(EventKind::PasswordChangeFail).username(&user.username).detail("wrong current password");
            audit.record(event).await;
            if locked_until.is_some() {
                audit.record(call.event(EventKind::LoginLock).username(&user.username).detail("password change")).await;
            }
            return Err(ApiError::InvalidCredentials);
        }
    }
    let hash = state.hasher.hash_async(Password::new(req.new_password).into_secret()).await?;
    state.users.set_password_hash(&user.username, &hash, true, now).await?;
    let event = call.event(EventKind::PasswordChange).username(&user.username).detail("all earlier tokens revoked");
    audit.record(event).await;
    Ok(Reply::no_content())
}
