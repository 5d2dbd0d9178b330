//! Where a request comes from: its id, the client IP (never from a header the client controls) and its path.

use std::net::IpAddr;

use cloudmind_security::ratelimit::Subject;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use super::call::Ctx;

/// The client address as the local server saw it on the socket (Lambda gets it from the request context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The request id: API Gateway's, else the Lambda invocation's, else a fresh one (local server).
pub(super) fn context(req: &Request) -> Ctx {
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
        client_key: ip.map_or_else(Subject::unknown_ip, Subject::ip),
        gateway_base: gateway_base(req),
    }
}

/// The API's base URL as API Gateway says the client reached it: its domain (the execute-api one or a custom
/// domain) and what comes before the route in the path it received (the stage, or a custom domain's base path).
fn gateway_base(req: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV1(c)) = req.request_context_ref() else { return None };
    let domain = c.domain_name.as_deref().filter(|d| !d.is_empty())?;
    let full = c.path.as_deref().unwrap_or_default();
    let prefix = full.strip_suffix(request_path(req).as_str()).unwrap_or_default().trim_end_matches('/');
    Some(format!("https://{domain}{prefix}"))
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
pub(super) fn request_path(req: &Request) -> String {
    let raw = req.raw_http_path();
    if raw.is_empty() { req.uri().path().to_string() } else { raw.to_string() }
}
