//! CORS: a foreign or `null` origin gets no grant, on requests and on preflights.

use http::Method;

use super::{Checked, Probe, fail, pass};
use crate::probe::client::Req;

impl Probe {
    pub(super) async fn cors(&self) -> Checked {
        let id = self.target.identity();
        let mut faults = Vec::new();
        for origin in ["https://attacker.cloudmind-probe.invalid", "null"] {
            let cases = [
                ("GET /health", Req::get("/health").header("origin", origin)),
                (
                    "preflight of GET /api/v1/me",
                    Req::new(Method::OPTIONS, "/api/v1/me")
                        .header("origin", origin)
                        .header("access-control-request-method", "GET")
                        .header("access-control-request-headers", "authorization"),
                ),
                (
                    "preflight of POST /api/v1/auth/login",
                    Req::new(Method::OPTIONS, "/api/v1/auth/login")
                        .header("origin", origin)
                        .header("access-control-request-method", "POST")
                        .header("access-control-request-headers", "content-type"),
                ),
            ];
            for (what, req) in cases {
                let a = id.send(req).await?;
                if a.status >= 500 {
                    faults.push(format!("{what} from {origin}: {}", a.status));
                }
                if let Some(v) = a.header("access-control-allow-origin") {
                    faults.push(format!("{what} from {origin}: Access-Control-Allow-Origin {v:?}"));
                }
                if a.header("access-control-allow-credentials") == Some("true") {
                    faults.push(format!("{what} from {origin}: Access-Control-Allow-Credentials true"));
                }
            }
        }
        Ok(if faults.is_empty() {
            pass("no Access-Control-Allow-Origin for a foreign or null origin (3 requests each)")
        } else {
            fail(faults.join("; "))
        })
    }
}
