//! The login rate limit, and that forged forwarding headers do not lift it.

use http::Method;
use serde_json::json;

use super::{Checked, Probe, fail, inconclusive, pass};
use crate::probe::client::Req;
use crate::probe::random_hex;

impl Probe {
    /// Login attempts for unknown names from one client until a 429. With `spoofed`, the same client keeps
    /// going with a different forged forwarding header on each request: the limit must hold.
    pub(super) async fn ratelimit(&self, spoofed: bool) -> Checked {
        let id = self.target.identity();
        let budget = self.args.limit_budget;
        let attempt = |headers: Vec<(&'static str, String)>| {
            let mut req = Req::json(
                Method::POST,
                "/api/v1/auth/login",
                &json!({"username": format!("probe_nobody_{}", random_hex(6)), "password": "Wrong-Guess-1!"}),
            );
            for (n, v) in headers {
                req = req.header(n, v);
            }
            id.send(req)
        };
        let mut first_limited = None;
        let mut fields_seen = false;
        for i in 1..=budget {
            let a = attempt(Vec::new()).await?;
            if a.status == 429 {
                first_limited = Some((i, a));
                break;
            }
            if a.status == 403 && a.code() == "ip_blocked" {
                return Ok(inconclusive("this client is blocked: run again once the block ends"));
            }
            fields_seen |= a.header("ratelimit").is_some() && a.header("ratelimit-policy").is_some();
        }
        let Some((n, limited_answer)) = first_limited else {
            return Ok(fail(format!("{budget} login attempts from one client, none limited")));
        };
        if !spoofed {
            let mut faults = Vec::new();
            if limited_answer.code() != "rate_limited" {
                faults.push(format!("429 with code {:?}", limited_answer.code()));
            }
            if !limited_answer.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)) {
                faults.push("no whole-second Retry-After on the 429".into());
            }
            if n > 1 && !fields_seen {
                faults.push("no RateLimit and RateLimit-Policy fields before the limit".into());
            }
            return Ok(if faults.is_empty() {
                pass(format!(
                    "attempt {n} was 429 rate_limited, Retry-After {}",
                    limited_answer.header("retry-after").unwrap_or("")
                ))
            } else {
                fail(faults.join("; "))
            });
        }
        let mut lifted = Vec::new();
        for k in 0..6u8 {
            let ip = format!("203.0.113.{}", 10 + k);
            let headers = vec![
                ("x-forwarded-for", ip.clone()),
                ("x-real-ip", ip.clone()),
                ("forwarded", format!("for={ip}")),
                ("true-client-ip", ip.clone()),
                ("cf-connecting-ip", ip.clone()),
                ("x-client-ip", ip.clone()),
                ("x-originating-ip", ip),
            ];
            let a = attempt(headers).await?;
            if a.status != 429 && a.status != 403 {
                lifted.push(format!("forged address {k}: {}", a.brief()));
            }
        }
        Ok(if lifted.is_empty() {
            pass(format!(
                "limited at attempt {n}; 6 more, each with a different forged client address in 7 forwarding headers: all still 429"
            ))
        } else {
            fail(format!("a forged forwarding header lifted the limit: {}", lifted.join("; ")))
        })
    }
}
