//! CloudMind's serving path: what every function runs on, and nothing that talks to a backend.
//!
//! - [`function::Function`]: what a function is (operations, caller, build, handle), built from
//!   [`function::Ports`];
//! - [`gate::Gate`]: every request passes [`gate::Gate::serve`], so the checks of the API contract run in the same
//!   order everywhere, and every answer is rendered the same way;
//! - [`routes`]: the routes each function declares;
//! - [`observe::Observer`]: the one place that writes what happened (log line, metric, audit record);
//! - [`config::Settings`] and [`telemetry`]: typed settings loaded once, JSON logs.
//!
//! The adapters behind the ports live in `cloudmind-adapters`, chosen by `cloudmind-wiring`; a function crate
//! depends on this crate and the security crate only, so the compiler keeps it away from any adapter.

pub mod config;
pub mod function;
pub mod gate;
pub mod observe;
pub mod routes;
pub mod telemetry;

pub use lambda_http::{Body, Request, Response};
