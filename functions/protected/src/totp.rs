//! TOTP: `POST /api/v1/me/mfa/totp` (enrol, after the password), `POST /api/v1/me/mfa/totp/confirm` (the first
//! code turns it on and shows the recovery codes once), `DELETE /api/v1/me/mfa/totp` (the password and a code turn
//! it off).

use cloudmind_security::events::EventKind;
use cloudmind_security::mfa;
use cloudmind_security::validation::{MfaCodeRequest, MfaDisableRequest, PasswordRequest};
use cloudmind_security::{ApiError, FieldError};
use cloudmind_serving::gate::{Call, Principal, Reply, StatusCode};
use serde_json::json;

use crate::Protected;
use crate::reauth::Refusal;

/// A new secret, pending until a code of it confirms it (replacing any pending one). The password comes first: a
/// stolen access token alone cannot turn MFA on and keep the account's owner out.
pub(crate) async fn enrol(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: PasswordRequest = call.body()?;
    if user.mfa.enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let wrong = Refusal { kind: EventKind::LoginFail, detail: "wrong password enrolling MFA" };
    state.reauthenticate(call, req.password, true, wrong).await?;
    let secret = mfa::new_secret();
    let sealed = state.mfa_keys.seal_secret(&user.username, &secret);
    if !state.mfa.set_pending(&user.username, &sealed).await? {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let base32 = mfa::base32(&secret);
    Ok(Reply::json(StatusCode::OK, json!({"secret": base32, "otpauth_uri": mfa::otpauth_uri(&user.username, &base32)})))
}

/// The current code of the pending secret turns MFA on; the answer holds the recovery codes, shown this once.
pub(crate) async fn confirm(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
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
    Ok(Reply::json(StatusCode::OK, json!({"recovery_codes": codes})))
}

/// The password and a code (TOTP or recovery) turn MFA off; either wrong is 401 and counts toward the lockout.
pub(crate) async fn disable(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: MfaDisableRequest = call.body()?;
    let wrong = Refusal { kind: EventKind::LoginFail, detail: "wrong password turning MFA off" };
    state.reauthenticate(call, req.password, false, wrong).await?;
    state.reauthenticate_code(call, &req.code).await?;
    state.mfa.disable(&user.username).await?;
    let event = call.event(EventKind::MfaDisabled).username(&user.username).detail("by the user");
    state.gate.observer().record(event).await;
    Ok(Reply::no_content())
}
