//! `cloudmind probe`: the seed guide's `security_test.py`, in Rust. It attacks a CloudMind API the way this
//! project's threat model says attackers do (`SECURITY.md`) and reports one pass/fail line per check: security
//! headers, CORS, body limits, forged and replayed tokens, lockout, rate limits, spoofed `X-Forwarded-For`, user
//! enumeration by answer and by timing, injection on every input `openapi.json` declares, and the automatic block.
//!
//! It sends at most `--max-requests` requests, asks before probing a URL that is not on this machine, and exits
//! non-zero when a check fails (or could not decide, unless `--allow-inconclusive`).

mod checks;
mod client;
mod inputs;
mod jwt;
mod stats;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use self::checks::CheckId;
use self::client::{Req, Target};

/// What `cloudmind probe` was asked.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Base URL of the API: the local server, `sam local start-api`, or a deployed stage.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// The most requests the probe sends; checks left when it is spent are reported as not run.
    #[arg(long, default_value_t = 3_000)]
    pub max_requests: u64,
    /// The JSON report.
    #[arg(long, default_value = "probe.json")]
    pub output: PathBuf,
    /// The HMAC key the server signs with (`JWT_SECRET_KEY`): adds correctly signed tokens with wrong claims
    /// (expired, wrong `aud`/`iss`/`typ`, `nbf` ahead, no `exp`). Read from the environment, never from a flag's
    /// value on a shared machine's process list.
    #[arg(long = "signing-key-env", value_name = "VAR")]
    pub signing_key_env: Option<String>,
    /// The lockout threshold the server is expected to have (`MAX_LOGIN_ATTEMPTS`).
    #[arg(long, default_value_t = 5)]
    pub lockout_attempts: u32,
    /// Requests from one client within which the login rate limit (and the automatic block) must engage.
    #[arg(long, default_value_t = 30)]
    pub limit_budget: u32,
    /// Login samples per side for the timing test.
    #[arg(long, default_value_t = 24)]
    pub timing_samples: usize,
    /// Run only the checks whose id starts with one of these (comma-separated: `tokens,headers`).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Exit 0 when no check failed even if some could not decide (a deployed stage seen from one address).
    #[arg(long)]
    pub allow_inconclusive: bool,
    /// Do not ask before probing a URL that is not on this machine.
    #[arg(long)]
    pub yes: bool,
}

/// One check's result.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Inconclusive,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub detail: String,
    pub requests: u64,
}

/// The JSON report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub url: String,
    pub started_at: String,
    pub duration_s: f64,
    pub requests: u64,
    pub max_requests: u64,
    /// Whether each check ran from fresh client addresses (a server on this machine's loopback).
    pub fresh_client_per_check: bool,
    pub passed: usize,
    pub failed: usize,
    pub inconclusive: usize,
    pub checks: Vec<CheckReport>,
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator: if it fails the probe cannot make unguessable names, and says so.
    if let Err(e) = getrandom::fill(&mut b) {
        eprintln!("error: no randomness from the OS: {e}");
        std::process::exit(2);
    }
    b
}

pub(crate) fn random_hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", random_bytes::<1>()[0])).collect()
}

pub async fn run(args: Args) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let base = crate::target::BaseUrl::parse(&args.url)?;
    if !base.is_local() && !args.yes {
        confirm(&args)?;
    }
    let key = match &args.signing_key_env {
        None => None,
        Some(var) => Some(std::env::var(var).map_err(|_| format!("--signing-key-env {var}: the variable is not set"))?),
    };
    let target = Target::new(base, args.max_requests);
    // The API's own description of its inputs.
    let spec = {
        let answer = target.identity().send(Req::get("/openapi.json")).await?;
        if answer.status != 200 {
            return Err(format!(
                "{}/openapi.json answered {}: the probe needs the API description",
                args.url, answer.status
            )
            .into());
        }
        serde_json::from_slice::<serde_json::Value>(&answer.body).map_err(|e| format!("openapi.json: {e}"))?
    };
    let started_at = chrono_now();
    let started = Instant::now();
    let is_tty = std::io::stdout().is_terminal();
    println!(
        "probing {} (at most {} requests; {})",
        target.base(),
        args.max_requests,
        if target.rotates_identities() {
            "each check from fresh loopback addresses"
        } else {
            "every check from this machine's address: limits one check provokes can cut the next short"
        }
    );
    let probe = checks::Probe::new(target.clone(), spec, key.map(String::into_bytes), args.clone());
    let mut results = Vec::new();
    for &check in CheckId::ALL {
        if !args.only.is_empty() && !args.only.iter().any(|p| check.id().starts_with(p.as_str())) {
            continue;
        }
        let before = target.sent();
        let outcome = probe.run(check).await;
        let report = CheckReport {
            id: check.id().to_string(),
            title: check.title().to_string(),
            status: outcome.status,
            detail: outcome.detail,
            requests: target.sent() - before,
        };
        print_line(&report, is_tty);
        results.push(report);
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let report = Report {
        url: target.base().to_string(),
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
        requests: target.sent(),
        max_requests: args.max_requests,
        fresh_client_per_check: target.rotates_identities(),
        passed: count(Status::Pass),
        failed: count(Status::Fail),
        inconclusive: count(Status::Inconclusive),
        checks: results,
    };
    std::fs::write(&args.output, serde_json::to_vec_pretty(&report)?)?;
    println!(
        "{} passed, {} failed, {} inconclusive; {} requests in {:.1} s; report: {}",
        report.passed,
        report.failed,
        report.inconclusive,
        report.requests,
        report.duration_s,
        args.output.display()
    );
    Ok(report)
}

/// Whether the run counts as a failure (the process exit status).
pub fn failed(report: &Report, allow_inconclusive: bool) -> bool {
    report.failed > 0 || (!allow_inconclusive && report.inconclusive > 0)
}

fn print_line(r: &CheckReport, colour: bool) {
    let (word, code) = match r.status {
        Status::Pass => ("PASS", "32"),
        Status::Fail => ("FAIL", "31"),
        Status::Inconclusive => ("INCONCLUSIVE", "33"),
    };
    let word = if colour { format!("\x1b[{code}m{word:<12}\x1b[0m") } else { format!("{word:<12}") };
    println!("{word} {:<32} {}", r.id, r.detail);
}

fn confirm(args: &Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "{} is not on this machine: pass --yes to probe it (up to {} requests, attacks included)",
            args.url, args.max_requests
        )
        .into());
    }
    print!(
        "{} is not on this machine. Send up to {} requests of attacks (injection, forged tokens, password guessing \
         that locks the probe's own users, enough bad requests to get this address blocked)? [y/N] ",
        args.url, args.max_requests
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes") { Ok(()) } else { Err("not confirmed".into()) }
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
