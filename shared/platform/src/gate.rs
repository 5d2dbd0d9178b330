//! The request gate: every function answers through [`Gate::serve`], so the checks of the API contract run in the
//! same order everywhere (Lambda and the local server alike):
//!
//! route (404, 405) → automatic block (403 `ip_blocked`) → body size and media type (413, 415) → per-IP rate limit
//! (429) → malicious-input scan of path, query and non-secret fields (400) → token (401) → role (403) → per-user
//! rate limit (429) → the handler, which validates its body (400, 422) and does its work.
//!
//! The signature is verified locally first; then one limiter call (block, IP and user windows together) and one
//! session lookup (denylist and user) run concurrently. Every response gets the security headers, `X-Request-Id`,
//! the `RateLimit` fields where a limit applied, and CORS headers for allowed origins.

use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudmind_security::clock::{Millis, now_ms, seconds_until};
use cloudmind_security::events::{EventKind, SecurityEvent};
use cloudmind_security::ratelimit::{
    Admission, Admitted, BlockPolicy, Decision, Limiter, Policies, Violation, WindowCheck, ip_key, user_key,
};
use cloudmind_security::threats::{Finding, Threat, scan, scan_json};
use cloudmind_security::tokens::{Claims, TokenService, check_revocation};
use cloudmind_security::users::{ROLE_ADMIN, SessionLookup, User};
use cloudmind_security::validation::SECRET_FIELDS;
use cloudmind_security::{ApiError, headers};
use futures_util::FutureExt as _;
use http::{HeaderMap, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;

use crate::audit::Audit;
use crate::config::{MAX_BODY_BYTES, Settings};
use crate::metrics::REQUESTS;
use crate::routes::{Access, LimitPolicy, Params, Resolution, Route, resolve};

/// The client address as the local server saw it on the socket (Lambda gets it from the request context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Who is calling and under which request id.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    /// The client IP as text (`unknown` if the platform gave none).
    pub client_ip: String,
    /// The rate-limit subject of the client: `ip:<address>`, IPv6 as its /64.
    pub client_key: String,
}

impl Ctx {
    /// A security event stamped with this request's id and client IP.
    pub fn event(&self, kind: EventKind, now: Millis) -> SecurityEvent {
        SecurityEvent::new(kind, now).ip(self.client_ip.clone()).request_id(self.request_id.clone())
    }
}

/// The authenticated caller: verified claims and the user as stored now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: Claims,
    pub user: User,
}

/// A request that passed the gate.
#[derive(Debug)]
pub struct Call {
    pub route: &'static Route,
    pub params: Params,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub ctx: Ctx,
    pub principal: Option<Principal>,
    pub now: Millis,
}

impl Call {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The principal of an authenticated route (the gate guarantees one there).
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or(ApiError::Unauthorized { token_presented: false })
    }
}

/// A successful answer of a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body) }
    }

    pub fn no_content() -> Self {
        Self { status: 204, body: None }
    }
}

/// Token verification for authenticated routes.
#[derive(Clone)]
pub struct Authenticator {
    pub tokens: TokenService,
    pub sessions: Arc<dyn SessionLookup>,
}

/// The gate of one function.
#[derive(Clone)]
pub struct Gate {
    function: &'static str,
    policies: Policies,
    blocks: BlockPolicy,
    allowed_origins: Arc<Vec<String>>,
    slow_request: Duration,
    limiter: Arc<dyn Limiter>,
    audit: Audit,
    auth: Option<Authenticator>,
}

/// The refusal of a check, with the decision whose `RateLimit` fields it carries.
struct Refusal {
    error: ApiError,
    decision: Option<Decision>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self { error, decision: None }
    }
}

