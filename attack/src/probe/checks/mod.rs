//! The checks ([`CheckId`], in the order they run), one family a file. Each starts from a fresh client identity
//! where the server is on loopback (see `client`), so what one provokes (a limit, a block, a lockout) does not
//! decide the next. A new check is a variant of [`CheckId`] (its id, title and place in the run) and a method in
//! its family's file, called from [`Probe::run`].

mod blocking;
mod bodies;
mod cors;
mod enumeration;
mod errors;
mod headers;
mod injection;
mod limits;
mod lockout;
mod mfa;
mod tokens;

use http::Method;
use serde_json::{Value, json};

use super::client::{Answer, Identity, Req, SendError, Target};
use super::inputs::FAMILIES;
use super::jwt::Parts;
use super::{Args, Status, random_hex};

/// The address of every account the probe registers.
const PROBE_ADDRESS: &str = "probe@example.com";

/// The body fields of free text (`display_name`): the detector leaves line breaks in them to validation.
const FREE_TEXT: &[&str] = &["display_name"];

/// A check: its id is stable (for `--only`, and for scripts reading the report), its family is the file it lives
/// in. [`CheckId::ALL`] is the order they run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckId {
    HeadersSuccess,
    HeadersError,
    CorsForeignOrigin,
    BodyMalformed,
    TokensForged,
    TokensClaims,
    TokensRole,
    TokensReplayAfterLogout,
    TokensRefusedNotCharged,
    MfaEnrolNeedsPassword,
    LockoutEngages,
    LockoutDeviceParallel,
    RatelimitLogin,
    RatelimitSpoofedForwarding,
    EnumerationResponse,
    EnumerationTiming,
    EnumerationReset,
    InjectionSql,
    InjectionXss,
    InjectionTraversal,
    InjectionCrlf,
    InjectionNosql,
    BlockingAutomatic,
    HeadersAllResponses,
    ErrorsNo5xx,
}

impl CheckId {
    pub const ALL: &[Self] = &[
        Self::HeadersSuccess,
        Self::HeadersError,
        Self::CorsForeignOrigin,
        Self::BodyMalformed,
        Self::TokensForged,
        Self::TokensClaims,
        Self::TokensRole,
        Self::TokensReplayAfterLogout,
        Self::TokensRefusedNotCharged,
        Self::MfaEnrolNeedsPassword,
        Self::LockoutEngages,
        Self::LockoutDeviceParallel,
        Self::RatelimitLogin,
        Self::RatelimitSpoofedForwarding,
        Self::EnumerationResponse,
        Self::EnumerationTiming,
        Self::EnumerationReset,
        Self::InjectionSql,
        Self::InjectionXss,
        Self::InjectionTraversal,
        Self::InjectionCrlf,
        Self::InjectionNosql,
        Self::BlockingAutomatic,
        Self::HeadersAllResponses,
        Self::ErrorsNo5xx,
    ];

