//! Test support for CloudMind's black-box tests: [`TestApp`] starts the local server in-process on a free port
//! with its own in-memory stores, and drives it over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod logs;
pub mod proxy;

use std::collections::HashMap;
use std::sync::Arc;

use cloudmind_registry::App;
use cloudmind_registry::admin::ensure_admin;
pub use cloudmind_registry::server::Limits;
use cloudmind_security::events::EventSink;
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::ratelimit::Limiter;
use cloudmind_security::store::StoreKind;
use cloudmind_security::users::{SessionLookup, UserStore};
use cloudmind_serving::config::Settings;
use cloudmind_serving::function::Ports as _;
use cloudmind_wiring::Wiring;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The signing key of test servers, so tests can forge tokens with the right key.
pub const TEST_KEY: &str = "cloudmind-tests-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const ADMIN_USERNAME: &str = "root";
pub const ADMIN_PASSWORD: &str = "Admin-Pass-For-Tests-7!";
/// A password that passes the seed policy.
pub const GOOD_PASSWORD: &str = "Correct-Horse-42-Battery";

/// The ports of a test server, for tests that look behind the API.
#[derive(Clone)]
pub struct Backends {
    /// Where users and the audit trail live.
    pub store: StoreKind,
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionLookup>,
    /// Sessions and their refresh-token hashes.
    pub session_records: Arc<dyn cloudmind_security::sessions::SessionStore>,
    pub lockouts: Arc<dyn LockoutStore>,
    pub limiter: Arc<dyn Limiter>,
    pub events: Arc<dyn EventSink>,
    pub mfa: Arc<dyn cloudmind_security::mfa::MfaStore>,
    pub devices: Arc<dyn cloudmind_security::devices::DeviceStore>,
}

/// A local server on a free port with fresh in-memory stores.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub settings: Settings,
    pub wiring: Wiring,
    pub backends: Backends,
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Whether this run is against the real backends (`make test` sets `CLOUDMIND_TEST_BACKEND=aws` for its second
/// pass, with `REDIS_URL` and `DYNAMODB_ENDPOINT` pointing at the services it started).
pub fn real_backends() -> bool {
    std::env::var("CLOUDMIND_TEST_BACKEND").as_deref() == Ok("aws")
}

/// A required variable of the real-backend pass; its absence fails the test loudly.
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the real-backend tests through `make test`"))
}

/// A fresh namespace (table names, Redis hash tag) so every test server starts with empty stores.
pub fn namespace() -> String {
    format!("t{}", cloudmind_security::ids::random_hex(6))
}

/// The infrastructure variables of a server on the real backends, in a fresh namespace.
pub fn real_backend_vars() -> Vec<(String, String)> {
    let ns = namespace();
    let mut vars = vec![
        ("DYNAMODB_ENDPOINT".into(), required_env("DYNAMODB_ENDPOINT")),
        ("USERS_TABLE".into(), format!("{ns}-users")),
        ("SECURITY_TABLE".into(), format!("{ns}-security")),
        ("REDIS_URL".into(), required_env("REDIS_URL")),
        ("REDIS_KEY_PREFIX".into(), ns),
    ];
    if let Ok(endpoint) = std::env::var("SECRETS_MANAGER_ENDPOINT") {
        vars.push(("SECRETS_MANAGER_ENDPOINT".into(), endpoint));
    }
    // The cluster pass of `make test`: REDIS_URL names a node of a Redis Cluster.
    if let Ok(cluster) = std::env::var("REDIS_CLUSTER") {
        vars.push(("REDIS_CLUSTER".into(), cluster));
    }
    vars
}

/// A fresh outbox folder under the system's temporary directory.
fn outbox_dir() -> String {
    std::env::temp_dir().join(format!("cloudmind-outbox-{}", namespace())).to_string_lossy().into_owned()
}

/// A message the file transport wrote: its headers and its text.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The token on the message's `Token:` line.
    pub token: String,
}

