//! `PUT /api/v1/me/password`: the current password (re-authenticated under the lockout) and a new one under the
//! policy; every token, session and trusted device issued before is revoked.

use cloudmind_security::ApiError;
use cloudmind_security::events::EventKind;
use cloudmind_security::password::Violation;
use cloudmind_security::validation::{ChangePasswordRequest, Password};
use cloudmind_serving::gate::{Call, Principal, Reply};

use crate::Protected;
use crate::reauth::Refusal;

pub(crate) async fn change(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
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
    let wrong = Refusal { kind: EventKind::PasswordChangeFail, detail: "wrong current password" };
    state.reauthenticate(call, req.current_password, true, wrong).await?;
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
