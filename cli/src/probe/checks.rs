//! The checks, in the order they run. Each starts from a fresh client identity where the server is on loopback
//! (see `client`), so what one provokes (a limit, a block, a lockout) does not decide the next.

use std::collections::BTreeSet;

use http::Method;
use serde_json::{Value, json};

use super::client::{Answer, Identity, Req, SendError, Target};
use super::inputs::{self, FAMILIES, Location};
use super::jwt::{self, Parts};
use super::stats;
use super::{Args, Status, random_hex};

/// The body fields of free text (`display_name`): the detector leaves line breaks in them to validation.
const FREE_TEXT: &[&str] = &["display_name"];

/// A check: its id (stable, for `--only` and for scripts reading the report) and what it shows.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
}

pub const ALL: &[Check] = &[
    Check { id: "headers.success", title: "security headers on a successful answer, no server disclosure" },
    Check { id: "headers.error", title: "security headers and problem bodies on 400, 401, 404, 405, 413, 415" },
    Check { id: "cors.foreign_origin", title: "a foreign origin gets no CORS grant, on requests and preflights" },
    Check { id: "body.malformed", title: "malformed, wrong-typed, deeply nested and invalid UTF-8 bodies are 400" },
    Check {
        id: "tokens.forged",
        title: "forged tokens without the key: alg none, algorithm swap, signature stripped or altered, claims altered, weak keys",
    },
    Check {
        id: "tokens.claims",
        title: "correctly signed tokens with wrong claims: expired, aud, iss, typ, nbf, no exp (needs --signing-key-env)",
    },
    Check { id: "tokens.role", title: "a user's token does not open an admin route" },
    Check { id: "tokens.replay_after_logout", title: "the access and refresh tokens are refused after logout" },
    Check {
        id: "lockout.engages",
        title: "wrong passwords lock the account; the right password is then refused with 423",
    },
    Check {
        id: "ratelimit.login",
        title: "login attempts from one client are limited with 429, Retry-After and RateLimit fields",
    },
    Check { id: "ratelimit.spoofed_forwarding", title: "a forged X-Forwarded-For (and kin) does not lift the limit" },
    Check { id: "enumeration.response", title: "unknown user and wrong password get the same answer" },
    Check { id: "enumeration.timing", title: "unknown user and wrong password take the same time (Mann–Whitney U)" },
    Check { id: "injection.sql", title: "SQL injection on every input" },
    Check { id: "injection.xss", title: "cross-site scripting on every input" },
    Check { id: "injection.traversal", title: "path traversal on every input" },
    Check { id: "injection.crlf", title: "CRLF and control characters on every input" },
    Check { id: "injection.nosql", title: "NoSQL operator objects in place of strings" },
    Check {
        id: "blocking.automatic",
        title: "repeated malicious requests block the client everywhere, and only that client",
    },
    Check { id: "headers.all_responses", title: "every answer of this run carried the security headers" },
    Check { id: "errors.no_5xx", title: "no answer of this run was a 5xx" },
];

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

