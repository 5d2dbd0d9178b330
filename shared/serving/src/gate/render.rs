//! Turning a reply or a refusal into the HTTP response every function sends: problem bodies, security headers,
//! `X-Request-Id`, the IETF `RateLimit` fields, CORS.

use std::sync::{Mutex, PoisonError};

use cloudmind_security::ratelimit::{Decision, Limit, PolicyId, SubjectKind, WindowState};
use cloudmind_security::{ApiError, headers};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;

use super::Gate;
use super::call::Ctx;

// The names of the headers every response may carry, parsed at compile time.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

impl Gate {
    pub(super) fn render_error(&self, error: &ApiError, ctx: &Ctx, decision: Option<&Decision>) -> Response<Body> {
        let problem = error.problem();
        self.render(problem.status, Some(problem.body_for(&ctx.request_id)), &problem.headers, ctx, decision)
    }

    pub(super) fn render(
        &self,
        status: StatusCode,
        body: Option<Value>,
        extra: &[(&'static str, String)],
        ctx: &Ctx,
        decision: Option<&Decision>,
    ) -> Response<Body> {
        let is_problem = status.is_client_error() || status.is_server_error();
        let mut response = Response::new(match &body {
            Some(v) => Body::Text(v.to_string()),
            None => Body::Empty,
        });
        *response.status_mut() = status;
        // Room for the security headers, the request id, the RateLimit fields and CORS without growing.
        *response.headers_mut() = HeaderMap::with_capacity(24);
        let h = response.headers_mut();
        if body.is_some() {
            let media = if is_problem { "application/problem+json" } else { "application/json" };
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(media));
        }
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            h.insert(X_REQUEST_ID, v);
        }
        if let Some(d) = decision {
            rate_limit_fields(h, d, &self.policy_fields);
        }
        headers::apply(h);
        for (name, value) in extra {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(*name, v);
            }
        }
        response
    }

    pub(super) fn preflight(&self, ctx: &Ctx, origin: Option<&str>, methods: &[Method]) -> Response<Body> {
        let mut response = self.render(StatusCode::NO_CONTENT, None, &[], ctx, None);
        if origin.is_some_and(|o| self.origin_allowed(o)) {
            let h = response.headers_mut();
            let methods: Vec<&str> = methods.iter().map(Method::as_str).collect();
            if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
                h.insert("access-control-allow-methods", v);
            }
            h.insert("access-control-allow-headers", HeaderValue::from_static("authorization, content-type"));
            h.insert("access-control-max-age", HeaderValue::from_static("600"));
        }
        response
    }

    pub(super) fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }

    pub(super) fn cors(&self, h: &mut HeaderMap, origin: Option<&str>) {
        h.append(http::header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = origin.filter(|o| self.origin_allowed(o)) else { return };
        if let Ok(v) = HeaderValue::from_str(origin) {
            h.insert("access-control-allow-origin", v);
            h.insert(
                "access-control-expose-headers",
                HeaderValue::from_static("X-Request-Id, RateLimit, RateLimit-Policy, Retry-After"),
            );
        }
    }
}

fn window_name(seconds: u64) -> String {
    match seconds {
        60 => "minute".into(),
        3_600 => "hour".into(),
        86_400 => "day".into(),
        s => format!("{s}s"),
    }
}

fn item_name(w: &WindowState) -> String {
    format!("{}-{}-{}", w.policy, w.key.kind().as_str(), window_name(w.limit.window_seconds))
}

/// The shape of a window in the `RateLimit-Policy` field: its policy, subject kind and limit.
type WindowShape = (PolicyId, SubjectKind, Limit);

/// `RateLimit-Policy` values by the shape of a decision's windows. The value is the same for every request of a
/// route (its IP windows, and its user windows once the user is known), so each is formatted once and kept.
#[derive(Default)]
pub(super) struct PolicyFields(Mutex<Vec<(Vec<WindowShape>, HeaderValue)>>);

impl PolicyFields {
    fn value(&self, windows: &[WindowState]) -> Option<HeaderValue> {
        let shape = |w: &WindowState| (w.policy, w.key.kind(), w.limit);
        let same = |known: &[WindowShape]| {
            known.len() == windows.len() && known.iter().zip(windows).all(|(k, w)| *k == shape(w))
        };
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, value)) = cache.iter().find(|(known, _)| same(known)) {
            return Some(value.clone());
        }
        let text = windows
            .iter()
            .map(|w| format!("\"{}\";q={};w={}", item_name(w), w.limit.limit, w.limit.window_seconds))
            .collect::<Vec<_>>()
            .join(", ");
        let value = HeaderValue::from_str(&text).ok()?;
        // A handful of shapes exist (policies × with or without the user); the bound only guards against a bug.
        if cache.len() < 32 {
            cache.push((windows.iter().map(shape).collect(), value.clone()));
        }
        Some(value)
    }
}

/// The IETF `RateLimit-Policy` (every window) and `RateLimit` (the tightest window) fields.
fn rate_limit_fields(h: &mut HeaderMap, d: &Decision, policies: &PolicyFields) {
    if d.windows.is_empty() {
        return;
    }
    if let Some(v) = policies.value(&d.windows) {
        h.insert(RATELIMIT_POLICY, v);
    }
    let tightest = d.tightest().map(|t| format!("\"{}\";r={};t={}", item_name(t), t.remaining, t.reset_seconds));
    if let Some(Ok(v)) = tightest.map(|t| HeaderValue::from_str(&t)) {
        h.insert(RATELIMIT, v);
    }
}
