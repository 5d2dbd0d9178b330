//! Injection on every input the API declares: SQL, XSS, traversal, CRLF and control characters, NoSQL operators.

use serde_json::Value;

use super::{Checked, FREE_TEXT, Probe, fail, inconclusive, limited, pass};
use crate::probe::inputs::{self, Location};

impl Probe {
    pub(super) async fn injection(&self, family: &inputs::Family) -> Checked {
        let all = inputs::from_spec(&self.spec);
        let mut refused = 0;
        let mut stopped = 0;
        let mut faults = Vec::new();
        // The probe's own user, for operations behind a token: refused input must be refused with a token too.
        let token = if all.iter().any(|i| i.secured && (!family.body_only || i.location == Location::Body)) {
            let (_, login, _) = self.session().await?;
            login["access_token"].as_str().map(str::to_string)
        } else {
            None
        };
        let mut id = self.target.identity();
        let mut sent = 0u32;
        let mut count = 0;
        for input in all.iter().filter(|i| !family.body_only || i.location == Location::Body) {
            let url_part = input.location != Location::Body;
            let extra: &[&str] = if url_part { family.url_payloads } else { &[] };
            let codes = if input.location == Location::Body && FREE_TEXT.contains(&input.name.as_str()) {
                family.free_text_codes
            } else {
                family.codes
            };
            for payload in family.payloads.iter().chain(extra) {
                let value = if family.body_only {
                    serde_json::from_str(payload).unwrap_or(Value::from(*payload))
                } else {
                    Value::from(*payload)
                };
                // Four malicious requests per client: under both the block (5 in 10 minutes) and the auth limit.
                if sent.is_multiple_of(4) {
                    id = self.target.identity();
                }
                sent += 1;
                count += 1;
                let mut req = input.request(&value);
                if let (true, Some(t)) = (input.secured, &token) {
                    req = req.bearer(t);
                }
                let a = id.send(req).await?;
                if a.status == 400 && codes.contains(&a.code().as_str()) {
                    refused += 1;
                } else if limited(&a) {
                    stopped += 1;
                } else {
                    faults.push(format!("{} with {payload:?}: {}", input.label(), a.brief()));
                }
                if a.headers.keys().any(|k| k.as_str().starts_with("x-probe") || k == "set-cookie") {
                    faults.push(format!("{} with {payload:?}: an injected header came back", input.label()));
                }
            }
        }
        let inputs_n = all.iter().filter(|i| !family.body_only || i.location == Location::Body).count();
        let per_input = if family.url_payloads.is_empty() {
            family.payloads.len().to_string()
        } else {
            format!("{}–{}", family.payloads.len(), family.payloads.len() + family.url_payloads.len())
        };
        Ok(if !faults.is_empty() {
            let n = faults.len();
            faults.truncate(6);
            fail(format!("{n} of {count} not refused with 400 {}: {}", family.codes.join(" or "), faults.join("; ")))
        } else if refused == 0 {
            inconclusive(format!(
                "all {count} requests were stopped by a limit or block before the detector was reached"
            ))
        } else if stopped > 0 {
            pass(format!(
                "{inputs_n} inputs × {per_input} payloads: {refused} refused as {}, {stopped} stopped by a limit or block",
                family.codes.join(" or ")
            ))
        } else {
            pass(format!(
                "{inputs_n} inputs × {per_input} payloads: all {refused} refused as {}",
                family.codes.join(" or ")
            ))
        })
    }
}
