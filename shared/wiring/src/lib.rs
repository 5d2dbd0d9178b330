//! The wiring: which adapter stands behind each port ([`Wiring`], the serving crate's `Ports`), and the whole `main`
//! of a function's Lambda ([`run_lambda`]).
//!
//! Each port is built on first use and shared afterwards: a function's `build` asks only for the ones it uses, so
//! it links, connects to and is granted only those (a function that never verifies a token never builds a key
//! provider, and needs no `secretsmanager:GetSecretValue`). Which adapter stands behind a port follows the
//! settings: DynamoDB when a table or endpoint is configured, Redis (with the in-memory fallback) when `REDIS_URL`
//! is, Secrets Manager when `JWT_SECRET_ARN` is, the range API when `BREACHED_PASSWORD_API` is; memory otherwise.
//! In Lambda the persistent stores are required (memory is per instance).
//!
//! This crate names the adapters and re-exports none of them: a function crate depends on it for `run_lambda`
//! alone, and reaches its ports through the serving crate's `Ports` trait.

/// Every process that links the wiring (the seven functions, the local server) allocates with mimalloc: glibc's
/// malloc and free were a quarter of a protected request's instructions (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmind_adapters::aws;
use cloudmind_adapters::aws::dynamo::DynamoStore;
use cloudmind_adapters::aws::fallback::FallbackLimiter;
use cloudmind_adapters::aws::redis::RedisLimiter;
use cloudmind_adapters::aws::secrets::SecretsKeys;
use cloudmind_adapters::breach::RangeCheck;
use cloudmind_adapters::memory::{
    FileOutbox, InProcessQueue, MemoryAccountData, MemoryDevices, MemoryEvents, MemoryLimiter, MemoryLinks,
    MemoryLockouts, MemoryMfa, MemorySessionStore, MemorySessions, MemoryUsers,
};
use cloudmind_security::account::AccountData;
use cloudmind_security::breach::{BreachedPasswords, BundledList};
use cloudmind_security::devices::DeviceStore;
use cloudmind_security::events::EventSink;
use cloudmind_security::links::LinkStore;
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::mail::{MailQueue, Mailer};
use cloudmind_security::mfa::{MfaKeys, MfaStore};
use cloudmind_security::ratelimit::Limiter;
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::store::StoreKind;
use cloudmind_security::tokens::KeyProvider;
use cloudmind_security::users::{SessionLookup, UserStore};
use secrecy::SecretString;
use tokio::sync::OnceCell;

use cloudmind_serving::config::{KeySource, MailTransport, Settings};
use cloudmind_serving::function::{Function, Port, PortResult, Ports, WiringError, answer};
use lambda_http::service_fn;

/// The persistent stores behind users, sessions, lockouts and events: one DynamoDB store, or one set of in-memory
/// stores that share their users and session records with the session lookup.
#[derive(Clone)]
enum Stores {
    Dynamo(Arc<DynamoStore>),
    Memory {
        users: Arc<MemoryUsers>,
        lockouts: Arc<MemoryLockouts>,
        events: Arc<MemoryEvents>,
        records: Arc<MemorySessionStore>,
        mfa: Arc<MemoryMfa>,
        devices: Arc<MemoryDevices>,
        links: Arc<MemoryLinks>,
    },
}

/// How the SDK configuration is made: a plain function pointer, so a Lambda binary links only its own loader
/// (environment credentials) and not the default credential chain of local processes.
type SdkLoader = fn() -> SdkFuture;
type SdkFuture = std::pin::Pin<Box<dyn std::future::Future<Output = aws_config::SdkConfig> + Send>>;

fn local_sdk() -> SdkFuture {
    Box::pin(aws::sdk_config())
}

fn lambda_sdk() -> SdkFuture {
    Box::pin(std::future::ready(aws::lambda_sdk_config()))
}