/// What is wrong with an answer's security headers (empty when nothing).
pub fn header_faults(a: &Answer) -> Vec<String> {
    let mut faults = Vec::new();
    for (name, ok) in REQUIRED {
        match a.header(name) {
            None => faults.push(format!("{name} missing")),
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

    pub async fn run(&self, check: &Check) -> Outcome {
        let result = match check.id {
            "headers.success" => self.headers_success().await,
            "headers.error" => self.headers_error().await,
            "cors.foreign_origin" => self.cors().await,
            "body.malformed" => self.malformed().await,
            "tokens.forged" => self.tokens_forged().await,
            "tokens.claims" => self.tokens_claims().await,
            "tokens.role" => self.tokens_role().await,
            "tokens.replay_after_logout" => self.replay().await,
            "lockout.engages" => self.lockout().await,
            "ratelimit.login" => self.ratelimit(false).await,
            "ratelimit.spoofed_forwarding" => self.ratelimit(true).await,
            "enumeration.response" => self.enumeration(false).await,
            "enumeration.timing" => self.enumeration(true).await,
            "blocking.automatic" => self.blocking().await,
            "headers.all_responses" => Ok(self.all_responses()),
            "errors.no_5xx" => Ok(self.no_5xx()),
            id => match FAMILIES.iter().find(|f| f.id == id) {
                Some(family) => self.injection(family).await,
                None => Ok(fail(format!("no such check {id}"))),
            },
        };
        match result {
            Ok(o) | Err(Stop::Outcome(o)) => o,
        }
    }

    // ---------- headers, CORS, bodies ----------

    async fn headers_success(&self) -> Checked {
        let a = self.target.identity().send(Req::get("/health")).await?;
        if a.status != 200 {
            return Ok(inconclusive(format!("GET /health answered {} (not healthy), headers not judged", a.brief())));
        }
        let faults = header_faults(&a);
        Ok(if faults.is_empty() {
            pass("GET /health 200: all 11 headers, nothing disclosed")
        } else {
            fail(format!("GET /health: {}", faults.join("; ")))
        })
    }

    async fn headers_error(&self) -> Checked {
        let big = format!(r#"{{"username":"probe","password":"{}"}}"#, "x".repeat(17 * 1024));
        let cases: Vec<(&str, Req, u16)> = vec![
            ("unknown route", Req::get(format!("/api/v1/probe-{}", random_hex(4))), 404),
            ("wrong method", Req::new(Method::DELETE, "/health"), 405),
            ("no token", Req::get("/api/v1/me"), 401),
            (
                "malformed JSON",
                Req::new(Method::POST, "/api/v1/auth/login").raw_body("application/json", r#"{"username":"#),
                400,
            ),
            ("oversized body", Req::new(Method::POST, "/api/v1/auth/login").raw_body("application/json", big), 413),
            (
                "text/plain body",
                Req::new(Method::POST, "/api/v1/auth/login").raw_body("text/plain", "username=probe"),
                415,
            ),
        ];
        let mut faults = Vec::new();
        let mut limited_count = 0;
        for (what, req, want) in cases {
            let a = self.target.identity().send(req).await?;
            if limited(&a) {
                limited_count += 1;
                continue;
            }
            let mut f = header_faults(&a);
            f.extend(problem_faults(&a));
            if a.status != want {
                f.push(format!("status {} instead of {want}", a.status));
            }
            if want == 401 && !a.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")) {
                f.push("no WWW-Authenticate: Bearer".into());
            }
            if want == 405 && a.header("allow").is_none() {
                f.push("no Allow".into());
            }
            if !f.is_empty() {
                faults.push(format!("{what} ({}): {}", a.status, f.join(", ")));
            }
        }
        Ok(if !faults.is_empty() {
            fail(faults.join("; "))
        } else if limited_count > 0 {
            inconclusive(format!("{limited_count} of 6 cases were rate limited or blocked before they were judged"))
        } else {
            pass("404, 405, 401, 400, 413, 415: headers, problem bodies, request ids, WWW-Authenticate, Allow")
        })
    }

    async fn cors(&self) -> Checked {
        let id = self.target.identity();
        let mut faults = Vec::new();
        for origin in ["https://attacker.cloudmind-probe.invalid", "null"] {
            let cases = [
                ("GET /health", Req::get("/health").header("origin", origin)),
                (
                    "preflight of GET /api/v1/me",
                    Req::new(Method::OPTIONS, "/api/v1/me")
                        .header("origin", origin)
                        .header("access-control-request-method", "GET")
                        .header("access-control-request-headers", "authorization"),
                ),
                (
                    "preflight of POST /api/v1/auth/login",
                    Req::new(Method::OPTIONS, "/api/v1/auth/login")
                        .header("origin", origin)
                        .header("access-control-request-method", "POST")
                        .header("access-control-request-headers", "content-type"),
                ),
            ];
            for (what, req) in cases {
                let a = id.send(req).await?;
                if a.status >= 500 {
                    faults.push(format!("{what} from {origin}: {}", a.status));
                }
                if let Some(v) = a.header("access-control-allow-origin") {
                    faults.push(format!("{what} from {origin}: Access-Control-Allow-Origin {v:?}"));
                }
                if a.header("access-control-allow-credentials") == Some("true") {
                    faults.push(format!("{what} from {origin}: Access-Control-Allow-Credentials true"));
                }
            }
        }
        Ok(if faults.is_empty() {
            pass("no Access-Control-Allow-Origin for a foreign or null origin (3 requests each)")
        } else {
            fail(faults.join("; "))
        })
    }

    async fn malformed(&self) -> Checked {
        let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated JSON", br#"{"username": "probe", "password": "#.to_vec()),
            ("a JSON array", br#"["probe", "password"]"#.to_vec()),
            ("wrong types", br#"{"username": 5, "password": true}"#.to_vec()),
            ("null fields", br#"{"username": null, "password": null}"#.to_vec()),
            ("an unknown field", br#"{"username": "probe", "password": "x", "is_admin": true}"#.to_vec()),
            ("5,000 levels of nesting", nested.into_bytes()),
            ("invalid UTF-8", b"{\"username\": \"pr\xffobe\", \"password\": \"x\"}".to_vec()),
            ("an empty body", Vec::new()),
            ("duplicate keys", br#"{"username": "a", "username": "b", "password": "x"}"#.to_vec()),
            (
                "a 10,000-character username",
                format!(r#"{{"username": "{}", "password": "x"}}"#, "a".repeat(10_000)).into_bytes(),
            ),
        ];
        let mut faults = Vec::new();
        let mut limited_count = 0;
        for (what, body) in &cases {
            let a = self
                .target
                .identity()
                .send(Req::new(Method::POST, "/api/v1/auth/login").raw_body("application/json", body.clone()))
                .await?;
            if limited(&a) {
                limited_count += 1;
            } else if a.status != 400 || a.code() != "validation_failed" {
                faults.push(format!("{what}: {}", a.brief()));
            }
        }
        Ok(if !faults.is_empty() {
            fail(format!("POST /api/v1/auth/login, expected 400 validation_failed: {}", faults.join("; ")))
        } else if limited_count > 0 {
            inconclusive(format!("{limited_count} of {} bodies were rate limited before they were judged", cases.len()))
        } else {
            pass(format!("{} malformed login bodies: 400 validation_failed each", cases.len()))
        })
    }

    // ---------- tokens ----------

    /// Registers a user of the probe's own (a fresh random name) from `id`.
    async fn register(&self, id: &Identity) -> Result<User, Stop> {
        for _ in 0..4 {
            let username = format!("probe_{}", random_hex(6));
            let password = probe_password();
            let a = id
                .send(Req::json(
                    Method::POST,
                    "/api/v1/auth/register",
                    &json!({"username": username, "email": "probe@example.com", "password": password}),
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

    async fn tokens_forged(&self) -> Checked {
        let (id, login, parts) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let mut forgeries = jwt::unkeyed_forgeries(token, &parts);
        for weak in ["", "secret", "your-jwt-secret-key-here", "changeme", "cloudmind", "password"] {
            if let Ok(t) = jwt::sign(&parts.header, &parts.claims, weak.as_bytes()) {
                forgeries.push(("signed with a guessable key", t));
            }
        }
        let mut faults = Vec::new();
        for (what, forged) in &forgeries {
            let a = id.send(Req::get("/api/v1/me").bearer(forged)).await?;
            if a.status != 401 || !a.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")) {
                faults.push(format!("{what}: {}", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass(format!("{} forgeries of a genuine token: 401 each, with WWW-Authenticate", forgeries.len()))
        } else {
            fail(format!("accepted or mis-answered: {}", faults.join("; ")))
        })
    }

    async fn tokens_claims(&self) -> Checked {
        let Some(key) = &self.key else {
            return Ok(inconclusive(
                "not run: needs the signing key (--signing-key-env VAR) to sign tokens whose claims are wrong",
            ));
        };
        let (id, _, parts) = self.session().await?;
        let resigned = jwt::sign(&parts.header, &parts.claims, key).map_err(|e| Stop::from(inconclusive(e)))?;
        let a = id.send(Req::get("/api/v1/me").bearer(&resigned)).await?;
        if a.status != 200 {
            return Ok(inconclusive(format!(
                "the genuine claims re-signed with the given key were refused ({}): is it this server's key?",
                a.brief()
            )));
        }
        let now = chrono::Utc::now().timestamp();
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut c = parts.claims.clone();
            f(&mut c);
            c
        };
        let mut cases: Vec<(&str, Value, Value, &str)> = vec![
            (
                "expired",
                parts.header.clone(),
                edit(&|c| {
                    c["iat"] = json!(now - 7_200);
                    c["nbf"] = json!(now - 7_200);
                    c["exp"] = json!(now - 3_600)
                }),
                "token_expired",
            ),
            ("wrong aud", parts.header.clone(), edit(&|c| c["aud"] = json!("another-api")), "unauthorized"),
            (
                "wrong iss",
                parts.header.clone(),
                edit(&|c| c["iss"] = json!("https://attacker.invalid")),
                "unauthorized",
            ),
            ("nbf an hour ahead", parts.header.clone(), edit(&|c| c["nbf"] = json!(now + 3_600)), "unauthorized"),
            (
                "no exp",
                parts.header.clone(),
                edit(&|c| {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("exp");
                    }
                }),
                "unauthorized",
            ),
            (
                "no aud",
                parts.header.clone(),
                edit(&|c| {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("aud");
                    }
                }),
                "unauthorized",
            ),
        ];
        let mut typ = parts.header.clone();
        typ["typ"] = json!("JWT");
        cases.push(("typ JWT (an ID token's type)", typ, parts.claims.clone(), "unauthorized"));
        let mut faults = Vec::new();
        for (what, header, claims, want) in &cases {
            let t = jwt::sign(header, claims, key).map_err(|e| Stop::from(inconclusive(e)))?;
            let a = id.send(Req::get("/api/v1/me").bearer(&t)).await?;
            if a.status != 401 || a.code() != *want {
                faults.push(format!("{what}: {} (want 401 {want})", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass(format!("re-signed genuine claims accepted; {} signed tokens with a wrong claim refused", cases.len()))
        } else {
            fail(faults.join("; "))
        })
    }

    async fn tokens_role(&self) -> Checked {
        let (id, login, _) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let mut faults = Vec::new();
        for (method, path) in [
            (Method::GET, "/api/v1/admin/rate-limit-stats".to_string()),
            (Method::GET, "/api/v1/admin/security-events".to_string()),
            (Method::POST, "/api/v1/admin/users/root/unlock".to_string()),
            (Method::DELETE, "/api/v1/admin/blocks/ip%3A203.0.113.9".to_string()),
        ] {
            let a = id.send(Req::new(method.clone(), path.clone()).bearer(token)).await?;
            if a.status != 403 || a.code() != "forbidden" {
                faults.push(format!("{method} {path}: {}", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass("4 admin routes with a user's token: 403 forbidden")
        } else {
            fail(faults.join("; "))
        })
    }

    async fn replay(&self) -> Checked {
        let (id, login, _) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let out = id.send(Req::new(Method::POST, "/api/v1/auth/logout").bearer(token)).await?;
        if out.status != 204 {
            return Ok(fail(format!("logout answered {}", out.brief())));
        }
        let mut faults = Vec::new();
        let again = id.send(Req::get("/api/v1/me").bearer(token)).await?;
        if again.status != 401 || again.code() != "token_revoked" {
            faults.push(format!("GET /api/v1/me with the logged-out token: {}", again.brief()));
        }
        let twice = id.send(Req::new(Method::POST, "/api/v1/auth/logout").bearer(token)).await?;
        if twice.status != 401 {
            faults.push(format!("a second logout with it: {}", twice.brief()));
        }
        if let Some(refresh) = login["refresh_token"].as_str() {
            let r =
                id.send(Req::json(Method::POST, "/api/v1/auth/refresh", &json!({"refresh_token": refresh}))).await?;
            if r.status != 401 && !limited(&r) {
                faults.push(format!("refresh with the logged-out session's refresh token: {}", r.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass("after logout: 401 token_revoked; its refresh token 401")
        } else {
            fail(faults.join("; "))
        })
    }

    // ---------- lockout, limits ----------

    async fn lockout(&self) -> Checked {
        let setup = self.target.identity();
        let user = self.register(&setup).await?;
        let attempts = self.args.lockout_attempts;
        let mut id = self.target.identity();
        for i in 0..attempts {
            if i % 4 == 3 {
                id = self.target.identity();
            }
            let a = id
                .send(Req::json(
                    Method::POST,
                    "/api/v1/auth/login",
                    &json!({"username": user.username, "password": format!("Wrong-{}-Guess!", random_hex(4))}),
                ))
                .await?;
            if a.status == 423 {
                return Ok(pass(format!("locked after {i} wrong passwords (expected {attempts})")));
            }
            if limited(&a) {
                return Ok(inconclusive(format!(
                    "wrong password {}: {} before the lockout could engage",
                    i + 1,
                    a.brief()
                )));
            }
            if a.status != 401 {
                return Ok(fail(format!("wrong password {}: {} instead of 401", i + 1, a.brief())));
            }
        }
        let right = self
            .target
            .identity()
            .send(Req::json(
                Method::POST,
                "/api/v1/auth/login",
                &json!({"username": user.username, "password": user.password}),
            ))
            .await?;
        Ok(match (right.status, right.code().as_str()) {
            (423, "account_locked")
                if right.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)) =>
            {
                pass(format!(
                    "after {attempts} wrong passwords the right one is 423 account_locked, Retry-After {}",
                    right.header("retry-after").unwrap_or("")
                ))
            }
            (423, _) => fail(format!("423 without a problem code account_locked or a Retry-After: {}", right.brief())),
            (200, _) => fail(format!("after {attempts} wrong passwords the right one still logs in (200): no lockout")),
            _ if limited(&right) => inconclusive(format!("the right password was answered {}", right.brief())),
            _ => fail(format!("the right password after {attempts} wrong ones: {}", right.brief())),
        })
    }

    /// Login attempts for unknown names from one client until a 429. With `spoofed`, the same client keeps
    /// going with a different forged forwarding header on each request: the limit must hold.
    async fn ratelimit(&self, spoofed: bool) -> Checked {
        let id = self.target.identity();
        let budget = self.args.limit_budget;
        let attempt = |headers: Vec<(&'static str, String)>| {
            let mut req = Req::json(
                Method::POST,
                "/api/v1/auth/login",
                &json!({"username": format!("probe_nobody_{}", random_hex(6)), "password": "Wrong-Guess-1!"}),
            );
            for (n, v) in headers {
                req = req.header(n, v);
            }
            id.send(req)
        };
        let mut first_limited = None;
        let mut fields_seen = false;
        for i in 1..=budget {
            let a = attempt(Vec::new()).await?;
            if a.status == 429 {
                first_limited = Some((i, a));
                break;
            }
            if a.status == 403 && a.code() == "ip_blocked" {
                return Ok(inconclusive("this client is blocked: run again once the block ends"));
            }
            fields_seen |= a.header("ratelimit").is_some() && a.header("ratelimit-policy").is_some();
        }
        let Some((n, limited_answer)) = first_limited else {
            return Ok(fail(format!("{budget} login attempts from one client, none limited")));
        };
        if !spoofed {
            let mut faults = Vec::new();
            if limited_answer.code() != "rate_limited" {
                faults.push(format!("429 with code {:?}", limited_answer.code()));
            }
            if !limited_answer.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)) {
                faults.push("no whole-second Retry-After on the 429".into());
            }
            if n > 1 && !fields_seen {
                faults.push("no RateLimit and RateLimit-Policy fields before the limit".into());
            }
            return Ok(if faults.is_empty() {
                pass(format!(
                    "attempt {n} was 429 rate_limited, Retry-After {}",
                    limited_answer.header("retry-after").unwrap_or("")
                ))
            } else {
                fail(faults.join("; "))
            });
        }
        let mut lifted = Vec::new();
        for k in 0..6u8 {
            let ip = format!("203.0.113.{}", 10 + k);
            let headers = vec![
                ("x-forwarded-for", ip.clone()),
                ("x-real-ip", ip.clone()),
                ("forwarded", format!("for={ip}")),
                ("true-client-ip", ip.clone()),
                ("cf-connecting-ip", ip.clone()),
                ("x-client-ip", ip.clone()),
                ("x-originating-ip", ip),
            ];
            let a = attempt(headers).await?;
            if a.status != 429 && a.status != 403 {
                lifted.push(format!("forged address {k}: {}", a.brief()));
            }
        }
        Ok(if lifted.is_empty() {
            pass(format!(
                "limited at attempt {n}; 6 more, each with a different forged client address in 7 forwarding headers: all still 429"
            ))
        } else {
            fail(format!("a forged forwarding header lifted the limit: {}", lifted.join("; ")))
        })
    }

    // ---------- enumeration ----------

    async fn enumeration(&self, timing: bool) -> Checked {
        let samples = if timing { self.args.timing_samples.max(8) } else { 4 };
        let users_needed = samples.div_ceil(3);
        let mut users = Vec::new();
        for _ in 0..users_needed {
            users.push(self.register(&self.target.identity()).await?);
        }
        let mut id = self.target.identity();
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        let mut faults = BTreeSet::new();
        let mut sent = 0u32;
        let mut first: Option<(Answer, Answer)> = None;
        let wrong =
            |username: &str| json!({"username": username, "password": format!("Wrong-{}-Guess!", random_hex(4))});
        for i in 0..samples {
            // Interleaved, so drift on the server or the network hits both sides alike, in a random order within
            // each pair, so nothing periodic (a new connection every fourth request) lands on one side only.
            let mut pair =
                [(true, wrong(&users[i / 3].username)), (false, wrong(&format!("probe_nobody_{}", random_hex(6))))];
            if super::random_bytes::<1>()[0] & 1 == 1 {
                pair.swap(0, 1);
            }
            let mut answers = Vec::new();
            for (is_known, body) in pair {
                if sent.is_multiple_of(4) {
                    id = self.target.identity();
                }
                sent += 1;
                let a = id.send(Req::json(Method::POST, "/api/v1/auth/login", &body)).await?;
                if limited(&a) || a.status == 423 {
                    let have = known.len().min(unknown.len());
                    return Ok(inconclusive(format!(
                        "{} after {have} samples per side: needs fresh client addresses (run it against a server on this machine)",
                        a.brief()
                    )));
                }
                if a.status != 401 || a.code() != "invalid_credentials" {
                    faults.insert(format!("{} user: {}", if is_known { "known" } else { "unknown" }, a.brief()));
                }
                let ms = a.elapsed.as_secs_f64() * 1_000.0;
                if is_known {
                    known.push(ms)
                } else {
                    unknown.push(ms)
                }
                answers.push(a);
            }
            if first.is_none() && answers.len() == 2 {
                let (b, a) = (answers.remove(1), answers.remove(0));
                first = Some((a, b));
            }
        }
        if !faults.is_empty() {
            return Ok(fail(faults.into_iter().collect::<Vec<_>>().join("; ")));
        }
        if !timing {
            let Some((k, u)) = first else { return Ok(inconclusive("no samples")) };
            let (kb, ub) = (k.json(), u.json());
            let mut diffs = Vec::new();
            for field in ["type", "title", "status", "detail", "code"] {
                if kb[field] != ub[field] {
                    diffs.push(format!("{field}: {} vs {}", kb[field], ub[field]));
                }
            }
            let names = |a: &Answer| a.headers.keys().map(|k| k.as_str().to_string()).collect::<BTreeSet<_>>();
            if names(&k) != names(&u) {
                diffs.push(format!(
                    "header names differ: {:?}",
                    names(&k).symmetric_difference(&names(&u)).collect::<Vec<_>>()
                ));
            }
            let keys =
                |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
            if keys(&kb) != keys(&ub) {
                diffs.push("body fields differ".into());
            }
            return Ok(if diffs.is_empty() {
                pass(format!("{samples} pairs: 401 invalid_credentials with the same body and header names"))
            } else {
                fail(format!(
                    "a known user's wrong password and an unknown user answer differently: {}",
                    diffs.join("; ")
                ))
            });
        }
        let c = stats::mann_whitney(&known, &unknown);
        let (mk, mu) = (stats::median(&known), stats::median(&unknown));
        // Significant *and* large enough to matter over a network: at least 2 ms or 10 % of the median.
        let large = c.median_difference.abs() >= 2.0_f64.max(0.1 * mk.max(mu));
        let text = format!(
            "{} samples per side: median {mk:.1} ms (wrong password) vs {mu:.1} ms (unknown user), Mann–Whitney p = {:.2e}",
            known.len(),
            c.p_value
        );
        Ok(if c.p_value < 0.001 && large {
            fail(format!("{text}: the difference tells accounts apart"))
        } else {
            pass(text)
        })
    }

    // ---------- injection, blocking ----------

    async fn injection(&self, family: &inputs::Family) -> Checked {
        let all = inputs::from_spec(&self.spec);
        let mut refused = 0;
        let mut stopped = 0;
        let mut faults = Vec::new();
        // The probe's own user, for operations behind a token: refused input must be refused with a token too.
        let token = if all.iter().any(|i| i.secured && (!family.body_only || i.location == Location::Body)) {
            let (_, login, _) = self.session().await?;
            login["access_token"].as_str().map(str::to_string)
        } else {
            None
        };
        let mut id = self.target.identity();
        let mut sent = 0u32;
        let mut count = 0;
        for input in all.iter().filter(|i| !family.body_only || i.location == Location::Body) {
            let url_part = input.location != Location::Body;
            let extra: &[&str] = if url_part { family.url_payloads } else { &[] };
            let codes = if input.location == Location::Body && FREE_TEXT.contains(&input.name.as_str()) {
                family.free_text_codes
            } else {
                family.codes
            };
            for payload in family.payloads.iter().chain(extra) {
                let value = if family.body_only {
                    serde_json::from_str(payload).unwrap_or(Value::from(*payload))
                } else {
                    Value::from(*payload)
                };
                // Four malicious requests per client: under both the block (5 in 10 minutes) and the auth limit.
                if sent.is_multiple_of(4) {
                    id = self.target.identity();
                }
                sent += 1;
                count += 1;
                let mut req = input.request(&value);
                if let (true, Some(t)) = (input.secured, &token) {
                    req = req.bearer(t);
                }
                let a = id.send(req).await?;
                if a.status == 400 && codes.contains(&a.code().as_str()) {
                    refused += 1;
                } else if limited(&a) {
                    stopped += 1;
                } else {
                    faults.push(format!("{} with {payload:?}: {}", input.label(), a.brief()));
                }
                if a.headers.keys().any(|k| k.as_str().starts_with("x-probe") || k == "set-cookie") {
                    faults.push(format!("{} with {payload:?}: an injected header came back", input.label()));
                }
            }
        }
        let inputs_n = all.iter().filter(|i| !family.body_only || i.location == Location::Body).count();
        let per_input = if family.url_payloads.is_empty() {
            family.payloads.len().to_string()
        } else {
            format!("{}–{}", family.payloads.len(), family.payloads.len() + family.url_payloads.len())
        };
        Ok(if !faults.is_empty() {
            let n = faults.len();
            faults.truncate(6);
            fail(format!("{n} of {count} not refused with 400 {}: {}", family.codes.join(" or "), faults.join("; ")))
        } else if refused == 0 {
            inconclusive(format!(
                "all {count} requests were stopped by a limit or block before the detector was reached"
            ))
        } else if stopped > 0 {
            pass(format!(
                "{inputs_n} inputs × {per_input} payloads: {refused} refused as {}, {stopped} stopped by a limit or block",
                family.codes.join(" or ")
            ))
        } else {
            pass(format!(
                "{inputs_n} inputs × {per_input} payloads: all {refused} refused as {}",
                family.codes.join(" or ")
            ))
        })
    }

    async fn blocking(&self) -> Checked {
        let id = self.target.identity();
        let budget = self.args.limit_budget;
        let mut blocked_at = None;
        for i in 1..=budget {
            let a = id.send(Req::get(format!("/health?q={}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"))).await?;
            if a.status == 403 && a.code() == "ip_blocked" {
                blocked_at = Some(i);
                break;
            }
            if a.status != 400 && a.status != 429 {
                return Ok(fail(format!("a malicious query on /health: {}", a.brief())));
            }
        }
        let Some(n) = blocked_at else {
            return Ok(fail(format!("{budget} malicious requests from one client and it is not blocked")));
        };
        let mut faults = Vec::new();
        let clean = id.send(Req::get("/health")).await?;
        if clean.status != 403 || clean.code() != "ip_blocked" {
            faults.push(format!("a clean GET /health from the blocked client: {}", clean.brief()));
        } else if !clean.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)) {
            faults.push("the block's 403 has no Retry-After".into());
        }
        let login = id
            .send(Req::json(Method::POST, "/api/v1/auth/login", &json!({"username": "probe", "password": "x"})))
            .await?;
        if login.status != 403 || login.code() != "ip_blocked" {
            faults.push(format!("login from the blocked client: {}", login.brief()));
        }
        if self.target.rotates_identities() {
            let other = self.target.identity().send(Req::get("/health")).await?;
            if other.status != 200 {
                faults.push(format!("another client is hit too: GET /health {}", other.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass(format!(
                "blocked at request {n}; the block covers /health and login{}",
                if self.target.rotates_identities() { ", other clients unaffected" } else { "" }
            ))
        } else {
            fail(faults.join("; "))
        })
    }

    fn all_responses(&self) -> Outcome {
        let seen = self.target.seen();
        if seen.answers == 0 {
            return inconclusive("no answers");
        }
        if seen.missing_headers.is_empty() {
            pass(format!("{} answers, every one with the security headers", seen.answers))
        } else {
            let n = seen.missing_headers.len();
            fail(format!(
                "{n} of {} answers lacked security headers, first: {}",
                seen.answers,
                seen.missing_headers.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
            ))
        }
    }

    fn no_5xx(&self) -> Outcome {
        let seen = self.target.seen();
        if seen.server_errors.is_empty() {
            pass(format!("{} answers, none 5xx", seen.answers))
        } else {
            fail(format!(
                "{} answers were 5xx: {}",
                seen.server_errors.len(),
                seen.server_errors.iter().take(6).cloned().collect::<Vec<_>>().join("; ")
            ))
        }
    }
}
