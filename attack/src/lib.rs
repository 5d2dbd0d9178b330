//! CloudMind's attack and load tools, for whoever must show that a deployment holds: `cloudmind probe` (the seed
//! guide's `security_test.py`: one pass/fail line per attack) and `cloudmind loadtest` (its
//! `performance_test.py`: latency percentiles, throughput, errors, a JSON report and an SVG picture). Both are
//! clients of any deployment (the local server, `sam local start-api`, a stage): they read no settings of the
//! server's and never link its stores. The operator commands (`serve`, `create-admin`, `create-tables`…) live in
//! the `cloudmind` binary's crate, which calls these.

pub mod loadtest;
pub mod probe;
pub mod target;