/// Builds and shares the ports of one process (one Lambda execution environment, or the local server).
#[derive(Clone)]
pub struct Wiring {
    settings: Arc<Settings>,
    lambda: bool,
    sdk_loader: SdkLoader,
    sdk: OnceCell<aws_config::SdkConfig>,
    stores: OnceCell<Stores>,
    users: OnceCell<Arc<dyn UserStore>>,
    sessions: OnceCell<Arc<dyn SessionLookup>>,
    session_store: OnceCell<Arc<dyn SessionStore>>,
    lockouts: OnceCell<Arc<dyn LockoutStore>>,
    events: OnceCell<Arc<dyn EventSink>>,
    limiter: OnceCell<Arc<dyn Limiter>>,
    keys: OnceCell<(Arc<dyn KeyProvider>, KeySource)>,
    mfa: OnceCell<Arc<dyn MfaStore>>,
    devices: OnceCell<Arc<dyn DeviceStore>>,
    mfa_keys: OnceCell<MfaKeys>,
    links: OnceCell<Arc<dyn LinkStore>>,
    account: OnceCell<Arc<dyn AccountData>>,
    mailer: OnceCell<Arc<dyn Mailer>>,
    /// The mail queue of a process that runs its own mail worker (not a Lambda function), shared by every clone.
    in_process: Arc<InProcessQueue>,
    used: Arc<Mutex<BTreeSet<Port>>>,
}

impl Wiring {
    /// The ports of a local process: the settings choose the adapters, memory by default.
    pub fn new(settings: Settings) -> Self {
        Self::with(settings, false, local_sdk)
    }

    /// The ports of a Lambda execution environment: DynamoDB and Redis are required, AWS credentials and region come
    /// from the environment.
    pub fn lambda(settings: Settings) -> Self {
        Self::with(settings, true, lambda_sdk)
    }

    fn with(settings: Settings, lambda: bool, sdk_loader: SdkLoader) -> Self {
        Self {
            settings: Arc::new(settings),
            lambda,
            sdk_loader,
            sdk: OnceCell::new(),
            stores: OnceCell::new(),
            users: OnceCell::new(),
            sessions: OnceCell::new(),
            session_store: OnceCell::new(),
            lockouts: OnceCell::new(),
            events: OnceCell::new(),
            limiter: OnceCell::new(),
            keys: OnceCell::new(),
            mfa: OnceCell::new(),
            devices: OnceCell::new(),
            mfa_keys: OnceCell::new(),
            links: OnceCell::new(),
            account: OnceCell::new(),
            mailer: OnceCell::new(),
            in_process: Arc::default(),
            used: Arc::default(),
        }
    }

    /// The in-process mail queue, whose worker the local server sets (`None` in Lambda: the queue is a table).
    pub fn in_process_queue(&self) -> Option<Arc<InProcessQueue>> {
        (!self.lambda).then(|| self.in_process.clone())
    }

    /// The ports asked for so far (the template grants a function exactly what its ports need).
    pub fn used(&self) -> BTreeSet<Port> {
        self.used.lock().map(|u| u.clone()).unwrap_or_default()
    }

