//! `cloudmind loadtest` against a server whose latency and answers the test controls: the report's numbers must
//! be that server's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

/// A server that answers every request after `delay`, every fourth with 503; returns its address.
async fn slow_server(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        tokio::time::sleep(delay).await;
                        let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"{}")));
                        if n % 4 == 3 {
                            *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    format!("http://{address}")
}

fn run(args: &[&str], dir: &std::path::Path) -> serde_json::Value {
    let output = dir.join("results.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_cloudmind"))
        .arg("loadtest")
        .args(args)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());
    let svg = std::fs::read_to_string(output.with_extension("svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Latency distribution") && !svg.contains("<script"));
    serde_json::from_str(&std::fs::read_to_string(output).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_shows_the_servers_latency_statuses_and_rate() {
    let url = slow_server(Duration::from_millis(25)).await;
    let dir = std::env::temp_dir().join(format!("cloudmind-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let closed = tokio::task::spawn_blocking({
        let (url, dir) = (url.clone(), dir.clone());
        move || run(&["--url", &url, "--endpoint", "/x", "--concurrent", "10", "--requests", "200"], &dir)
    })
    .await
    .unwrap();
    assert_eq!(closed["requests"], 200);
    assert_eq!(closed["statuses"]["200"], 150);
    assert_eq!(closed["statuses"]["503"], 50);
    assert_eq!(closed["errors"]["status 503"], 50);
    let latency = &closed["latency_ms"];
    let (min, p50, max) =
        (latency["min"].as_f64().unwrap(), latency["p50"].as_f64().unwrap(), latency["max"].as_f64().unwrap());
    assert!(min >= 25.0, "no answer is faster than the server's 25 ms: {latency}");
    assert!(p50 < 100.0 && max >= p50, "{latency}");
    // Ten clients, 25 ms each: at most 400 requests a second.
    let rate = closed["requests_per_second"].as_f64().unwrap();
    assert!(rate <= 400.0 && rate > 50.0, "{rate}");
    assert_eq!(closed["histogram"].as_array().unwrap().iter().map(|b| b[1].as_u64().unwrap()).sum::<u64>(), 200);

    // Open loop at 40/s for 40 requests: a second of schedule, whatever the answers.
    let open = tokio::task::spawn_blocking(move || {
        run(&["--url", &url, "--endpoint", "/x", "--concurrent", "50", "--requests", "40", "--rate", "40"], &dir)
    })
    .await
    .unwrap();
    assert_eq!((open["mode"].as_str(), open["requests"].as_u64()), (Some("open-loop"), Some(40)));
    let took = open["duration_s"].as_f64().unwrap();
    assert!((0.95..2.0).contains(&took), "the schedule takes about a second: {took}");
    assert!(open["latency_ms"]["min"].as_f64().unwrap() >= 25.0);
}

#[test]
fn a_url_that_is_not_local_needs_yes() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cloudmind"))
        .args(["loadtest", "--url", "https://api.example.com", "--requests", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--yes"));
}
