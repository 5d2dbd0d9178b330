//! Malformed bodies: truncated, wrong-typed, nested, invalid UTF-8, repeated keys: each a 400.

use http::Method;

use super::{Checked, Probe, fail, inconclusive, limited, pass};
use crate::probe::client::Req;

impl Probe {
    pub(super) async fn malformed(&self) -> Checked {
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
}