    fn mark(&self, port: Port) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(port);
        }
    }

    async fn sdk(&self) -> &aws_config::SdkConfig {
        self.sdk.get_or_init(self.sdk_loader).await
    }

    async fn stores(&self) -> Result<&Stores, WiringError> {
        self.stores
            .get_or_try_init(|| async {
                let infra = &self.settings.infrastructure;
                if !infra.uses_dynamodb() {
                    if self.lambda {
                        return Err(WiringError::Required("USERS_TABLE and SECURITY_TABLE"));
                    }
                    let users: Arc<MemoryUsers> = Arc::default();
                    return Ok(Stores::Memory {
                        mfa: Arc::new(MemoryMfa::new(users.clone())),
                        devices: Arc::default(),
                        links: Arc::default(),
                        users,
                        lockouts: Arc::default(),
                        events: Arc::default(),
                        records: Arc::default(),
                    });
                }
                let client = aws::dynamodb_client(self.sdk().await, infra.dynamodb_endpoint.as_deref());
                let store = Arc::new(
                    DynamoStore::new(client, infra.users_table(), infra.security_table())
                        .with_audit_shards(infra.audit_shards),
                );
                // Opens the connection (TLS handshake) during init so the first request does not pay for it; a
                // failure here is reported by the first request that needs the store (and by /health).
                if let Err(e) = store.ping().await {
                    tracing::warn!(event = "dynamodb_warm_up_failed", error = %cloudmind_security::store::error_chain(&e));
                }
                Ok(Stores::Dynamo(store))
            })
            .await
    }

    /// A port backed by the persistent stores, built once from them.
    async fn store_port<T: ?Sized + Send + Sync>(
        &self,
        port: Port,
        cell: &OnceCell<Arc<T>>,
        pick: impl FnOnce(&Stores) -> Arc<T>,
    ) -> Result<Arc<T>, WiringError> {
        self.mark(port);
        let built = cell.get_or_try_init(|| async { Ok::<_, WiringError>(pick(self.stores().await?)) }).await?;
        Ok(built.clone())
    }

    /// A copy of these ports with the user store replaced (tests of a store that fails).
    pub fn with_users(&self, users: Arc<dyn UserStore>) -> Self {
        let mut copy = self.clone();
        copy.users = OnceCell::new_with(Some(users));
        copy
    }

    /// A copy of these ports with the session lookup replaced (tests of a store that fails).
    pub fn with_sessions(&self, sessions: Arc<dyn SessionLookup>) -> Self {
        let mut copy = self.clone();
        copy.sessions = OnceCell::new_with(Some(sessions));
        copy
    }
}

impl Ports for Wiring {
    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn store_kind(&self) -> StoreKind {
        if self.settings.infrastructure.uses_dynamodb() { StoreKind::DynamoDb } else { StoreKind::Memory }
    }

