//! The lockout: wrong passwords lock the account, and the right one is then refused with 423.

use http::Method;
use serde_json::json;

use super::{Checked, Probe, fail, inconclusive, limited, pass};
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
}
