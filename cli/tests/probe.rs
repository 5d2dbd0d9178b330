//! `cloudmind probe`'s own limits: it never sends more than `--max-requests`, and it does not attack a URL that is
//! not on this machine without being told to. (Its checks are exercised by `make test`, against the local server
//! and against weakened deployments: `scripts/probe.sh`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

/// A server that counts requests and answers `{}` (an empty description at `/openapi.json`).
async fn counting_server() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    count.fetch_add(1, Ordering::SeqCst);
                    let body = if req.uri().path() == "/openapi.json" { r#"{"paths": {}}"# } else { "{}" };
                    async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())))) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (format!("http://{address}"), seen)
}

fn probe(args: &[&str], output: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cloudmind"))
        .arg("probe")
        .args(args)
        .arg("--output")
        .arg(output)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_stops_at_its_request_budget_and_says_what_it_did_not_run() {
    let (url, count) = counting_server().await;
    let dir = std::env::temp_dir().join(format!("cloudmind-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("probe.json");
    let out = tokio::task::spawn_blocking({
        let (url, output) = (url.clone(), output.clone());
        move || probe(&["--url", &url, "--max-requests", "25"], &output)
    })
    .await
    .unwrap();
    // A server with none of the defences fails the run...
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // ...and the probe sent no more than it was allowed.
    assert!(count.load(Ordering::SeqCst) <= 25, "{} requests", count.load(Ordering::SeqCst));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert!(report["requests"].as_u64().unwrap() <= 25);
    let checks = report["checks"].as_array().unwrap();
    let status = |id: &str| checks.iter().find(|c| c["id"] == id).unwrap()["status"].as_str().unwrap().to_string();
    assert_eq!(status("headers.success"), "fail");
    assert!(
        checks
            .iter()
            .any(|c| c["status"] == "inconclusive" && c["detail"].as_str().unwrap().contains("--max-requests"))
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("FAIL") && l.contains("headers.success")), "{stdout}");
}

#[test]
fn a_url_elsewhere_needs_yes() {
    let output = std::env::temp_dir().join(format!("cloudmind-probe-remote-{}.json", std::process::id()));
    // 203.0.113.0/24 is documentation space: nothing answers there, and nothing must be tried.
    let out = probe(&["--url", "https://203.0.113.7"], &output);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(!output.exists());
}
