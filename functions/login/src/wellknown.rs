//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`: what another service needs to verify
//! CloudMind's access tokens with no secret (an API Gateway JWT authorizer, any JOSE library).
//!
//! Served by the login function because it is the one that signs: it already holds the key ring, so publishing
//! the public keys costs no other function a grant to the signing secret. The key set lists the public key of every
//! key that may still verify a live token (the current one and the previous ones), and none with HMAC keys. Both
//! answers may be cached (`Cache-Control: public, max-age=300`, the one deliberate exception to `no-store`): five
//! minutes is less than an access token's life and what the functions themselves wait before re-reading the keys
//! (`JWT_KEY_REFRESH_SECONDS`), and a verifier meeting an unknown `kid` fetches the set again.

use cloudmind_security::ApiError;
use cloudmind_serving::config::algorithm_name;
use cloudmind_serving::gate::{Call, Reply, StatusCode};
use serde_json::json;

use crate::Login;

/// How long a verifier may keep the key set or the discovery document.
pub(crate) const CACHE_CONTROL: &str = "public, max-age=300";

pub(crate) fn jwks(state: &Login) -> Result<Reply, ApiError> {
    let set = serde_json::to_value(state.tokens.jwks()).map_err(|_| ApiError::ServiceUnavailable)?;
    Ok(Reply::json(StatusCode::OK, set).with_header("cache-control", CACHE_CONTROL))
}

/// The discovery document. The key set's URL: the configured base (an issuer URL, `APP_BASE_URL`), else the URL
/// API Gateway says this request reached (its domain and stage: never a header the client sets), else the
/// `APP_BASE_URL` default (the local server).
pub(crate) fn openid_configuration<C>(state: &Login, call: &Call<C>) -> Result<Reply, ApiError> {
    let issuer = &state.tokens.settings().issuer;
    let base = state.public_base.as_deref().or(call.ctx.gateway_base.as_deref()).unwrap_or(&state.app_base);
    let body = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", base.trim_end_matches('/')),
        "id_token_signing_alg_values_supported": [algorithm_name(state.tokens.signing_algorithm())],
    });
    Ok(Reply::json(StatusCode::OK, body).with_header("cache-control", CACHE_CONTROL))
}