    /// The id in reports and `--only`.
    pub fn id(self) -> &'static str {
        match self {
            Self::HeadersSuccess => "headers.success",
            Self::HeadersError => "headers.error",
            Self::CorsForeignOrigin => "cors.foreign_origin",
            Self::BodyMalformed => "body.malformed",
            Self::TokensForged => "tokens.forged",
            Self::TokensClaims => "tokens.claims",
            Self::TokensRole => "tokens.role",
            Self::TokensReplayAfterLogout => "tokens.replay_after_logout",
            Self::TokensRefusedNotCharged => "tokens.refused_not_charged",
            Self::MfaEnrolNeedsPassword => "mfa.enrol_needs_password",
            Self::LockoutEngages => "lockout.engages",
            Self::LockoutDeviceParallel => "lockout.device_parallel",
            Self::RatelimitLogin => "ratelimit.login",
            Self::RatelimitSpoofedForwarding => "ratelimit.spoofed_forwarding",
            Self::EnumerationResponse => "enumeration.response",
            Self::EnumerationTiming => "enumeration.timing",
            Self::EnumerationReset => "enumeration.reset",
            Self::InjectionSql => "injection.sql",
            Self::InjectionXss => "injection.xss",
            Self::InjectionTraversal => "injection.traversal",
            Self::InjectionCrlf => "injection.crlf",
            Self::InjectionNosql => "injection.nosql",
            Self::BlockingAutomatic => "blocking.automatic",
            Self::HeadersAllResponses => "headers.all_responses",
            Self::ErrorsNo5xx => "errors.no_5xx",
        }
    }

    /// What it shows.
    pub fn title(self) -> &'static str {
        match self {
            Self::HeadersSuccess => "security headers on a successful answer, no server disclosure",
            Self::HeadersError => "security headers and problem bodies on 400, 401, 404, 405, 413, 415",
            Self::CorsForeignOrigin => "a foreign origin gets no CORS grant, on requests and preflights",
            Self::BodyMalformed => "malformed, wrong-typed, deeply nested and invalid UTF-8 bodies are 400",
            Self::TokensForged => {
                "forged tokens without the key: alg none, algorithm swap, signature stripped or altered, claims altered, weak keys, HMAC signed with the published public keys"
            }
            Self::TokensClaims => {
                "correctly signed tokens with wrong claims: expired, aud, iss, typ, nbf, no exp (needs --signing-key-env)"
            }
            Self::TokensRole => "a user's token does not open an admin route",
            Self::TokensReplayAfterLogout => "the access and refresh tokens are refused after logout",
            Self::TokensRefusedNotCharged => {
                "strangers replaying a logged-out token do not spend its user's rate limits"
            }
            Self::MfaEnrolNeedsPassword => "turning MFA on takes the password: an access token alone cannot",
            Self::LockoutEngages => "wrong passwords lock the account; the right password is then refused with 423",
            Self::LockoutDeviceParallel => {
                "parallel wrong passwords under one device token get at most the lockouts' verdicts"
            }
            Self::RatelimitLogin => {
                "login attempts from one client are limited with 429, Retry-After and RateLimit fields"
            }
            Self::RatelimitSpoofedForwarding => "a forged X-Forwarded-For (and kin) does not lift the limit",
            Self::EnumerationResponse => "unknown user and wrong password get the same answer",
            Self::EnumerationTiming => "unknown user and wrong password take the same time (Mann–Whitney U)",
            Self::EnumerationReset => {
                "a reset for an address with accounts and for one without: same answer, same time (Mann–Whitney U)"
            }
            Self::InjectionSql => "SQL injection on every input",
            Self::InjectionXss => "cross-site scripting on every input",
            Self::InjectionTraversal => "path traversal on every input",
            Self::InjectionCrlf => "CRLF and control characters on every input",
            Self::InjectionNosql => "NoSQL operator objects in place of strings",
            Self::BlockingAutomatic => "repeated malicious requests block the client everywhere, and only that client",
            Self::HeadersAllResponses => "every answer of this run carried the security headers",
            Self::ErrorsNo5xx => "no answer of this run was a 5xx",
        }
    }
}

/// A check's verdict.
pub struct Outcome {
    pub status: Status,
    pub detail: String,
}

fn pass(detail: impl Into<String>) -> Outcome {
    Outcome { status: Status::Pass, detail: detail.into() }
}
fn fail(detail: impl Into<String>) -> Outcome {
    Outcome { status: Status::Fail, detail: detail.into() }
}
fn inconclusive(detail: impl Into<String>) -> Outcome {
    Outcome { status: Status::Inconclusive, detail: detail.into() }
}

/// Ends a check early: the budget is spent (not decided) or the server did not answer (a failure).
enum Stop {
    Outcome(Outcome),
}

impl From<SendError> for Stop {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Budget => Stop::Outcome(inconclusive(e.to_string())),
            SendError::Transport(_) => Stop::Outcome(fail(e.to_string())),
        }
    }
}

impl From<Outcome> for Stop {
    fn from(o: Outcome) -> Self {
        Stop::Outcome(o)
    }
}

type Checked = Result<Outcome, Stop>;

/// The headers every answer carries (API.md, "Every response"): name and a test of its value.
/// A test of a header's value.
type ValueTest = fn(&str) -> bool;

const REQUIRED: &[(&str, ValueTest)] = &[
    ("strict-transport-security", |v| {
        v.split(';').any(|d| {
            d.trim().strip_prefix("max-age=").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 31_536_000)
        })
    }),
    ("content-security-policy", |v| v.contains("default-src 'none'") && v.contains("frame-ancestors 'none'")),
    ("x-content-type-options", |v| v.eq_ignore_ascii_case("nosniff")),
    ("x-frame-options", |v| v.eq_ignore_ascii_case("deny")),
    ("referrer-policy", |v| v == "no-referrer"),
    ("cache-control", |v| v.contains("no-store")),
    ("cross-origin-opener-policy", |v| v == "same-origin"),
    ("cross-origin-resource-policy", |v| v == "same-origin"),
    ("permissions-policy", |v| v.contains("camera=()") && v.contains("geolocation=()")),
    ("x-xss-protection", |v| v == "0"),
    ("x-request-id", |v| !v.is_empty()),
];