impl Gate {
    /// The gate of `function`; `auth` is needed by functions with authenticated routes.
    pub fn new(
        function: &'static str,
        settings: &Settings,
        limiter: Arc<dyn Limiter>,
        audit: Audit,
        auth: Option<Authenticator>,
    ) -> Self {
        Self {
            function,
            policies: settings.rate_limits.clone(),
            blocks: settings.blocks,
            allowed_origins: Arc::new(settings.allowed_origins.clone()),
            slow_request: Duration::from_millis(settings.slow_request_ms),
            limiter,
            audit,
            auth,
        }
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    pub fn limiter(&self) -> &Arc<dyn Limiter> {
        &self.limiter
    }

    /// Runs the checks, then `handler`; renders whatever comes out (never a 500 with details).
    pub async fn serve<F, Fut>(&self, req: Request, handler: F) -> Response<Body>
    where
        F: FnOnce(Call) -> Fut,
        Fut: Future<Output = Result<Reply, ApiError>>,
    {
        let started = Instant::now();
        let ctx = context(&req);
        let origin = req.headers().get("origin").and_then(|o| o.to_str().ok()).map(str::to_string);
        let response = match self.admit(req, &ctx).await {
            Ok((call, decision)) => {
                let outcome = AssertUnwindSafe(handler(call)).catch_unwind().await;
                let result = outcome.unwrap_or_else(|_| {
                    tracing::error!(event = "handler_panicked", request_id = %ctx.request_id, function = self.function);
                    Err(ApiError::Internal)
                });
                match result {
                    Ok(reply) => self.render(reply.status, reply.body, &[], &ctx, decision.as_ref()),
                    Err(e) => self.render_error(&e, &ctx, decision.as_ref()),
                }
            }
            Err(Preflight(methods)) => self.preflight(&ctx, origin.as_deref(), &methods),
            Err(Refused(refusal)) => self.render_error(&refusal.error, &ctx, refusal.decision.as_ref()),
        };
        let mut response = response;
        self.cors(response.headers_mut(), origin.as_deref());
        let elapsed = started.elapsed();
        REQUESTS.record(elapsed, self.slow_request);
        tracing::info!(
            event = "request",
            request_id = %ctx.request_id,
            client_ip = %ctx.client_ip,
            function = self.function,
            status = response.status().as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1e3,
        );
        response
    }

    async fn admit(&self, req: Request, ctx: &Ctx) -> Result<(Call, Option<Decision>), Stop> {
        let now = now_ms();
        let method = req.method().as_str().to_string();
        let path = request_path(&req);

        // 1. Route.
        let (route, params) = match resolve(&method, &path) {
            Resolution::Found(route, params) if route.function == self.function => (route, params),
            Resolution::Found(..) => return Err(Refused(ApiError::NotFound.into())),
            Resolution::MethodNotAllowed(allow) if method == "OPTIONS" => return Err(Preflight(allow)),
            Resolution::MethodNotAllowed(allow) => return Err(Refused(ApiError::MethodNotAllowed { allow }.into())),
            Resolution::NotFound => return Err(Refused(ApiError::NotFound.into())),
        };

        // Local checks whose verdict waits for the block check: body size and media type, then the token.
        let body: &[u8] = req.body().as_ref();
        let framing = check_framing(route, req.headers(), body);
        let token = match route.access {
            Access::Public => None,
            _ => Some(self.verify_token(req.headers(), now).await),
        };
        let claims = token.as_ref().and_then(|t| t.as_ref().ok());
        let user_admissible = claims.is_some_and(|c| route.access != Access::Admin || c.has_role(ROLE_ADMIN));

        // 2–4, 8. One limiter call: the block, then the IP windows and (for a verified caller) the user windows.
        let mut admission = Admission { client_key: ctx.client_key.clone(), checks: vec![] };
        if framing.is_ok() {
            let policy = self.policy(route.limits);
            admission.checks = WindowCheck::for_policy(policy, &ctx.client_key);
            if let (Some(c), true, LimitPolicy::Api) = (claims, user_admissible, route.limits) {
                admission.checks.extend(WindowCheck::for_policy(policy, &user_key(&c.username)));
            }
        }
        let session = async {
            match (claims, &self.auth) {
                (Some(c), Some(auth)) => Some(auth.sessions.lookup(&c.jti, &c.username, now).await),
                _ => None,
            }
        };
        let (admitted, session) = tokio::join!(self.limiter.admit(&admission, &self.blocks, now), session);
        let Admitted { block, decision, newly_blocked } = admitted.map_err(|e| Refused(ApiError::from(e).into()))?;

        if let Some(block) = block {
            tracing::info!(event = "blocked_request", request_id = %ctx.request_id, client_ip = %ctx.client_ip);
            return Err(Refused(ApiError::IpBlocked { retry_after: seconds_until(now, block.until).max(1) }.into()));
        }
        framing.map_err(|e| Refused(e.into()))?;
        let decision = (!admission.checks.is_empty()).then_some(decision);
        if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
            self.record_refusal(ctx, d, newly_blocked, now).await;
            if d.limited_keys.contains(&ctx.client_key) {
                return Err(refuse(ApiError::RateLimited { retry_after: d.retry_after }, d));
            }
        }

        // 5. Malicious input in the path, the query or a non-secret field.
        let query = query_pairs(req.uri().query().unwrap_or(""));
        if let Some(finding) = find_threat(&params, &query, route, body) {
            self.record_malicious(ctx, &finding, now).await;
            return Err(Refused(Refusal { error: ApiError::MaliciousInput, decision }));
        }

        // 6–7. Token and role.
        let mut principal = None;
        if let Some(token) = token {
            let refused = |error: ApiError| Refused(Refusal { error, decision: decision.clone() });
            let claims = match token {
                Ok(claims) => claims,
                Err(e) => {
                    self.record_token_failure(ctx, &e, None, now).await;
                    return Err(refused(e));
                }
            };
            let session = match session {
                Some(Ok(s)) => s,
                Some(Err(e)) => return Err(refused(ApiError::from(e))),
                None => return Err(refused(ApiError::Internal)),
            };
            if let Err(e) = check_revocation(&claims, session.denied, session.user.as_ref()) {
                self.record_token_failure(ctx, &ApiError::from_token(e), Some(&claims.username), now).await;
                return Err(refused(ApiError::TokenRevoked));
            }
            let user = session.user.ok_or_else(|| refused(ApiError::TokenRevoked))?;
            if route.access == Access::Admin && !user.has_role(ROLE_ADMIN) {
                let event = ctx.event(EventKind::AuthzFail, now).username(&user.username).detail(route.operation);
                self.audit.record(event).await;
                return Err(refused(ApiError::Forbidden));
            }
            // 8. Per-user limit (decided together with the IP windows above).
            if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
                return Err(refuse(ApiError::RateLimited { retry_after: d.retry_after }, d));
            }
            principal = Some(Principal { claims, user });
        }

