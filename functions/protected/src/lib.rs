//! The caller's own profile: `GET /api/v1/me`, `PATCH /api/v1/me`, `PUT /api/v1/me/password`, and the caller's
//! sessions: `GET /api/v1/me/sessions`, `DELETE /api/v1/me/sessions/{id}`.
//!
//! A password change verifies the current password under the lockout (a wrong one counts as a failed login) and
//! revokes every token and every session issued before it (the user's token generation is bumped).

use std::sync::Arc;

use cloudmind_security::breach::BreachedPasswords;
use cloudmind_security::clock::seconds_until;
use cloudmind_security::credentials::{CredentialCheck, FactorVerdict, Verdict};
use cloudmind_security::devices::DeviceStore;
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::lockout::{LockoutPolicy, LockoutStore};
use cloudmind_security::mfa::{self, MfaKeys, MfaStore};
use cloudmind_security::password::{PasswordPolicy, Violation};
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::users::{ProfileChange, UserStore};
use cloudmind_security::validation::{
    ChangePasswordRequest, DisplayName, Email, MfaCodeRequest, MfaDisableRequest, Password, UpdateProfileRequest,
};
use cloudmind_security::{ApiError, FieldError};
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Call, Gate, Principal, Reply, StatusCode};
use cloudmind_serving::routes::{Method, Operation, Route};

/// The protected function: the caller's own profile.
#[derive(Clone)]
pub struct Protected {
    gate: Gate,
    users: Arc<dyn UserStore>,
    lockouts: Arc<dyn LockoutStore>,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    breach: Arc<dyn BreachedPasswords>,
    lockout: LockoutPolicy,
    sessions: Arc<dyn SessionStore>,
    session_idle_ms: u64,
    mfa: Arc<dyn MfaStore>,
    mfa_keys: MfaKeys,
    devices: Arc<dyn DeviceStore>,
    device_token_ms: u64,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetMe,
    UpdateMe,
    ChangePassword,
    ListSessions,
    RevokeSession,
    EnrolTotp,
    ConfirmTotp,
    DisableTotp,
    RevokeDevices,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[
        Self::GetMe,
        Self::UpdateMe,
        Self::ChangePassword,
        Self::ListSessions,
        Self::RevokeSession,
        Self::EnrolTotp,
        Self::ConfirmTotp,
        Self::DisableTotp,
        Self::RevokeDevices,
    ];
    fn route(self) -> Route {
        match self {
            Self::GetMe => Route::new(Method::GET, "/api/v1/me", "getMe", PolicyId::Api, false),
            Self::UpdateMe => Route::new(Method::PATCH, "/api/v1/me", "updateMe", PolicyId::Api, true),
            Self::ChangePassword => {
                Route::new(Method::PUT, "/api/v1/me/password", "changePassword", PolicyId::Api, true)
            }
            Self::ListSessions => Route::new(Method::GET, "/api/v1/me/sessions", "listSessions", PolicyId::Api, false),
            Self::RevokeSession => {
                Route::new(Method::DELETE, "/api/v1/me/sessions/{id}", "revokeSession", PolicyId::Api, false)
            }
            Self::EnrolTotp => Route::new(Method::POST, "/api/v1/me/mfa/totp", "enrolTotp", PolicyId::Api, false),
            Self::ConfirmTotp => {
                Route::new(Method::POST, "/api/v1/me/mfa/totp/confirm", "confirmTotp", PolicyId::Api, true)
            }
            Self::DisableTotp => Route::new(Method::DELETE, "/api/v1/me/mfa/totp", "disableTotp", PolicyId::Api, true),
            Self::RevokeDevices => {
                Route::new(Method::DELETE, "/api/v1/me/devices", "revokeDevices", PolicyId::Api, false)
            }
        }
    }
}

impl Function for Protected {
    const NAME: &'static str = "protected";
    type Op = Op;
    type Caller = Principal;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        let settings = ports.settings();
        Ok(Self {
            gate: ports.gate::<Self>().await?,
            users: ports.users().await?,
            lockouts: ports.lockouts().await?,
            hasher: PasswordHasher::owasp(),
            policy: settings.password_policy.clone(),
            breach: ports.breach().await?,
            lockout: settings.lockout,
            sessions: ports.session_store().await?,
            session_idle_ms: settings.sessions.idle_ms,
            mfa: ports.mfa().await?,
            mfa_keys: ports.mfa_keys().await?,
            devices: ports.devices().await?,
            device_token_ms: settings.device_token_ms,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call<Principal>) -> Result<Reply, ApiError> {
        match op {
            Op::GetMe => Ok(Reply::json(StatusCode::OK, call.caller.user.public())),
            Op::UpdateMe => update_profile(self, &call).await,
            Op::ChangePassword => change_password(self, &call).await,
            Op::ListSessions => list_sessions(self, &call).await,
            Op::RevokeSession => revoke_session(self, &call).await,
            Op::EnrolTotp => enrol_totp(self, &call).await,
            Op::ConfirmTotp => confirm_totp(self, &call).await,
            Op::DisableTotp => disable_totp(self, &call).await,
            Op::RevokeDevices => revoke_devices(self, &call).await,
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
    Ok(Reply::json(StatusCode::OK, updated.public()))
}

async fn change_password(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: ChangePasswordRequest = call.body()?;
    let (now, audit) = (call.now, state.gate.observer());
    let mut violations = state.policy.check(&req.new_password, &user.username);
    let breach = state.breach.check(&req.new_password).await;
    if let Some(cause) = breach.degraded {
        audit.record(call.event(EventKind::DependencyDegraded).detail(cause)).await;
    }
    if breach.breached {
        violations.push(Violation::BreachedPassword);
    }
    if !violations.is_empty() {
        return Err(ApiError::WeakPassword(violations));
    }
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
    state.devices.revoke_all(&user.username, now, state.device_token_ms).await?;
    let event = call
        .event(EventKind::PasswordChange)
        .username(&user.username)
        .detail("all earlier tokens, sessions and trusted devices revoked");
    audit.record(event).await;
    Ok(Reply::no_content())
}

/// The caller's live sessions, newest first.
async fn list_sessions(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let mut sessions = state.sessions.list(&user.username).await?;
    sessions.retain(|s| s.is_live(state.session_idle_ms, call.now, user.token_generation));
    sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.sid.cmp(&a.sid)));
    let current = &call.caller.claims.sid;
    let listed: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.sid,
                "created_at": cloudmind_security::clock::rfc3339(s.created_at),
                "last_used_at": cloudmind_security::clock::rfc3339(s.last_used_at),
                "ip": s.ip,
                "current": &s.sid == current,
            })
        })
        .collect();
    Ok(Reply::json(StatusCode::OK, serde_json::json!({ "sessions": listed })))
}

