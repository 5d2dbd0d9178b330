//! Tokens: forgeries without the key, correctly signed tokens with wrong claims, the role check, replay after
//! logout, and a refused token's requests never charged to its user.

use http::Method;
use serde_json::{Value, json};

use super::{Checked, Probe, Stop, fail, inconclusive, limited, pass};
use crate::probe::client::Req;
use crate::probe::jwt;

impl Probe {
    pub(super) async fn tokens_forged(&self) -> Checked {
        let (id, login, parts) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let mut forgeries = jwt::unkeyed_forgeries(token, &parts);
        for weak in ["", "secret", "your-jwt-secret-key-here", "changeme", "cloudmind", "password"] {
            if let Ok(t) = jwt::sign(&parts.header, &parts.claims, weak.as_bytes()) {
                forgeries.push(("signed with a guessable key", t));
            }
        }
        // With a key pair, the published keys are the attacker's material too (algorithm confusion).
        let jwks = id.send(Req::get("/.well-known/jwks.json")).await?;
        if jwks.status == 200 {
            forgeries.extend(jwt::key_set_forgeries(&parts, &jwks.json()));
        }
        let mut faults = Vec::new();
        for (what, forged) in &forgeries {
            let a = id.send(Req::get("/api/v1/me").bearer(forged)).await?;
            if a.status != 401 || !a.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")) {
                faults.push(format!("{what}: {}", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass(format!("{} forgeries of a genuine token: 401 each, with WWW-Authenticate", forgeries.len()))
        } else {
            fail(format!("accepted or mis-answered: {}", faults.join("; ")))
        })
    }

    pub(super) async fn tokens_claims(&self) -> Checked {
        let Some(key) = &self.key else {
            return Ok(inconclusive(
                "not run: needs the signing key (--signing-key-env VAR) to sign tokens whose claims are wrong",
            ));
        };
        let (id, _, parts) = self.session().await?;
        let resigned = jwt::sign(&parts.header, &parts.claims, key).map_err(|e| Stop::from(inconclusive(e)))?;
        let a = id.send(Req::get("/api/v1/me").bearer(&resigned)).await?;
        if a.status != 200 {
            return Ok(inconclusive(format!(
                "the genuine claims re-signed with the given key were refused ({}): is it this server's key?",
                a.brief()
            )));
        }
        let now = chrono::Utc::now().timestamp();
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut c = parts.claims.clone();
            f(&mut c);
            c
        };
        let mut cases: Vec<(&str, Value, Value, &str)> = vec![
            (
                "expired",
                parts.header.clone(),
                edit(&|c| {
                    c["iat"] = json!(now - 7_200);
                    c["nbf"] = json!(now - 7_200);
                    c["exp"] = json!(now - 3_600)
                }),
                "token_expired",
            ),
            ("wrong aud", parts.header.clone(), edit(&|c| c["aud"] = json!("another-api")), "unauthorized"),
            (
                "wrong iss",
                parts.header.clone(),
                edit(&|c| c["iss"] = json!("https://attacker.invalid")),
                "unauthorized",
            ),
            ("nbf an hour ahead", parts.header.clone(), edit(&|c| c["nbf"] = json!(now + 3_600)), "unauthorized"),
            (
                "no exp",
                parts.header.clone(),
                edit(&|c| {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("exp");
                    }
                }),
                "unauthorized",
            ),
            (
                "no aud",
                parts.header.clone(),
                edit(&|c| {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("aud");
                    }
                }),
                "unauthorized",
            ),
        ];
        let mut typ = parts.header.clone();
        typ["typ"] = json!("JWT");
        cases.push(("typ JWT (an ID token's type)", typ, parts.claims.clone(), "unauthorized"));
        let mut faults = Vec::new();
        for (what, header, claims, want) in &cases {
            let t = jwt::sign(header, claims, key).map_err(|e| Stop::from(inconclusive(e)))?;
            let a = id.send(Req::get("/api/v1/me").bearer(&t)).await?;
            if a.status != 401 || a.code() != *want {
                faults.push(format!("{what}: {} (want 401 {want})", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass(format!("re-signed genuine claims accepted; {} signed tokens with a wrong claim refused", cases.len()))
        } else {
            fail(faults.join("; "))
        })
    }

    pub(super) async fn tokens_role(&self) -> Checked {
        let (id, login, _) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let mut faults = Vec::new();
        for (method, path) in [
            (Method::GET, "/api/v1/admin/rate-limit-stats".to_string()),
            (Method::GET, "/api/v1/admin/security-events".to_string()),
            (Method::POST, "/api/v1/admin/users/root/unlock".to_string()),
            (Method::DELETE, "/api/v1/admin/blocks/ip%3A203.0.113.9".to_string()),
        ] {
            let a = id.send(Req::new(method.clone(), path.clone()).bearer(token)).await?;
            if a.status != 403 || a.code() != "forbidden" {
                faults.push(format!("{method} {path}: {}", a.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass("4 admin routes with a user's token: 403 forbidden")
        } else {
            fail(faults.join("; "))
        })
    }

    pub(super) async fn replay(&self) -> Checked {
        let (id, login, _) = self.session().await?;
        let token = login["access_token"].as_str().unwrap_or_default();
        let out = id.send(Req::new(Method::POST, "/api/v1/auth/logout").bearer(token)).await?;
        if out.status != 204 {
            return Ok(fail(format!("logout answered {}", out.brief())));
        }
        let mut faults = Vec::new();
        let again = id.send(Req::get("/api/v1/me").bearer(token)).await?;
        if again.status != 401 || again.code() != "token_revoked" {
            faults.push(format!("GET /api/v1/me with the logged-out token: {}", again.brief()));
        }
        let twice = id.send(Req::new(Method::POST, "/api/v1/auth/logout").bearer(token)).await?;
        if twice.status != 401 {
            faults.push(format!("a second logout with it: {}", twice.brief()));
        }
        if let Some(refresh) = login["refresh_token"].as_str() {
            let r =
                id.send(Req::json(Method::POST, "/api/v1/auth/refresh", &json!({"refresh_token": refresh}))).await?;
            if r.status != 401 && !limited(&r) {
                faults.push(format!("refresh with the logged-out session's refresh token: {}", r.brief()));
            }
        }
        Ok(if faults.is_empty() {
            pass("after logout: 401 token_revoked; its refresh token 401")
        } else {
            fail(faults.join("; "))
        })
    }

    /// Strangers replaying a logged-out token must not spend its user's per-user windows (else they rate-limit
    /// the owner's other sessions): the owner's `RateLimit` remaining drops by its own request only.
    pub(super) async fn refused_not_charged(&self) -> Checked {
        const REPLAYS: u64 = 10;
        let setup = self.target.identity();
        let user = self.register(&setup).await?;
        let stolen = self.login(&setup, &user).await?["access_token"].as_str().unwrap_or_default().to_string();
        let own_id = self.target.identity();
        let own = self.login(&own_id, &user).await?["access_token"].as_str().unwrap_or_default().to_string();
        let out = setup.send(Req::new(Method::POST, "/api/v1/auth/logout").bearer(&stolen)).await?;
        if out.status != 204 {
            return Ok(inconclusive(format!("logout answered {}", out.brief())));
        }
        let remaining = |a: &crate::probe::client::Answer| {
            a.header("ratelimit").and_then(|v| {
                v.split(';').find_map(|p| p.trim().strip_prefix("r=")).and_then(|r| r.parse::<u64>().ok())
            })
        };
        let before = own_id.send(Req::get("/api/v1/me").bearer(&own)).await?;
        let Some(r0) = remaining(&before).filter(|_| before.status == 200) else {
            return Ok(inconclusive(format!("the owner's request carried no RateLimit field: {}", before.brief())));
        };
        // From five fresh addresses, twice each: each must be refused as revoked (or limited per address).
        for _ in 0..REPLAYS / 2 {
            let stranger = self.target.identity();
            for _ in 0..2 {
                let a = stranger.send(Req::get("/api/v1/me").bearer(&stolen)).await?;
                if a.status == 200 {
                    return Ok(fail("a logged-out token was accepted (200)"));
                }
                if !(a.status == 401 || limited(&a)) {
                    return Ok(fail(format!("a logged-out token: {} instead of 401 token_revoked", a.brief())));
                }
            }
        }
        let after = own_id.send(Req::get("/api/v1/me").bearer(&own)).await?;
        let Some(r1) = remaining(&after).filter(|_| after.status == 200) else {
            return Ok(fail(format!("the owner's next request after the replays: {}", after.brief())));
        };
        let charged = r0.saturating_sub(r1);
        Ok(if charged <= 1 {
            pass(format!("{REPLAYS} replays of a logged-out token: 401 each; the owner's remaining went {r0} → {r1}"))
        } else {
            fail(format!(
                "the owner's remaining went {r0} → {r1} across {REPLAYS} replays of a logged-out token: strangers spend \
                 its user's windows"
            ))
        })
    }
}
