//! `cloudmind loadtest`: the seed guide's `performance_test.py`, in Rust. Closed-loop (N clients, each sends its
//! next request when the last is answered) or open-loop (`--rate`: requests start on a fixed schedule whatever the
//! answers, and latency counts from the scheduled start, so a slow server cannot hide its queueing: no coordinated
//! omission). Bounded by a request count or a duration. Latency goes to an HDR histogram; the result is a JSON
//! report and a self-contained SVG picture (latency distribution, throughput and latency over time).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::target::BaseUrl;

mod svg;

type HttpClient = Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// What `cloudmind loadtest` was asked.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Base URL of the API: the local server, `sam local start-api`, or a deployed stage.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// The path every request goes to (unless --scenario).
    #[arg(long, default_value = "/health")]
    pub endpoint: String,
    /// Clients (closed loop), or the most requests in flight (open loop).
    #[arg(long, default_value_t = 50)]
    pub concurrent: usize,
    /// Stop after this many requests.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Stop after this many seconds (default 10 when --requests is not given).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Open loop: start this many requests per second, on schedule.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Log in first (`USER:PASSWORD`) and send the access token.
    #[arg(long)]
    pub login: Option<String>,
    /// Send this bearer token.
    #[arg(long)]
    pub token: Option<String>,
    /// A JSON file of weighted requests: `[{"method": "GET", "path": "/api/v1/me", "weight": 3, "body": null}]`.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// The JSON report.
    #[arg(long, default_value = "results.json")]
    pub output: PathBuf,
    /// The SVG picture (default: the report's name with `.svg`).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Needed for a URL that is not on this machine: a load test is an attack if it is not yours.
    #[arg(long)]
    pub yes: bool,
}

/// One weighted request of a scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Step {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

fn get() -> String {
    "GET".into()
}
fn one() -> u32 {
    1
}

/// The JSON report.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub url: String,
    pub mode: String,
    pub concurrency: usize,
    pub target_rate: Option<f64>,
    pub scenario: Vec<Step>,
    pub duration_s: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub latency_ms: Percentiles,
    pub statuses: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    /// One entry per second: requests finished in it, errors, and their latency.
    pub timeline: Vec<Second>,
    /// The latency distribution: upper bound (ms) and count per bucket.
    pub histogram: Vec<(f64, u64)>,
}

#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
pub struct Percentiles {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Serialize, Deserialize, Clone, Copy)]
pub struct Second {
    pub t: u64,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// What the workers share.
struct Tally {
    all: Histogram<u64>,
    seconds: Vec<(Histogram<u64>, u64)>,
    statuses: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Self {
        Self { all: histogram(), seconds: Vec::new(), statuses: BTreeMap::new(), errors: BTreeMap::new() }
    }

    fn record(&mut self, at: Duration, latency: Duration, outcome: Result<u16, &'static str>) {
        let micros = (latency.as_micros() as u64).clamp(1, 3_600_000_000);
        let _ = self.all.record(micros);
        let second = at.as_secs() as usize;
        while self.seconds.len() <= second {
            self.seconds.push((histogram(), 0));
        }
        let slot = &mut self.seconds[second];
        let _ = slot.0.record(micros);
        match outcome {
            Ok(status) => {
                *self.statuses.entry(status.to_string()).or_default() += 1;
                if status >= 400 {
                    slot.1 += 1;
                    *self.errors.entry(format!("status {status}")).or_default() += 1;
                }
            }
            Err(cause) => {
                slot.1 += 1;
                *self.errors.entry(cause.to_string()).or_default() += 1;
            }
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|e| unreachable!("valid bounds: {e}"))
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Runs a load test and writes its report and picture.
pub async fn run(args: Args) -> Result<Results, Box<dyn std::error::Error + Send + Sync>> {
    let base = BaseUrl::parse(&args.url)?;
    if !base.is_local() && !args.yes {
        return Err(format!("{} is not on this machine: pass --yes if it is yours to load", args.url).into());
    }
    let steps: Vec<Step> = match &args.scenario {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
        None => vec![Step { method: "GET".into(), path: args.endpoint.clone(), weight: 1, body: None }],
    };
    // Every request names a path on the base URL, checked before anything is sent.
    for step in &steps {
        base.join(&step.path)?;
    }
    if steps.is_empty() || steps.iter().all(|s| s.weight == 0) {
        return Err("the scenario has no request with a weight".into());
    }
    let concurrency = args.concurrent.max(1);
    let limit = args.requests;
    let duration = args.duration.or(if limit.is_none() { Some(10.0) } else { None }).map(Duration::from_secs_f64);

    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let connector =
        hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?.https_or_http().enable_http1().build();
    let client: HttpClient = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(concurrency).build(connector);
    let token = match (&args.token, &args.login) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(login)) => Some(login_token(&client, &base, login).await?),
        (None, None) => None,
    };
    let plan = Arc::new(Plan::new(steps.clone(), base, token));

