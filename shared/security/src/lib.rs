//! CloudMind's security logic: everything that decides whether a request may pass, with no knowledge of AWS.
//!
//! The functions in `functions/*` and the local server use this crate through `cloudmind-platform`, which supplies
//! the adapters (in-memory, DynamoDB, Redis, Secrets Manager) for the ports declared here:
//! [`users::UserStore`], [`users::SessionLookup`], [`tokens::TokenDenylist`], [`lockout::LockoutStore`],
//! [`ratelimit::Limiter`], [`events::EventSink`] and [`tokens::KeyProvider`].
//!
//! Run its unit tests with `cargo test -p cloudmind-security`.

pub mod clock;
pub mod credentials;
pub mod devices;
pub mod events;
pub mod hashing;
pub mod headers;
pub mod ids;
pub mod lockout;
pub mod mfa;
pub mod password;
pub mod problem;
pub mod ratelimit;
pub mod sessions;
pub mod store;
pub mod threats;
pub mod tokens;
pub mod users;
pub mod validation;

pub use problem::{ApiError, FieldError};
pub use store::StoreError;
