//! `POST /api/v1/auth/password/forgot` and `POST /api/v1/auth/password/reset`: a forgotten password.
//!
//! The request queues one job for the mail worker and answers 202, whatever the address: no account, one, several
//! (the worker looks them up, applies each account's limits and sends, after the answer). Nothing about accounts is
//! read on the request's path, so its status, body, headers and time are the same for all (the probe's
//! `enumeration.reset` measures it). A reset spends its link (one conditional write: of concurrent resets with one
//! token exactly one succeeds), then sets the password as a change does: every session, token and trusted device of
//! the user ends, and the lockout is cleared. MFA is not bypassed: the next login still asks for the code.

use cloudmind_security::ApiError;
use cloudmind_security::events::EventKind;
use cloudmind_security::links::{LinkKind, same_hash, token_hash, token_username};
use cloudmind_security::mail::MailJob;
use cloudmind_security::password::Violation;
use cloudmind_security::validation::{Email, ForgotPasswordRequest, Password, ResetPasswordRequest};
use cloudmind_serving::gate::{Call, Reply, StatusCode};
use serde_json::json;

use crate::Login;

pub(crate) async fn forgot(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: ForgotPasswordRequest = call.body()?;
    let email = Email::parse(&req.email).map_err(|e| ApiError::ValidationFailed(vec![e]))?.into_inner();
    let job = MailJob::Reset { email, client_ip: call.ctx.client_ip.clone(), request_id: call.ctx.request_id.clone() };
    // A queue that is down changes nothing in the answer either; the operator sees the failure.
    if let Err(e) = state.mail.enqueue(&job).await {
        let detail = format!("reset not queued: {}", cloudmind_security::store::error_chain(&e));
        state.gate.observer().record(call.event(EventKind::DependencyDegraded).detail(detail)).await;
    }
    Ok(Reply::json(StatusCode::ACCEPTED, json!({"status": "accepted"})))
}

pub(crate) async fn reset(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: ResetPasswordRequest = call.body()?;
    let now = call.now;
    let username = token_username(&req.token).ok_or(ApiError::LinkInvalid)?;
    let hash = token_hash(&req.token);
    let user = state.users.get(&username).await?.ok_or(ApiError::LinkInvalid)?;
    // A link that is not live costs nothing more (no hashing); the policy is checked before the link is spent.
    let live = state
        .links
        .get(&username, LinkKind::ResetPassword)
        .await?
        .is_some_and(|l| !l.hash.is_empty() && same_hash(&l.hash, &hash) && l.expires_at > now);
    if !live {
        return Err(ApiError::LinkInvalid);
    }
    let mut violations = state.policy.check(&req.new_password, &user.username);
    let breach = state.breach.check(&req.new_password).await;
    if let Some(cause) = breach.degraded {
        state.gate.observer().record(call.event(EventKind::DependencyDegraded).detail(cause)).await;
    }
    if breach.breached {
        violations.push(Violation::BreachedPassword);
    }
    if !violations.is_empty() {
        return Err(ApiError::WeakPassword(violations));
    }
    let password_hash = state.hasher.hash_async(Password::new(req.new_password).into_secret()).await?;
    // Spent here, once: the other resets with this token stop.
    state.links.take(&username, LinkKind::ResetPassword, &hash, now).await?.ok_or(ApiError::LinkInvalid)?;
    let user = state.users.set_password_hash(&username, &password_hash, true, now).await?;
    state.devices.revoke_all(&username, now, state.device_token_ms).await?;
    state.lockouts.clear(&username).await?;
    let event =
        call.event(EventKind::PasswordReset).username(&user.username).detail("every session and device revoked");
    state.gate.observer().record(event).await;
    Ok(Reply::no_content())
}
