//! `POST /api/v1/auth/login`: verifies credentials under the lockout, starts a session and issues an access token
//! and a refresh token; `POST /api/v1/auth/refresh`: spends a refresh token for the next pair.
//!
//! After the gate's per-IP limit: the lockout takes a slot (423 when none is left, even for the right password),
//! then argon2id verifies, against a dummy hash when the username is unknown so both cost the same. A failure
//! counts toward the lockout; a success clears it, re-hashes if the parameters changed, and returns the tokens.
//! A refresh token is single use: a conditional write lets one of concurrent refreshes win, and a spent token
//! presented again revokes its whole session (outside `REFRESH_REUSE_GRACE_SECONDS`).

use std::sync::Arc;

use cloudmind_security::ApiError;
use cloudmind_security::clock::Millis;
use cloudmind_security::clock::seconds_until;
use cloudmind_security::credentials::{CredentialCheck, FactorVerdict, Verdict};
use cloudmind_security::devices::{self, DeviceRecord, DeviceStore};
use cloudmind_security::events::EventKind;
use cloudmind_security::hashing::{PasswordHasher, Verification};
use cloudmind_security::lockout::{LockoutPolicy, LockoutStore};
use cloudmind_security::mfa::{self, Challenge, MfaKeys, MfaStore};
use cloudmind_security::problem::MfaToken;
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::sessions::{
    SessionRecord, SessionStore, new_refresh_token, new_session_id, refresh_hash, refresh_token_session, same_hash,
};
use cloudmind_security::tokens::TokenService;
use cloudmind_security::users::{User, UserStore};
use cloudmind_security::validation::{LoginRequest, MfaLoginRequest, Password, RefreshRequest, Username};
use cloudmind_serving::config::SessionPolicy;
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Anonymous, Call, Gate, Reply, StatusCode};
use cloudmind_serving::routes::{Method, Operation, Route};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

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
    session_policy: SessionPolicy,
    mfa: Arc<dyn MfaStore>,
    mfa_keys: MfaKeys,
    devices: Arc<dyn DeviceStore>,
    device_token_ms: u64,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Login,
    Refresh,
    Mfa,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[Self::Login, Self::Refresh, Self::Mfa];
    fn route(self) -> Route {
        match self {
            Self::Login => Route::new(Method::POST, "/api/v1/auth/login", "login", PolicyId::Login, true),
            Self::Refresh => Route::new(Method::POST, "/api/v1/auth/refresh", "refresh", PolicyId::Api, true),
            // The second step counts against the login limits: it is a guess at a credential.
            Self::Mfa => Route::new(Method::POST, "/api/v1/auth/mfa", "loginMfa", PolicyId::Login, true),
        }
    }
}

impl Function for Login {
    const NAME: &'static str = "login";
    type Op = Op;
    type Caller = Anonymous;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        let hasher = PasswordHasher::owasp();
        // The dummy hash is made now (on the hashing thread, with its memory block), so the first unknown-user
        // login costs what every other login costs.
        if let Err(e) = hasher.warm_up().await {
            tracing::warn!(event = "hash_warm_up_failed", error = %cloudmind_security::store::error_chain(&e));
        }
        Ok(Self {
            gate: ports.gate::<Self>().await?,
            users: ports.users().await?,
            lockouts: ports.lockouts().await?,
            tokens: ports.tokens().await?,
            hasher,
            lockout: ports.settings().lockout,
            sessions: ports.session_store().await?,
            session_policy: ports.settings().sessions,
            mfa: ports.mfa().await?,
            mfa_keys: ports.mfa_keys().await?,
            devices: ports.devices().await?,
            device_token_ms: ports.settings().device_token_ms,
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call) -> Result<Reply, ApiError> {
        match op {
            Op::Login => login(self, call).await,
            Op::Refresh => refresh(self, call).await,
            Op::Mfa => mfa_step(self, call).await,
        }
    }
}

impl Login {
    /// The password hasher (its verification count shows what a login cost).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
}

async fn login(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: LoginRequest = call.body()?;
    let key = Username::lockout_key(&req.username);
    let now = call.now;
    let audit = state.gate.observer();
    // A trusted device of this username is judged by its own failure count, not the username's lockout.
    if let Some(token) = &req.device_token {
        let id = devices::device_id(token);
        if state.devices.get(&id, &key, now).await?.is_some() {
            return device_login(state, &call, &key, &id, req.password, now).await;
        }
    }
    let remember = req.remember_device;
    let check = CredentialCheck { lockouts: &state.lockouts, policy: &state.lockout, hasher: &state.hasher };
    let account = async {
        let user = state.users.get(&key).await?.filter(|u| !u.disabled);
        Ok(user.map(|u| {
            let hash = u.password_hash.clone();
            (u, hash)
        }))
    };
    let password = Password::new(req.password).into_secret();
    // With MFA on, the right password does not complete the login: the failure count stays until the code.
    let (user, needs_rehash) = match check.check_then(&key, account, password.clone(), now, |u| !u.mfa.enabled).await? {
        Verdict::Valid { account, needs_rehash } => (account, needs_rehash),
        Verdict::Locked { until } => {
            // No lookup on this path: a name that could not be a username (a password typed into the wrong
            // field, say) is never logged.
            let shown = if Username::parse(&key).is_ok() { key.as_str() } else { UNKNOWN_USERNAME };
            audit.record(call.event(EventKind::LoginFail).username(shown).detail("account locked")).await;
            return Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) });
        }
        Verdict::Invalid { locked_until, account_exists } => {
            // Only an existing account's name reaches the log and the audit trail.
            let shown = if account_exists { key.as_str() } else { UNKNOWN_USERNAME };
            audit.record(call.event(EventKind::LoginFail).username(shown).detail("invalid credentials")).await;
            if let Some(until) = locked_until {
                let detail =
                    format!("locked for {} s after {} failures", seconds_until(now, until), state.lockout.max_attempts);
                audit.record(call.event(EventKind::LoginLock).username(shown).detail(detail)).await;
            }
            return Err(ApiError::InvalidCredentials);
        }
    };

    if needs_rehash {
        rehash(state, &user.username, password, now).await;
    }
    second_factor_or_complete(state, &call, &user, remember, now).await
}