        let body = body.to_vec();
        Ok((Call { route, params, query, body, ctx: ctx.clone(), principal, now }, decision))
    }

    fn policy(&self, limits: LimitPolicy) -> &cloudmind_security::ratelimit::Policy {
        match limits {
            LimitPolicy::Login => &self.policies.login,
            LimitPolicy::Register => &self.policies.register,
            LimitPolicy::Api => &self.policies.api,
            LimitPolicy::Health => &self.policies.health,
        }
    }

    async fn verify_token(&self, headers: &HeaderMap, now: Millis) -> Result<Claims, ApiError> {
        let auth = self.auth.as_ref().ok_or(ApiError::Internal)?;
        let value = headers.get("authorization").ok_or(ApiError::Unauthorized { token_presented: false })?;
        let value = value.to_str().map_err(|_| ApiError::Unauthorized { token_presented: true })?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized { token_presented: true })?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized { token_presented: true });
        }
        auth.tokens.verify_fresh(token.trim(), now).await.map_err(ApiError::from_token)
    }

    async fn record_refusal(
        &self,
        ctx: &Ctx,
        d: &Decision,
        newly_blocked: Option<cloudmind_security::ratelimit::Block>,
        now: Millis,
    ) {
        let policy = d.windows.first().map_or("", |w| w.policy);
        let event = ctx.event(EventKind::RateLimitExceeded, now).detail(format!(
            "policy={policy} limited={} retry_after={}",
            d.limited_keys.join(","),
            d.retry_after
        ));
        self.audit.record(event).await;
        if let Some(block) = newly_blocked {
            self.record_block(ctx, &block, now).await;
        }
    }

    async fn record_block(&self, ctx: &Ctx, block: &cloudmind_security::ratelimit::Block, now: Millis) {
        let event = ctx.event(EventKind::ClientBlocked, now).detail(format!(
            "key={} reason={} for={}s",
            block.key,
            block.reason,
            seconds_until(now, block.until)
        ));
        self.audit.record(event).await;
    }

    async fn record_malicious(&self, ctx: &Ctx, finding: &Finding, now: Millis) {
        let kind = match finding.threat {
            Threat::SqlInjection => EventKind::MaliciousSqli,
            Threat::Xss => EventKind::MaliciousXss,
            Threat::PathTraversal => EventKind::MaliciousPathTraversal,
            Threat::ControlCharacters => EventKind::MaliciousInput,
        };
        self.audit.record(ctx.event(kind, now).detail(format!("location={}", finding.location))).await;
        match self.limiter.record_violation(&ctx.client_key, Violation::MaliciousInput, &self.blocks, now).await {
            Ok(Some(block)) => self.record_block(ctx, &block, now).await,
            Ok(None) => {}
            Err(e) => tracing::error!(event = "violation_not_recorded", error = %e),
        }
    }

    /// Logs a refused token; `username` only when the signature proved it.
    async fn record_token_failure(&self, ctx: &Ctx, error: &ApiError, username: Option<&str>, now: Millis) {
        let detail = match error {
            ApiError::Unauthorized { token_presented: false } => return,
            ApiError::TokenExpired => "expired",
            ApiError::TokenRevoked => "revoked token presented",
            _ => "invalid",
        };
        let mut event = ctx.event(EventKind::TokenInvalid, now).detail(detail);
        event.username = username.map(str::to_string);
        self.audit.record(event).await;
    }

    fn render_error(&self, error: &ApiError, ctx: &Ctx, decision: Option<&Decision>) -> Response<Body> {
        let problem = error.problem();
        let mut body = problem.body;
        body["request_id"] = Value::String(ctx.request_id.clone());
        self.render(problem.status, Some(body), &problem.headers, ctx, decision)
    }

    fn render(
        &self,
        status: u16,
        body: Option<Value>,
        extra: &[(&'static str, String)],
        ctx: &Ctx,
        decision: Option<&Decision>,
    ) -> Response<Body> {
        let is_problem = status >= 400;
        let mut response = Response::new(match &body {
            Some(v) => Body::Text(v.to_string()),
            None => Body::Empty,
        });
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let h = response.headers_mut();
        if body.is_some() {
            let media = if is_problem { "application/problem+json" } else { "application/json" };
            h.insert("content-type", HeaderValue::from_static(media));
        }
        for (name, value) in extra {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(*name, v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            h.insert("x-request-id", v);
        }
        if let Some(d) = decision {
            rate_limit_fields(h, d);
        }
        headers::apply(h);
        response
    }

    fn preflight(&self, ctx: &Ctx, origin: Option<&str>, methods: &[&str]) -> Response<Body> {
        let mut response = self.render(204, None, &[], ctx, None);
        if origin.is_some_and(|o| self.origin_allowed(o)) {
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
                h.insert("access-control-allow-methods", v);
            }
            h.insert("access-control-allow-headers", HeaderValue::from_static("authorization, content-type"));
            h.insert("access-control-max-age", HeaderValue::from_static("600"));
        }
        response
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }

    fn cors(&self, h: &mut HeaderMap, origin: Option<&str>) {
        h.append("vary", HeaderValue::from_static("Origin"));
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

enum Stop {
    Preflight(Vec<&'static str>),
    Refused(Refusal),
}
use Stop::{Preflight, Refused};

fn refuse(error: ApiError, d: &Decision) -> Stop {
    Refused(Refusal { error, decision: Some(d.clone()) })
}

/// The request id: API Gateway's, else the Lambda invocation's, else a fresh one (local server).
fn context(req: &Request) -> Ctx {
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.clone(),
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone(),
        _ => None,
    };
    let request_id = from_gateway
        .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
        .filter(|id| !id.is_empty())
        .unwrap_or_else(cloudmind_security::ids::uuid_v4);
    let ip = client_ip(req);
    Ctx {
        request_id,
        client_ip: ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
        client_key: ip.map_or_else(|| "ip:unknown".to_string(), ip_key),
    }
}

/// The client IP: the socket (local server) or API Gateway's request context. Never `X-Forwarded-For`.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    if let Some(ClientAddr(ip)) = req.extensions().get::<ClientAddr>() {
        return Some(*ip);
    }
    let source = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => c.identity.source_ip.clone(),
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
        _ => None,
    };
    source.and_then(|s| s.parse().ok())
}

