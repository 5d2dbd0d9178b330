//! The local server's own bounds: slow or silent clients, too many connections, requests that never end.

use std::sync::Arc;
use std::time::Duration;

use cloudmind_tests::{BrokenReads, GOOD_PASSWORD, Limits, TestApp, assert_problem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn short() -> Limits {
    Limits {
        read_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(500),
        max_connections: 64,
        max_connections_per_ip: 3,
    }
}

async fn server(limits: Limits) -> TestApp {
    let base = TestApp::spawn().await;
    TestApp::serving_within(base.wiring.clone(), limits).await
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Everything the server sends until it closes the connection (or 5 s pass).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_declared_body_that_never_arrives_is_408_and_the_connection_closes() {
    let app = server(short()).await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head =
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    for (name, _) in cloudmind_security::headers::SECURITY_HEADERS {
        assert!(answer.to_lowercase().contains(&format!("{name}:")), "{name} missing: {answer}");
    }
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_closed_at_once_and_the_others_still_answer() {
    let app = server(short()).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(address(&app)).await.unwrap());
    }
    let mut extra = TcpStream::connect(address(&app)).await.unwrap();
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the fourth connection is closed at once: {closed:?}");
    // A held connection is still served, and a freed place is taken again.
    held[0].write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    assert!(read_to_close(&mut held[0]).await.starts_with("HTTP/1.1 200"));
    drop(held.remove(0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_request_that_never_ends_is_503_in_time_and_gives_its_lockout_slot_back() {
    let app = TestApp::spawn().await;
    app.registered("hana").await;
    let broken = BrokenReads { inner: app.backends.users.clone(), hang: true };
    let hanging = TestApp::serving_within(app.wiring.with_users(Arc::new(broken)), short()).await;
    for _ in 0..5 {
        assert_problem(hanging.login("hana", GOOD_PASSWORD).await, 503, "service_unavailable").await;
    }
    let mut status = 0;
    for _ in 0..50 {
        status = app.login("hana", GOOD_PASSWORD).await.status().as_u16();
        if status != 423 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "five requests that never finished must not lock the account");
}

#[tokio::test]
async fn requests_hyper_cannot_parse_get_problem_responses_with_the_security_headers() {
    let app = server(Limits::default()).await;
    let long_target = format!("GET /health?q={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let huge_header = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(500_000));
    let cases = [
        ("GET /health HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n".to_string(), 400, "validation_failed"),
        ("G\u{1}T /health HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), 400, "validation_failed"),
        (long_target, 414, "uri_too_long"),
        (huge_header, 431, "headers_too_large"),
    ];
    for (request, status, code) in cases {
        let mut stream = TcpStream::connect(address(&app)).await.unwrap();
        let _ = stream.write_all(request.as_bytes()).await; // hyper may answer and close before reading it all
        let answer = read_to_close(&mut stream).await;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{status}: {answer:.200}"));
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        let head = head.to_ascii_lowercase();
        for header in
            ["x-content-type-options: nosniff", "content-security-policy:", "x-frame-options:", "x-request-id:"]
        {
            assert!(head.contains(header), "{status} lacks {header}: {head}");
        }
        let problem: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{status}: {e}: {body}"));
        assert_eq!((problem["status"].as_u64(), problem["code"].as_str()), (Some(status), Some(code)));
    }
    // The server still answers.
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), 200);
}