    let tally = Arc::new(Mutex::new(Tally::new()));
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = duration.map(|d| started + d);
    let progress = tokio::spawn(progress(done.clone(), limit, duration, started));

    match args.rate {
        None => {
            let workers: Vec<_> = (0..concurrency)
                .map(|n| {
                    let (client, plan, tally, issued, done) =
                        (client.clone(), plan.clone(), tally.clone(), issued.clone(), done.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = issued.fetch_add(1, Ordering::Relaxed);
                            if limit.is_some_and(|l| i >= l) || deadline.is_some_and(|d| Instant::now() >= d) {
                                break;
                            }
                            let sent = Instant::now();
                            let outcome = plan.send(&client, i as usize + n).await;
                            tally.lock().await.record(sent - started, sent.elapsed(), outcome);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await?;
            }
        }
        Some(rate) => {
            let rate = rate.max(0.001);
            let interval = Duration::from_secs_f64(1.0 / rate);
            let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let mut tasks = Vec::new();
            let mut i: u64 = 0;
            loop {
                // The intended start: latency counts from here, however late the request really leaves.
                let intended = started + interval.mul_f64(i as f64);
                if limit.is_some_and(|l| i >= l) || deadline.is_some_and(|d| intended >= d) {
                    break;
                }
                tokio::time::sleep_until(intended.into()).await;
                let permit = slots.clone().acquire_owned().await?;
                let (client, plan, tally, done) = (client.clone(), plan.clone(), tally.clone(), done.clone());
                tasks.push(tokio::spawn(async move {
                    let outcome = plan.send(&client, i as usize).await;
                    tally.lock().await.record(intended - started, intended.elapsed(), outcome);
                    done.fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                }));
                i += 1;
            }
            for t in tasks {
                t.await?;
            }
        }
    }
    let elapsed = started.elapsed();
    progress.abort();
    eprintln!();

    let tally = tally.lock().await;
    let all = &tally.all;
    let requests = all.len();
    let results = Results {
        url: args.url.clone(),
        mode: if args.rate.is_some() { "open-loop".into() } else { "closed-loop".into() },
        concurrency,
        target_rate: args.rate,
        scenario: steps,
        duration_s: elapsed.as_secs_f64(),
        requests,
        requests_per_second: requests as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_ms: Percentiles {
            min: ms(all.min()),
            mean: all.mean() / 1000.0,
            p50: ms(all.value_at_quantile(0.50)),
            p90: ms(all.value_at_quantile(0.90)),
            p99: ms(all.value_at_quantile(0.99)),
            p999: ms(all.value_at_quantile(0.999)),
            max: ms(all.max()),
        },
        statuses: tally.statuses.clone(),
        errors: tally.errors.clone(),
        timeline: tally
            .seconds
            .iter()
            .enumerate()
            .map(|(t, (h, errors))| Second {
                t: t as u64,
                requests: h.len(),
                errors: *errors,
                p50_ms: if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(0.5)) },
                p99_ms: if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(0.99)) },
            })
            .collect(),
        histogram: svg::buckets(all),
    };
    std::fs::write(&args.output, serde_json::to_string_pretty(&results)?)?;
    let picture = args.report.clone().unwrap_or_else(|| args.output.with_extension("svg"));
    std::fs::write(&picture, svg::svg(&results))?;
    print_summary(&results, &args.output, &picture);
    Ok(results)
}

