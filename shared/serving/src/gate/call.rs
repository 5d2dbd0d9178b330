//! What a handler receives from the gate: the [`Call`] with its typed [`Caller`], and what it gives back ([`Reply`]).

use cloudmind_security::ApiError;
use cloudmind_security::clock::Millis;
use cloudmind_security::events::{EventKind, SecurityEvent};
use cloudmind_security::ratelimit::Subject;
use cloudmind_security::sessions::SessionRecord;
use cloudmind_security::tokens::Claims;
use cloudmind_security::users::User;
use cloudmind_security::validation::{BodyRequest, parse_value};
pub use http::StatusCode;
use serde_json::Value;

use crate::routes::{Access, Params};

/// Who is calling and under which request id.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    /// The client IP as text (`unknown` if the platform gave none).
    pub client_ip: String,
    /// The rate-limit subject of the client: `ip:<address>`, IPv6 as its /64.
    pub client_key: Subject,
    /// Where the client reached the API, from API Gateway's request context (`https://<domain><stage or base
    /// path>`, never from a header); `None` on the local server.
    pub gateway_base: Option<String>,
}

impl Ctx {
    /// A security event stamped with this request's id and client IP.
    pub fn event(&self, kind: EventKind, now: Millis) -> SecurityEvent {
        SecurityEvent::new(kind, now).ip(self.client_ip.clone()).request_id(self.request_id.clone())
    }
}

/// The authenticated caller: verified claims, the user and the token's session as stored now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: Claims,
    pub user: User,
    pub session: SessionRecord,
}

/// The caller of an admin route: a [`Principal`] whose stored user has the `admin` role.
#[derive(Debug, Clone)]
pub struct AdminPrincipal(pub Principal);

/// Nobody in particular: the caller of a public route.
#[derive(Debug, Clone, Copy)]
pub struct Anonymous;

/// The kind of caller a function's routes admit; the gate proves it before the handler runs, so a handler of an
/// authenticated function holds its [`Principal`] by type and never checks for one.
pub trait Caller: Send + Sized + 'static {
    const ACCESS: Access;
    /// The caller from the principal the gate verified (`None` on public routes).
    fn from_principal(principal: Option<Principal>) -> Option<Self>;
}

impl Caller for Anonymous {
    const ACCESS: Access = Access::Public;
    fn from_principal(_: Option<Principal>) -> Option<Self> {
        Some(Anonymous)
    }
}

impl Caller for Principal {
    const ACCESS: Access = Access::User;
    fn from_principal(principal: Option<Principal>) -> Option<Self> {
        principal
    }
}

impl Caller for AdminPrincipal {
    const ACCESS: Access = Access::Admin;
    fn from_principal(principal: Option<Principal>) -> Option<Self> {
        principal.map(AdminPrincipal)
    }
}

/// A request that passed the gate.
#[derive(Debug)]
pub struct Call<C = Anonymous> {
    pub params: Params,
    pub query: Vec<(String, String)>,
    /// The JSON body as the gate parsed and scanned it (`None` on routes without one, or an empty body).
    pub(crate) json: Option<Value>,
    pub ctx: Ctx,
    pub caller: C,
    pub now: Millis,
}

impl<C> Call<C> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as a typed, validated request (400 or 422 with field errors otherwise): deserialized from the very
    /// value the gate scanned, never parsed again.
    pub fn body<T: BodyRequest>(&self) -> Result<T, ApiError> {
        parse_value(self.json.as_ref())
    }

    /// A security event of this request.
    pub fn event(&self, kind: EventKind) -> SecurityEvent {
        self.ctx.event(kind, self.now)
    }
}

/// A successful answer of a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// Headers of this answer beyond the ones every answer gets (written after them, so they may replace one,
    /// as the docs page's own `Content-Security-Policy` does).
    pub headers: Vec<(&'static str, String)>,
    /// A body that is not JSON: a file the function ships (its media type, its text).
    pub file: Option<(&'static str, &'static str)>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self { status, body: Some(body), headers: Vec::new(), file: None }
    }

    pub fn no_content() -> Self {
        Self { status: StatusCode::NO_CONTENT, body: None, headers: Vec::new(), file: None }
    }

    /// A 200 with a file the function ships.
    pub fn file(media_type: &'static str, text: &'static str) -> Self {
        Self { status: StatusCode::OK, body: None, headers: Vec::new(), file: Some((media_type, text)) }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The same answer with one more member in its JSON object body (nothing changes for another body).
    pub fn with_json_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        if let Some(Value::Object(map)) = &mut self.body {
            map.insert(name.to_string(), value.into());
        }
        self
    }
}