/// The settings of test servers: the seed defaults, a fixed key, an admin, and (unless overridden) login and
/// register limits high enough for flows that log in many times. On the real-backend pass, a fresh namespace.
fn settings(overrides: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = [
        ("JWT_SECRET_KEY", TEST_KEY),
        ("CLOUDMIND_ADMIN_USERNAME", ADMIN_USERNAME),
        ("CLOUDMIND_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("ENVIRONMENT", "test"),
        ("MFA_ENCRYPTION_KEY", "cloudmind-mfa-tests-0123456789-abcdefghijklmnop"),
        ("AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
        ("AUTH_RATE_LIMIT_PER_HOUR", "10000"),
        ("AUTH_RATE_LIMIT_PER_DAY", "100000"),
        // Each server its own outbox: the messages a test reads are its own.
        ("MAIL_OUTBOX_DIR", &outbox_dir()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if real_backends() {
        vars.extend(real_backend_vars());
    }
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings load")
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::with(&[]).await
    }

    /// A server with some settings overridden (`("AUTH_RATE_LIMIT_PER_MINUTE", "5")`).
    pub async fn with(overrides: &[(&str, &str)]) -> Self {
        Self::with_wiring(wiring_for(settings(overrides)).await).await
    }

    /// A server with the seed guide's own login and register limits (5/minute, 20/hour, 100/day).
    pub async fn with_seed_limits() -> Self {
        Self::with(&[
            ("AUTH_RATE_LIMIT_PER_MINUTE", "5"),
            ("AUTH_RATE_LIMIT_PER_HOUR", "20"),
            ("AUTH_RATE_LIMIT_PER_DAY", "100"),
        ])
        .await
    }

    /// A server over the given ports (for example with a store that fails), with the test admin.
    pub async fn with_wiring(wiring: Wiring) -> Self {
        logs::capture();
        ensure_admin(&wiring, ADMIN_USERNAME, Some(ADMIN_PASSWORD), None).await.expect("admin created");
        Self::serving(wiring).await
    }

    /// A server over the given ports, without creating the admin (a store that is down).
    pub async fn serving(wiring: Wiring) -> Self {
        Self::serving_within(wiring, Limits::default()).await
    }

    /// As [`TestApp::serving`], with the local server's bounds chosen (short timeouts, small caps).
    pub async fn serving_within(wiring: Wiring, limits: Limits) -> Self {
        logs::capture();
        let app = Arc::new(App::build(&wiring).await.expect("functions built"));
        let backends = Backends {
            store: wiring.store_kind(),
            users: wiring.users().await.unwrap(),
            sessions: wiring.sessions().await.unwrap(),
            session_records: wiring.session_store().await.unwrap(),
            lockouts: wiring.lockouts().await.unwrap(),
            limiter: wiring.limiter().await.unwrap(),
            events: wiring.events().await.unwrap(),
            mfa: wiring.mfa().await.unwrap(),
            devices: wiring.devices().await.unwrap(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(cloudmind_registry::server::serve_with(listener, app.clone(), limits, async {
            let _ = stopped.await;
        }));
        let client = Client::builder().pool_max_idle_per_host(64).build().unwrap();
        let settings = wiring.settings().clone();
        Self { base, client, settings, wiring, backends, app, stop: Some(stop) }
    }

    /// A client whose requests come from `127.0.0.<last>` (the local server keys limits and blocks on the socket
    /// address): another client address of the same machine.
    pub fn client_from(&self, last: u8) -> Client {
        Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, last]))
            .build()
            .expect("a client bound to a loopback address")
    }

    /// Every message in this server's outbox, oldest first.
    pub fn outbox(&self) -> Vec<Mail> {
        let dir = std::path::Path::new(&self.settings.mail.outbox_dir);
        let mut names: Vec<std::path::PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => return Vec::new(),
        };
        names.sort();
        names
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|raw| {
                let (head, text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
                        .unwrap_or_default()
                };
                let text = text.replace("\r\n", "\n");
                let token = text.lines().find_map(|l| l.strip_prefix("Token: ")).unwrap_or_default().to_string();
                Mail { to: header("To"), subject: header("Subject"), text, token }
            })
            .collect()
    }

    /// Waits (up to 5 s: the mail worker runs after the answer) until the outbox holds `count` messages to `to`,
    /// and returns them.
    pub async fn mail_to(&self, to: &str, count: usize) -> Vec<Mail> {
        for _ in 0..100 {
            let mine: Vec<Mail> = self.outbox().into_iter().filter(|m| m.to == to).collect();
            if mine.len() >= count {
                return mine;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} messages to {to} in the outbox: {:?}", self.outbox());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        let body = json!({"username": username, "email": format!("{username}@example.com"), "password": password});
        self.post_json("/api/v1/auth/register", &body).await
    }

    /// Registers a user with [`GOOD_PASSWORD`], asserting it worked.
    pub async fn registered(&self, username: &str) {
        let r = self.register(username, GOOD_PASSWORD).await;
        assert_eq!(r.status(), 201, "register {username}: {}", r.text().await.unwrap());
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_json("/api/v1/auth/login", &json!({"username": username, "password": password})).await
    }

    /// Logs in and returns the access token, asserting it worked.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status(), 200, "login {username}");
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Registers `username` and returns a token for it.
    pub async fn user_token(&self, username: &str) -> String {
        self.registered(username).await;
        self.token(username, GOOD_PASSWORD).await
    }

    pub async fn admin_token(&self) -> String {
        self.token(ADMIN_USERNAME, ADMIN_PASSWORD).await
    }

    pub async fn me(&self, token: &str) -> Response {
        self.client.get(self.url("/api/v1/me")).bearer_auth(token).send().await.unwrap()
    }

    pub async fn logout(&self, token: &str) -> Response {
        self.client.post(self.url("/api/v1/auth/logout")).bearer_auth(token).send().await.unwrap()
    }

    pub async fn get_with(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// The audit trail as the admin API shows it (newest first), of one type.
    pub async fn events(&self, kind: &str) -> Vec<Value> {
        let admin = self.admin_token().await;
        let r = self.get_with(&format!("/api/v1/admin/security-events?type={kind}&limit=100"), &admin).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["events"].as_array().unwrap().clone()
    }
}

impl TestApp {
    /// The audit trail read straight from the store (for tests whose client is limited or blocked over HTTP).
    pub async fn stored_events(&self, kind: cloudmind_security::events::EventKind) -> Vec<Value> {
        let page = self.backends.events.list(Some(kind), 100, None).await.unwrap();
        page.events.iter().map(|e| e.public()).collect()
    }
}

/// The ports of a test server: memory, or on the real-backend pass DynamoDB (tables created here) and Redis.
pub async fn wiring_for(settings: Settings) -> Wiring {
    let infra = &settings.infrastructure;
    if infra.uses_dynamodb() {
        let sdk = cloudmind_adapters::aws::sdk_config().await;
        let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
        // The emulator serves one request at a time to every test of the run: under load a creation can outlast the
        // SDK's 3 s operation timeout. Creating is idempotent (a table that exists is kept), so try again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match cloudmind_adapters::aws::tables::create_tables(&client, infra.users_table(), infra.security_table())
                .await
            {
                Ok(_) => break,
                Err(e) if attempt < 3 => eprintln!("creating the test tables, attempt {attempt}: {e}; again"),
                Err(e) => panic!("tables created in the emulator: {e:?}"),
            }
        }
    }
    Wiring::new(settings)
}

/// Asserts a problem response: status, `code`, media type, `request_id` equal to `X-Request-Id`. Returns the body.
pub async fn assert_problem(r: Response, status: u16, code: &str) -> (reqwest::header::HeaderMap, Value) {
    let headers = r.headers().clone();
    assert_eq!(r.status().as_u16(), status, "status for {code}");
    assert_eq!(headers["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    for field in ["type", "title", "detail", "request_id"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    assert_eq!(body["request_id"], headers["x-request-id"].to_str().unwrap());
    (headers, body)
}

/// The security headers of the API contract, all present with their values, and no `Server` disclosure.
pub fn assert_security_headers(h: &reqwest::header::HeaderMap) {
    for (name, value) in cloudmind_security::headers::SECURITY_HEADERS {
        assert_eq!(h.get(*name).map(|v| v.to_str().unwrap()), Some(*value), "{name}");
    }
    assert!(h.get("x-request-id").is_some());
    assert!(h.get("server").is_none() && h.get("x-powered-by").is_none());
}

/// Signs arbitrary claims with the test key (or another), for tokens a client could forge.
pub fn forge(header: &jsonwebtoken::Header, claims: &Value, key: &[u8]) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(key).unwrap();
    jsonwebtoken::encode(header, claims, &key).unwrap()
}

/// A token header as CloudMind issues them (HS256, `at+jwt`, the test key's id).
pub fn test_header() -> jsonwebtoken::Header {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.typ = Some("at+jwt".into());
    h.kid = Some(cloudmind_security::tokens::SigningKey::derive(TEST_KEY.as_bytes()).kid);
    h
}

/// Decodes the claims of a token without checking it.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub mod services;

/// A user store over a real one whose reads fail (`hang: false`) or never answer (`hang: true`): a store that
/// breaks between a lockout slot and the verdict.
pub struct BrokenReads {
    pub inner: Arc<dyn UserStore>,
    pub hang: bool,
}

#[async_trait::async_trait]
impl UserStore for BrokenReads {
    async fn create(&self, user: &cloudmind_security::users::User) -> Result<(), cloudmind_security::StoreError> {
        self.inner.create(user).await
    }
    async fn get(&self, _: &str) -> Result<Option<cloudmind_security::users::User>, cloudmind_security::StoreError> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        Err(cloudmind_security::StoreError::unavailable("users", "read timed out"))
    }
    async fn update_profile(
        &self,
        username: &str,
        change: &cloudmind_security::users::ProfileChange,
    ) -> Result<cloudmind_security::users::User, cloudmind_security::StoreError> {
        self.inner.update_profile(username, change).await
    }
    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        revoke_all: bool,
        now: cloudmind_security::clock::Millis,
    ) -> Result<cloudmind_security::users::User, cloudmind_security::StoreError> {
        self.inner.set_password_hash(username, hash, revoke_all, now).await
    }
    async fn rehash(&self, username: &str, old: &str, new: &str) -> Result<bool, cloudmind_security::StoreError> {
        self.inner.rehash(username, old, new).await
    }
    async fn add_role(
        &self,
        username: &str,
        role: &str,
    ) -> Result<cloudmind_security::users::User, cloudmind_security::StoreError> {
        self.inner.add_role(username, role).await
    }
    async fn set_email_verified(
        &self,
        username: &str,
        email: &str,
    ) -> Result<Option<cloudmind_security::users::User>, cloudmind_security::StoreError> {
        self.inner.set_email_verified(username, email).await
    }
    async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: cloudmind_security::clock::Millis,
    ) -> Result<cloudmind_security::users::User, cloudmind_security::StoreError> {
        self.inner.set_disabled(username, disabled, now).await
    }
    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<cloudmind_security::users::User>, Option<String>), cloudmind_security::StoreError> {
        self.inner.list(prefix, after, limit).await
    }
    async fn by_email(
        &self,
        email: &str,
    ) -> Result<Vec<cloudmind_security::users::User>, cloudmind_security::StoreError> {
        self.inner.by_email(email).await
    }
    async fn delete(&self, username: &str) -> Result<bool, cloudmind_security::StoreError> {
        self.inner.delete(username).await
    }
    async fn ping(&self) -> Result<(), cloudmind_security::StoreError> {
        self.inner.ping().await
    }
}
