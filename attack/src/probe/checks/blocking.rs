//! The automatic block: repeated malicious requests block the client everywhere, and only that client.

use http::Method;
use serde_json::json;

use super::{Checked, Probe, fail, pass};
use crate::probe::client::Req;

impl Probe {
    pub(super) async fn blocking(&self) -> Checked {
        let id = self.target.identity();
        let budget = self.args.limit_budget;
        let mut blocked_at = None;
        for i in 1..=budget {
            let a = id.send(Req::get(format!("/health?q={}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"))).await?;
            if a.status == 403 && a.code() == "ip_blocked" {
                blocked_at = Some(i);
                break;
            }
            if a.status != 400 && a.status != 429 {
                return Ok(fail(format!("a malicious query on /health: {}", a.brief())));
            }
        }
        let Some(n) = blocked_at else {
            return Ok(fail(format!("{budget} malicious requests from one client and it is not blocked")));
        };
        let mut faults = Vec::new();
        let clean = id.send(Req::get("/health")).await?;
        if clean.status != 403 || clean.code() != "ip_blocked" {
            faults.push(format!("a clean GET /health from the blocked client: {}", clean.brief()));
        } else if !clean.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)) {
            faults.push("the block's 403 has no Retry-After".into());
        }
        let login = id
            .send(Req::json(Method::POST, "/api/v1/auth/login", &json!({"username": "probe", "password": "x"})))
            .await?;
        if login.status != 403 || login.code() != "ip_blocked" {
            faults.push(format!("login from the blocked client: {}", login.brief()));
        }
        if self.target.rotates_identities() {
            let other = self.target.identity().send(Req::get("/health")).await?;
            if other.status != 200 {
                faults.push(format!("another client is hit too: GET /health {}", other.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass(format!(
                "blocked at request {n}; the block covers /health and login{}",
                if self.target.rotates_identities() { ", other clients unaffected" } else { "" }
            ))
        } else {
            fail(faults.join("; "))
        })
    }
}