/// Revokes one of the caller's live sessions (404 for any other id, so ids of other users cannot be probed).
async fn revoke_session(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let id = call.param("id").unwrap_or_default();
    let is_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let live = if is_id { state.sessions.get(&user.username, id).await? } else { None }
        .filter(|s| s.is_live(state.session_idle_ms, call.now, user.token_generation));
    if live.is_none() || !state.sessions.revoke(&user.username, id).await? {
        return Err(ApiError::NotFound);
    }
    let event = call.event(EventKind::SessionRevoked).username(&user.username).detail("revoked from the sessions list");
    state.gate.observer().record(event).await;
    Ok(Reply::no_content())
}

/// `POST /api/v1/me/mfa/totp`: a new secret, pending until a code of it confirms it (replacing any pending one).
async fn enrol_totp(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    if user.mfa.enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let secret = mfa::new_secret();
    let sealed = state.mfa_keys.seal_secret(&user.username, &secret);
    if !state.mfa.set_pending(&user.username, &sealed).await? {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let base32 = mfa::base32(&secret);
    Ok(Reply::json(
        StatusCode::OK,
        serde_json::json!({"secret": base32, "otpauth_uri": mfa::otpauth_uri(&user.username, &base32)}),
    ))
}

/// `POST /api/v1/me/mfa/totp/confirm`: the current code of the pending secret turns MFA on; the answer holds the
/// recovery codes, shown this once.
async fn confirm_totp(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: MfaCodeRequest = call.body()?;
    if user.mfa.enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let invalid = |message: &str| ApiError::ValidationFailed(vec![FieldError::new("code", message)]);
    let Some(pending) = &user.mfa.pending else {
        return Err(invalid("no enrolment is pending: POST /api/v1/me/mfa/totp first"));
    };
    let Some(step) = mfa::pending_step(&state.mfa_keys, user, &req.code, call.now)? else {
        return Err(invalid("is not the current code of the pending secret"));
    };
    let codes = mfa::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| state.mfa_keys.recovery_hash(c)).collect();
    if !state.mfa.enable(&user.username, pending, &hashes, step).await? {
        // Another request enrolled again or confirmed first.
        return Err(invalid("the pending enrolment changed: enrol again"));
    }
    state.gate.observer().record(call.event(EventKind::MfaEnabled).username(&user.username)).await;
    Ok(Reply::json(StatusCode::OK, serde_json::json!({"recovery_codes": codes})))
}

/// `DELETE /api/v1/me/mfa/totp`: the password and a code (TOTP or recovery) turn MFA off; either wrong is 401 and
/// counts toward the lockout.
async fn disable_totp(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: MfaDisableRequest = call.body()?;
    let (now, audit) = (call.now, state.gate.observer());
    let check = CredentialCheck { lockouts: &state.lockouts, policy: &state.lockout, hasher: &state.hasher };
    let account = async { Ok(Some(((), user.password_hash.clone()))) };
    let refused = |detail: &'static str| call.event(EventKind::LoginFail).username(&user.username).detail(detail);
    match check.check_then(&user.username, account, Password::new(req.password).into_secret(), now, |_| false).await? {
        Verdict::Valid { .. } => {}
        Verdict::Locked { until } => {
            audit.record(refused("account locked")).await;
            return Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) });
        }
        Verdict::Invalid { .. } => {
            audit.record(refused("wrong password turning MFA off")).await;
            return Err(ApiError::InvalidCredentials);
        }
    }
    let verify = mfa::accept_code(state.mfa.as_ref(), &state.mfa_keys, user, &req.code, now);
    match check.check_factor(&user.username, verify, now).await? {
        FactorVerdict::Valid => {}
        FactorVerdict::Locked { until } => {
            audit.record(refused("account locked")).await;
            return Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) });
        }
        FactorVerdict::Invalid { .. } => {
            audit.record(refused("wrong MFA code turning MFA off")).await;
            return Err(ApiError::InvalidCredentials);
        }
    }
    state.mfa.disable(&user.username).await?;
    audit.record(call.event(EventKind::MfaDisabled).username(&user.username).detail("by the user")).await;
    Ok(Reply::no_content())
}

/// `DELETE /api/v1/me/devices`: every trusted device of the caller is ordinary again.
async fn revoke_devices(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    state.devices.revoke_all(&user.username, call.now, state.device_token_ms).await?;
    state.gate.observer().record(call.event(EventKind::DevicesRevoked).username(&user.username)).await;
    Ok(Reply::no_content())
}
