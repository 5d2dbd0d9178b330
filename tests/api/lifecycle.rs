//! The account's life (API.md v1.2): mail, e-mail verification, the forgotten password, user administration,
//! export and erasure, black-box on memory and (the second pass of `make test`) on redis-server and moto. Mail is
//! read from the server's outbox (the file transport); on AWS the same worker sends through SES
//! (`backends::the_ses_transport_sends_through_the_emulator`).

use cloudmind_tests::{ADMIN_PASSWORD, ADMIN_USERNAME, GOOD_PASSWORD, TestApp, assert_problem};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "Fresh-Plum-73-Kettle";

async fn me(app: &TestApp, token: &str) -> Value {
    app.me(token).await.json().await.unwrap()
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/email/verify", &json!({"token": token})).await
}

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password/forgot", &json!({"email": email})).await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password/reset", &json!({"token": token, "new_password": password})).await
}

#[tokio::test]
async fn registration_sends_a_verification_message_whose_link_verifies_once() {
    let app = TestApp::spawn().await;
    let token = app.user_token("vera").await;
    assert_eq!(me(&app, &token).await["email_verified"], false);
    let mail = app.mail_to("vera@example.com", 1).await;
    assert_eq!(mail[0].subject, "Confirm your e-mail address");
    assert!(mail[0].text.contains(&format!("http://127.0.0.1:8000/account/verify-email?token={}", mail[0].token)));
    let r = verify(&app, &mail[0].token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["username"].as_str(), body["email_verified"].as_bool()), (Some("vera"), Some(true)));
    assert_eq!(me(&app, &token).await["email_verified"], true);
    assert_problem(verify(&app, &mail[0].token).await, 400, "link_invalid").await;
    for bad in ["nope", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert_problem(verify(&app, bad).await, 400, "link_invalid").await;
    }
    let events = app.events("user_email_verified").await;
    assert!(events.iter().any(|e| e["username"] == "vera"));
    // Verified: asking again is a conflict.
    let r = app.client.post(app.url("/api/v1/me/email/verification")).bearer_auth(&token).send().await.unwrap();
    assert_problem(r, 409, "email_already_verified").await;
}

