//! The account's life on the AWS adapters: mail through SES (the emulator), the mail queue as the table's stream
//! hands it to the worker, and an erasure that leaves nothing under the user's name in either table.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use cloudmind_adapters::aws::dynamo::mailjobs::jobs_of_stream_event;
use cloudmind_security::mail::MailJob;
use cloudmind_serving::function::Ports as _;
use cloudmind_tests::{GOOD_PASSWORD, TestApp, assert_problem};
use serde_json::{Value, json};

/// The emulator's base URL (it serves DynamoDB, Secrets Manager and SES on one port).
fn moto_url(app: &TestApp) -> String {
    app.settings.infrastructure.dynamodb_endpoint.clone().expect("DYNAMODB_ENDPOINT: the backends pass runs on moto")
}

/// What SES (the emulator) sent to `to`, waiting up to 5 s for `count` messages: (subject, body).
async fn ses_sent_to(moto: &str, to: &str, count: usize) -> Vec<(String, String)> {
    for _ in 0..100 {
        let sent: Value = reqwest::get(format!("{moto}/_cloudmind/ses")).await.unwrap().json().await.unwrap();
        let mine: Vec<(String, String)> = sent["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destinations"].as_array().is_some_and(|d| d.iter().any(|a| a == to)))
            .map(|m| (m["subject"].as_str().unwrap_or_default().into(), m["body"].as_str().unwrap_or_default().into()))
            .collect();
        if mine.len() >= count {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("SES sent fewer than {count} messages to {to}");
}

fn token_line(body: &str) -> String {
    body.lines().find_map(|l| l.trim_end().strip_prefix("Token: ")).expect("a Token: line").to_string()
}

/// A server whose mail leaves through SES v2 on the emulator, as `MAIL_FROM` (whose domain is verified there).
async fn on_ses(from: &str) -> TestApp {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let ses = cloudmind_adapters::aws::ses_client(&sdk, Some(&endpoint));
    // Idempotent in the emulator: every test verifies the same domain.
    let _ = ses.create_email_identity().email_identity("example.com").send().await;
    TestApp::with(&[("MAIL_TRANSPORT", "ses"), ("SES_ENDPOINT", endpoint.as_str()), ("MAIL_FROM", from)]).await
}

#[tokio::test]
async fn the_ses_transport_sends_through_the_emulator() {
    let app = on_ses("no-reply@example.com").await;
    let moto = moto_url(&app);
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "sesuser", "email": "ses.user@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sent = ses_sent_to(&moto, "ses.user@example.com", 1).await;
    assert_eq!(sent[0].0, "Confirm your e-mail address");
    let token = token_line(&sent[0].1);
    let r = app.post_json("/api/v1/auth/email/verify", &json!({"token": token})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["email_verified"], true);
    // A reset through SES too, and its token sets the password.
    let r = app.post_json("/api/v1/auth/password/forgot", &json!({"email": "ses.user@example.com"})).await;
    assert_eq!(r.status(), 202);
    let sent = ses_sent_to(&moto, "ses.user@example.com", 2).await;
    let reset = sent.iter().find(|(subject, _)| subject.contains("password")).expect("a reset message");
    let r = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token_line(&reset.1), "new_password": "Fresh-Plum-73-Kettle"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.login("sesuser", "Fresh-Plum-73-Kettle").await.status(), 200);
    let logs = cloudmind_tests::logs::captured();
    assert!(!logs.contains(&token), "a mailed token reached the log");
}

#[tokio::test]
async fn a_sender_ses_refuses_fails_the_message_not_the_request() {
    // Not a verified identity in the emulator: SES answers MessageRejected.
    let app = on_ses("no-reply@unverified-sender.test").await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "refused", "email": "refused@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 201, "the request does not depend on the transport");
    let r = app.post_json("/api/v1/auth/password/forgot", &json!({"email": "refused@example.com"})).await;
    assert_eq!(r.status(), 202);
    let mut degraded = Vec::new();
    for _ in 0..100 {
        degraded = app.events("sys_dependency_degraded").await;
        if degraded.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(degraded.len() >= 2, "each failed message is audited: {degraded:?}");
    assert!(degraded.iter().all(|e| e["detail"].as_str().unwrap_or_default().starts_with("mail: ")), "{degraded:?}");
    assert!(cloudmind_tests::logs::captured().contains("mail_failed"));
}

/// The security table's items that are mail jobs.
async fn job_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let items = client.scan().table_name(table).send().await.unwrap().items.unwrap_or_default();
    items.into_iter().filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("MAILJOB#"))).collect()
}

