//! CloudMind's adapters: the implementations of the security crate's ports. In memory (the embedded default and
//! the unit-test doubles: real implementations with TTL and atomicity), and the production ones: DynamoDB (users,
//! sessions, lockouts, MFA, devices, audit trail), Redis (rate limits, blocks, statistics) behind an
//! in-memory fallback, Secrets Manager (signing keys, their rotation), and the breached-password range API.
//!
//! Only `cloudmind-wiring` (which picks one per port at start), the operator CLI and the tests name this crate; the
//! functions see the ports alone. It depends on the security crate and the clients it adapts, nothing else of
//! CloudMind. Run its unit tests with `cargo test -p cloudmind-adapters`.

pub mod aws;
pub mod breach;
pub mod memory;