fn print_summary(r: &Results, output: &std::path::Path, picture: &std::path::Path) {
    let l = r.latency_ms;
    println!(
        "{} requests in {:.1} s: {:.1} requests/s ({}, {} clients)",
        r.requests, r.duration_s, r.requests_per_second, r.mode, r.concurrency
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  (mean {:.2}, min {:.2})",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean, l.min
    );
    let statuses: Vec<String> = r.statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!("statuses: {}", statuses.join(", "));
    if !r.errors.is_empty() {
        let errors: Vec<String> = r.errors.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        println!("errors: {}", errors.join(", "));
    }
    println!("report: {}  picture: {}", output.display(), picture.display());
}

/// A progress bar on a terminal, a plain line every second otherwise.
async fn progress(done: Arc<AtomicU64>, limit: Option<u64>, duration: Option<Duration>, started: Instant) {
    use std::io::{IsTerminal as _, Write as _};
    let terminal = std::io::stderr().is_terminal();
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = done.load(Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        let fraction = match (limit, duration) {
            (Some(l), _) => n as f64 / l.max(1) as f64,
            (None, Some(d)) => elapsed / d.as_secs_f64(),
            (None, None) => 0.0,
        }
        .min(1.0);
        let line = format!("{n} requests, {}/s, {:.0} s", n - last, elapsed);
        last = n;
        if terminal {
            let width = 30;
            let filled = (fraction * width as f64) as usize;
            eprint!("\r[{}{}] {:>3.0}% {line}   ", "#".repeat(filled), " ".repeat(width - filled), fraction * 100.0);
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{:>3.0}% {line}", fraction * 100.0);
        }
    }
}

/// The requests to send, in proportion to their weights.
struct Plan {
    steps: Vec<Step>,
    /// Step indices repeated by weight.
    wheel: Vec<usize>,
    base: BaseUrl,
    token: Option<String>,
}

impl Plan {
    fn new(steps: Vec<Step>, base: BaseUrl, token: Option<String>) -> Self {
        let wheel = steps.iter().enumerate().flat_map(|(i, s)| std::iter::repeat_n(i, s.weight as usize)).collect();
        Self { steps, wheel, base, token }
    }

    async fn send(&self, client: &HttpClient, n: usize) -> Result<u16, &'static str> {
        let step = &self.steps[self.wheel[n % self.wheel.len()]];
        let uri = self.base.join(&step.path).map_err(|_| "bad request")?;
        let mut request = hyper::Request::builder().method(step.method.as_str()).uri(uri);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match &step.body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|_| "bad request")?;
        let response = match tokio::time::timeout(Duration::from_secs(30), client.request(request)).await {
            Err(_) => return Err("timeout"),
            Ok(Err(e)) if e.is_connect() => return Err("connect"),
            Ok(Err(_)) => return Err("connection"),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        response.into_body().collect().await.map_err(|_| "body")?;
        Ok(status)
    }
}

async fn login_token(
    client: &HttpClient,
    base: &BaseUrl,
    login: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let (username, password) = login.split_once(':').ok_or("--login is USER:PASSWORD")?;
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let request = hyper::Request::post(base.join("/api/v1/auth/login")?)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let response = client.request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("login answered {status}").into());
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes)?;
    value["access_token"].as_str().map(str::to_string).ok_or_else(|| "no access_token in the login answer".into())
}
