//! The lockout: wrong passwords lock the account, and the right one is then refused with 423; parallel wrong
//! passwords under one trusted-device token get no more verdicts than the lockouts allow.

use http::Method;
use serde_json::json;

use super::{Checked, Probe, Stop, fail, inconclusive, limited, pass};
use crate::probe::client::Req;
use crate::probe::random_hex;

impl Probe {
    pub(super) async fn lockout(&self) -> Checked {
        let setup = self.target.identity();
        let user = self.register(&setup).await?;
        let attempts = self.args.lockout_attempts;
        let mut id = self.target.identity();
        for i in 0..attempts {
            if i % 4 == 3 {
                id = self.target.identity();
            }
            let a = id
                .send(Req::json(
                    Method::POST,
                    "/api/v1/auth/login",
                    &json!({"username": user.username, "password": format!("Wrong-{}-Guess!", random_hex(4))}),
                ))
                .await?;
            if a.status == 423 {
                return Ok(pass(format!("locked after {i} wrong passwords (expected {attempts})")));
            }
            if limited(&a) {
                return Ok(inconclusive(format!(
                    "wrong password {}: {} before the lockout could engage",
                    i + 1,
                    a.brief()
                )));
            }
            if a.status != 401 {
                return Ok(fail(format!("wrong password {}: {} instead of 401", i + 1, a.brief())));
            }
        }
        let right = self
            .target
            .identity()
            .send(Req::json(
                Method::POST,
                "/api/v1/auth/login",
                &json!({"username": user.username, "password": user.password}),
            ))
            .await?;
        Ok(match (right.status, right.code().as_str()) {
            (423, "account_locked")
                if right.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)) =>
            {
                pass(format!(
                    "after {attempts} wrong passwords the right one is 423 account_locked, Retry-After {}",
                    right.header("retry-after").unwrap_or("")
                ))
            }
            (423, _) => fail(format!("423 without a problem code account_locked or a Retry-After: {}", right.brief())),
            (200, _) => fail(format!("after {attempts} wrong passwords the right one still logs in (200): no lockout")),
            _ if limited(&right) => inconclusive(format!("the right password was answered {}", right.brief())),
            _ => fail(format!("the right password after {attempts} wrong ones: {}", right.brief())),
        })
    }

    /// A trusted device's token is judged by its own failure count, with the same slot discipline as the
    /// username's lockout: many parallel wrong passwords under one device token get at most the device's verdicts
    /// and then the username's (the token is revoked at its limit), never one each.
    pub(super) async fn device_parallel(&self) -> Checked {
        let setup = self.target.identity();
        let user = self.register(&setup).await?;
        let trusted = setup
            .send(Req::json(
                Method::POST,
                "/api/v1/auth/login",
                &json!({"username": user.username, "password": user.password, "remember_device": true}),
            ))
            .await?;
        let Some(device) = trusted.json()["device_token"].as_str().map(str::to_string) else {
            return Ok(inconclusive(format!("a login with remember_device gave no device_token: {}", trusted.brief())));
        };
        let attempts = self.args.lockout_attempts;
        let parallel = 6 * attempts;
        let mut guesses = tokio::task::JoinSet::new();
        for _ in 0..parallel {
            let id = self.target.identity();
            let body = json!({
                "username": user.username,
                "password": format!("Wrong-{}-Guess!", random_hex(4)),
                "device_token": device,
            });
            guesses.spawn(async move { id.send(Req::json(Method::POST, "/api/v1/auth/login", &body)).await });
        }
        let mut statuses = Vec::new();
        while let Some(joined) = guesses.join_next().await {
            let answer = joined.map_err(|e| Stop::from(fail(format!("a guess did not finish: {e}"))))??;
            statuses.push(answer);
        }
        if let Some(a) = statuses.iter().find(|a| limited(a)) {
            return Ok(inconclusive(format!("a guess was limited before the lockouts could answer: {}", a.brief())));
        }
        if let Some(a) = statuses.iter().find(|a| a.status != 401 && a.status != 423) {
            return Ok(fail(format!("a wrong password under a device token: {} (401 or 423 expected)", a.brief())));
        }
        let verdicts = statuses.iter().filter(|a| a.status == 401).count();
        let most = 2 * attempts as usize;
        Ok(if verdicts <= most {
            pass(format!(
                "{parallel} parallel wrong passwords under one device token: {verdicts} verdicts (at most {most}: the \
                 device's, then the username's), the rest 423"
            ))
        } else {
            fail(format!(
                "{parallel} parallel wrong passwords under one device token: {verdicts} verdicts, more than the \
                 device's and the username's lockouts allow ({most})"
            ))
        })
    }
}
