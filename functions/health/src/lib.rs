//! `GET /health`: component status in the seed guide's shape. Also the API reference: `GET /docs` (a page and
//! its script and style, shipped in the binary, rendering `GET /openapi.json` in the browser, with a
//! `Content-Security-Policy` that admits only them) and `GET /openapi.json` (`openapi.yaml` as JSON, converted at
//! build time).
//!
//! `healthy` (200) when the user store answers and the limiter runs on its configured backend; `degraded` (200)
//! while the limiter falls back to memory; `unhealthy` (503) when the store does not answer. Host figures come from
//! `sysinfo`, sampled at most every few seconds so a monitoring poll stays cheap.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudmind_security::ApiError;
use cloudmind_security::clock::rfc3339;
use cloudmind_security::ratelimit::PolicyId;
use cloudmind_security::store::StoreKind;
use cloudmind_security::users::UserStore;
use cloudmind_serving::function::{Function, Ports, WiringError};
use cloudmind_serving::gate::{Anonymous, Call, Gate, Reply, StatusCode};
use cloudmind_serving::observe::REQUESTS;
use cloudmind_serving::routes::{Method, Operation, Route};
use serde_json::{Value, json};
use sysinfo::{Disks, System};

/// How long a host sample is reused.
const SAMPLE_TTL: Duration = Duration::from_secs(5);

/// The health function.
#[derive(Clone)]
pub struct Health {
    gate: Gate,
    users: Arc<dyn UserStore>,
    store: StoreKind,
    environment: String,
    version: String,
    host: Arc<Mutex<HostSampler>>,
}

/// Its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetHealth,
    GetDocs,
    GetDocsScript,
    GetDocsStyle,
    GetOpenApi,
}

impl Operation for Op {
    const ALL: &'static [Self] =
        &[Self::GetHealth, Self::GetDocs, Self::GetDocsScript, Self::GetDocsStyle, Self::GetOpenApi];
    fn route(self) -> Route {
        match self {
            Self::GetHealth => Route::new(Method::GET, "/health", "getHealth", PolicyId::Health, false),
            Self::GetDocs => Route::new(Method::GET, "/docs", "getDocs", PolicyId::Health, false),
            Self::GetDocsScript => Route::new(Method::GET, "/docs/docs.js", "getDocsScript", PolicyId::Health, false),
            Self::GetDocsStyle => Route::new(Method::GET, "/docs/docs.css", "getDocsStyle", PolicyId::Health, false),
            Self::GetOpenApi => Route::new(Method::GET, "/openapi.json", "getOpenApi", PolicyId::Health, false),
        }
    }
}

/// The docs page, its script and style, and the OpenAPI document.
const DOCS_HTML: &str = include_str!("../docs/index.html");
const DOCS_JS: &str = include_str!("../docs/docs.js");
const DOCS_CSS: &str = include_str!("../docs/docs.css");
const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The docs page may run its own script and style and fetch from its own origin; nothing else.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

impl Function for Health {
    const NAME: &'static str = "health";
    type Op = Op;
    type Caller = Anonymous;

    /// Starts whatever state the stores are in: a store that is down is reported by every answer.
    async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        let settings = ports.settings();
        Ok(Self {
            gate: ports.gate::<Self>().await?,
            users: ports.users().await?,
            store: ports.store_kind(),
            environment: settings.environment.clone(),
            version: settings.version.clone(),
            host: Arc::new(Mutex::new(HostSampler::default())),
        })
    }

    fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn handle(&self, op: Op, call: Call) -> Result<Reply, ApiError> {
        match op {
            Op::GetHealth => health(self, call).await,
            Op::GetDocs => {
                Ok(Reply::file("text/html; charset=utf-8", DOCS_HTML).with_header("content-security-policy", DOCS_CSP))
            }
            Op::GetDocsScript => Ok(Reply::file("text/javascript; charset=utf-8", DOCS_JS)),
            Op::GetDocsStyle => Ok(Reply::file("text/css; charset=utf-8", DOCS_CSS)),
            Op::GetOpenApi => Ok(Reply::file("application/json", OPENAPI_JSON)),
        }
    }
}

async fn health(state: &Health, call: Call) -> Result<Reply, ApiError> {
    let started = Instant::now();
    let ping = state.users.ping().await;
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    if let Err(e) = &ping {
        tracing::error!(event = "health_store_unavailable", error = %cloudmind_security::store::error_chain(e));
    }
    let limiter = state.gate.limiter();
    let status = match (&ping, limiter.degraded()) {
        (Err(_), _) => "unhealthy",
        (Ok(()), true) => "degraded",
        (Ok(()), false) => "healthy",
    };
    let redis = limiter.health().await.unwrap_or_else(|| json!({"mode": "memory"}));
    let system = state.host.lock().map(|mut h| h.sample()).unwrap_or_else(|p| p.into_inner().sample());
    let perf = REQUESTS.snapshot();
    let body = json!({
        "status": status,
        "version": state.version,
        "environment": state.environment,
        "timestamp": rfc3339(call.now),
        "database": {
            "status": if ping.is_ok() { "healthy" } else { "unhealthy" },
            "backend": state.store.as_str(),
            "connection_test": if ping.is_ok() { "passed" } else { "failed" },
            "latency_ms": (latency_ms * 1000.0).round() / 1000.0,
        },
        "redis": redis,
        "system": system,
        "performance": {
            "total_requests": perf.total_requests,
            "avg_response_time": (perf.avg_response_time * 1e6).round() / 1e6,
            "slow_requests": perf.slow_requests,
        },
        "security": {"logging_enabled": true, "security_monitoring": true},
    });
    let code = if status == "unhealthy" { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    Ok(Reply::json(code, body))
}

/// Host CPU, memory and disk use, refreshed at most every [`SAMPLE_TTL`].
#[derive(Default)]
struct HostSampler {
    system: Option<System>,
    last: Option<(Instant, Value)>,
}

impl HostSampler {
    fn sample(&mut self) -> Value {
        if let Some((at, value)) = &self.last
            && at.elapsed() < SAMPLE_TTL
        {
            return value.clone();
        }
        let system = self.system.get_or_insert_with(System::new);
        system.refresh_memory();
        system.refresh_cpu_usage();
        let memory_percent = percent(system.used_memory(), system.total_memory());
        let disks = Disks::new_with_refreshed_list();
        let root = disks.iter().find(|d| d.mount_point() == std::path::Path::new("/")).or_else(|| disks.iter().next());
        let disk_percent =
            root.map_or(0.0, |d| percent(d.total_space().saturating_sub(d.available_space()), d.total_space()));
        let value = json!({
            "cpu_percent": round1(f64::from(system.global_cpu_usage())),
            "memory_percent": memory_percent,
            "disk_percent": disk_percent,
        });
        self.last = Some((Instant::now(), value.clone()));
        value
    }
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { round1(part as f64 * 100.0 / total as f64) }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
