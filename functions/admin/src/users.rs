//! `/api/v1/admin/users`: the user list (username order, a prefix, a cursor), one user, disabling and enabling an
//! account, ending its sessions, and erasing it.

use cloudmind_security::account::{self, Stores};
use cloudmind_security::events::EventKind;
use cloudmind_security::users::User;
use cloudmind_security::validation::Username;
use cloudmind_security::{ApiError, FieldError};
use cloudmind_serving::gate::{AdminPrincipal, Call, Reply, StatusCode};
use serde_json::{Value, json};

use crate::Admin;

/// The account the path names (400 for a name no account can have, 404 for no account).
async fn target(state: &Admin, call: &Call<AdminPrincipal>) -> Result<User, ApiError> {
    let name =
        Username::parse(call.param("username").unwrap_or_default()).map_err(|e| ApiError::ValidationFailed(vec![e]))?;
    state.users.get(name.as_str()).await?.ok_or(ApiError::NotFound)
}

async fn view(state: &Admin, user: &User, now: u64) -> Result<Value, ApiError> {
    let locked = state.lockouts.locked_until(&user.username, now).await?.is_some();
    Ok(user.admin_view(locked))
}

pub(crate) async fn list(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let mut errors = Vec::new();
    let prefix = call.query("prefix").unwrap_or_default().to_ascii_lowercase();
    let name_chars =
        |s: &str| s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if prefix.len() > 32 || !name_chars(&prefix) {
        errors.push(FieldError::new("prefix", "must be at most 32 of a-z 0-9 _ . -"));
    }
    let limit = match call.query("limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new("limit", "must be a whole number from 1 to 100"));
            50
        }
    };
    // The cursor is the last username of the previous page (as the API returned it).
    let cursor = call.query("cursor");
    if cursor.is_some_and(|c| c.is_empty() || c.len() > 32 || !name_chars(c)) {
        errors.push(FieldError::new("cursor", "is not a cursor returned by this API"));
    }
    if !errors.is_empty() {
        return Err(ApiError::ValidationFailed(errors));
    }
    let (users, next) = state.users.list(&prefix, cursor, limit).await?;
    let mut views = Vec::with_capacity(users.len());
    for user in &users {
        views.push(view(state, user, call.now).await?);
    }
    Ok(Reply::json(StatusCode::OK, json!({"users": views, "next_cursor": next})))
}

pub(crate) async fn get(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let user = target(state, call).await?;
    Ok(Reply::json(StatusCode::OK, view(state, &user, call.now).await?))
}

/// Disables (every session, token and trusted device ends) or enables an account.
pub(crate) async fn set_disabled(
    state: &Admin,
    call: &Call<AdminPrincipal>,
    disabled: bool,
) -> Result<Reply, ApiError> {
    let admin = &call.caller.0.user.username;
    let user = target(state, call).await?;
    if disabled && user.username == *admin {
        return Err(ApiError::Conflict);
    }
    state.users.set_disabled(&user.username, disabled, call.now).await?;
    if disabled {
        state.devices.revoke_all(&user.username, call.now, state.device_token_ms).await?;
    }
    let kind = if disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
    state.gate.observer().record(call.event(kind).username(&user.username).detail(format!("by {admin}"))).await;
    Ok(Reply::no_content())
}

/// Ends every session of the user (its access and refresh tokens are refused from now on).
pub(crate) async fn end_sessions(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let admin = &call.caller.0.user.username;
    let user = target(state, call).await?;
    let mut ended = 0;
    for session in state.sessions.list(&user.username).await?.iter().filter(|s| !s.revoked) {
        if state.sessions.revoke(&user.username, &session.sid).await? {
            ended += 1;
        }
    }
    let detail = format!("{ended} sessions ended by {admin}");
    state.gate.observer().record(call.event(EventKind::SessionRevoked).username(&user.username).detail(detail)).await;
    Ok(Reply::no_content())
}

pub(crate) async fn erase(state: &Admin, call: &Call<AdminPrincipal>) -> Result<Reply, ApiError> {
    let admin = &call.caller.0.user.username;
    let user = target(state, call).await?;
    if user.username == *admin {
        return Err(ApiError::Conflict);
    }
    let stores =
        Stores { users: &*state.users, account: &*state.account, lockouts: &*state.lockouts, events: &*state.events };
    let erased = account::erase(&stores, &user.username, |id| state.mfa_keys.pseudonym(id), call.now).await?;
    let detail = format!("erased by {admin} ({} items)", erased.items);
    state.gate.observer().record(call.event(EventKind::UserDeleted).username(&erased.pseudonym).detail(detail)).await;
    Ok(Reply::no_content())
}
