#!/usr/bin/env bash
# `make test`: lint, then every test twice: on the in-memory stores, and on the real backends (redis-server from
# Debian, moto's DynamoDB and Secrets Manager emulator from PyPI), which it installs if missing, starts on free
# ports, and stops afterwards whatever happens; then the limiter's tests a third time on a three-master Redis
# Cluster (tests/cluster starts clusters of its own on the second pass). A service that cannot start fails the run loudly; no test is
# skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK="$ROOT/.tmp/test"
VENV="$ROOT/.tmp/venv"  # created by scripts/services.sh
mkdir -p "$WORK"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed: install a Rust toolchain (https://rustup.rs)"

# Every cargo build of the run asks for the same thing, `--workspace --all-targets` (what the test runner builds),
# so every crate is compiled once with one set of features: a `-p` build resolves the features of that package
# alone and would compile the shared dependencies a second time (and the next full build a third).
build_all() { cargo build --locked -q --workspace --all-targets; }
export -f build_all

run_tests() { # run_tests FILTER_EXPRESSION (CLOUDMIND_NO_NEXTEST=1 takes the cargo test path on purpose)
  # The two-instance tests start the `cloudmind` binary itself.
  build_all
  if [ -z "${CLOUDMIND_NO_NEXTEST:-}" ] && cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --workspace --no-fail-fast -E "$1"
  else
    echo "(cargo-nextest not found: running the same tests with cargo test)" >&2
    case "$1" in
      all\(\)) cargo test --locked --workspace --no-fail-fast ;;
      *) cargo test --locked --workspace --no-fail-fast --exclude cloudmind-tests && \
         cargo test --locked -p cloudmind-tests --no-fail-fast --test api ;;
    esac
  fi
}


log "sam local: every events/ fixture through sam local invoke, then start-api and the smoke test, in containers"
./scripts/sam_local.sh

log "starting the test services (installing them if missing)"
# shellcheck source=scripts/services.sh
. scripts/services.sh
start_services "$WORK"

export CLOUDMIND_TEST_BACKEND=aws
export REDIS_SERVER_BIN="$(command -v redis-server)" MOTO_PYTHON="$VENV/bin/python" MOTO_SCRIPT="$ROOT/scripts/moto_server.py"

log "tests on the real backends (redis-server, moto)"
run_tests 'all()'

log "the limiter on a Redis Cluster (three masters): its black-box tests and the two-instance tests again"
start_redis_cluster "$WORK"
REDIS_URL="$REDIS_CLUSTER_URL" REDIS_CLUSTER=true \
  run_tests 'binary(instances) | (binary(api) & (test(limits::) | test(admin::) | test(hardening::) | test(flows::)))'

log "schemathesis: openapi.yaml against the local server on the real backends"
./scripts/schemathesis.sh real-backends

log "cloudmind probe against the local server on the real backends"
./scripts/probe.sh real-backends
log "soak: one minute of mixed traffic on the real backends (make soak runs ten)"
./scripts/soak.sh 60