/// After a right password: the MFA step when the account has MFA on (`remember` rides on its token), else the
/// completed login.
async fn second_factor_or_complete(
    state: &Login,
    call: &Call,
    user: &User,
    remember: bool,
    now: Millis,
) -> Result<Reply, ApiError> {
    if user.mfa.enabled {
        let (token, id) = mfa::new_challenge_token();
        let challenge = Challenge {
            username: user.username.clone(),
            expires_at: now + mfa::CHALLENGE_TTL_MS,
            remember_device: remember,
        };
        state.mfa.put_challenge(&id, &challenge).await?;
        state.gate.observer().record(call.event(EventKind::MfaRequired).username(&user.username)).await;
        return Err(ApiError::MfaRequired { mfa_token: MfaToken(token), expires_in: mfa::CHALLENGE_TTL_MS / 1_000 });
    }
    complete(state, call, user, remember, now).await
}

/// A login under a trusted device token: the password is checked without the username's lockout (which neither
/// refuses nor counts it); a failure counts against the device, and `MAX_LOGIN_ATTEMPTS` of them revoke it.
async fn device_login(
    state: &Login,
    call: &Call,
    key: &str,
    device: &str,
    password: String,
    now: Millis,
) -> Result<Reply, ApiError> {
    let audit = state.gate.observer();
    let permit = state.hasher.reserve()?;
    let user = state.users.get(key).await?.filter(|u| !u.disabled);
    let password = Password::new(password).into_secret();
    let verification = permit.verify(password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await;
    match (verification, user) {
        (Verification::Valid { needs_rehash }, Some(user)) => {
            state.devices.clear_failures(device).await?;
            if needs_rehash {
                rehash(state, &user.username, password, now).await;
            }
            second_factor_or_complete(state, call, &user, false, now).await
        }
        (_, user) => {
            let shown = if user.is_some() { key } else { UNKNOWN_USERNAME };
            let failures = state.devices.record_failure(device).await?;
            let mut detail = "invalid credentials (trusted device)".to_string();
            if failures >= state.lockout.max_attempts {
                state.devices.revoke(device).await?;
                detail = format!("invalid credentials; the trusted device is revoked after {failures} failures");
            }
            audit.record(call.event(EventKind::LoginFail).username(shown).detail(detail)).await;
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// `POST /api/v1/auth/mfa`: the `mfa_token` of a login whose password was right, and a TOTP or recovery code.
/// The token is spent by the attempt, right or wrong; a wrong code counts toward the username's lockout.
async fn mfa_step(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: MfaLoginRequest = call.body()?;
    let now = call.now;
    let audit = state.gate.observer();
    let unknown = ApiError::Unauthorized { token_presented: true };
    let Some(challenge) = state.mfa.take_challenge(&mfa::challenge_id(&req.mfa_token), now).await? else {
        return Err(unknown);
    };
    let Some(user) = state.users.get(&challenge.username).await?.filter(|u| !u.disabled && u.mfa.enabled) else {
        return Err(unknown);
    };
    let check = CredentialCheck { lockouts: &state.lockouts, policy: &state.lockout, hasher: &state.hasher };
    let verify = mfa::accept_code(state.mfa.as_ref(), &state.mfa_keys, &user, &req.code, now);
    match check.check_factor(&user.username, verify, now).await? {
        FactorVerdict::Valid => complete(state, &call, &user, challenge.remember_device, now).await,
        FactorVerdict::Locked { until } => {
            audit.record(call.event(EventKind::LoginFail).username(&user.username).detail("account locked")).await;
            Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) })
        }
        FactorVerdict::Invalid { locked_until } => {
            audit.record(call.event(EventKind::LoginFail).username(&user.username).detail("invalid MFA code")).await;
            if let Some(until) = locked_until {
                let detail =
                    format!("locked for {} s after {} failures", seconds_until(now, until), state.lockout.max_attempts);
                audit.record(call.event(EventKind::LoginLock).username(&user.username).detail(detail)).await;
            }
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// A login that passed every factor: a new session, its tokens (and a device token when asked), the success in
/// the audit trail.
async fn complete(state: &Login, call: &Call, user: &User, remember: bool, now: Millis) -> Result<Reply, ApiError> {
    let audit = state.gate.observer();
    let sid = new_session_id();
    let refresh = new_refresh_token(&sid, &user.username)?;
    let session = SessionRecord {
        sid,
        username: user.username.clone(),
        created_at: now,
        last_used_at: now,
        absolute_expiry: now.saturating_add(state.session_policy.absolute_ms),
        ip: call.ctx.client_ip.clone(),
        generation: user.token_generation,
        refresh_hash: refresh.hash,
        spent: Vec::new(),
        rotated_at: 0,
        revoked: false,
    };
    let ends = session.ends_at(state.session_policy.idle_ms);
    state.sessions.create(&session, session.forget_at()).await?;
    audit.record(call.event(EventKind::LoginSuccess).username(&user.username)).await;
    let device = if remember {
        let (token, id) = devices::new_device_token();
        let record = DeviceRecord {
            username: user.username.clone(),
            issued_at: now,
            expires_at: now.saturating_add(state.device_token_ms),
            failures: 0,
        };
        state.devices.put(&id, &record).await?;
        audit.record(call.event(EventKind::DeviceTrusted).username(&user.username)).await;
        Some(token)
    } else {
        None
    };
    let mut reply = tokens(state, user, &session.sid, &refresh.token, ends, now).await?;
    if let Some(token) = device {
        reply = reply.with_json_field("device_token", token.expose_secret());
    }
    Ok(reply)
}

/// The body of a login or a refresh: an access token of session `sid` and the refresh token that continues it.
async fn tokens(
    state: &Login,
    user: &User,
    sid: &str,
    refresh: &str,
    ends: Millis,
    now: Millis,
) -> Result<Reply, ApiError> {
    state.tokens.refresh_keys().await;
    let issued = state.tokens.issue(user, sid, now).map_err(|e| {
        tracing::error!(event = "token_issue_failed", error = %e);
        ApiError::Internal
    })?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": issued.claims.exp - issued.claims.iat,
            "refresh_token": refresh,
            "refresh_expires_in": ends.saturating_sub(now) / 1000,
        }),
    ))
}

