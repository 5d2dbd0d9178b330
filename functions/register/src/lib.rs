//! `POST /api/v1/auth/register`: creates a user under the password policy and queues the message that verifies its
//! address; `POST /api/v1/auth/email/verify`: spends that message's token.
//!
//! Run it alone with `cargo lambda watch` (then `cargo lambda invoke register --data-file
//! events/register-success.json`), or with every other function behind the local server: `make run`.

use std::sync::Arc;

use cloudmind_security::breach::BreachedPasswords;
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::links::{LinkKind, LinkStore, token_hash, token_username};
use cloudmind_security::mail::{MailQueue, queue_verification};
use cloudmind_security::password::{PasswordPolicy, Violation};
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::users::{User, UserStore};
use cloudmind_security::validation::{DisplayName, Email, LinkTokenRequest, Password, RegisterRequest, Username};
use cloudmind_security::{ApiError, FieldError, StoreError};
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Anonymous, Call, Gate, Reply, StatusCode};
use cloudmind_serving::routes::{Method, Operation, Route};

/// The register function.
#[derive(Clone)]
pub struct Register {
    gate: Gate,
    users: Arc<dyn UserStore>,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    breach: Arc<dyn BreachedPasswords>,
    registration_enabled: bool,
    links: Arc<dyn LinkStore>,
    mail: Arc<dyn MailQueue>,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Register,
    VerifyEmail,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[Self::Register, Self::VerifyEmail];
    fn route(self) -> Route {
        match self {
            Self::Register => Route::new(Method::POST, "/api/v1/auth/register", "register", PolicyId::Register, true),
            Self::VerifyEmail => {
                Route::new(Method::POST, "/api/v1/auth/email/verify", "verifyEmail", PolicyId::Api, true)
            }
        }
    }
}

impl Function for Register {
    const NAME: &'static str = "register";
    type Op = Op;
    type Caller = Anonymous;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        let settings = ports.settings();
        Ok(Self {
            gate: ports.gate::<Self>().await?,
            users: ports.users().await?,
            hasher: PasswordHasher::owasp(),
            policy: settings.password_policy.clone(),
            breach: ports.breach().await?,
            registration_enabled: settings.registration_enabled,
            links: ports.links().await?,
            mail: ports.mail_queue().await?,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call) -> Result<Reply, ApiError> {
        match op {
            Op::Register => register(self, call).await,
            Op::VerifyEmail => verify_email(self, call).await,
        }
    }
}

async fn register(state: &Register, call: Call) -> Result<Reply, ApiError> {
    let req: RegisterRequest = call.body()?;
    if !state.registration_enabled {
        return Err(ApiError::RegistrationDisabled);
    }
    // The service's own names (admin…, root, security, support, system…) are not for registration.
    let username = Username::parse(&req.username)
        .and_then(|u| if u.is_reserved() { Err(FieldError::new("username", "is reserved")) } else { Ok(u) });
    let email = Email::parse(&req.email);
    let display_name = DisplayName::parse(req.display_name.as_deref().unwrap_or(&req.username));
    let (username, email, display_name) = match (username, email, display_name) {
        (Ok(u), Ok(e), Ok(d)) => (u, e, d),
        (u, e, d) => {
            let errors: Vec<FieldError> = [u.err(), e.err(), d.err()].into_iter().flatten().collect();
            return Err(ApiError::ValidationFailed(errors));
        }
    };
    let mut violations = state.policy.check(&req.password, username.as_str());
    let breach = state.breach.check(&req.password).await;
    if let Some(cause) = breach.degraded {
        state.gate.observer().record(call.event(EventKind::DependencyDegraded).detail(cause)).await;
    }
    if breach.breached {
        violations.push(Violation::BreachedPassword);
    }
    if !violations.is_empty() {
        return Err(ApiError::WeakPassword(violations));
    }
    if state.users.get(username.as_str()).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    let password_hash = state.hasher.hash_async(Password::new(req.password).into_secret()).await?;
    let user = User::new(username, email, display_name, password_hash, call.now);
    match state.users.create(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ApiError::UsernameTaken),
        Err(e) => return Err(e.into()),
    }
    let event = call.event(EventKind::UserCreated).username(&user.username);
    state.gate.observer().record(event).await;
    // The verification message is queued, not sent: a transport that fails never fails the registration.
    if let Err(e) = queue_verification(state.links.as_ref(), state.mail.as_ref(), &user.username, call.now).await {
        let detail = format!("verification not queued: {}", cloudmind_security::store::error_chain(&e));
        state.gate.observer().record(call.event(EventKind::DependencyDegraded).detail(detail)).await;
    }
    Ok(Reply::json(StatusCode::CREATED, user.public()))
}

/// Spends a verification link: the address it was sent to becomes verified, if it is still the user's.
async fn verify_email(state: &Register, call: Call) -> Result<Reply, ApiError> {
    let req: LinkTokenRequest = call.body()?;
    let username = token_username(&req.token).ok_or(ApiError::LinkInvalid)?;
    let record = state
        .links
        .take(&username, LinkKind::VerifyEmail, &token_hash(&req.token), call.now)
        .await?
        .ok_or(ApiError::LinkInvalid)?;
    // A link for an address changed since verifies nothing.
    let user = state.users.set_email_verified(&username, &record.email).await?.ok_or(ApiError::LinkInvalid)?;
    state.gate.observer().record(call.event(EventKind::EmailVerified).username(&user.username)).await;
    Ok(Reply::json(StatusCode::OK, user.public()))
}
