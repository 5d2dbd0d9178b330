//! The request gate: every function answers through [`Gate::serve`], so the checks of the API contract run in the
//! same order everywhere (Lambda and the local server alike):
//!
//! route (404, 405) → automatic block (403 `ip_blocked`) → body size and media type (413, 415) → per-IP rate limit
//! (429) → malicious-input scan of path, query and non-secret fields (400) → token (401) → role (403) → per-user
//! rate limit (429) → the handler, which validates its body (400, 422) and does its work.
//!
//! The signature is verified locally first; then one limiter call (block, IP and user windows together) and one
//! session lookup (the token's session and user) run concurrently. Every response gets the security headers, `X-Request-Id`,
//! the `RateLimit` fields where a limit applied, and CORS headers for allowed origins.

mod call;
mod context;
mod input;
mod record;
mod render;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudmind_security::ApiError;
use cloudmind_security::clock::{Millis, now_ms, seconds_until};
use cloudmind_security::events::EventKind;
use cloudmind_security::ratelimit::{
    Admission, Admitted, BlockPolicy, Decision, Limiter, Policies, PolicyId, Subject, WindowCheck,
};
use cloudmind_security::tokens::{Claims, TokenService, check_revocation};
use cloudmind_security::users::{ROLE_ADMIN, SessionLookup};
use cloudmind_security::validation::parse_json_value;
use futures_util::FutureExt as _;
use http::HeaderMap;
use lambda_http::{Body, Request, RequestExt as _, Response};

pub use self::call::{AdminPrincipal, Anonymous, Call, Caller, Ctx, Principal, Reply, StatusCode};
pub use self::context::{ClientAddr, client_ip};
use self::context::{context, request_path};
pub use self::input::query_pairs;
use self::input::{check_framing, find_threat};
use crate::config::Settings;
use crate::observe::{Metric, Observer, RequestRecord};
use crate::routes::{Access, Method, Operation, Resolution, resolve};