/// The one answer that may be cached: a well-known document (the key set, the discovery document) that a verifier
/// keeps for at most five minutes (API.md, "Tokens any service can verify").
fn cacheable_document(v: &str) -> bool {
    let mut directives = v.split(',').map(str::trim);
    directives.next() == Some("public")
        && directives
            .next()
            .and_then(|d| d.strip_prefix("max-age="))
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s <= 300)
        && directives.next().is_none()
}

/// What is wrong with an answer's security headers (empty when nothing). `path`: the request's (a successful
/// answer under `/.well-known/` may be cached for five minutes instead of `no-store`).
pub fn header_faults(a: &Answer, path: &str) -> Vec<String> {
    let mut faults = Vec::new();
    let well_known = a.status == 200 && path.starts_with("/.well-known/");
    for (name, ok) in REQUIRED {
        match a.header(name) {
            None => faults.push(format!("{name} missing")),
            Some(v) if *name == "cache-control" && well_known && cacheable_document(v) => {}
            Some(v) if !ok(v) => faults.push(format!("{name}: {v:?}")),
            Some(_) => {}
        }
    }
    for name in ["server", "x-powered-by", "x-aspnet-version"] {
        if let Some(v) = a.header(name) {
            faults.push(format!("{name} disclosed: {v:?}"));
        }
    }
    faults
}

/// What is wrong with an error answer's problem body.
fn problem_faults(a: &Answer) -> Vec<String> {
    let mut faults = Vec::new();
    if !a.header("content-type").is_some_and(|c| c.starts_with("application/problem+json")) {
        faults.push(format!("content-type {:?}", a.header("content-type").unwrap_or("")));
    }
    let body = a.json();
    for field in ["type", "title", "status", "detail", "code", "request_id"] {
        if body.get(field).is_none() {
            faults.push(format!("no `{field}` in the body"));
        }
    }
    if body["request_id"].as_str().is_some() && body["request_id"].as_str() != a.header("x-request-id") {
        faults.push("request_id differs from X-Request-Id".into());
    }
    faults
}

fn limited(a: &Answer) -> bool {
    a.status == 429 || (a.status == 403 && a.code() == "ip_blocked")
}

/// A password the default policy accepts: ten random letters from an alphabet whose letters are at least two
/// apart (no `abc` run, no keyboard row), never the same twice in a row, between fixed upper, digit and special.
fn probe_password() -> String {
    const ALPHABET: &[u8] = b"bdfhkmprtvxz";
    let mut out = String::from("Qz");
    let mut last = 0u8;
    for b in super::random_bytes::<16>() {
        let c = ALPHABET[usize::from(b) % ALPHABET.len()];
        if c != last && out.len() < 12 {
            out.push(char::from(c));
            last = c;
        }
    }
    out.push_str("#7Wj!");
    out
}

/// A user the probe registered for itself.
struct User {
    username: String,
    password: String,
}

pub struct Probe {
    target: Target,
    spec: Value,
    key: Option<Vec<u8>>,
    args: Args,
}

impl Probe {
    pub fn new(target: Target, spec: Value, key: Option<Vec<u8>>, args: Args) -> Self {
        Self { target, spec, key, args }
    }