/// In AWS the requests put jobs in the security table and its stream hands them to the `mailer` function: here the
/// Lambda wiring's queue writes them, the stream's event is built from the items as DynamoDB would, and the worker
/// runs them (sending through SES on the emulator) and removes each.
#[tokio::test]
async fn the_table_queue_hands_jobs_to_the_worker_as_the_stream_does() {
    let app = on_ses("no-reply@example.com").await;
    let moto = moto_url(&app);
    app.post_json(
        "/api/v1/auth/register",
        &json!({"username": "queued", "email": "queued@example.com", "password": GOOD_PASSWORD}),
    )
    .await;
    // The Lambda functions' wiring: the queue is the table.
    let lambda = cloudmind_wiring::Wiring::lambda(app.settings.clone());
    let queue = lambda.mail_queue().await.unwrap();
    let reset = MailJob::Reset {
        email: "queued@example.com".into(),
        client_ip: "203.0.113.5".into(),
        request_id: "r-1".into(),
    };
    queue.enqueue(&reset).await.unwrap();
    queue
        .enqueue(&MailJob::Reset {
            email: "nobody@example.com".into(),
            client_ip: "203.0.113.5".into(),
            request_id: "r-2".into(),
        })
        .await
        .unwrap();
    let infra = &app.settings.infrastructure;
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    let items = job_items(&client, infra.security_table()).await;
    assert_eq!(items.len(), 2, "one item a job");
    for item in &items {
        let expires: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
        let now = cloudmind_security::clock::now_ms() / 1000;
        assert!((now + 80_000..=now + 86_401).contains(&expires), "kept a day at most: {expires}");
    }
    // The stream's records of the two inserts, and noise the filter would have kept out anyway.
    let image = |item: &std::collections::HashMap<String, AttributeValue>| json!({"pk": {"S": item["pk"].as_s().unwrap()}, "sk": {"S": "MAILJOB"}, "job": {"S": item["job"].as_s().unwrap()}});
    let mut records: Vec<Value> =
        items.iter().map(|i| json!({"eventName": "INSERT", "dynamodb": {"NewImage": image(i)}})).collect();
    records.push(json!({"eventName": "REMOVE", "dynamodb": {"OldImage": image(&items[0])}}));
    let jobs = jobs_of_stream_event(&json!({ "Records": records }));
    assert_eq!(jobs.len(), 2);
    let worker = cloudmind_mailer::MailWorker::build(&lambda).await.unwrap();
    for (id, job) in jobs {
        worker.run_queued(&id, job).await;
    }
    let sent = ses_sent_to(&moto, "queued@example.com", 2).await;
    assert!(sent.iter().any(|(subject, _)| subject.contains("password")), "{sent:?}");
    assert!(job_items(&client, infra.security_table()).await.is_empty(), "each job is removed once run");
    let requests = app.events("authn_password_reset_request").await;
    let nobody = requests.iter().find(|e| e["username"].is_null()).expect("the address nobody has is audited");
    assert_eq!(nobody["detail"], "no account has this address: nothing sent");
    assert!(requests.iter().any(|e| e["username"] == "queued" && e["detail"] == "reset message sent"), "{requests:?}");
}

