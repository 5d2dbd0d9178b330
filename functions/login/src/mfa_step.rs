//! `POST /api/v1/auth/mfa`: the `mfa_token` of a login whose password was right, and a TOTP or recovery code.
//! The token is spent by the attempt, right or wrong; it completes a login only for the account as it was when the
//! password was checked (a password change, a reset or a disable since then bumps the generation and voids it). A
//! wrong code counts toward the username's lockout, or toward the trusted device's when the password was checked
//! under one that is still trusted.

use cloudmind_security::ApiError;
use cloudmind_security::clock::seconds_until;
use cloudmind_security::credentials::FactorVerdict;
use cloudmind_security::devices;
use cloudmind_security::events::EventKind;
use cloudmind_security::mfa;
use cloudmind_security::validation::MfaLoginRequest;
use cloudmind_serving::gate::{Call, Reply};

use crate::Login;
use crate::complete::{Via, complete};

pub(crate) async fn mfa_step(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: MfaLoginRequest = call.body()?;
    let now = call.now;
    let audit = state.gate.observer();
    let unknown = ApiError::Unauthorized { token_presented: true };
    let Some(challenge) = state.mfa.take_challenge(&mfa::challenge_id(&req.mfa_token), now).await? else {
        return Err(unknown);
    };
    let Some(user) = state
        .users
        .get(&challenge.username)
        .await?
        .filter(|u| !u.disabled && u.mfa.enabled && u.token_generation == challenge.generation)
    else {
        return Err(unknown);
    };
    let check = state.credentials();
    // The device the password was checked under, if it is still trusted: its own lockout key counts this code.
    let mut device = None;
    if let Some(id) = &challenge.device
        && state.devices.get(id, &user.username, now).await?.is_some()
    {
        device = Some(id.clone());
    }
    let mut verdict = None;
    if let Some(id) = &device {
        let verify = mfa::accept_code(state.mfa.as_ref(), &state.mfa_keys, &user, &req.code, now);
        match check.check_factor(&devices::lockout_key(id), verify, now).await? {
            // The device's attempts are used up: it is revoked, and the code is judged under the username's lockout.
            FactorVerdict::Locked { .. } => {
                state.devices.revoke(&user.username, id).await?;
                device = None;
            }
            FactorVerdict::Invalid { locked_until: Some(_) } => {
                state.devices.revoke(&user.username, id).await?;
                verdict = Some(FactorVerdict::Invalid { locked_until: None });
            }
            other => verdict = Some(other),
        }
    }
    let verdict = match verdict {
        Some(v) => v,
        None => {
            let verify = mfa::accept_code(state.mfa.as_ref(), &state.mfa_keys, &user, &req.code, now);
            check.check_factor(&user.username, verify, now).await?
        }
    };
    let via = Via { remember: challenge.remember_device, device };
    let failed = |detail: &'static str| call.event(EventKind::MfaFail).username(&user.username).detail(detail);
    match verdict {
        FactorVerdict::Valid => complete(state, &call, &user, via, now).await,
        FactorVerdict::Locked { until } => {
            audit.record(failed("account locked")).await;
            Err(ApiError::AccountLocked { retry_after: seconds_until(now, until).max(1) })
        }
        FactorVerdict::Invalid { locked_until } => {
            audit.record(failed("invalid MFA code")).await;
            if let Some(until) = locked_until {
                let detail =
                    format!("locked for {} s after {} failures", seconds_until(now, until), state.lockout.max_attempts);
                audit.record(call.event(EventKind::LoginLock).username(&user.username).detail(detail)).await;
            }
            Err(ApiError::InvalidCredentials)
        }
    }
}
