//! The adapters behind every port, chosen once at start from the settings.

use std::sync::Arc;

use cloudmind_security::events::EventSink;
use cloudmind_security::lockout::LockoutStore;
use cloudmind_security::ratelimit::Limiter;
use cloudmind_security::tokens::{KeyProvider, TokenDenylist, TokenService};
use cloudmind_security::users::{SessionLookup, UserStore};

use crate::audit::Audit;
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

    /// The backends the settings ask for.
    pub async fn from_settings(settings: &Settings) -> Result<Self, BackendError> {
        Ok(Self::memory(settings))
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
