//! The probe's HTTP side: one client per client identity, a hard request budget, and answers kept whole (status,
//! headers, body, time) so checks can compare them.
//!
//! Against a server on this machine's IPv4 loopback each identity is its own source address in `127.0.0.0/8`
//! (Linux answers on all of it), so a check starts with a client the server has never seen: the per-IP limits,
//! blocks and lockouts one check provokes do not leak into the next. Against any other URL every identity is this
//! machine, and checks that a limit cuts short say so (inconclusive) instead of guessing.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::target::BaseUrl;

type Inner = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// `--max-requests` is spent: the probe stops sending.
    Budget,
    /// Connection refused or reset, TLS failure, timeout: the detail says which.
    Transport(String),
}

impl std::error::Error for SendError {}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Budget => f.write_str("the request budget (--max-requests) is spent"),
            Self::Transport(e) => write!(f, "no answer: {e}"),
        }
    }
}

/// One answer, kept whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub elapsed: Duration,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The problem's `code`, if the body is one.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }

    /// `401 unauthorized`, for detail lines.
    pub fn brief(&self) -> String {
        let code = self.code();
        if code.is_empty() { self.status.to_string() } else { format!("{} {code}", self.status) }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    /// Path and query, already encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
}

impl Req {
    pub fn get(target: impl Into<String>) -> Self {
        Self { method: Method::GET, target: target.into(), headers: Vec::new(), body: None }
    }

    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self { method, target: target.into(), headers: Vec::new(), body: None }
    }

    pub fn json(method: Method, target: impl Into<String>, body: &serde_json::Value) -> Self {
        Self::new(method, target).raw_body("application/json", body.to_string())
    }

    pub fn raw_body(mut self, media: &str, body: impl Into<Bytes>) -> Self {
        self.headers.push(("content-type".into(), media.into()));
        self.body = Some(body.into());
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// The probe's connection to the API under test.
#[derive(Clone)]
pub struct Target {
    base: BaseUrl,
    /// The first three octets of this run's loopback identities (`127.a.b.*`), when the server is on loopback.
    loopback: Option<[u8; 2]>,
    next_identity: Arc<AtomicU32>,
    sent: Arc<AtomicU64>,
    max_requests: u64,
    seen: Arc<Mutex<Seen>>,
}

/// What every answer of the run looked like, for the checks that judge them all.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub answers: u64,
    /// `GET /x 404: strict-transport-security missing`, one per answer that lacked a security header.
    pub missing_headers: Vec<String>,
    /// `POST /x 500`, one per 5xx.
    pub server_errors: Vec<String>,
}

/// A client identity: the source address its requests come from.
#[derive(Clone)]
pub struct Identity {
    target: Target,
    inner: Inner,
}

impl Target {
    pub fn new(base: BaseUrl, max_requests: u64) -> Self {
        let loopback = matches!(base.host(), "127.0.0.1" | "localhost").then(|| {
            let r = crate::probe::random_bytes::<2>();
            [r[0].max(1), r[1]]
        });
        Self {
            base,
            loopback,
            next_identity: Arc::new(AtomicU32::new(0)),
            sent: Arc::new(AtomicU64::new(0)),
            max_requests,
            seen: Arc::new(Mutex::new(Seen::default())),
        }
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// Whether each identity is a fresh source address (loopback) or this machine's one address.
    pub fn rotates_identities(&self) -> bool {
        self.loopback.is_some()
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// A client the server has not seen before (on loopback), else this machine again.
    pub fn identity(&self) -> Identity {
        let n = self.next_identity.fetch_add(1, Ordering::Relaxed);
        let source = self.loopback.map(|[a, b]| {
            // 127.a.b.1 … 127.a.b.254, then 127.a.(b+1).1 …: distinct for 250 × 255 identities.
            let host = (n % 254) as u8 + 1;
            let third = b.wrapping_add((n / 254) as u8);
            IpAddr::V4(Ipv4Addr::new(127, a, third, host))
        });
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_local_address(source);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let connector = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(b) => b.https_or_http().enable_http1().wrap_connector(http),
            // No system roots: plain HTTP still works, HTTPS fails per request with a clear cause.
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
                .https_or_http()
                .enable_http1()
                .wrap_connector(http),
        };
        let inner = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(4).build(connector);
        Identity { target: self.clone(), inner }
    }
}

impl Identity {
    /// Sends one request (counted against the budget) and reads the whole answer.
    pub async fn send(&self, req: Req) -> Result<Answer, SendError> {
        let t = &self.target;
        if t.sent.fetch_add(1, Ordering::Relaxed) >= t.max_requests {
            t.sent.fetch_sub(1, Ordering::Relaxed);
            return Err(SendError::Budget);
        }
        let line = format!("{} {}", req.method, req.target.chars().take(120).collect::<String>());
        let uri = t.base.join(&req.target).map_err(SendError::Transport)?;
        let mut builder = hyper::Request::builder().method(req.method).uri(uri);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(req.body.unwrap_or_default()))
            .map_err(|e| SendError::Transport(format!("could not build the request: {e}")))?;
        let started = Instant::now();
        let response = match tokio::time::timeout(Duration::from_secs(30), self.inner.request(request)).await {
            Err(_) => return Err(SendError::Transport("timed out after 30 s".into())),
            Ok(Err(e)) => return Err(SendError::Transport(error_chain(&e))),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Err(SendError::Transport(format!("body: {e}"))),
        };
        let answer = Answer { status, headers, body, elapsed: started.elapsed() };
        if let Ok(mut seen) = t.seen.lock() {
            seen.answers += 1;
            let faults = super::checks::header_faults(&answer, &req.target);
            if !faults.is_empty() {
                seen.missing_headers.push(format!("{line} {status}: {}", faults.join(", ")));
            }
            if status >= 500 {
                seen.server_errors.push(format!("{line} {status}"));
            }
        }
        Ok(answer)
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
