//! What follows a right password: the MFA step when the account has MFA on, else the completed login (a session,
//! its tokens, a device token when asked).

use cloudmind_security::ApiError;
use cloudmind_security::clock::Millis;
use cloudmind_security::devices::{self, DeviceRecord};
use cloudmind_security::events::EventKind;
use cloudmind_security::mfa::{self, Challenge};
use cloudmind_security::problem::MfaToken;
use cloudmind_security::sessions::{SessionRecord, new_refresh_token, new_session_id};
use cloudmind_security::users::User;
use cloudmind_serving::gate::{Call, Reply, StatusCode};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::Login;

/// How a login reached its verdict: what the client asked and the trusted device it came through.
#[derive(Debug, Clone, Default)]
pub(crate) struct Via {
    /// `remember_device`: the completed login issues a device token.
    pub remember: bool,
    /// The id of the trusted device the password was checked under.
    pub device: Option<String>,
}

/// After a right password: the MFA step when the account has MFA on (what the login asked and the device ride on
/// its token), else the completed login.
pub(crate) async fn second_factor_or_complete(
    state: &Login,
    call: &Call,
    user: &User,
    via: Via,
    now: Millis,
) -> Result<Reply, ApiError> {
    if user.mfa.enabled {
        let (token, id) = mfa::new_challenge_token();
        let challenge = Challenge {
            username: user.username.clone(),
            expires_at: now + mfa::CHALLENGE_TTL_MS,
            remember_device: via.remember,
            device: via.device,
            generation: user.token_generation,
        };
        state.mfa.put_challenge(&id, &challenge).await?;
        state.gate.observer().record(call.event(EventKind::MfaRequired).username(&user.username)).await;
        return Err(ApiError::MfaRequired { mfa_token: MfaToken(token), expires_in: mfa::CHALLENGE_TTL_MS / 1_000 });
    }
    complete(state, call, user, via, now).await
}

/// A login that passed every factor: a new session, its tokens (and a device token when asked), the success in
/// the audit trail.
pub(crate) async fn complete(
    state: &Login,
    call: &Call,
    user: &User,
    via: Via,
    now: Millis,
) -> Result<Reply, ApiError> {
    let audit = state.gate.observer();
    let trusted = if via.remember {
        let (token, id) = devices::new_device_token();
        let record = DeviceRecord {
            username: user.username.clone(),
            issued_at: now,
            expires_at: now.saturating_add(state.device_token_ms),
        };
        state.devices.put(&id, &record).await?;
        audit.record(call.event(EventKind::DeviceTrusted).username(&user.username)).await;
        Some((token, id))
    } else {
        None
    };
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
        device: via.device.or_else(|| trusted.as_ref().map(|(_, id)| id.clone())),
    };
    let ends = session.ends_at(state.session_policy.idle_ms);
    state.sessions.create(&session, session.forget_at()).await?;
    audit.record(call.event(EventKind::LoginSuccess).username(&user.username)).await;
    let mut reply = tokens(state, user, &session.sid, &refresh.token, ends, now).await?;
    if let Some((token, _)) = trusted {
        reply = reply.with_json_field("device_token", token.expose_secret());
    }
    Ok(reply)
}

/// The body of a login or a refresh: an access token of session `sid` and the refresh token that continues it.
pub(crate) async fn tokens(
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