async fn refresh(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: RefreshRequest = call.body()?;
    let unknown = ApiError::Unauthorized { token_presented: true };
    let Some((sid, username)) = refresh_token_session(&req.refresh_token) else { return Err(unknown) };
    let presented = refresh_hash(&req.refresh_token);
    let now = call.now;
    let policy = state.session_policy;
    let (session, user) = tokio::try_join!(state.sessions.get(&username, &sid), state.users.get(&username))?;
    let Some(session) = session else { return Err(unknown) };
    let current = same_hash(&session.refresh_hash, &presented);
    if !current && !session.spent.iter().any(|h| same_hash(h, &presented)) {
        return Err(unknown);
    }
    if session.revoked {
        return Err(ApiError::TokenRevoked);
    }
    if now >= session.ends_at(policy.idle_ms) {
        return Err(ApiError::TokenExpired);
    }
    let Some(user) = user.filter(|u| !u.disabled && u.token_generation == session.generation) else {
        return Err(ApiError::TokenRevoked); // the account is gone or disabled, or its password changed
    };
    let next = new_refresh_token(&sid, &username)?;
    let ends = now.saturating_add(policy.idle_ms).min(session.absolute_expiry);
    let forget_at = session.forget_at();
    if current && state.sessions.rotate(&username, &sid, &presented, &next.hash, now, forget_at).await? {
        return tokens(state, &user, &sid, &next.token, ends, now).await;
    }
    // Spent: a replay or a stolen copy, or a concurrent refresh that lost. Within the grace of the rotation it is
    // refused and the session lives on; otherwise the whole session goes.
    let rotated_at = if current {
        state.sessions.get(&username, &sid).await?.map_or(now, |s| s.rotated_at)
    } else {
        session.rotated_at
    };
    if policy.reuse_grace_ms > 0 && now.saturating_sub(rotated_at) <= policy.reuse_grace_ms {
        return Err(ApiError::TokenRevoked);
    }
    if state.sessions.revoke(&username, &sid).await? {
        let detail = "a spent refresh token was presented again: session revoked";
        state.gate.observer().record(call.event(EventKind::TokenReuse).username(&username).detail(detail)).await;
    }
    Err(ApiError::TokenRevoked)
}

/// Stores a hash with the current parameters; a failure is logged and the login still succeeds.
async fn rehash(state: &Login, username: &str, password: SecretString, now: u64) {
    match state.hasher.hash_async(password).await {
        Ok(hash) => {
            if let Err(e) = state.users.set_password_hash(username, &hash, false, now).await {
                tracing::warn!(event = "rehash_not_stored", error = %cloudmind_security::store::error_chain(&e));
            }
        }
        Err(e) => tracing::warn!(event = "rehash_failed", error = %e),
    }
}
