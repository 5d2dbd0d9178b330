//! The caller's account as a whole: a new verification message (`POST /api/v1/me/email/verification`), an export
//! of everything stored about it (`GET /api/v1/me/export`), and its erasure (`DELETE /api/v1/me`).

use cloudmind_security::ApiError;
use cloudmind_security::FieldError;
use cloudmind_security::account::{self, Stores};
use cloudmind_security::clock::rfc3339;
use cloudmind_security::events::EventKind;
use cloudmind_security::mail::queue_verification;
use cloudmind_security::validation::EraseRequest;
use cloudmind_serving::gate::{Call, Principal, Reply, StatusCode};
use serde_json::json;

use crate::Protected;
use crate::reauth::Refusal;

/// How many of the caller's audit events an export holds at most (the trail keeps 90 days).
const EXPORTED_EVENTS: usize = 1_000;

pub(crate) async fn send_verification(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    if user.email_verified {
        return Err(ApiError::EmailAlreadyVerified);
    }
    match queue_verification(state.links.as_ref(), state.mail.as_ref(), &user.username, call.now).await? {
        Ok(()) => Ok(Reply::json(StatusCode::ACCEPTED, json!({"status": "accepted"}))),
        Err(wait_ms) => Err(ApiError::RateLimited { retry_after: wait_ms.div_ceil(1_000).max(1) }),
    }
}

pub(crate) async fn export(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let (sessions, devices, events) = tokio::try_join!(
        state.sessions.list(&user.username),
        state.account.devices(&user.username),
        state.events.of_user(&user.username, EXPORTED_EVENTS),
    )?;
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.sid,
                "created_at": rfc3339(s.created_at),
                "last_used_at": rfc3339(s.last_used_at),
                "ip": s.ip,
                "revoked": s.revoked,
            })
        })
        .collect();
    let devices: Vec<_> = devices
        .iter()
        .map(|d| json!({"trusted_at": rfc3339(d.issued_at), "expires_at": rfc3339(d.expires_at)}))
        .collect();
    let events: Vec<_> = events.iter().map(|e| e.public()).collect();
    let body = json!({
        "user": user.public(),
        "sessions": sessions,
        "devices": devices,
        "passkeys": [],
        "events": events,
    });
    Ok(Reply::json(StatusCode::OK, body))
}

/// Erases the caller's account after the password (and the code, with MFA on), under the lockout.
pub(crate) async fn erase(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: EraseRequest = call.body()?;
    let wrong = Refusal { kind: EventKind::LoginFail, detail: "wrong password (account erasure)" };
    match (&req.code, user.mfa.enabled) {
        (None, true) => {
            return Err(ApiError::ValidationFailed(vec![FieldError::new("code", "is required: MFA is on")]));
        }
        (Some(code), true) => {
            state.reauthenticate(call, req.password, false, wrong).await?;
            state.reauthenticate_code(call, code).await?;
        }
        (_, false) => state.reauthenticate(call, req.password, true, wrong).await?,
    }
    let stores =
        Stores { users: &*state.users, account: &*state.account, lockouts: &*state.lockouts, events: &*state.events };
    let erased = account::erase(&stores, &user.username, |id| state.mfa_keys.pseudonym(id), call.now).await?;
    let detail = format!("erased by its owner ({} items)", erased.items);
    state.gate.observer().record(call.event(EventKind::UserDeleted).username(&erased.pseudonym).detail(detail)).await;
    Ok(Reply::no_content())
}
