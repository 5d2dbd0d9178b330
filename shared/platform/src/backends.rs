//! The adapters behind every port, chosen once at start from the settings.

use std::sync::Arc;
use std::time::Duration;

use cloudmind_security::events::EventSink;
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::ratelimit::Limiter;
use cloudmind_security::tokens::{KeyProvider, TokenDenylist, TokenService};
use cloudmind_security::users::{SessionLookup, UserStore};

use crate::audit::Audit;
use crate::aws;
use crate::aws::dynamo::DynamoStore;
use crate::aws::fallback::FallbackLimiter;
use crate::aws::redis::RedisLimiter;
use crate::aws::secrets::SecretsKeys;
use crate::config::Settings;
use crate::gate::Authenticator;
use crate::memory::{MemoryDenylist, MemoryEvents, MemoryLimiter, MemoryLockouts, MemorySessions, MemoryUsers};

/// One implementation of every port, shared by all functions of a process.
#[derive(Clone)]
pub struct Backends {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionLookup>,
    pub denylist: Arc<dyn TokenDenylist>,
    pub lockouts: Arc<dyn LockoutStore>,
    pub limiter: Arc<dyn Limiter>,
    pub events: Arc<dyn EventSink>,
    pub keys: Arc<dyn KeyProvider>,
    /// `memory` or the name of the persistent store.
    pub store: &'static str,
}

impl Backends {
    /// Everything in memory: the embedded default (one process, nothing installed).
    pub fn memory(settings: &Settings) -> Self {
        let users = Arc::new(MemoryUsers::default());
        let denylist = Arc::new(MemoryDenylist::default());
        Self {
            sessions: Arc::new(MemorySessions { users: users.clone(), denylist: denylist.clone() }),
            users,
            denylist,
            lockouts: Arc::new(MemoryLockouts::default()),
            limiter: Arc::new(MemoryLimiter::default()),
            events: Arc::new(MemoryEvents::default()),
            keys: Arc::new(settings.keys.clone()),
            store: "memory",
        }
    }

    /// The backends the settings ask for: DynamoDB when a table or endpoint is configured, Redis (with the
    /// in-memory fallback) when `REDIS_URL` is, Secrets Manager when `JWT_SECRET_ARN` is; memory otherwise. In
    /// Lambda the persistent stores are required. Clients are built and their connections warmed here, once.
    pub async fn from_settings(settings: &Settings) -> Result<Self, BackendError> {
        let infra = &settings.infrastructure;
        let in_lambda = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok();
        if in_lambda && (!infra.uses_dynamodb() || infra.redis_url.is_none()) {
            return Err(BackendError(
                "in Lambda, USERS_TABLE, SECURITY_TABLE and REDIS_URL are required (memory stores are per instance)"
                    .into(),
            ));
        }
        let mut backends = Self::memory(settings);
        if infra.uses_dynamodb() || infra.jwt_secret_arn.is_some() {
            let sdk = aws::sdk_config().await;
            if infra.uses_dynamodb() {
                let client = aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
                let store = Arc::new(DynamoStore::new(client, infra.users_table(), infra.security_table()));
                if let Err(e) = store.ping().await {
                    tracing::warn!(event = "dynamodb_warm_up_failed", error = %e);
                }
                backends.users = store.clone();
                backends.sessions = store.clone();
                backends.denylist = store.clone();
                backends.lockouts = store.clone();
                backends.events = store;
                backends.store = "dynamodb";
            }
            if let Some(arn) = &infra.jwt_secret_arn {
                let client = aws::secrets_client(&sdk, infra.secrets_endpoint.as_deref());
                let refresh = Duration::from_secs(infra.key_refresh_seconds);
                let keys =
                    SecretsKeys::load(client, arn.clone(), refresh).await.map_err(|e| BackendError(e.to_string()))?;
                backends.keys = Arc::new(keys);
            }
        }
        if let Some(url) = &infra.redis_url {
            let redis = RedisLimiter::new(url, Duration::from_millis(infra.redis_timeout_ms), &infra.redis_key_prefix)
                .map_err(|e| BackendError(e.to_string()))?;
            if let Err(e) = redis.connect().await {
                tracing::warn!(event = "redis_warm_up_failed", error = %e);
            }
            let probe = Duration::from_secs(infra.redis_probe_seconds);
            backends.limiter = Arc::new(FallbackLimiter::new(redis, probe, Audit::new(backends.events.clone())));
        }
        Ok(backends)
    }

    pub fn tokens(&self, settings: &Settings) -> TokenService {
        TokenService::new(settings.token.clone(), self.keys.clone())
    }

    pub fn audit(&self) -> Audit {
        Audit::new(self.events.clone())
    }

    pub fn authenticator(&self, settings: &Settings) -> Authenticator {
        Authenticator { tokens: self.tokens(settings), sessions: self.sessions.clone() }
    }
}

/// Why the backends could not be built.
#[derive(Debug, thiserror::Error)]
#[error("backend setup failed: {0}")]
pub struct BackendError(pub String);
