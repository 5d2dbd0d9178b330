//! User enumeration: an unknown user and a wrong password get the same answer and take the same time; so do
//! password-reset requests for an address that has accounts and for one that has none.

use std::collections::BTreeSet;

use http::Method;
use serde_json::{Value, json};

use super::{Checked, PROBE_ADDRESS, Probe, fail, inconclusive, limited, pass};
use crate::probe::client::{Answer, Req};
use crate::probe::random_hex;
use crate::probe::stats;

impl Probe {
    pub(super) async fn enumeration(&self, timing: bool) -> Checked {
        let samples = if timing { self.args.timing_samples.max(8) } else { 4 };
        let users_needed = samples.div_ceil(3);
        let mut users = Vec::new();
        for _ in 0..users_needed {
            users.push(self.register(&self.target.identity()).await?);
        }
        let mut id = self.target.identity();
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        let mut faults = BTreeSet::new();
        let mut sent = 0u32;
        let mut first: Option<(Answer, Answer)> = None;
        let wrong =
            |username: &str| json!({"username": username, "password": format!("Wrong-{}-Guess!", random_hex(4))});
        // Each name, known or not, is tried three times: a name's first failure creates its lockout record and the
        // next ones find it live (one conditional write more on DynamoDB), so both sides must meet the same states
        // in the same proportions, or the check measures lockout state instead of existence.
        let nobodies: Vec<String> = (0..users_needed).map(|_| format!("probe_nobody_{}", random_hex(6))).collect();
        for i in 0..samples {
            // Interleaved, so drift on the server or the network hits both sides alike, in a random order within
            // each pair, so nothing periodic (a new connection every fourth request) lands on one side only.
            let mut pair = [(true, wrong(&users[i / 3].username)), (false, wrong(&nobodies[i / 3]))];
            if crate::probe::random_bytes::<1>()[0] & 1 == 1 {
                pair.swap(0, 1);
            }
            let mut answers = Vec::new();
            for (is_known, body) in pair {
                if sent.is_multiple_of(4) {
                    id = self.target.identity();
                }
                sent += 1;
                let a = id.send(Req::json(Method::POST, "/api/v1/auth/login", &body)).await?;
                if limited(&a) || a.status == 423 {
                    let have = known.len().min(unknown.len());
                    return Ok(inconclusive(format!(
                        "{} after {have} samples per side: needs fresh client addresses (run it against a server on this machine)",
                        a.brief()
                    )));
                }
                if a.status != 401 || a.code() != "invalid_credentials" {
                    faults.insert(format!("{} user: {}", if is_known { "known" } else { "unknown" }, a.brief()));
                }
                let ms = a.elapsed.as_secs_f64() * 1_000.0;
                if is_known {
                    known.push(ms)
                } else {
                    unknown.push(ms)
                }
                answers.push(a);
            }
            if first.is_none() && answers.len() == 2 {
                let (b, a) = (answers.remove(1), answers.remove(0));
                first = Some((a, b));
            }
        }
        if !faults.is_empty() {
            return Ok(fail(faults.into_iter().collect::<Vec<_>>().join("; ")));
        }
        if !timing {
            let Some((k, u)) = first else { return Ok(inconclusive("no samples")) };
            let (kb, ub) = (k.json(), u.json());
            let mut diffs = Vec::new();
            for field in ["type", "title", "status", "detail", "code"] {
                if kb[field] != ub[field] {
                    diffs.push(format!("{field}: {} vs {}", kb[field], ub[field]));
                }
            }
            let names = |a: &Answer| a.headers.keys().map(|k| k.as_str().to_string()).collect::<BTreeSet<_>>();
            if names(&k) != names(&u) {
                diffs.push(format!(
                    "header names differ: {:?}",
                    names(&k).symmetric_difference(&names(&u)).collect::<Vec<_>>()
                ));
            }
            let keys =
                |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
            if keys(&kb) != keys(&ub) {
                diffs.push("body fields differ".into());
            }
            return Ok(if diffs.is_empty() {
                pass(format!("{samples} pairs: 401 invalid_credentials with the same body and header names"))
            } else {
                fail(format!(
                    "a known user's wrong password and an unknown user answer differently: {}",
                    diffs.join("; ")
                ))
            });
        }
        let c = stats::mann_whitney(&known, &unknown);
        let (mk, mu) = (stats::median(&known), stats::median(&unknown));
        // Significant *and* large enough to matter over a network: at least 2 ms or 10 % of the median.
        let large = c.median_difference.abs() >= 2.0_f64.max(0.1 * mk.max(mu));
        let text = format!(
            "{} samples per side: median {mk:.1} ms (wrong password) vs {mu:.1} ms (unknown user), Mann–Whitney p = {:.2e}",
            known.len(),
            c.p_value
        );
        Ok(if c.p_value < 0.001 && large {
            fail(format!("{text}: the difference tells accounts apart"))
        } else {
            pass(text)
        })
    }
}