/// The path without the API Gateway stage.
fn request_path(req: &Request) -> String {
    let raw = req.raw_http_path();
    if raw.is_empty() { req.uri().path().to_string() } else { raw.to_string() }
}

fn check_framing(route: &Route, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if route.json_body {
        let media = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        if media.as_deref() != Some("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    Ok(())
}

/// Query parameters, percent-decoded (`+` as space).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn find_threat(params: &Params, query: &[(String, String)], route: &Route, body: &[u8]) -> Option<Finding> {
    params
        .iter()
        .find_map(|(name, value)| scan(&format!("path.{name}"), value))
        .or_else(|| query.iter().find_map(|(k, v)| scan("query", k).or_else(|| scan(&format!("query.{k}"), v))))
        .or_else(|| {
            if !route.json_body || body.is_empty() {
                return None;
            }
            serde_json::from_slice::<Value>(body).ok().and_then(|v| scan_json(&v, SECRET_FIELDS))
        })
}

fn window_name(seconds: u64) -> String {
    match seconds {
        60 => "minute".into(),
        3_600 => "hour".into(),
        86_400 => "day".into(),
        s => format!("{s}s"),
    }
}

fn item_name(w: &cloudmind_security::ratelimit::WindowState) -> String {
    let subject = w.key.split(':').next().unwrap_or("ip");
    format!("{}-{}-{}", w.policy, subject, window_name(w.limit.window_seconds))
}

/// The IETF `RateLimit-Policy` (every window) and `RateLimit` (the tightest window) fields.
fn rate_limit_fields(h: &mut HeaderMap, d: &Decision) {
    if d.windows.is_empty() {
        return;
    }
    let policy = d
        .windows
        .iter()
        .map(|w| format!("\"{}\";q={};w={}", item_name(w), w.limit.limit, w.limit.window_seconds))
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert("ratelimit-policy", v);
    }
    let tightest = d.tightest().map(|t| format!("\"{}\";r={};t={}", item_name(t), t.remaining, t.reset_seconds));
    if let Some(Ok(v)) = tightest.map(|t| HeaderValue::from_str(&t)) {
        h.insert("ratelimit", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode() {
        assert_eq!(
            query_pairs("type=authn_login_fail&limit=10&x=%3Cb%3E&flag&a+b=c+d"),
            vec![
                ("type".into(), "authn_login_fail".into()),
                ("limit".into(), "10".into()),
                ("x".into(), "<b>".into()),
                ("flag".into(), "".into()),
                ("a b".into(), "c d".into()),
            ]
        );
    }
}
