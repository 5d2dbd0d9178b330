//! Breached passwords (API.md, v1.1): the k-anonymity range check against a range server the test runs (what it
//! received is asserted: the five-character prefix, nothing more), and the bundled list when it is down or silent.

use std::sync::{Arc, Mutex};

use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Passes the seed policy, but the range server lists it.
const LISTED: &str = "Tr0ub4dor&3-Staple-Horse";

fn sha1(password: &str) -> String {
    sha1_smol::Sha1::from(password.as_bytes()).digest().to_string().to_ascii_uppercase()
}

/// A range service: answers `GET /range/<prefix>` with padded lines listing `listed` (count 7) and `padded`
/// (count 0: padding), and keeps every request head it received.
struct RangeServer {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

async fn range_server(listed: &[&str], padded: &[&str], answer: bool) -> RangeServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let lines: Vec<(String, u32)> =
        listed.iter().map(|p| (sha1(p), 7)).chain(padded.iter().map(|p| (sha1(p), 0))).collect();
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let (seen, lines) = (seen.clone(), lines.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                seen.lock().unwrap().push(head.clone());
                if !answer {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    return;
                }
                let prefix = head.split_whitespace().nth(1).unwrap_or("").trim_start_matches("/range/").to_string();
                // Real answers are padded to hundreds of lines: some of ours are padding for this prefix too.
                let mut body = String::new();
                for (hash, count) in lines.iter().filter(|(h, _)| h.starts_with(&prefix)) {
                    body.push_str(&format!("{}:{count}\r\n", &hash[5..]));
                }
                for i in 0..50 {
                    body.push_str(&format!("{:035X}:0\r\n", i * 7919));
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    RangeServer { url, heads }
}

fn violations(body: &Value) -> Vec<String> {
    body["violations"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_listed_password_is_refused_and_only_the_prefix_leaves() {
    let range = range_server(&[LISTED], &[GOOD_PASSWORD], true).await;
    let app = TestApp::with(&[("BREACHED_PASSWORD_API", &range.url)]).await;
    let (_, body) = assert_problem(app.register("bree", LISTED).await, 422, "weak_password").await;
    assert_eq!(violations(&body), ["breached_password"]);
    // Listed with a count of 0 is padding: not breached.
    assert_eq!(app.register("bree", GOOD_PASSWORD).await.status(), 201);
    // The password change checks too.
    let token = app.token("bree", GOOD_PASSWORD).await;
    let r = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": LISTED}))
        .send()
        .await
        .unwrap();
    let (_, body) = assert_problem(r, 422, "weak_password").await;
    assert_eq!(violations(&body), ["breached_password"]);

    let heads = range.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "{heads:?}");
    let expected = [sha1(LISTED), sha1(GOOD_PASSWORD), sha1(LISTED)];
    for (head, hash) in heads.iter().zip(expected) {
        let lower = head.to_ascii_lowercase();
        assert!(head.starts_with(&format!("GET /range/{} HTTP/1.1\r\n", &hash[..5])), "{head}");
        assert!(lower.contains("\r\nadd-padding: true\r\n"), "{head}");
        // Nothing of the hash past the prefix, and nothing of the password, is sent.
        assert!(!head.contains(&hash[5..]) && !lower.contains(&hash[5..].to_ascii_lowercase()), "{head}");
        for secret in [LISTED, GOOD_PASSWORD] {
            assert!(!head.contains(secret), "{head}");
        }
    }
}

#[tokio::test]
async fn with_the_range_server_down_the_bundled_list_still_applies_and_the_degradation_is_logged() {
    // A port that was just free: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let app = TestApp::with(&[("BREACHED_PASSWORD_API", &closed)]).await;
    // "monkey123" is in the bundled list of leaked passwords (compared lower-cased): breached.
    let (_, body) = assert_problem(app.register("dora", "Monkey123").await, 422, "weak_password").await;
    assert!(violations(&body).contains(&"breached_password".to_string()), "{body}");
    // A password the list does not hold is accepted: the request does not fail with the service.
    assert_eq!(app.register("dora", GOOD_PASSWORD).await.status(), 201);
    let degraded = app.events("sys_dependency_degraded").await;
    assert_eq!(degraded.len(), 2, "{degraded:?}");
    assert!(degraded[0]["detail"].as_str().unwrap().contains("bundled list"), "{degraded:?}");
}

#[tokio::test]
async fn a_range_server_that_never_answers_is_given_up_on_and_the_bundled_list_answers() {
    let silent = range_server(&[LISTED], &[], false).await;
    let app = TestApp::with(&[("BREACHED_PASSWORD_API", &silent.url)]).await;
    // Listed by the silent server, but it never says so: the bundled list, which does not hold it, answers.
    assert_eq!(app.register("sila", LISTED).await.status(), 201);
    assert_eq!(silent.heads.lock().unwrap().len(), 1);
    let degraded = app.events("sys_dependency_degraded").await;
    assert!(degraded[0]["detail"].as_str().unwrap().contains("within 1000 ms"), "{degraded:?}");
}
