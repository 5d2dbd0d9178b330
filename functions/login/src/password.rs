//! The password step of `POST /api/v1/auth/login`, ordinary or under a trusted device.

use cloudmind_security::ApiError;
use cloudmind_security::clock::{Millis, seconds_until};
use cloudmind_security::credentials::{CredentialCheck, Verdict};
use cloudmind_security::devices;
use cloudmind_security::events::EventKind;
use cloudmind_security::users::User;
use cloudmind_security::validation::{LoginRequest, Password, Username};
use cloudmind_serving::gate::{Call, Reply};
use secrecy::SecretString;

use crate::complete::{Via, second_factor_or_complete};
use crate::{Login, UNKNOWN_USERNAME};

pub(crate) async fn login(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: LoginRequest = call.body()?;
    let key = Username::lockout_key(&req.username);
    let now = call.now;
    let remember = req.remember_device;
    let password = Password::new(req.password).into_secret();
    // A trusted device of this username is judged under its own lockout key, not the username's; once its
    // attempts are used up (and it is revoked), the login is an ordinary one.
    if let Some(token) = &req.device_token {
        let id = devices::device_id(token);
        if state.devices.get(&id, &key, now).await?.is_some()
            && let Some(answer) = device_login(state, &call, &key, &id, password.clone(), remember, now).await?
        {
            return Ok(answer);
        }
    }
    let check = state.credentials();
    let account = async { Ok(state.users.get(&key).await?.map(with_hash)) };
    // With MFA on, the right password does not complete the login: the failure count stays until the code. Nor
    // does it for an account that is disabled or (`REQUIRE_VERIFIED_EMAIL`) not verified.
    let completes = |u: &User| !u.mfa.enabled && admissible(state, u).is_ok();
    match check.check_then(&key, account, password.clone(), now, completes).await? {
        Verdict::Valid { account, needs_rehash } => {
            admit(state, &call, &account).await?;
            if needs_rehash {
                rehash(state, &account, password).await;
            }
            second_factor_or_complete(state, &call, &account, Via { remember, device: None }, now).await
        }
        Verdict::Locked { until } => {
            // No verdict, and no password check: only an existing account's name reaches the log and the audit
            // trail (a password typed into the username field that happens to lock never does).
            let shown = shown_name(state, &key).await;
            state
                .gate
                .observer()
                .record(call.event(EventKind::LoginFail).username(shown).detail("account locked"))
                .await;
            Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) })
        }
        Verdict::Invalid { locked_until, account_exists } => {
            // Only an existing account's name reaches the log and the audit trail.
            let shown = if account_exists { key.as_str() } else { UNKNOWN_USERNAME };
            let audit = state.gate.observer();
            audit.record(call.event(EventKind::LoginFail).username(shown).detail("invalid credentials")).await;
            if let Some(until) = locked_until {
                let detail =
                    format!("locked for {} s after {} failures", seconds_until(now, until), state.lockout.max_attempts);
                audit.record(call.event(EventKind::LoginLock).username(shown).detail(detail)).await;
            }
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// A login under a trusted device: its attempt takes a slot under the device's lockout key (at most
/// `MAX_LOGIN_ATTEMPTS` verdicts however many arrive at once), the username's lockout neither refuses nor counts
/// it, and the failure that locks the device's key revokes the device. `None` when the device's attempts are used
/// up: it is revoked, and the caller goes on with an ordinary login.
async fn device_login(
    state: &Login,
    call: &Call,
    key: &str,
    device: &str,
    password: SecretString,
    remember: bool,
    now: Millis,
) -> Result<Option<Reply>, ApiError> {
    let audit = state.gate.observer();
    let check = state.credentials();
    let account = async { Ok(state.users.get(key).await?.map(with_hash)) };
    let device_key = devices::lockout_key(device);
    let completes = |u: &User| !u.mfa.enabled && admissible(state, u).is_ok();
    match check.check_then(&device_key, account, password.clone(), now, completes).await? {
        Verdict::Valid { account, needs_rehash } => {
            admit(state, call, &account).await?;
            if needs_rehash {
                rehash(state, &account, password).await;
            }
            let via = Via { remember, device: Some(device.to_string()) };
            second_factor_or_complete(state, call, &account, via, now).await.map(Some)
        }
        Verdict::Locked { .. } => {
            state.devices.revoke(key, device).await?;
            Ok(None)
        }
        Verdict::Invalid { locked_until, account_exists } => {
            let shown = if account_exists { key } else { UNKNOWN_USERNAME };
            let mut detail = "invalid credentials (trusted device)".to_string();
            if locked_until.is_some() {
                state.devices.revoke(key, device).await?;
                detail = format!(
                    "invalid credentials; the trusted device is revoked after {} failures",
                    state.lockout.max_attempts
                );
            }
            audit.record(call.event(EventKind::LoginFail).username(shown).detail(detail)).await;
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// Whether the right password may go on to a login: not for a disabled account (403 `account_disabled`), nor,
/// with `REQUIRE_VERIFIED_EMAIL`, for an unverified address (403 `email_not_verified`). Checked only after the
/// password: a wrong one is 401 whatever the account's state.
fn admissible(state: &Login, user: &User) -> Result<(), ApiError> {
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    if state.require_verified_email && !user.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    Ok(())
}

/// [`admissible`], with a refusal recorded.
async fn admit(state: &Login, call: &Call, user: &User) -> Result<(), ApiError> {
    let Err(refusal) = admissible(state, user) else { return Ok(()) };
    let detail = if refusal == ApiError::AccountDisabled { "account disabled" } else { "e-mail not verified" };
    state.gate.observer().record(call.event(EventKind::LoginFail).username(&user.username).detail(detail)).await;
    Err(refusal)
}

/// A user with the stored hash its password is checked against.
fn with_hash(user: User) -> (User, String) {
    let hash = user.password_hash.clone();
    (user, hash)
}

/// The name a refused login shows: the login name if it is an existing account's, else [`UNKNOWN_USERNAME`].
async fn shown_name<'a>(state: &Login, key: &'a str) -> &'a str {
    if Username::parse(key).is_err() {
        return UNKNOWN_USERNAME;
    }
    match state.users.get(key).await {
        Ok(Some(_)) => key,
        _ => UNKNOWN_USERNAME,
    }
}

/// Stores a hash with the current parameters, unless the password changed since it was checked (a concurrent
/// password change or reset wins); a failure is logged and the login still succeeds.
pub(crate) async fn rehash(state: &Login, user: &User, password: SecretString) {
    let fresh = match state.hasher.hash_async(password).await {
        Ok(hash) => hash,
        Err(e) => return tracing::warn!(event = "rehash_failed", error = %e),
    };
    match state.users.rehash(&user.username, &user.password_hash, &fresh).await {
        Ok(true) => {}
        Ok(false) => tracing::info!(event = "rehash_skipped", detail = "the password changed since it was checked"),
        Err(e) => tracing::warn!(event = "rehash_not_stored", error = %cloudmind_security::store::error_chain(&e)),
    }
}

impl Login {
    /// The credential check of this function: its lockout store, policy and hasher.
    pub(crate) fn credentials(&self) -> CredentialCheck<'_> {
        CredentialCheck { lockouts: &self.lockouts, policy: &self.lockout, hasher: &self.hasher }
    }
}
