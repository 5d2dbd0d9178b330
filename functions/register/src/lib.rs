//! `POST /api/v1/auth/register`: creates a user under the password policy.
//!
//! Run it alone with `cargo lambda watch` (then `cargo lambda invoke register --data-file
//! events/register-success.json`), or with every other function behind the local server: `make run`.

use std::sync::Arc;

use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::Settings;
use cloudmind_platform::gate::{Call, Gate, Reply};
use cloudmind_platform::{Body, Request, Response};
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::password::PasswordPolicy;
use cloudmind_security::users::{ROLE_USER, User, UserStore};
use cloudmind_security::validation::{DisplayName, Email, Password, RegisterRequest, Username, parse_body};
use cloudmind_security::{ApiError, FieldError, StoreError};

/// What the register function needs.
#[derive(Clone)]
pub struct State {
    gate: Gate,
    users: Arc<dyn UserStore>,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    registration_enabled: bool,
}

impl State {
    pub fn new(settings: &Settings, backends: &Backends) -> Self {
        Self {
            gate: Gate::new("register", settings, backends.limiter.clone(), backends.audit(), None),
            users: backends.users.clone(),
            hasher: PasswordHasher::owasp(),
            policy: settings.password_policy.clone(),
            registration_enabled: settings.registration_enabled,
        }
    }
}

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    state.gate.serve(req, |call| register(state, call)).await
}

async fn register(state: &State, call: Call) -> Result<Reply, ApiError> {
    let req: RegisterRequest = parse_body(&call.body)?;
    if !state.registration_enabled {
        return Err(ApiError::RegistrationDisabled);
    }
    let username = Username::parse(&req.username);
    let email = Email::parse(&req.email);
    let display_name = DisplayName::parse(req.display_name.as_deref().unwrap_or(&req.username));
    let (username, email, display_name) = match (username, email, display_name) {
        (Ok(u), Ok(e), Ok(d)) => (u, e, d),
        (u, e, d) => {
            let errors: Vec<FieldError> = [u.err(), e.err(), d.err()].into_iter().flatten().collect();
            return Err(ApiError::ValidationFailed(errors));
        }
    };
    let violations = state.policy.check(&req.password, username.as_str());
    if !violations.is_empty() {
        return Err(ApiError::WeakPassword(violations));
    }
    if state.users.get(username.as_str()).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    let password_hash = state.hasher.hash_async(Password::new(req.password).into_secret()).await.map_err(|e| {
        tracing::error!(event = "hash_failed", error = %e);
        ApiError::Internal
    })?;
    let user = User {
        id: cloudmind_security::ids::uuid_v4(),
        username: username.into_inner(),
        email: email.into_inner(),
        display_name: display_name.into_inner(),
        password_hash,
        roles: vec![ROLE_USER.to_string()],
        created_at: call.now,
        tokens_valid_after: None,
        token_generation: 0,
        disabled: false,
    };
    match state.users.create(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ApiError::UsernameTaken),
        Err(e) => return Err(e.into()),
    }
    let event = call.ctx.event(EventKind::UserCreated, call.now).username(&user.username);
    state.gate.audit().record(event).await;
    Ok(Reply::json(201, user.public()))
}
