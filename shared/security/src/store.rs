//! The error every port returns. Adapters map their own failures onto it; the request gate turns
//! [`StoreError::Unavailable`] into `503 service_unavailable` (never into a pass).

/// Why a store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service cannot be reached or timed out. The cause is for the log, not the caller.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A conditional write lost (for example a username that already exists).
    #[error("conflict")]
    Conflict,
    /// The item the operation needs does not exist.
    #[error("not found")]
    NotFound,
}