/// Everything an account leaves in the tables, then `DELETE /api/v1/me`: no item of either table holds the name,
/// either address or the hash that indexes an address afterwards (the audit trail keeps a pseudonym).
#[tokio::test]
async fn an_erased_account_leaves_nothing_under_its_name_in_either_table() {
    let app = TestApp::spawn().await;
    let (name, first, second) = ("erin", "erin@example.com", "erin.new@example.com");
    app.registered(name).await;
    let verify = app.mail_to(first, 1).await.remove(0);
    assert_eq!(app.post_json("/api/v1/auth/email/verify", &json!({"token": verify.token})).await.status(), 200);
    // A trusted device, a second session, a reset link, a change of address (a new index entry), a failed login
    // (a lockout counter).
    let r = app
        .post_json("/api/v1/auth/login", &json!({"username": name, "password": GOOD_PASSWORD, "remember_device": true}))
        .await;
    assert_eq!(r.status(), 200);
    let token = app.token(name, GOOD_PASSWORD).await;
    assert_eq!(app.post_json("/api/v1/auth/password/forgot", &json!({"email": first})).await.status(), 202);
    app.mail_to(first, 2).await;
    let r = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&json!({"email": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_problem(app.login(name, "Not-Erins-Password-9").await, 401, "invalid_credentials").await;
    let infra = &app.settings.infrastructure;
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    let everything = || async {
        let mut text = String::new();
        for table in [infra.users_table(), infra.security_table()] {
            let items = client.scan().table_name(table).send().await.unwrap().items.unwrap_or_default();
            text.push_str(&format!("{items:?}"));
        }
        text
    };
    use sha2::Digest as _;
    let index_of = |email: &str| format!("EMAIL#{}", hex::encode(sha2::Sha256::digest(email.as_bytes())));
    let before = everything().await;
    for trace in [name.to_string(), first.into(), second.into(), index_of(second)] {
        assert!(before.contains(&trace), "{trace} is not stored before the erasure: the test proves nothing");
    }
    let r = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&json!({"password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let after = everything().await;
    for trace in
        [format!("\"{name}"), format!("#{name}"), first.into(), second.into(), index_of(first), index_of(second)]
    {
        assert!(!after.contains(&trace), "{trace} is still stored after the erasure");
    }
    assert!(after.contains("~erased:"), "the audit trail keeps the events under a pseudonym");
}

/// Users created before v1.2 have neither the `by_name` attribute nor an address entry: the admin's list misses them
/// and a reset finds no account, until `cloudmind backfill` has run (once; a second run changes nothing).
#[tokio::test]
async fn backfill_indexes_the_users_an_older_version_created() {
    let app = TestApp::spawn().await;
    app.registered("olduser").await;
    app.mail_to("olduser@example.com", 1).await;
    let infra = &app.settings.infrastructure;
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    // What v1.1 stored: the user item without `lpk`, and no EMAIL# entry.
    client
        .update_item()
        .table_name(infra.users_table())
        .key("username", AttributeValue::S("olduser".into()))
        .update_expression("REMOVE lpk")
        .send()
        .await
        .unwrap();
    use sha2::Digest as _;
    let index = format!("EMAIL#{}", hex::encode(sha2::Sha256::digest(b"olduser@example.com")));
    client
        .delete_item()
        .table_name(infra.security_table())
        .key("pk", AttributeValue::S(index))
        .key("sk", AttributeValue::S("USER#olduser".into()))
        .send()
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let listed = || async {
        let r = app.client.get(app.url("/api/v1/admin/users?prefix=old")).bearer_auth(&admin).send().await.unwrap();
        r.json::<Value>().await.unwrap()["users"].as_array().unwrap().len()
    };
    assert_eq!(listed().await, 0, "not in the list before the backfill");
    assert_eq!(
        app.post_json("/api/v1/auth/password/forgot", &json!({"email": "olduser@example.com"})).await.status(),
        202
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.outbox().iter().filter(|m| m.subject.contains("password")).count(), 0, "no account found");
    let cli = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("cloudmind");
    let run = || {
        let out = std::process::Command::new(&cli)
            .arg("backfill")
            .env("DYNAMODB_ENDPOINT", infra.dynamodb_endpoint.as_deref().unwrap())
            .env("USERS_TABLE", infra.users_table())
            .env("SECURITY_TABLE", infra.security_table())
            .output()
            .expect("the cloudmind binary runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run().contains(", 1 indexed"), "one user upgraded");
    assert!(run().contains(", 0 indexed"), "a second run changes nothing");
    assert_eq!(listed().await, 1);
    // The reset limit (one a minute) counts sends, and none was made: the link goes out now.
    assert_eq!(
        app.post_json("/api/v1/auth/password/forgot", &json!({"email": "olduser@example.com"})).await.status(),
        202
    );
    let mail = app.mail_to("olduser@example.com", 2).await;
    assert!(mail.iter().any(|m| m.subject.contains("password")));
}
