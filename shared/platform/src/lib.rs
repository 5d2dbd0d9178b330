//! CloudMind's plumbing: typed settings, telemetry, the request gate every function runs behind, the route table,
//! and the adapters behind the security crate's ports (in-memory now; DynamoDB, Redis and Secrets Manager are
//! chosen by configuration).
//!
//! A function crate implements [`function::Function`]: its state is built from the ports it asks the
//! [`wiring::Wiring`] for, and every request passes [`gate::Gate::serve`], so the checks of the API contract run in
//! the same order everywhere.

pub mod audit;
pub mod aws;
pub mod breach;
pub mod config;
pub mod emf;
pub mod function;
pub mod gate;
pub mod memory;
pub mod metrics;
pub mod routes;
pub mod telemetry;
pub mod wiring;

pub use lambda_http::{Body, Request, Response};
