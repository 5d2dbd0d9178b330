//! The second hardening round (SECURITY.md, "Hardening, round two"): one regression test per finding, black-box
//! where it can be, on memory and on the real backends alike. Each failed on the build before the fix.

use cloudmind_registry::admin::{AdminError, AdminOutcome, ensure_admin};
use cloudmind_security::clock::now_ms;
use cloudmind_security::mfa::code_for_base32;
use cloudmind_serving::function::Ports as _;
use cloudmind_tests::{GOOD_PASSWORD, TEST_KEY, TestApp, assert_problem, claims_of, forge, logs, test_header};
use serde_json::{Value, json};

async fn login_with(app: &TestApp, username: &str, password: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"username": username, "password": password});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post_json("/api/v1/auth/login", &body).await
}

/// Turns TOTP on for a logged-in user: the base32 secret and the recovery codes.
async fn enrol_with_codes(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let r = app
        .client
        .post(app.url("/api/v1/me/mfa/totp"))
        .bearer_auth(token)
        .json(&json!({"password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let secret = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    let code = code_for_base32(&secret, now_ms()).unwrap();
    let r = app
        .client
        .post(app.url("/api/v1/me/mfa/totp/confirm"))
        .bearer_auth(token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let codes = r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

/// Turns TOTP on for a logged-in user: the base32 secret.
async fn enrol(app: &TestApp, token: &str) -> String {
    enrol_with_codes(app, token).await.0
}

/// A code of `secret` that is not the current one.
fn wrong_code(secret: &str) -> String {
    let right: u32 = code_for_base32(secret, now_ms()).unwrap().parse().unwrap();
    format!("{:06}", (right + 500_000) % 1_000_000)
}

/// A code of `secret` from a time step not used yet: the next one (accepted within ±1 step).
fn next_code(secret: &str) -> String {
    code_for_base32(secret, now_ms() + 30_000).unwrap()
}

#[tokio::test]
async fn the_first_admin_is_never_an_account_someone_else_registered() {
    let app = TestApp::spawn().await;
    // An attacker registers the name the runbook gives the first admin.
    app.registered("boss").await;
    let id = app.backends.users.get("boss").await.unwrap().unwrap().id;
    let refused = ensure_admin(&app.wiring, "boss", Some("Operator-Chosen-Pass-9!"), None).await;
    match refused {
        Err(AdminError::ExistingAccount { username, id: shown, created_at }) => {
            assert_eq!((username.as_str(), shown.as_str()), ("boss", id.as_str()));
            assert!(created_at.ends_with('Z'), "{created_at}");
        }
        other => panic!("{other:?}"),
    }
    let wrong = ensure_admin(&app.wiring, "boss", None, Some("not-its-id")).await;
    assert!(matches!(wrong, Err(AdminError::WrongAccount { .. })), "{wrong:?}");
    let token = app.token("boss", GOOD_PASSWORD).await;
    assert_problem(app.get_with("/api/v1/admin/rate-limit-stats", &token).await, 403, "forbidden").await;
    // Only the operator's explicit choice, naming the id it was shown, promotes it.
    let promoted = ensure_admin(&app.wiring, "boss", None, Some(&id)).await.unwrap();
    assert_eq!(promoted, AdminOutcome::Promoted("boss".into()));
    let token = app.token("boss", GOOD_PASSWORD).await;
    assert_eq!(app.get_with("/api/v1/admin/rate-limit-stats", &token).await.status(), 200);
    // Naming a name that is free creates it; an admin that exists is left as it is.
    assert!(matches!(ensure_admin(&app.wiring, "nobody", None, Some("x")).await, Err(AdminError::NoSuchAccount(_))));
    assert_eq!(ensure_admin(&app.wiring, "boss", None, None).await.unwrap(), AdminOutcome::Existing("boss".into()));
}

#[tokio::test]
async fn a_stolen_access_token_alone_cannot_turn_mfa_on() {
    let app = TestApp::spawn().await;
    let token = app.user_token("owen").await;
    let enrol = |body: Value| app.client.post(app.url("/api/v1/me/mfa/totp")).bearer_auth(&token).json(&body).send();
    assert_problem(enrol(json!({})).await.unwrap(), 400, "validation_failed").await;
    for _ in 0..5 {
        assert_problem(enrol(json!({"password": "Thiefs-Guess-Pass-1"})).await.unwrap(), 401, "invalid_credentials")
            .await;
    }
    // The guesses counted toward the owner's lockout, and no secret was ever handed out.
    assert_problem(enrol(json!({"password": GOOD_PASSWORD})).await.unwrap(), 423, "account_locked").await;
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);
    assert!(app.backends.users.get("owen").await.unwrap().unwrap().mfa.pending.is_none());
}

#[tokio::test]
async fn parallel_wrong_passwords_under_one_device_token_get_at_most_the_lockout_s_verdicts() {
    let app = TestApp::spawn().await;
    app.registered("dana").await;
    let r = login_with(&app, "dana", GOOD_PASSWORD, json!({"remember_device": true})).await;
    let device = r.json::<Value>().await.unwrap()["device_token"].as_str().unwrap().to_string();
    let guesses = futures_util::future::join_all(
        (0..30).map(|_| login_with(&app, "dana", "Thiefs-Guess-Pass-2", json!({"device_token": device}))),
    )
    .await;
    let statuses: Vec<u16> = guesses.iter().map(|r| r.status().as_u16()).collect();
    let verdicts = statuses.iter().filter(|s| **s == 401).count();
    // Five under the device (which is then revoked), five more under the username's lockout; the rest 423.
    assert!(verdicts <= 10, "{verdicts} verdicts: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 423), "{statuses:?}");
    // The device is revoked and the username's lockout engaged: the guesses did not skip it.
    let r = login_with(&app, "dana", GOOD_PASSWORD, json!({"device_token": device})).await;
    assert_problem(r, 423, "account_locked").await;
}

#[tokio::test]
async fn a_rehash_never_overwrites_a_password_changed_meanwhile() {
    let app = TestApp::spawn().await;
    app.registered("rhea").await;
    let users = &app.backends.users;
    let checked = users.get("rhea").await.unwrap().unwrap().password_hash;
    // The password changes between a login's check and its re-hash.
    users.set_password_hash("rhea", "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3", true, now_ms()).await.unwrap();
    assert!(!users.rehash("rhea", &checked, "$argon2id$v=19$m=19456,t=2,p=1$b2xk$b2xk").await.unwrap());
    let stored = users.get("rhea").await.unwrap().unwrap().password_hash;
    assert!(stored.ends_with("$bmV3$bmV3"), "the changed password stays: {stored}");
}

#[tokio::test]
async fn a_refused_token_is_never_charged_to_its_user() {
    // The hourly window, not the minute's: windows are aligned to the clock, and a run that crossed a minute
    // boundary would see a fresh one (it did, once, on the cluster pass).
    let app = TestApp::with(&[("RATE_LIMIT_PER_MINUTE", "1000"), ("RATE_LIMIT_PER_HOUR", "5")]).await;
    app.registered("ursa").await;
    let stolen = app.token("ursa", GOOD_PASSWORD).await;
    let own = app.token("ursa", GOOD_PASSWORD).await;
    assert_eq!(app.logout(&stolen).await.status(), 204);
    // Strangers replay the logged-out token from ten addresses, twice each.
    for last in 10..20u8 {
        let client = app.client_from(last);
        for _ in 0..2 {
            let r = client.get(app.url("/api/v1/me")).bearer_auth(&stolen).send().await.unwrap();
            assert_problem(r, 401, "token_revoked").await;
        }
    }
    // The owner's five an hour are all there, but for the one the logout took.
    for _ in 0..4 {
        assert_eq!(app.me(&own).await.status(), 200);
    }
    assert_problem(app.me(&own).await, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_trusted_device_carries_an_mfa_account_through_a_stranger_s_lockout() {
    let app = TestApp::spawn().await;
    app.registered("tess").await;
    let token = app.token("tess", GOOD_PASSWORD).await;
    let (secret, recovery) = enrol_with_codes(&app, &token).await;
    // A login that trusts this device: password, then the code.
    let (_, body) = assert_problem(
        login_with(&app, "tess", GOOD_PASSWORD, json!({"remember_device": true})).await,
        403,
        "mfa_required",
    )
    .await;
    let r =
        app.post_json("/api/v1/auth/mfa", &json!({"mfa_token": body["mfa_token"], "code": next_code(&secret)})).await;
    assert_eq!(r.status(), 200);
    let trusted: Value = r.json().await.unwrap();
    let device = trusted["device_token"].as_str().unwrap().to_string();
    // A stranger locks the username.
    for _ in 0..5 {
        login_with(&app, "tess", "Strangers-Guess-1", json!({})).await;
    }
    assert_problem(app.login("tess", GOOD_PASSWORD).await, 423, "account_locked").await;
    // The owner's device: the password step and the MFA step both pass the lockout...
    let (_, body) = assert_problem(
        login_with(&app, "tess", GOOD_PASSWORD, json!({"device_token": device})).await,
        403,
        "mfa_required",
    )
    .await;
    let r =
        app.post_json("/api/v1/auth/mfa", &json!({"mfa_token": body["mfa_token"], "code": wrong_code(&secret)})).await;
    assert_problem(r, 401, "invalid_credentials").await;
    assert!(!app.events("authn_mfa_fail").await.is_empty(), "a wrong code is authn_mfa_fail");
    let (_, body) = assert_problem(
        login_with(&app, "tess", GOOD_PASSWORD, json!({"device_token": device})).await,
        403,
        "mfa_required",
    )
    .await;
    // (The time steps near now are spent: a recovery code.)
    let r = app.post_json("/api/v1/auth/mfa", &json!({"mfa_token": body["mfa_token"], "code": recovery[0]})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // ...and a session the device started can change the password while the username is locked.
    let access = trusted["access_token"].as_str().unwrap();
    let r = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(access)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": "Fresh-Strong-Pass-88"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn an_mfa_token_from_before_a_password_change_no_longer_completes_a_login() {
    let app = TestApp::spawn().await;
    app.registered("mona").await;
    let token = app.token("mona", GOOD_PASSWORD).await;
    let secret = enrol(&app, &token).await;
    let (_, body) = assert_problem(app.login("mona", GOOD_PASSWORD).await, 403, "mfa_required").await;
    let ticket = body["mfa_token"].as_str().unwrap().to_string();
    let r = app
        .client
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": GOOD_PASSWORD, "new_password": "Fresh-Strong-Pass-89"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app.post_json("/api/v1/auth/mfa", &json!({"mfa_token": ticket, "code": next_code(&secret)})).await;
    assert_problem(r, 401, "unauthorized").await;
}

#[tokio::test]
async fn logout_records_the_v1_event_and_the_session_s_end() {
    let app = TestApp::spawn().await;
    let token = app.user_token("liam").await;
    assert_eq!(app.logout(&token).await.status(), 204);
    let revoked = app.events("authn_token_revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["username"], "liam");
    assert_eq!(app.events("authn_session_revoked").await.len(), 1);
}

#[tokio::test]
async fn a_wrong_code_turning_mfa_off_is_authn_mfa_fail() {
    let app = TestApp::spawn().await;
    app.registered("milo").await;
    let token = app.token("milo", GOOD_PASSWORD).await;
    let secret = enrol(&app, &token).await;
    let r = app
        .client
        .delete(app.url("/api/v1/me/mfa/totp"))
        .bearer_auth(&token)
        .json(&json!({"password": GOOD_PASSWORD, "code": wrong_code(&secret)}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "invalid_credentials").await;
    let fails = app.events("authn_mfa_fail").await;
    assert_eq!(fails.len(), 1, "{fails:?}");
}

#[tokio::test]
async fn a_password_typed_into_the_username_field_stays_unknown_once_it_locks() {
    let app = TestApp::spawn().await;
    // Shaped like a username (so it could be taken for one), but no account's.
    let typed = "correct.horse.battery.staple";
    for _ in 0..7 {
        app.login(typed, "anything").await;
    }
    assert_problem(app.login(typed, "anything").await, 423, "account_locked").await;
    let fails = app.events("authn_login_fail").await;
    assert!(fails.len() >= 8);
    assert!(fails.iter().all(|e| e["username"] == "(unknown username)"), "{fails:?}");
    assert!(!logs::captured().contains(typed));
}

#[tokio::test]
async fn client_chosen_names_reach_the_audit_trail_clipped() {
    let app = TestApp::spawn().await;
    let key = format!("{}' OR '1'='1", "k".repeat(6_000));
    let mut body = json!({"username": "x", "password": "y"});
    body[key.as_str()] = json!(1);
    assert_problem(app.post_json("/api/v1/auth/login", &body).await, 400, "malicious_input").await;
    let r = app.client.get(app.url(&format!("/health?{}=1", "q".repeat(6_000)))).send().await.unwrap();
    assert_eq!(r.status(), 200, "a long name alone is not an attack");
    let r = app.client.get(app.url(&format!("/health?{}%3Cscript%3E=1", "q".repeat(6_000)))).send().await.unwrap();
    assert_problem(r, 400, "malicious_input").await;
    let events = app.stored_events(cloudmind_security::events::EventKind::MaliciousSqli).await;
    let xss = app.stored_events(cloudmind_security::events::EventKind::MaliciousXss).await;
    assert_eq!(events.len() + xss.len(), 2);
    for e in events.iter().chain(&xss) {
        assert!(e["detail"].as_str().unwrap().chars().count() <= 512, "{}", e["detail"]);
    }
}

#[tokio::test]
async fn a_session_remembers_its_recent_spent_tokens_only_and_stays_small() {
    let app = TestApp::spawn().await;
    app.registered("sola").await;
    let r = app.login("sola", GOOD_PASSWORD).await;
    let first: Value = r.json().await.unwrap();
    let oldest = first["refresh_token"].as_str().unwrap().to_string();
    let sid = claims_of(first["access_token"].as_str().unwrap())["sid"].as_str().unwrap().to_string();
    let mut current = oldest.clone();
    for _ in 0..40 {
        let r = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": current})).await;
        assert_eq!(r.status(), 200);
        current = r.json::<Value>().await.unwrap()["refresh_token"].as_str().unwrap().to_string();
    }
    let store = app.wiring.session_store().await.unwrap();
    let session = store.get("sola", &sid).await.unwrap().unwrap();
    assert_eq!(session.spent.len(), cloudmind_security::sessions::SPENT_KEPT);
    // Forty rotations back is past what the session remembers: unknown, and the session lives on.
    assert_problem(app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": oldest})).await, 401, "unauthorized")
        .await;
    let r = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": current})).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_preflight_from_a_blocked_client_meets_the_block() {
    let app = TestApp::with(&[("ALLOWED_ORIGINS", "https://app.example")]).await;
    for _ in 0..5 {
        app.client.get(app.url("/health?q=%3Cscript%3E")).send().await.unwrap();
    }
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    let (h, _) = assert_problem(r, 403, "ip_blocked").await;
    assert!(h.get("access-control-allow-methods").is_none());
    // Another client's preflight is answered.
    let r = app
        .client_from(77)
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn a_token_lives_at_most_the_configured_lifetime_whatever_its_exp_says() {
    let app = TestApp::spawn().await;
    let token = app.user_token("tina").await;
    let mut claims = claims_of(&token);
    let now = now_ms() / 1_000;
    // Correctly signed, issued two hours ago with a year of life: past the configured 30 minutes.
    claims["iat"] = json!(now - 7_200);
    claims["nbf"] = json!(now - 7_200);
    claims["exp"] = json!(now + 365 * 86_400);
    let forged = forge(&test_header(), &claims, TEST_KEY.as_bytes());
    assert_problem(app.me(&forged).await, 401, "token_expired").await;
}

#[tokio::test]
async fn the_service_s_own_names_cannot_be_registered() {
    let app = TestApp::spawn().await;
    for name in ["admin", "Administrator", "admin.team", "root", "security", "support", "system"] {
        let (_, body) = assert_problem(app.register(name, GOOD_PASSWORD).await, 400, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "username", "{name}");
        assert_eq!(body["errors"][0]["message"], "is reserved", "{name}");
    }
    assert_eq!(app.register("badminton", GOOD_PASSWORD).await.status(), 201);
}

#[tokio::test]
async fn an_or_1_tautology_is_malicious_input() {
    let app = TestApp::spawn().await;
    for name in ["' OR 1--", "admin' or 1 -- -", "') or 1 #"] {
        assert_problem(app.login(name, "x").await, 400, "malicious_input").await;
    }
}