impl Probe {
    /// `POST /api/v1/auth/password/forgot` for the address of the probe's own accounts (every one it registers has
    /// it: the known side has the most accounts any address has here) and for fresh addresses no account has,
    /// interleaved: the same status, body and header names, and no timing difference (Mann–Whitney U).
    pub(super) async fn reset_enumeration(&self) -> Checked {
        let samples = self.args.timing_samples.max(8);
        self.register(&self.target.identity()).await?;
        let mut id = self.target.identity();
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        let mut faults = BTreeSet::new();
        let mut shapes = BTreeSet::new();
        let mut sent = 0u32;
        for _ in 0..samples {
            let nobody = format!("probe_nobody_{}@example.com", random_hex(6));
            let mut pair = [(true, PROBE_ADDRESS.to_string()), (false, nobody)];
            if crate::probe::random_bytes::<1>()[0] & 1 == 1 {
                pair.swap(0, 1);
            }
            for (is_known, email) in pair {
                if sent.is_multiple_of(4) {
                    id = self.target.identity();
                }
                sent += 1;
                let a =
                    id.send(Req::json(Method::POST, "/api/v1/auth/password/forgot", &json!({"email": email}))).await?;
                if limited(&a) {
                    let have = known.len().min(unknown.len());
                    return Ok(inconclusive(format!(
                        "{} after {have} samples per side: needs fresh client addresses (run it against a server on this machine)",
                        a.brief()
                    )));
                }
                let side = if is_known { "an address with accounts" } else { "an address without" };
                if a.status != 202 {
                    faults.insert(format!("{side}: {}", a.brief()));
                }
                let mut names: Vec<String> = a.headers.keys().map(|k| k.as_str().to_string()).collect();
                names.sort();
                shapes.insert(format!("{} {} {}", a.status, a.json(), names.join(",")));
                let ms = a.elapsed.as_secs_f64() * 1_000.0;
                if is_known { known.push(ms) } else { unknown.push(ms) }
            }
        }
        if !faults.is_empty() {
            return Ok(fail(faults.into_iter().collect::<Vec<_>>().join("; ")));
        }
        if shapes.len() != 1 {
            return Ok(fail(format!("the answers differ: {}", shapes.into_iter().collect::<Vec<_>>().join(" | "))));
        }
        let c = stats::mann_whitney(&known, &unknown);
        let (mk, mu) = (stats::median(&known), stats::median(&unknown));
        let large = c.median_difference.abs() >= 2.0_f64.max(0.1 * mk.max(mu));
        let text = format!(
            "{} samples per side, one answer (202, same body and header names): median {mk:.1} ms (address with accounts) vs {mu:.1} ms (without), Mann–Whitney p = {:.2e}",
            known.len(),
            c.p_value
        );
        Ok(if c.p_value < 0.001 && large {
            fail(format!("{text}: the difference tells addresses with accounts apart"))
        } else {
            pass(text)
        })
    }
}