    pub async fn run(&self, check: CheckId) -> Outcome {
        let result = match check {
            CheckId::HeadersSuccess => self.headers_success().await,
            CheckId::HeadersError => self.headers_error().await,
            CheckId::CorsForeignOrigin => self.cors().await,
            CheckId::BodyMalformed => self.malformed().await,
            CheckId::TokensForged => self.tokens_forged().await,
            CheckId::TokensClaims => self.tokens_claims().await,
            CheckId::TokensRole => self.tokens_role().await,
            CheckId::TokensReplayAfterLogout => self.replay().await,
            CheckId::TokensRefusedNotCharged => self.refused_not_charged().await,
            CheckId::MfaEnrolNeedsPassword => self.mfa_enrol().await,
            CheckId::LockoutEngages => self.lockout().await,
            CheckId::LockoutDeviceParallel => self.device_parallel().await,
            CheckId::RatelimitLogin => self.ratelimit(false).await,
            CheckId::RatelimitSpoofedForwarding => self.ratelimit(true).await,
            CheckId::EnumerationResponse => self.enumeration(false).await,
            CheckId::EnumerationTiming => self.enumeration(true).await,
            CheckId::EnumerationReset => self.reset_enumeration().await,
            CheckId::BlockingAutomatic => self.blocking().await,
            CheckId::HeadersAllResponses => Ok(self.all_responses()),
            CheckId::ErrorsNo5xx => Ok(self.no_5xx()),
            injection => match FAMILIES.iter().find(|f| f.check == injection) {
                Some(family) => self.injection(family).await,
                None => Ok(fail(format!("{} has no payload family", injection.id()))),
            },
        };
        match result {
            Ok(o) | Err(Stop::Outcome(o)) => o,
        }
    }

    // ---------- what several families use: the probe's own users and sessions ----------

    /// Registers a user of the probe's own (a fresh random name) from `id`.
    async fn register(&self, id: &Identity) -> Result<User, Stop> {
        for _ in 0..4 {
            let username = format!("probe_{}", random_hex(6));
            let password = probe_password();
            let a = id
                .send(Req::json(
                    Method::POST,
                    "/api/v1/auth/register",
                    &json!({"username": username, "email": PROBE_ADDRESS, "password": password}),
                ))
                .await?;
            match a.status {
                201 => return Ok(User { username, password }),
                422 => continue,
                _ => {
                    return Err(
                        inconclusive(format!("could not register a user of the probe's own: {}", a.brief())).into()
                    );
                }
            }
        }
        Err(inconclusive("the password policy refused four generated passwords").into())
    }

    async fn login(&self, id: &Identity, user: &User) -> Result<Value, Stop> {
        let a = id
            .send(Req::json(
                Method::POST,
                "/api/v1/auth/login",
                &json!({"username": user.username, "password": user.password}),
            ))
            .await?;
        if a.status != 200 {
            return Err(inconclusive(format!("could not log the probe's user in: {}", a.brief())).into());
        }
        Ok(a.json())
    }

    /// A fresh user, logged in: the identity, the token and its parts.
    async fn session(&self) -> Result<(Identity, Value, Parts), Stop> {
        let id = self.target.identity();
        let user = self.register(&id).await?;
        let login = self.login(&id, &user).await?;
        let token = login["access_token"].as_str().unwrap_or_default().to_string();
        let parts = Parts::parse(&token)
            .ok_or_else(|| Stop::from(fail("the access token is not a JWT with JSON header and claims")))?;
        let control = id.send(Req::get("/api/v1/me").bearer(&token)).await?;
        if control.status != 200 {
            return Err(inconclusive(format!(
                "the genuine token was refused ({}): nothing to compare with",
                control.brief()
            ))
            .into());
        }
        Ok((id, login, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, cache_control: &str) -> Answer {
        let mut headers = http::HeaderMap::new();
        let all = [
            ("strict-transport-security", "max-age=31536000; includeSubDomains"),
            ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", cache_control),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "same-origin"),
            ("permissions-policy", "camera=(), geolocation=()"),
            ("x-xss-protection", "0"),
            ("x-request-id", "r-1"),
        ];
        for (name, value) in all {
            headers.insert(name, value.parse().unwrap());
        }
        Answer { status, headers, body: Default::default(), elapsed: Default::default() }
    }

    #[test]
    fn only_a_well_known_document_may_be_cached_and_for_five_minutes_at_most() {
        assert!(header_faults(&answer(200, "no-store"), "/api/v1/me").is_empty());
        assert!(header_faults(&answer(200, "public, max-age=300"), "/.well-known/jwks.json").is_empty());
        for (status, value, path) in [
            (200, "public, max-age=300", "/api/v1/me"),
            (200, "public, max-age=86400", "/.well-known/jwks.json"),
            (200, "public, max-age=300, immutable", "/.well-known/jwks.json"),
            (404, "public, max-age=300", "/.well-known/nothing"),
        ] {
            assert!(!header_faults(&answer(status, value), path).is_empty(), "{status} {value} {path}");
        }
    }
}
