//! `POST /api/v1/auth/refresh`: spends a refresh token for the next pair.
//!
//! The live token rotates once: of concurrent refreshes with it, one wins (a conditional write). The token rotated
//! last, presented again within `REFRESH_REUSE_GRACE_SECONDS` of its rotation, is a client's retry or a second tab:
//! it gets a new pair of the same session (the live token rotates once more). Any other spent token, or that one
//! after the grace, is a stolen copy or a replay: the whole session is revoked (`authn_token_reuse`).

use cloudmind_security::ApiError;
use cloudmind_security::clock::Millis;
use cloudmind_security::events::EventKind;
use cloudmind_security::sessions::{
    SessionRecord, new_refresh_token, refresh_hash, refresh_token_session, same_hash, spent_after,
};
use cloudmind_security::users::{Session, User};
use cloudmind_security::validation::RefreshRequest;
use cloudmind_serving::gate::{Call, Reply};

use crate::Login;
use crate::complete::tokens;

pub(crate) async fn refresh(state: &Login, call: Call) -> Result<Reply, ApiError> {
    let req: RefreshRequest = call.body()?;
    let unknown = ApiError::Unauthorized { token_presented: true };
    let Some((sid, username)) = refresh_token_session(&req.refresh_token) else { return Err(unknown) };
    let presented = refresh_hash(&req.refresh_token);
    let now = call.now;
    let policy = state.session_policy;
    // The session and its user in one round trip (a `BatchGetItem`), then at most one conditional write.
    let Session { user, session } = state.lookup.lookup(&username, &sid, now).await?;
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
    if current && let Some(reply) = rotate(state, &user, &session, &presented, now).await? {
        return Ok(reply);
    }
    // Spent, or a concurrent refresh with it won. The token rotated last, within the grace, gets a new pair.
    let record = if current { state.sessions.get(&username, &sid).await? } else { Some(session) };
    if let Some(record) = record.filter(|r| !r.revoked) {
        let rotated_last = record.spent.last().is_some_and(|h| same_hash(h, &presented));
        if rotated_last && policy.reuse_grace_ms > 0 && now.saturating_sub(record.rotated_at) <= policy.reuse_grace_ms {
            let live = record.refresh_hash.clone();
            return match rotate(state, &user, &record, &live, now).await? {
                Some(reply) => Ok(reply),
                // Another retry rotated it in between: refused, the session lives on.
                None => Err(ApiError::TokenRevoked),
            };
        }
    }
    if state.sessions.revoke(&username, &sid).await? {
        let detail = "a spent refresh token was presented again: session revoked";
        state.gate.observer().record(call.event(EventKind::TokenReuse).username(&username).detail(detail)).await;
    }
    Err(ApiError::TokenRevoked)
}

/// Rotates the session's live token `live` (spending it) and answers with the next pair; `None` if another
/// rotation won.
async fn rotate(
    state: &Login,
    user: &User,
    session: &SessionRecord,
    live: &str,
    now: Millis,
) -> Result<Option<Reply>, ApiError> {
    let policy = state.session_policy;
    let next = new_refresh_token(&session.sid, &user.username)?;
    let ends = now.saturating_add(policy.idle_ms).min(session.absolute_expiry);
    let spent = spent_after(&session.spent, live);
    let rotated =
        state.sessions.rotate(&user.username, &session.sid, live, &next.hash, &spent, now, session.forget_at()).await?;
    if !rotated {
        return Ok(None);
    }
    tokens(state, user, &session.sid, &next.token, ends, now).await.map(Some)
}
