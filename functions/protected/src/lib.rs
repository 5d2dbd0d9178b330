//! The caller's own account: the profile (`GET`/`PATCH /api/v1/me`), the password (`PUT /api/v1/me/password`),
//! sessions (`GET /api/v1/me/sessions`, `DELETE /api/v1/me/sessions/{id}`), trusted devices
//! (`DELETE /api/v1/me/devices`), TOTP (`/api/v1/me/mfa/totp`), the address's verification message
//! (`POST /api/v1/me/email/verification`), an export (`GET /api/v1/me/export`) and the account's erasure
//! (`DELETE /api/v1/me`, `account.rs`).
//!
//! Whatever changes how the account is protected re-authenticates first (`reauth.rs`): the password (and the code,
//! turning MFA off) under the lockout, or under the session's trusted device while it is trusted. A password change
//! revokes every token, session and trusted device issued before it (the user's token generation is bumped).

mod account;
mod password;
mod profile;
mod reauth;
mod sessions;
mod totp;

use std::sync::Arc;

use cloudmind_security::ApiError;
use cloudmind_security::account::AccountData;
use cloudmind_security::breach::BreachedPasswords;
use cloudmind_security::devices::DeviceStore;
use cloudmind_security::events::EventSink;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::links::LinkStore;
use cloudmind_security::lockout::{LockoutPolicy, LockoutStore};
use cloudmind_security::mail::MailQueue;
use cloudmind_security::mfa::{MfaKeys, MfaStore};
use cloudmind_security::password::PasswordPolicy;
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::users::UserStore;
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Call, Gate, Principal, Reply, StatusCode};
use cloudmind_serving::routes::{Method, Operation, Route};

/// The protected function: the caller's own account.
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
    links: Arc<dyn LinkStore>,
    mail: Arc<dyn MailQueue>,
    account: Arc<dyn AccountData>,
    events: Arc<dyn EventSink>,
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
    SendVerification,
    Export,
    Erase,
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
        Self::SendVerification,
        Self::Export,
        Self::Erase,
    ];
    fn route(self) -> Route {
        let api = |method, path, id, body| Route::new(method, path, id, PolicyId::Api, body);
        match self {
            Self::GetMe => api(Method::GET, "/api/v1/me", "getMe", false),
            Self::UpdateMe => api(Method::PATCH, "/api/v1/me", "updateMe", true),
            Self::ChangePassword => api(Method::PUT, "/api/v1/me/password", "changePassword", true),
            Self::ListSessions => api(Method::GET, "/api/v1/me/sessions", "listSessions", false),
            Self::RevokeSession => api(Method::DELETE, "/api/v1/me/sessions/{id}", "revokeSession", false),
            Self::EnrolTotp => api(Method::POST, "/api/v1/me/mfa/totp", "enrolTotp", true),
            Self::ConfirmTotp => api(Method::POST, "/api/v1/me/mfa/totp/confirm", "confirmTotp", true),
            Self::DisableTotp => api(Method::DELETE, "/api/v1/me/mfa/totp", "disableTotp", true),
            Self::RevokeDevices => api(Method::DELETE, "/api/v1/me/devices", "revokeDevices", false),
            Self::SendVerification => {
                api(Method::POST, "/api/v1/me/email/verification", "sendEmailVerification", false)
            }
            Self::Export => api(Method::GET, "/api/v1/me/export", "exportMe", false),
            Self::Erase => api(Method::DELETE, "/api/v1/me", "eraseMe", true),
        }
    }
}

impl Function for Protected {
    const NAME: &'static str = "protected";
    type Op = Op;
    type Caller = Principal;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        let settings = ports.settings();
        // The gate reads the signing keys, this function the MFA key: the two secrets are fetched concurrently.
        let (gate, mfa_keys) = tokio::try_join!(ports.gate::<Self>(), ports.mfa_keys())?;
        Ok(Self {
            gate,
            users: ports.users().await?,
            lockouts: ports.lockouts().await?,
            hasher: PasswordHasher::owasp(),
            policy: settings.password_policy.clone(),
            breach: ports.breach().await?,
            lockout: settings.lockout,
            sessions: ports.session_store().await?,
            session_idle_ms: settings.sessions.idle_ms,
            mfa: ports.mfa().await?,
            mfa_keys,
            devices: ports.devices().await?,
            device_token_ms: settings.device_token_ms,
            links: ports.links().await?,
            mail: ports.mail_queue().await?,
            account: ports.account_data().await?,
            events: ports.events().await?,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call<Principal>) -> Result<Reply, ApiError> {
        match op {
            Op::GetMe => Ok(Reply::json(StatusCode::OK, call.caller.user.public())),
            Op::UpdateMe => profile::update(self, &call).await,
            Op::ChangePassword => password::change(self, &call).await,
            Op::ListSessions => sessions::list(self, &call).await,
            Op::RevokeSession => sessions::revoke(self, &call).await,
            Op::EnrolTotp => totp::enrol(self, &call).await,
            Op::ConfirmTotp => totp::confirm(self, &call).await,
            Op::DisableTotp => totp::disable(self, &call).await,
            Op::RevokeDevices => sessions::revoke_devices(self, &call).await,
            Op::SendVerification => account::send_verification(self, &call).await,
            Op::Export => account::export(self, &call).await,
            Op::Erase => account::erase(self, &call).await,
        }
    }
}