    async fn users(&self) -> PortResult<Arc<dyn UserStore>> {
        self.store_port(Port::Users, &self.users, |stores| -> Arc<dyn UserStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { users, .. } => users.clone(),
            }
        })
        .await
    }

    async fn sessions(&self) -> PortResult<Arc<dyn SessionLookup>> {
        self.store_port(Port::Sessions, &self.sessions, |stores| -> Arc<dyn SessionLookup> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { users, records, .. } => {
                    Arc::new(MemorySessions { users: users.clone(), records: records.clone() })
                }
            }
        })
        .await
    }

    /// Sessions and their refresh-token hashes.
    async fn session_store(&self) -> PortResult<Arc<dyn SessionStore>> {
        self.store_port(Port::SessionRecords, &self.session_store, |stores| -> Arc<dyn SessionStore> {
            match stores {
                Stores::Dynamo(store) => store.clone(),
                Stores::Memory { records, .. } => records.clone(),
            }
        })
        .await
    }

    async fn lockouts(&self) -> PortResult<Arc<dyn LockoutStore>> {
        self.store_port(Port::Lockouts, &self.lockouts, |stores| -> Arc<dyn LockoutStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { lockouts, .. } => lockouts.clone(),
            }
        })
        .await
    }

    async fn events(&self) -> PortResult<Arc<dyn EventSink>> {
        self.store_port(Port::Events, &self.events, |stores| -> Arc<dyn EventSink> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { events, .. } => events.clone(),
            }
        })
        .await
    }

    /// The limiter: Redis behind the in-memory fallback when `REDIS_URL` is set, memory otherwise.
    async fn limiter(&self) -> PortResult<Arc<dyn Limiter>> {
        self.mark(Port::Limiter);
        let port = self.limiter.get_or_try_init(|| async {
            let infra = &self.settings.infrastructure;
            let Some(url) = &infra.redis_url else {
                if self.lambda {
                    return Err(WiringError::Required("REDIS_URL"));
                }
                return Ok::<Arc<dyn Limiter>, WiringError>(Arc::new(MemoryLimiter::default()));
            };
            let timeout = Duration::from_millis(infra.redis_timeout_ms);
            let redis = RedisLimiter::new(url, timeout, &infra.redis_key_prefix, infra.redis_cluster)
                .map_err(|e| WiringError::Backend { port: Port::Limiter, source: e.into() })?;
            if let Err(e) = redis.connect().await {
                tracing::warn!(event = "redis_warm_up_failed", error = %cloudmind_security::store::error_chain(&e));
            }
            let probe = Duration::from_secs(infra.redis_probe_seconds);
            Ok(Arc::new(FallbackLimiter::new(redis, probe, Arc::new(self.observer().await?))))
        });
        Ok(port.await?.clone())
    }

    /// The signing keys: Secrets Manager when `JWT_SECRET_ARN` is set (fetched now: an unreadable secret fails the
    /// init), the configured or ephemeral static keys otherwise.
    async fn keys(&self) -> PortResult<(Arc<dyn KeyProvider>, KeySource)> {
        self.mark(Port::Keys);
        let port = self.keys.get_or_try_init(|| async {
            let (keys, source) = self.settings.signing_keys()?;
            let infra = &self.settings.infrastructure;
            if let Some(arn) = &infra.jwt_secret_arn {
                let client = aws::secrets_client(self.sdk().await, infra.secrets_endpoint.as_deref());
                let refresh = Duration::from_secs(infra.key_refresh_seconds);
                let hmac = self.settings.token.hmac_algorithm();
                let keys = SecretsKeys::load(client, arn.clone(), hmac, refresh)
                    .await
                    .map_err(|e| WiringError::Backend { port: Port::Keys, source: e.into() })?;
                return Ok::<_, WiringError>((Arc::new(keys) as Arc<dyn KeyProvider>, source));
            }
            if source == KeySource::Ephemeral {
                tracing::warn!(
                    event = "ephemeral_signing_key",
                    detail =
                        "JWT_SECRET_KEY is not set: tokens are signed with a random key that dies with this process"
                );
            }
            Ok((Arc::new(keys) as Arc<dyn KeyProvider>, source))
        });
        Ok(port.await?.clone())
    }

    /// MFA state (on the users) and login challenges.
    async fn mfa(&self) -> PortResult<Arc<dyn MfaStore>> {
        self.store_port(Port::Users, &self.mfa, |stores| -> Arc<dyn MfaStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { mfa, .. } => mfa.clone(),
            }
        })
        .await
    }

    /// Trusted devices (the security table).
    async fn devices(&self) -> PortResult<Arc<dyn DeviceStore>> {
        self.store_port(Port::SessionRecords, &self.devices, |stores| -> Arc<dyn DeviceStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { devices, .. } => devices.clone(),
            }
        })
        .await
    }

    /// The key that seals MFA secrets: `MFA_ENCRYPTION_KEY`, or the Secrets Manager secret `MFA_ENCRYPTION_KEY_ARN`
    /// (its string, or its `key` member); outside production and Lambda, a random one that dies with the process.
    async fn mfa_keys(&self) -> PortResult<MfaKeys> {
        let config = &self.settings.mfa_key;
        if config.secret_arn.is_some() {
            self.mark(Port::Keys);
        }
        let keys = self.mfa_keys.get_or_try_init(|| async {
            if let Some(key) = &config.key {
                return Ok(MfaKeys::derive(key));
            }
            if let Some(arn) = &config.secret_arn {
                let infra = &self.settings.infrastructure;
                let client = aws::secrets_client(self.sdk().await, infra.secrets_endpoint.as_deref());
                let material = aws::secrets::fetch_string(&client, arn)
                    .await
                    .map_err(|e| WiringError::Backend { port: Port::Keys, source: e.into() })?;
                return Ok(MfaKeys::derive(&material));
            }
            if config.production || self.lambda {
                return Err(WiringError::Required("MFA_ENCRYPTION_KEY or MFA_ENCRYPTION_KEY_ARN"));
            }
            tracing::warn!(
                event = "ephemeral_mfa_key",
                detail = "MFA_ENCRYPTION_KEY is not set: MFA secrets are sealed with a random key that dies with this process"
            );
            Ok(MfaKeys::derive(&SecretString::from(cloudmind_security::ids::random_hex(32))))
        });
        Ok(keys.await?.clone())
    }

    async fn links(&self) -> PortResult<Arc<dyn LinkStore>> {
        self.store_port(Port::Links, &self.links, |stores| -> Arc<dyn LinkStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { links, .. } => links.clone(),
            }
        })
        .await
    }

    /// In Lambda a table's stream feeds the `mailer` function; elsewhere this process runs the worker itself.
    async fn mail_queue(&self) -> PortResult<Arc<dyn MailQueue>> {
        self.mark(Port::MailQueue);
        if !self.lambda {
            return Ok(self.in_process.clone());
        }
        match self.stores().await? {
            Stores::Dynamo(s) => Ok(s.clone()),
            Stores::Memory { .. } => Err(WiringError::Required("USERS_TABLE and SECURITY_TABLE")),
        }
    }

    async fn mailer(&self) -> PortResult<Arc<dyn Mailer>> {
        self.mark(Port::Mail);
        let mail = &self.settings.mail;
        let mailer = self
            .mailer
            .get_or_init(|| async {
                match mail.transport {
                    MailTransport::Ses => {
                        let endpoint = self.settings.infrastructure.ses_endpoint.as_deref();
                        let client = aws::ses_client(self.sdk().await, endpoint);
                        Arc::new(cloudmind_adapters::aws::ses::SesMailer::new(client, mail.from.clone()))
                            as Arc<dyn Mailer>
                    }
                    MailTransport::File => Arc::new(FileOutbox::new(&mail.outbox_dir, mail.from.clone())),
                    MailTransport::None => Arc::new(cloudmind_adapters::memory::NoTransport),
                }
            })
            .await;
        Ok(mailer.clone())
    }

    async fn account_data(&self) -> PortResult<Arc<dyn AccountData>> {
        self.store_port(Port::Account, &self.account, |stores| -> Arc<dyn AccountData> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { records, devices, links, .. } => Arc::new(MemoryAccountData {
                    sessions: records.clone(),
                    devices: devices.clone(),
                    links: links.clone(),
                }),
            }
        })
        .await
    }

    /// The range API at `BREACHED_PASSWORD_API` (the bundled list when it fails), or the bundled list alone.
    async fn breach(&self) -> PortResult<Arc<dyn BreachedPasswords>> {
        Ok(match self.settings.breached_password_api.as_deref() {
            Some(api) => Arc::new(RangeCheck::new(api)),
            None => Arc::new(BundledList),
        })
    }
}

/// The whole `main` of a function's Lambda: telemetry, settings and the function's ports once per execution
/// environment, then the runtime loop on a single-threaded runtime (Lambda sends one request at a time).
pub fn run_lambda<F: Function>() -> Result<(), lambda_http::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        cloudmind_serving::telemetry::init();
        let wiring = Wiring::lambda(Settings::from_env()?);
        // An init that cannot build its ports (Secrets Manager unreachable, say) says which and why, then fails.
        let function = F::build(&wiring).await.inspect_err(|e| {
            tracing::error!(event = "init_failed", function = F::NAME, error = %cloudmind_security::store::error_chain(e));
        })?;
        lambda_http::run(service_fn(|req| async { Ok::<_, lambda_http::Error>(answer(&function, req).await) })).await
    })
}
