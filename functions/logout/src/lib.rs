//! `POST /api/v1/auth/logout`: denylists the presented token until it expires; the next request with it is
//! `401 token_revoked`, on every instance (the denylist is shared).

use std::sync::Arc;

use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::Settings;
use cloudmind_platform::gate::{Call, Gate, Reply};
use cloudmind_platform::{Body, Request, Response};
use cloudmind_security::ApiError;
use cloudmind_security::events::EventKind;
use cloudmind_security::tokens::TokenDenylist;

/// What the logout function needs.
#[derive(Clone)]
pub struct State {
    gate: Gate,
    denylist: Arc<dyn TokenDenylist>,
}

impl State {
    pub fn new(settings: &Settings, backends: &Backends) -> Self {
        let auth = Some(backends.authenticator(settings));
        Self {
            gate: Gate::new("logout", settings, backends.limiter.clone(), backends.audit(), auth),
            denylist: backends.denylist.clone(),
        }
    }
}

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    state.gate.serve(req, |call| logout(state, call)).await
}

async fn logout(state: &State, call: Call) -> Result<Reply, ApiError> {
    let claims = &call.principal()?.claims;
    state.denylist.deny(&claims.jti, claims.exp * 1000).await?;
    let event = call.ctx.event(EventKind::TokenRevoked, call.now).username(&claims.username).detail("logout");
    state.gate.audit().record(event).await;
    Ok(Reply::no_content())
}
