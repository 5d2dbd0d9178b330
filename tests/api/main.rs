//! Black-box tests: whole flows through the local server over HTTP, and the `events/` fixtures through each
//! function's handler.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod breach;
mod contract;
mod devices;
mod errors;
mod fixtures;
mod flows;
mod hardening;
mod jwks;
mod lifecycle;
mod limits;
mod mfa;
mod server;
mod sessions;
mod tokens;
mod wiring;