#[tokio::test]
async fn a_new_message_is_one_a_minute_and_voids_the_older_link() {
    let app = TestApp::spawn().await;
    let token = app.user_token("ruth").await;
    let first = app.mail_to("ruth@example.com", 1).await.remove(0);
    // The registration's message was this minute's.
    let r = app.client.post(app.url("/api/v1/me/email/verification")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_problem(r, 429, "rate_limited").await;
    assert_eq!(app.outbox().len(), 1, "nothing more was sent");
    // An address change is a new address: unverified, with a message of its own once the limits allow.
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&json!({"email": "ruth@new.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["email"].as_str(), body["email_verified"].as_bool()), (Some("ruth@new.example"), Some(false)));
    // The first link was for the old address: it verifies nothing now.
    assert_problem(verify(&app, &first.token).await, 400, "link_invalid").await;
    assert_eq!(me(&app, &token).await["email_verified"], false);
}

#[tokio::test]
async fn with_verified_addresses_required_the_right_password_of_an_unverified_one_is_403() {
    let app = TestApp::with(&[("REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let r = app.register("una", GOOD_PASSWORD).await;
    assert_eq!(r.status(), 201);
    assert_problem(app.login("una", "Not-The-Password-1").await, 401, "invalid_credentials").await;
    assert_problem(app.login("una", GOOD_PASSWORD).await, 403, "email_not_verified").await;
    let mail = app.mail_to("una@example.com", 1).await;
    assert_eq!(verify(&app, &mail[0].token).await.status(), 200);
    assert_eq!(app.login("una", GOOD_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_and_everything_issued_before_ends() {
    let app = TestApp::spawn().await;
    let old = app.user_token("fay").await;
    let same = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 202);
        r.json::<Value>().await.unwrap()
    };
    // The same answer for an address no account has.
    let unknown = same(forgot(&app, "nobody@example.com").await).await;
    let known = same(forgot(&app, "fay@example.com").await).await;
    assert_eq!(unknown, known);
    assert_eq!(known, json!({"status": "accepted"}));
    let mail = app.mail_to("fay@example.com", 2).await;
    let link = mail.iter().find(|m| m.subject == "Reset your password").expect("a reset message");
    assert!(link.text.contains("/account/reset-password?token="));
    // The policy first: a weak password does not spend the link.
    let r = reset(&app, &link.token, "short").await;
    assert_problem(r, 422, "weak_password").await;
    assert_eq!(reset(&app, &link.token, NEW_PASSWORD).await.status(), 204);
    assert_problem(reset(&app, &link.token, NEW_PASSWORD).await, 400, "link_invalid").await;
    assert_problem(app.me(&old).await, 401, "token_revoked").await;
    assert_problem(app.login("fay", GOOD_PASSWORD).await, 401, "invalid_credentials").await;
    assert_eq!(app.login("fay", NEW_PASSWORD).await.status(), 200);
    let events = app.events("authn_password_reset").await;
    assert!(events.iter().any(|e| e["username"] == "fay"));
    let requests = app.events("authn_password_reset_request").await;
    assert!(requests.iter().any(|e| e["username"] == "fay"), "{requests:?}");
    assert!(requests.iter().any(|e| e["username"].is_null()), "the request for no account is recorded too");
}

#[tokio::test]
async fn twenty_parallel_resets_with_one_token_give_exactly_one_204() {
    let app = TestApp::spawn().await;
    app.registered("pam").await;
    assert_eq!(forgot(&app, "pam@example.com").await.status(), 202);
    let mail = app.mail_to("pam@example.com", 2).await;
    let token = mail.iter().find(|m| m.subject == "Reset your password").unwrap().token.clone();
    let passwords: Vec<String> = (0..20).map(|i| format!("{NEW_PASSWORD}-{i}")).collect();
    let answers = futures_util::future::join_all(passwords.iter().map(|p| reset(&app, &token, p))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 204 || *s == 400 || *s == 503), "{statuses:?}");
}

#[tokio::test]
async fn reset_messages_are_limited_silently_and_a_newer_link_voids_the_older() {
    let app = TestApp::spawn().await;
    app.registered("lia").await;
    for _ in 0..3 {
        assert_eq!(forgot(&app, "lia@example.com").await.status(), 202);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let resets: Vec<_> =
        app.mail_to("lia@example.com", 2).await.into_iter().filter(|m| m.subject == "Reset your password").collect();
    assert_eq!(resets.len(), 1, "one a minute: the others were answered 202 and sent nothing");
    let limited = app.events("authn_password_reset_request").await;
    assert!(limited.iter().any(|e| e["detail"].as_str().unwrap_or("").contains("limit")), "{limited:?}");
}

#[tokio::test]
async fn a_reset_clears_the_lockout() {
    let app = TestApp::with(&[("AUTH_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    app.registered("moe").await;
    for _ in 0..5 {
        app.login("moe", "Wrong-Guess-Pass-1").await;
    }
    assert_problem(app.login("moe", GOOD_PASSWORD).await, 423, "account_locked").await;
    assert_eq!(forgot(&app, "moe@example.com").await.status(), 202);
    let mail = app.mail_to("moe@example.com", 2).await;
    let token = mail.iter().find(|m| m.subject == "Reset your password").unwrap().token.clone();
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 204);
    assert_eq!(app.login("moe", NEW_PASSWORD).await.status(), 200, "the lockout is cleared");
}

async fn admin(app: &TestApp) -> String {
    app.token(ADMIN_USERNAME, ADMIN_PASSWORD).await
}

#[tokio::test]
async fn the_admin_lists_users_in_order_by_prefix_and_by_page() {
    let app = TestApp::spawn().await;
    for name in ["carl", "amy", "bob", "bea", "ben"] {
        app.registered(name).await;
    }
    let admin = admin(&app).await;
    let list = |query: &str| {
        let url = app.url(&format!("/api/v1/admin/users{query}"));
        let client = app.client.clone();
        let admin = admin.clone();
        async move { client.get(url).bearer_auth(admin).send().await.unwrap() }
    };
    let names = |page: &Value| -> Vec<String> {
        page["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect()
    };
    let all: Value = list("").await.json().await.unwrap();
    assert_eq!(names(&all), ["amy", "bea", "ben", "bob", "carl", ADMIN_USERNAME]);
    assert_eq!(all["next_cursor"], Value::Null);
    let user = &all["users"][0];
    for field in ["disabled", "locked", "mfa_enabled", "email_verified", "created_at"] {
        assert!(user.get(field).is_some(), "{field}: {user}");
    }
    let b: Value = list("?prefix=b").await.json().await.unwrap();
    assert_eq!(names(&b), ["bea", "ben", "bob"]);
    let first: Value = list("?limit=2").await.json().await.unwrap();
    assert_eq!(names(&first), ["amy", "bea"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second: Value = list(&format!("?limit=2&cursor={cursor}")).await.json().await.unwrap();
    assert_eq!(names(&second), ["ben", "bob"]);
    for bad in ["?limit=0", "?limit=101", "?prefix=a%20b", "?cursor="] {
        assert_problem(list(bad).await, 400, "validation_failed").await;
    }
    let r = app.client.get(app.url("/api/v1/admin/users/nobody")).bearer_auth(&admin).send().await.unwrap();
    assert_problem(r, 404, "not_found").await;
    let r = app.client.get(app.url("/api/v1/admin/users/bea")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "bea");
    // A user's token does not open them.
    let user = app.token("bea", GOOD_PASSWORD).await;
    let r = app.client.get(app.url("/api/v1/admin/users")).bearer_auth(&user).send().await.unwrap();
    assert_problem(r, 403, "forbidden").await;
}

#[tokio::test]
async fn a_disabled_user_is_out_at_once_and_back_when_enabled() {
    let app = TestApp::spawn().await;
    let token = app.user_token("dan").await;
    let admin = admin(&app).await;
    let post = |path: &str| app.client.post(app.url(path)).bearer_auth(&admin).send();
    assert_eq!(post("/api/v1/admin/users/dan/disable").await.unwrap().status(), 204);
    assert_problem(app.me(&token).await, 401, "token_revoked").await;
    assert_problem(app.login("dan", "Wrong-Guess-Pass-1").await, 401, "invalid_credentials").await;
    assert_problem(app.login("dan", GOOD_PASSWORD).await, 403, "account_disabled").await;
    let view: Value = app
        .client
        .get(app.url("/api/v1/admin/users/dan"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["disabled"], true);
    assert_eq!(post("/api/v1/admin/users/dan/enable").await.unwrap().status(), 204);
    assert_eq!(app.login("dan", GOOD_PASSWORD).await.status(), 200);
    assert_problem(post(&format!("/api/v1/admin/users/{ADMIN_USERNAME}/disable")).await.unwrap(), 409, "conflict")
        .await;
    let kinds: Vec<Value> = app.events("user_disabled").await;
    assert!(kinds.iter().any(|e| e["username"] == "dan"));
}

#[tokio::test]
async fn the_admin_ends_every_session_of_a_user() {
    let app = TestApp::spawn().await;
    app.registered("eli").await;
    let a = app.token("eli", GOOD_PASSWORD).await;
    let b = app.token("eli", GOOD_PASSWORD).await;
    let admin = admin(&app).await;
    let r = app.client.delete(app.url("/api/v1/admin/users/eli/sessions")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(app.me(&a).await, 401, "token_revoked").await;
    assert_problem(app.me(&b).await, 401, "token_revoked").await;
    assert_eq!(app.login("eli", GOOD_PASSWORD).await.status(), 200, "the account itself is fine");
}

#[tokio::test]
async fn an_export_holds_everything_stored_about_the_caller_and_nothing_secret() {
    let app = TestApp::spawn().await;
    let token = app.user_token("xia").await;
    let r = app.client.get(app.url("/api/v1/me/export")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let export: Value = r.json().await.unwrap();
    assert_eq!(export["user"]["username"], "xia");
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    assert!(export["events"].as_array().unwrap().iter().any(|e| e["type"] == "user_created"));
    let text = export.to_string();
    for secret in ["argon2", "password_hash", &token, "refresh"] {
        assert!(!text.contains(secret), "{secret} in the export");
    }
}

#[tokio::test]
async fn erasure_by_the_owner_or_an_admin_leaves_a_pseudonym_and_frees_the_name() {
    let app = TestApp::spawn().await;
    let token = app.user_token("zoe").await;
    let erase = |body: Value| app.client.delete(app.url("/api/v1/me")).bearer_auth(&token).json(&body).send();
    assert_problem(erase(json!({"password": "Not-Zoes-Password-1"})).await.unwrap(), 401, "invalid_credentials").await;
    assert_eq!(erase(json!({"password": GOOD_PASSWORD})).await.unwrap().status(), 204);
    assert_problem(app.me(&token).await, 401, "token_revoked").await;
    assert_problem(app.login("zoe", GOOD_PASSWORD).await, 401, "invalid_credentials").await;
    let admin = admin(&app).await;
    let r = app.client.get(app.url("/api/v1/admin/users/zoe")).bearer_auth(&admin).send().await.unwrap();
    assert_problem(r, 404, "not_found").await;
    // The audit trail keeps the events under a pseudonym.
    let deleted = app.events("user_deleted").await;
    let pseudonym = deleted[0]["username"].as_str().unwrap().to_string();
    assert!(pseudonym.starts_with("~erased:"), "{pseudonym}");
    let created = app.events("user_created").await;
    assert!(created.iter().any(|e| e["username"] == pseudonym.as_str()), "{created:?}");
    assert!(created.iter().all(|e| e["username"] != "zoe"));
    // The name is free again.
    assert_eq!(app.register("zoe", GOOD_PASSWORD).await.status(), 201);
    // And by an admin: not their own account.
    app.registered("ian").await;
    let r = app.client.delete(app.url("/api/v1/admin/users/ian")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(app.login("ian", GOOD_PASSWORD).await, 401, "invalid_credentials").await;
    let own = app
        .client
        .delete(app.url(&format!("/api/v1/admin/users/{ADMIN_USERNAME}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(own, 409, "conflict").await;
}
