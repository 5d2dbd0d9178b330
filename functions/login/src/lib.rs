//! `POST /api/v1/auth/login`: verifies credentials under the lockout, starts a session and issues an access token
//! and a refresh token; `POST /api/v1/auth/mfa`: the second step of an account with MFA; `POST
//! /api/v1/auth/refresh`: spends a refresh token for the next pair; `GET /.well-known/jwks.json` and
//! `GET /.well-known/openid-configuration`: the public keys of the tokens it signs (`wellknown.rs`);
//! `POST /api/v1/auth/password/forgot` and `.../reset`: a forgotten password (`recovery.rs`).
//!
//! After the gate's per-IP limit: the lockout takes a slot (423 when none is left, even for the right password),
//! then argon2id verifies, against a dummy hash when the username is unknown so both cost the same. A failure
//! counts toward the lockout; a success clears it, re-hashes if the parameters changed, and returns the tokens.
//! A trusted device's logins take slots under the device's own key instead (`password.rs`). A refresh token is
//! single use: a conditional write lets one of concurrent refreshes win, and a spent token presented again revokes
//! its whole session, except the token rotated last within `REFRESH_REUSE_GRACE_SECONDS` (`refresh.rs`).

mod complete;
mod mfa_step;
mod password;
mod recovery;
mod refresh;
mod wellknown;

use std::sync::Arc;

use cloudmind_security::ApiError;
use cloudmind_security::breach::BreachedPasswords;
use cloudmind_security::devices::DeviceStore;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::links::LinkStore;
use cloudmind_security::lockout::{LockoutPolicy, LockoutStore};
use cloudmind_security::mail::MailQueue;
use cloudmind_security::mfa::{MfaKeys, MfaStore};
use cloudmind_security::password::PasswordPolicy;
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::tokens::TokenService;
use cloudmind_security::users::{SessionLookup, UserStore};
use cloudmind_serving::config::SessionPolicy;
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Anonymous, Call, Gate, Reply};
use cloudmind_serving::routes::{Method, Operation, Route};

/// What the log and the audit trail show for a login name that is not an existing account.
pub const UNKNOWN_USERNAME: &str = "(unknown username)";

/// The login function.
#[derive(Clone)]
pub struct Login {
    gate: Gate,
    users: Arc<dyn UserStore>,
    lockouts: Arc<dyn LockoutStore>,
    tokens: TokenService,
    hasher: PasswordHasher,
    lockout: LockoutPolicy,
    sessions: Arc<dyn SessionStore>,
    /// A refresh token's session and its user, read together.
    lookup: Arc<dyn SessionLookup>,
    session_policy: SessionPolicy,
    mfa: Arc<dyn MfaStore>,
    mfa_keys: MfaKeys,
    devices: Arc<dyn DeviceStore>,
    device_token_ms: u64,
    /// Where the well-known documents are served when the settings say (the issuer when it is a URL, else
    /// `APP_BASE_URL` when set); else where the request came in (wellknown.rs).
    public_base: Option<String>,
    /// `APP_BASE_URL` or its default: the last resort.
    app_base: String,
    links: Arc<dyn LinkStore>,
    mail: Arc<dyn MailQueue>,
    policy: PasswordPolicy,
    breach: Arc<dyn BreachedPasswords>,
    /// `REQUIRE_VERIFIED_EMAIL`.
    require_verified_email: bool,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Login,
    Refresh,
    Mfa,
    Jwks,
    OpenIdConfiguration,
    ForgotPassword,
    ResetPassword,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[
        Self::Login,
        Self::Refresh,
        Self::Mfa,
        Self::Jwks,
        Self::OpenIdConfiguration,
        Self::ForgotPassword,
        Self::ResetPassword,
    ];
    fn route(self) -> Route {
        match self {
            Self::Login => Route::new(Method::POST, "/api/v1/auth/login", "login", PolicyId::Login, true),
            Self::Refresh => Route::new(Method::POST, "/api/v1/auth/refresh", "refresh", PolicyId::Api, true),
            // The second step counts against the login limits: it is a guess at a credential.
            Self::Mfa => Route::new(Method::POST, "/api/v1/auth/mfa", "loginMfa", PolicyId::Login, true),
            // Public documents, limited like /health.
            Self::Jwks => Route::new(Method::GET, "/.well-known/jwks.json", "getJwks", PolicyId::Health, false),
            Self::OpenIdConfiguration => Route::new(
                Method::GET,
                "/.well-known/openid-configuration",
                "getOpenIdConfiguration",
                PolicyId::Health,
                false,
            ),
            // Both count against the login limits per IP (a reset is a guess at a credential too).
            Self::ForgotPassword => {
                Route::new(Method::POST, "/api/v1/auth/password/forgot", "forgotPassword", PolicyId::Login, true)
            }
            Self::ResetPassword => {
                Route::new(Method::POST, "/api/v1/auth/password/reset", "resetPassword", PolicyId::Login, true)
            }
        }
    }
}

impl Function for Login {
    const NAME: &'static str = "login";
    type Op = Op;
    type Caller = Anonymous;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        // Nothing is hashed here (Lambda bills the init): the dummy hash of unknown usernames is built in.
        let hasher = PasswordHasher::owasp();
        // The two secrets (signing keys, MFA key) are fetched concurrently.
        let (tokens, mfa_keys) = tokio::try_join!(ports.tokens(), ports.mfa_keys())?;
        Ok(Self {
            gate: ports.gate::<Self>().await?,
            users: ports.users().await?,
            lockouts: ports.lockouts().await?,
            tokens,
            hasher,
            lockout: ports.settings().lockout,
            sessions: ports.session_store().await?,
            lookup: ports.sessions().await?,
            session_policy: ports.settings().sessions,
            mfa: ports.mfa().await?,
            mfa_keys,
            devices: ports.devices().await?,
            device_token_ms: ports.settings().device_token_ms,
            public_base: ports.settings().public_base_url(),
            app_base: ports.settings().app_base_url.clone(),
            links: ports.links().await?,
            mail: ports.mail_queue().await?,
            policy: ports.settings().password_policy.clone(),
            breach: ports.breach().await?,
            require_verified_email: ports.settings().require_verified_email,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call) -> Result<Reply, ApiError> {
        match op {
            Op::Login => password::login(self, call).await,
            Op::Refresh => refresh::refresh(self, call).await,
            Op::Mfa => mfa_step::mfa_step(self, call).await,
            Op::Jwks => wellknown::jwks(self),
            Op::OpenIdConfiguration => wellknown::openid_configuration(self, &call),
            Op::ForgotPassword => recovery::forgot(self, call).await,
            Op::ResetPassword => recovery::reset(self, call).await,
        }
    }
}

impl Login {
    /// The password hasher (its verification count shows what a login cost).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
}
