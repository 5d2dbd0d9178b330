//! The ports a function asks for, each built on first use and shared afterwards: a function's `build` calls only
//! the ones it uses, so it links, connects to and is granted only those (a function that never verifies a token
//! never builds a key provider, and needs no `secretsmanager:GetSecretValue`).
//!
//! Which adapter stands behind a port follows the settings: DynamoDB when a table or endpoint is configured,
//! Redis (with the in-memory fallback) when `REDIS_URL` is, Secrets Manager when `JWT_SECRET_ARN` is; memory
//! otherwise. In Lambda the persistent stores are required (memory is per instance).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmind_security::devices::DeviceStore;
use cloudmind_security::events::EventSink;
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::mfa::{MfaKeys, MfaStore};
use cloudmind_security::ratelimit::Limiter;
use cloudmind_security::sessions::SessionStore;
use cloudmind_security::tokens::{KeyProvider, TokenDenylist, TokenService};
use cloudmind_security::users::{SessionLookup, UserStore};
use secrecy::SecretString;
use tokio::sync::OnceCell;

use crate::audit::Audit;
use crate::aws;
use crate::aws::dynamo::DynamoStore;
use crate::aws::fallback::FallbackLimiter;
use crate::aws::redis::RedisLimiter;
use crate::aws::secrets::SecretsKeys;
use crate::config::{ConfigError, KeySource, Settings};
use crate::function::{Function, access};
use crate::gate::{Authenticator, Gate};
use crate::memory::{
    MemoryDenylist, MemoryDevices, MemoryEvents, MemoryLimiter, MemoryLockouts, MemoryMfa, MemorySessionStore,
    MemorySessions, MemoryUsers,
};
use crate::routes::Access;

/// A port a function can ask the wiring for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Port {
    Users,
    Sessions,
    Denylist,
    Lockouts,
    Events,
    Limiter,
    /// Signing keys: Secrets Manager in AWS.
    Keys,
    /// Sessions and refresh-token hashes (logins, refreshes, logouts, the sessions list).
    SessionRecords,
}

