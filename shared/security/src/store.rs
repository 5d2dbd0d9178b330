//! The error every port returns. Adapters map their own failures onto it; the request gate turns
//! [`StoreError::Unavailable`] into `503 service_unavailable` (never into a pass).

/// A boxed error that keeps its own source chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service cannot be reached or timed out. The cause is for the log, not the caller.
    #[error("{context} unavailable")]
    Unavailable {
        /// The store and operation (`dynamodb GetItem`, `redis`).
        context: &'static str,
        #[source]
        source: BoxError,
    },
    /// A conditional write lost (for example a username that already exists).
    #[error("conflict")]
    Conflict,
    /// The item the operation needs does not exist.
    #[error("not found")]
    NotFound,
}

impl StoreError {
    /// A store that did not answer `context`, for `source` (an error, or a message).
    pub fn unavailable(context: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable { context, source: source.into() }
    }
}

/// An error and every source below it, `a: b: c`, for the log.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Where the users, sessions, lockouts and the audit trail live (`/health` reports it as `database.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    DynamoDb,
    Memory,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DynamoDb => "dynamodb",
            Self::Memory => "memory",
        }
    }
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
