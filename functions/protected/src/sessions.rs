//! The caller's sessions (`GET /api/v1/me/sessions`, `DELETE /api/v1/me/sessions/{id}`) and trusted devices
//! (`DELETE /api/v1/me/devices`).

use cloudmind_security::ApiError;
use cloudmind_security::clock::rfc3339;
use cloudmind_security::events::EventKind;
use cloudmind_serving::gate::{Call, Principal, Reply, StatusCode};
use serde_json::json;

use crate::Protected;

/// The caller's live sessions, newest first.
pub(crate) async fn list(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let mut sessions = state.sessions.list(&user.username).await?;
    sessions.retain(|s| s.is_live(state.session_idle_ms, call.now, user.token_generation));
    sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.sid.cmp(&a.sid)));
    let current = &call.caller.claims.sid;
    let listed: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.sid,
                "created_at": rfc3339(s.created_at),
                "last_used_at": rfc3339(s.last_used_at),
                "ip": s.ip,
                "current": &s.sid == current,
            })
        })
        .collect();
    Ok(Reply::json(StatusCode::OK, json!({ "sessions": listed })))
}

/// Revokes one of the caller's live sessions (404 for any other id, so ids of other users cannot be probed).
pub(crate) async fn revoke(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let id = call.param("id").unwrap_or_default();
    let is_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let live = if is_id { state.sessions.get(&user.username, id).await? } else { None }
        .filter(|s| s.is_live(state.session_idle_ms, call.now, user.token_generation));
    if live.is_none() || !state.sessions.revoke(&user.username, id).await? {
        return Err(ApiError::NotFound);
    }
    let event = call.event(EventKind::SessionRevoked).username(&user.username).detail("revoked from the sessions list");
    state.gate.observer().record(event).await;
    Ok(Reply::no_content())
}

/// `DELETE /api/v1/me/devices`: every trusted device of the caller is ordinary again.
pub(crate) async fn revoke_devices(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    state.devices.revoke_all(&user.username, call.now, state.device_token_ms).await?;
    state.gate.observer().record(call.event(EventKind::DevicesRevoked).username(&user.username)).await;
    Ok(Reply::no_content())
}