/// Why a port could not be built. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("in Lambda, {0} is required (memory stores are per instance)")]
    Required(&'static str),
    #[error("{port:?} could not be built")]
    Backend {
        port: Port,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The persistent stores behind users, sessions, denylist, lockouts and events: one DynamoDB store, or one set of
/// in-memory stores that share their users and denylist with the session lookup.
#[derive(Clone)]
enum Stores {
    Dynamo(Arc<DynamoStore>),
    Memory {
        users: Arc<MemoryUsers>,
        denylist: Arc<MemoryDenylist>,
        lockouts: Arc<MemoryLockouts>,
        events: Arc<MemoryEvents>,
        records: Arc<MemorySessionStore>,
        mfa: Arc<MemoryMfa>,
        devices: Arc<MemoryDevices>,
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
    denylist: OnceCell<Arc<dyn TokenDenylist>>,
    lockouts: OnceCell<Arc<dyn LockoutStore>>,
    events: OnceCell<Arc<dyn EventSink>>,
    limiter: OnceCell<Arc<dyn Limiter>>,
    keys: OnceCell<(Arc<dyn KeyProvider>, KeySource)>,
    mfa: OnceCell<Arc<dyn MfaStore>>,
    devices: OnceCell<Arc<dyn DeviceStore>>,
    mfa_keys: OnceCell<MfaKeys>,
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
            denylist: OnceCell::new(),
            lockouts: OnceCell::new(),
            events: OnceCell::new(),
            limiter: OnceCell::new(),
            keys: OnceCell::new(),
            mfa: OnceCell::new(),
            devices: OnceCell::new(),
            mfa_keys: OnceCell::new(),
            used: Arc::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
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

    /// `dynamodb` or `memory`: where users and the audit trail live.
    pub fn store_name(&self) -> &'static str {
        if self.settings.infrastructure.uses_dynamodb() { "dynamodb" } else { "memory" }
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
                        users,
                        denylist: Arc::default(),
                        lockouts: Arc::default(),
                        events: Arc::default(),
                        records: Arc::default(),
                    });
                }
                let client = aws::dynamodb_client(self.sdk().await, infra.dynamodb_endpoint.as_deref());
                let store = Arc::new(DynamoStore::new(client, infra.users_table(), infra.security_table()));
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

    pub async fn users(&self) -> Result<Arc<dyn UserStore>, WiringError> {
        self.store_port(Port::Users, &self.users, |stores| -> Arc<dyn UserStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { users, .. } => users.clone(),
            }
        })
        .await
    }

    pub async fn sessions(&self) -> Result<Arc<dyn SessionLookup>, WiringError> {
        self.store_port(Port::Sessions, &self.sessions, |stores| -> Arc<dyn SessionLookup> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { users, denylist, records, .. } => Arc::new(MemorySessions {
                    users: users.clone(),
                    denylist: denylist.clone(),
                    records: records.clone(),
                }),
            }
        })
        .await
    }

    /// Sessions and their refresh-token hashes.
    pub async fn session_store(&self) -> Result<Arc<dyn SessionStore>, WiringError> {
        self.store_port(Port::SessionRecords, &self.session_store, |stores| -> Arc<dyn SessionStore> {
            match stores {
                Stores::Dynamo(store) => store.clone(),
                Stores::Memory { records, .. } => records.clone(),
            }
        })
        .await
    }

    pub async fn denylist(&self) -> Result<Arc<dyn TokenDenylist>, WiringError> {
        self.store_port(Port::Denylist, &self.denylist, |stores| -> Arc<dyn TokenDenylist> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { denylist, .. } => denylist.clone(),
            }
        })
        .await
    }

    pub async fn lockouts(&self) -> Result<Arc<dyn LockoutStore>, WiringError> {
        self.store_port(Port::Lockouts, &self.lockouts, |stores| -> Arc<dyn LockoutStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { lockouts, .. } => lockouts.clone(),
            }
        })
        .await
    }

    pub async fn events(&self) -> Result<Arc<dyn EventSink>, WiringError> {
        self.store_port(Port::Events, &self.events, |stores| -> Arc<dyn EventSink> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { events, .. } => events.clone(),
            }
        })
        .await
    }

    /// The audit trail: the log and the event store.
    pub async fn audit(&self) -> Result<Audit, WiringError> {
        Ok(Audit::new(self.events().await?))
    }

    /// The limiter: Redis behind the in-memory fallback when `REDIS_URL` is set, memory otherwise.
    pub async fn limiter(&self) -> Result<Arc<dyn Limiter>, WiringError> {
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
            let redis = RedisLimiter::new(url, timeout, &infra.redis_key_prefix)
                .map_err(|e| WiringError::Backend { port: Port::Limiter, source: e.into() })?;
            if let Err(e) = redis.connect().await {
                tracing::warn!(event = "redis_warm_up_failed", error = %cloudmind_security::store::error_chain(&e));
            }
            let probe = Duration::from_secs(infra.redis_probe_seconds);
            Ok(Arc::new(FallbackLimiter::new(redis, probe, self.audit().await?)))
        });
        Ok(port.await?.clone())
    }

    /// The signing keys: Secrets Manager when `JWT_SECRET_ARN` is set (fetched now: an unreadable secret fails the
    /// init), the configured or ephemeral static keys otherwise.
    pub async fn keys(&self) -> Result<(Arc<dyn KeyProvider>, KeySource), WiringError> {
        self.mark(Port::Keys);
        let port = self.keys.get_or_try_init(|| async {
            let (keys, source) = self.settings.signing_keys()?;
            let infra = &self.settings.infrastructure;
            if let Some(arn) = &infra.jwt_secret_arn {
                let client = aws::secrets_client(self.sdk().await, infra.secrets_endpoint.as_deref());
                let refresh = Duration::from_secs(infra.key_refresh_seconds);
                let keys = SecretsKeys::load(client, arn.clone(), refresh)
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
    pub async fn mfa(&self) -> Result<Arc<dyn MfaStore>, WiringError> {
        self.store_port(Port::Users, &self.mfa, |stores| -> Arc<dyn MfaStore> {
            match stores {
                Stores::Dynamo(s) => s.clone(),
                Stores::Memory { mfa, .. } => mfa.clone(),
            }
        })
        .await
    }

    /// Trusted devices (the security table).
    pub async fn devices(&self) -> Result<Arc<dyn DeviceStore>, WiringError> {
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
    pub async fn mfa_keys(&self) -> Result<MfaKeys, WiringError> {
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

    /// Issues and verifies tokens with [`Wiring::keys`].
    pub async fn tokens(&self) -> Result<TokenService, WiringError> {
        Ok(TokenService::new(self.settings.token.clone(), self.keys().await?.0))
    }

    /// The gate of function `F`: for authenticated callers it verifies tokens and looks sessions up.
    pub async fn gate<F: Function>(&self) -> Result<Gate, WiringError> {
        let auth = match access::<F>() {
            Access::Public => None,
            Access::User | Access::Admin => Some(Authenticator {
                tokens: self.tokens().await?,
                sessions: self.sessions().await?,
                session_idle_ms: self.settings.sessions.idle_ms,
            }),
        };
        Ok(Gate::new(F::NAME, &self.settings, self.limiter().await?, self.audit().await?, auth))
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
