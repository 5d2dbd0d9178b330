//! Security headers: on a success, on every kind of refusal (with problem bodies), and on every answer of the run.

use http::Method;

use super::{Checked, Outcome, Probe, fail, header_faults, inconclusive, limited, pass, problem_faults};
use crate::probe::client::Req;
use crate::probe::random_hex;

impl Probe {
    pub(super) async fn headers_success(&self) -> Checked {
        let a = self.target.identity().send(Req::get("/health")).await?;
        if a.status != 200 {
            return Ok(inconclusive(format!("GET /health answered {} (not healthy), headers not judged", a.brief())));
        }
        let faults = header_faults(&a, "/health");
        Ok(if faults.is_empty() {
            pass("GET /health 200: all 11 headers, nothing disclosed")
        } else {
            fail(format!("GET /health: {}", faults.join("; ")))
        })
    }

    pub(super) async fn headers_error(&self) -> Checked {
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
            let mut f = header_faults(&a, "");
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

    pub(super) fn all_responses(&self) -> Outcome {
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
}
