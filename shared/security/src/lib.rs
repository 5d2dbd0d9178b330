//! CloudMind's security logic: everything that decides whether a request may pass, with no knowledge of AWS.
//!
//! The functions in `functions/*` use this crate directly and through `cloudmind-serving` (the request path);
//! `cloudmind-adapters` implements the ports declared here (in memory, DynamoDB, Redis, Secrets Manager, the range
//! API): [`users::UserStore`], [`users::SessionLookup`], [`sessions::SessionStore`],
//! [`lockout::LockoutStore`], [`ratelimit::Limiter`], [`events::EventSink`], [`tokens::KeyProvider`],
//! [`mfa::MfaStore`], [`devices::DeviceStore`] and [`breach::BreachedPasswords`]; `cloudmind-wiring` chooses them.
//! Files depend on each other one way (no module of this crate reaches back to one that reaches it).
//!
//! Run its unit tests with `cargo test -p cloudmind-security`.

pub mod account;
pub mod breach;
pub mod clock;
pub mod credentials;
pub mod devices;
pub mod events;
pub mod hashing;
pub mod headers;
pub mod ids;
pub mod keys;
pub mod links;
pub mod lockout;
pub mod mail;
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