/// Token verification for authenticated routes.
#[derive(Clone)]
pub struct Authenticator {
    pub tokens: TokenService,
    pub sessions: Arc<dyn SessionLookup>,
    /// `SESSION_TIMEOUT`: a session unused this long no longer admits its tokens.
    pub session_idle_ms: Millis,
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
    observer: Observer,
    auth: Option<Authenticator>,
    policy_fields: Arc<render::PolicyFields>,
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
        observer: Observer,
        auth: Option<Authenticator>,
    ) -> Self {
        Self {
            function,
            policies: settings.rate_limits.clone(),
            blocks: settings.blocks,
            allowed_origins: Arc::new(settings.allowed_origins.clone()),
            slow_request: Duration::from_millis(settings.slow_request_ms),
            limiter,
            observer: observer.for_function(function),
            auth,
            policy_fields: Arc::default(),
        }
    }

    /// Where this function reports what happened.
    pub fn observer(&self) -> &Observer {
        &self.observer
    }

    pub fn limiter(&self) -> &Arc<dyn Limiter> {
        &self.limiter
    }

    /// Runs the checks, then `handler`; renders whatever comes out (never a 500 with details).
    pub async fn serve<Op, C, F, Fut>(&self, req: Request, handler: F) -> Response<Body>
    where
        Op: Operation,
        C: Caller,
        F: FnOnce(Op, Call<C>) -> Fut,
        Fut: Future<Output = Result<Reply, ApiError>>,
    {
        let started = Instant::now();
        let ctx = context(&req);
        // Lambda's own id of the invocation (API Gateway's is `request_id`): the key of the platform's REPORT line.
        let invocation = req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
        let origin = req.headers().get("origin").and_then(|o| o.to_str().ok()).map(str::to_string);
        let time_left = time_left(&req);
        let work = async {
            match self.admit(req, &ctx).await {
                Ok((op, call, decision)) => {
                    let outcome = AssertUnwindSafe(handler(op, call)).catch_unwind().await;
                    let result = outcome.unwrap_or_else(|_| {
                        tracing::error!(event = "handler_panicked", request_id = %ctx.request_id, function = self.function);
                        self.observer.failure(Metric::HandlerPanics, &ctx.request_id);
                        Err(ApiError::Internal)
                    });
                    match result {
                        Ok(reply) => {
                            let mut response =
                                self.render(reply.status, reply.body, &reply.headers, &ctx, decision.as_ref());
                            if let Some((media, text)) = reply.file {
                                *response.body_mut() = Body::Text(text.to_string());
                                response
                                    .headers_mut()
                                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(media));
                            }
                            response
                        }
                        Err(e) => self.render_error(&e, &ctx, decision.as_ref()),
                    }
                }
                Err(Preflight(methods)) => self.preflight(&ctx, origin.as_deref(), &methods),
                Err(Refused(refusal)) => self.render_error(&refusal.error, &ctx, refusal.decision.as_ref()),
            }
        };
        // In Lambda, a request still waiting on a dependency when the invocation is about to time out is answered
        // 503 while there is time to send it (else the caller sees API Gateway's bare 502/504); what it held (a
        // lockout slot, a hashing place) is given back as its future is dropped.
        let mut response = match time_left {
            None => work.await,
            Some(left) => match tokio::time::timeout(left, work).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::error!(event = "request_deadline", request_id = %ctx.request_id, function = self.function);
                    self.render_error(&ApiError::ServiceUnavailable, &ctx, None)
                }
            },
        };
        self.cors(response.headers_mut(), origin.as_deref());
        self.observer.request(&RequestRecord {
            request_id: &ctx.request_id,
            aws_request_id: &invocation,
            client_ip: &ctx.client_ip,
            status: response.status(),
            elapsed: started.elapsed(),
            slow_threshold: self.slow_request,
        });
        response
    }

    async fn admit<Op: Operation, C: Caller>(
        &self,
        req: Request,
        ctx: &Ctx,
    ) -> Result<(Op, Call<C>, Option<Decision>), Stop> {
        let now = now_ms();
        let method = req.method().clone();
        let path = request_path(&req);

        // 1. Route.
        let (op, params) = match resolve::<Op>(&method, &path) {
            Resolution::Found(op, params) => (op, params),
            Resolution::MethodNotAllowed(allow) if method == Method::OPTIONS => {
                // A preflight meets the block like any request (and answers nothing else to a blocked client).
                let admission = Admission { client_key: ctx.client_key.clone(), checks: vec![] };
                let admitted = self.limiter.admit(&admission, &self.blocks, now).await;
                if let Some(block) = admitted.map_err(|e| Refused(ApiError::from(e).into()))?.block {
                    tracing::info!(event = "blocked_request", request_id = %ctx.request_id, client_ip = %ctx.client_ip);
                    let retry_after = seconds_until(now, block.until).max(1);
                    return Err(Refused(ApiError::IpBlocked { retry_after }.into()));
                }
                return Err(Preflight(allow));
            }
            Resolution::MethodNotAllowed(allow) => return Err(Refused(ApiError::MethodNotAllowed { allow }.into())),
            Resolution::NotFound => return Err(Refused(ApiError::NotFound.into())),
        };

        // Local checks whose verdict waits for the block check: body size and media type, then the token.
        let route = op.route();
        let access = C::ACCESS;
        let body: &[u8] = req.body().as_ref();
        let framing = check_framing(&route, req.headers(), body);
        let token = match access {
            Access::Public => None,
            _ => Some(self.verify_token(req.headers(), now).await),
        };
        let claims = token.as_ref().and_then(|t| t.as_ref().ok());
        let user_admissible = claims.is_some_and(|c| access != Access::Admin || c.has_role(ROLE_ADMIN));

        // 2–4, 8. One limiter call: the block, then the IP windows and (for a verified caller) the user windows.
        let mut admission = Admission { client_key: ctx.client_key.clone(), checks: vec![] };
        if framing.is_ok() {
            let policy = self.policies.get(route.limits);
            admission.checks = WindowCheck::for_policy(policy, &ctx.client_key);
            if let (Some(c), true, PolicyId::Api) = (claims, user_admissible, route.limits) {
                admission.checks.extend(WindowCheck::for_policy(policy, &Subject::user(&c.username)));
            }
        }
        let session = async {
            match (claims, &self.auth) {
                (Some(c), Some(auth)) => Some(auth.sessions.lookup(&c.username, &c.sid, now).await),
                _ => None,
            }
        };
        let (admitted, session) = tokio::join!(self.limiter.admit(&admission, &self.blocks, now), session);
        let Admitted { block, decision, newly_blocked, at, first_refusal } =
            admitted.map_err(|e| Refused(ApiError::from(e).into()))?;

        if let Some(block) = block {
            tracing::info!(event = "blocked_request", request_id = %ctx.request_id, client_ip = %ctx.client_ip);
            return Err(Refused(ApiError::IpBlocked { retry_after: seconds_until(now, block.until).max(1) }.into()));
        }
        framing.map_err(|e| Refused(e.into()))?;
        let decision = (!admission.checks.is_empty()).then_some(decision);
        if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
            self.record_refusal(ctx, d, newly_blocked, first_refusal, now).await;
            if d.limited_keys.contains(&ctx.client_key) {
                return Err(refuse(ApiError::RateLimited { retry_after: d.retry_after }, d));
            }
        }

        // 5. Malicious input in the path, the query or a non-secret field.
        let query = query_pairs(req.uri().query().unwrap_or(""));
        // The body is parsed once, here, as exactly one JSON value; the handler reads that value (`Call::body`), so
        // what is scanned is what is read.
        let json = (route.json_body && !body.is_empty()).then(|| parse_json_value(body));
        if let Some(finding) = find_threat(&params, &query, json.as_ref().and_then(|j| j.as_ref().ok())) {
            if finding.refused() {
                self.record_malicious(ctx, &finding, now).await;
                return Err(Refused(Refusal { error: ApiError::MaliciousInput, decision }));
            }
            // Free text that only looks like an attack (a sentence with `=` or parentheses): stored and
            // output-encoded like any text, so accepted; the match is logged without the value.
            tracing::info!(
                event = "suspicious_free_text",
                request_id = %ctx.request_id,
                location = %cloudmind_security::events::clip(&finding.location),
                threat = finding.threat.event_type(),
            );
        }

        // 6–7. Token and role. A token refused here is not its user's request: the user's windows it took are
        // given back (strangers replaying a stolen, logged-out token cannot rate-limit its owner).
        let user_checks: Vec<WindowCheck> =
            admission.checks.iter().filter(|c| c.key != ctx.client_key).cloned().collect();
        let charged = decision.as_ref().is_some_and(|d| d.allowed) && !user_checks.is_empty();
        let refund = || async {
            if charged && let Err(e) = self.limiter.refund(&user_checks, at).await {
                tracing::warn!(event = "rate_limit_refund_failed", error = %cloudmind_security::store::error_chain(&e));
            }
        };
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
                Some(Err(e)) => {
                    refund().await;
                    return Err(refused(ApiError::from(e)));
                }
                None => return Err(refused(ApiError::Internal)),
            };
            let idle_ms = self.auth.as_ref().map_or(0, |a| a.session_idle_ms);
            if let Err(e) = check_revocation(&claims, &session, idle_ms, now) {
                refund().await;
                self.record_token_failure(ctx, &ApiError::from(e), Some(&claims.username), now).await;
                return Err(refused(ApiError::TokenRevoked));
            }
            let (Some(user), Some(record)) = (session.user, session.session) else {
                refund().await;
                return Err(refused(ApiError::TokenRevoked));
            };
            if access == Access::Admin && !user.has_role(ROLE_ADMIN) {
                let event = ctx.event(EventKind::AuthzFail, now).username(&user.username).detail(route.operation_id);
                self.observer.record(event).await;
                return Err(refused(ApiError::Forbidden));
            }
            // 8. Per-user limit (decided together with the IP windows above).
            if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
                return Err(refuse(ApiError::RateLimited { retry_after: d.retry_after }, d));
            }
            principal = Some(Principal { claims, user, session: record });
        }

        // 9. A JSON body that is not exactly one JSON value (trailing bytes included) was not scanned: refused.
        let json = match json {
            Some(Err(e)) => return Err(Refused(Refusal { error: e, decision })),
            Some(Ok(value)) => Some(value),
            None => None,
        };
        let caller = C::from_principal(principal).ok_or(Refused(ApiError::Internal.into()))?;
        Ok((op, Call { params, query, json, ctx: ctx.clone(), caller, now }, decision))
    }

    async fn verify_token(&self, headers: &HeaderMap, now: Millis) -> Result<Claims, ApiError> {
        let auth = self.auth.as_ref().ok_or(ApiError::Internal)?;
        let value = headers.get("authorization").ok_or(ApiError::Unauthorized { token_presented: false })?;
        let value = value.to_str().map_err(|_| ApiError::Unauthorized { token_presented: true })?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized { token_presented: true })?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized { token_presented: true });
        }
        auth.tokens.verify_fresh(token.trim(), now).await.map_err(ApiError::from)
    }
}

enum Stop {
    Preflight(Vec<Method>),
    Refused(Refusal),
}
use Stop::{Preflight, Refused};

fn refuse(error: ApiError, d: &Decision) -> Stop {
    Refused(Refusal { error, decision: Some(d.clone()) })
}

/// How long before the invocation's deadline a request still in progress is answered 503: time to send the answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// The time a request may still take: up to [`DEADLINE_MARGIN`] before the Lambda invocation's deadline; `None`
/// without one (the local server, which has its own request timeout).
fn time_left(req: &Request) -> Option<Duration> {
    use lambda_http::RequestExt as _;
    let deadline = req.lambda_context_ref().map(|c| c.deadline).filter(|&d| d > 0)?;
    let now = now_ms();
    if deadline <= now {
        // A deadline already past when the request arrives is a runtime emulator's (or a skewed clock's), not
        // Lambda's, which would have ended the invocation: answer without one rather than 503 every request.
        tracing::warn!(event = "lambda_deadline_in_the_past", past_ms = now - deadline);
        return None;
    }
    Some(Duration::from_millis(deadline - now).saturating_sub(DEADLINE_MARGIN))
}
