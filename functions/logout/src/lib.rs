//! `POST /api/v1/auth/logout`: revokes the caller's session, which denylists its refresh token and every access
//! token it issued (the presented one included) until they expire: every protected request reads the session, so
//! the next request with any of them is `401 token_revoked`, on every instance. The answer asks the browser to clear what it keeps for the site (`Clear-Site-Data`).

use std::sync::Arc;

use cloudmind_security::ApiError;
use cloudmind_security::events::EventKind;
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::sessions::SessionStore;
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Call, Gate, Principal, Reply};
use cloudmind_serving::routes::{Method, Operation, Route};

/// The logout function.
#[derive(Clone)]
pub struct Logout {
    gate: Gate,
    sessions: Arc<dyn SessionStore>,
}

/// Its one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Logout,
}

impl Operation for Op {
    const ALL: &'static [Self] = &[Self::Logout];
    fn route(self) -> Route {
        match self {
            Self::Logout => Route::new(Method::POST, "/api/v1/auth/logout", "logout", PolicyId::Api, false),
        }
    }
}

impl Function for Logout {
    const NAME: &'static str = "logout";
    type Op = Op;
    type Caller = Principal;

    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        Ok(Self { gate: ports.gate::<Self>().await?, sessions: ports.session_store().await? })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call<Principal>) -> Result<Reply, ApiError> {
        match op {
            Op::Logout => logout(self, call).await,
        }
    }
}

async fn logout(state: &Logout, call: Call<Principal>) -> Result<Reply, ApiError> {
    let claims = &call.caller.claims;
    state.sessions.revoke(&claims.username, &claims.sid).await?;
    // Both events: consumers of the v1 vocabulary read `authn_token_revoked`, the session's end is
    // `authn_session_revoked`.
    let audit = state.gate.observer();
    audit.record(call.event(EventKind::TokenRevoked).username(&claims.username).detail("logout")).await;
    audit.record(call.event(EventKind::SessionRevoked).username(&claims.username).detail("logout")).await;
    Ok(Reply::no_content().with_header("clear-site-data", r#""cache", "cookies", "storage""#))
}
