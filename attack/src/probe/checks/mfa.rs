//! MFA: turning it on takes the password again, so a stolen access token alone cannot enrol the thief's
//! authenticator (and keep the recovery codes).

use http::Method;
use serde_json::json;

use super::{Checked, Probe, fail, inconclusive, limited, pass};
use crate::probe::client::Req;
use crate::probe::random_hex;

impl Probe {
    pub(super) async fn mfa_enrol(&self) -> Checked {
        let (id, login, _) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let enrol = |body| Req::json(Method::POST, "/api/v1/me/mfa/totp", &body).bearer(token);
        let bare = id.send(enrol(json!({}))).await?;
        if bare.status == 404 {
            return Ok(inconclusive("POST /api/v1/me/mfa/totp is not served (404)"));
        }
        let wrong = id.send(enrol(json!({"password": format!("Wrong-{}-Guess!", random_hex(4))}))).await?;
        let mut faults = Vec::new();
        for (what, a, status, code) in [
            ("without the password", &bare, 400, "validation_failed"),
            ("with a wrong password", &wrong, 401, "invalid_credentials"),
        ] {
            if a.status == 200 || a.json().get("secret").is_some() || a.json().get("otpauth_uri").is_some() {
                faults.push(format!("{what}: a TOTP secret was handed out ({})", a.brief()));
            } else if limited(a) {
                return Ok(inconclusive(format!("{what}: {}", a.brief())));
            } else if (a.status, a.code().as_str()) != (status, code) {
                faults.push(format!("{what}: {} ({status} {code} expected)", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass("enrolment without the password: 400 validation_failed; with a wrong one: 401 invalid_credentials")
        } else {
            fail(faults.join("; "))
        })
    }
}
