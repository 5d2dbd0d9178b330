#!/usr/bin/env bash
# `make test`: lint, then every test twice: on the in-memory stores, and on the real backends (redis-server from
# Debian, moto's DynamoDB and Secrets Manager emulator from PyPI), which it installs if missing, starts on free
# ports, and stops afterwards whatever happens. A service that cannot start fails the run loudly; no test is
# skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK="$ROOT/.tmp/test"
VENV="$ROOT/.tmp/venv"
mkdir -p "$WORK"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed: install a Rust toolchain (https://rustup.rs)"
command -v python3 >/dev/null || die "python3 is needed for the DynamoDB emulator (moto)"

run_tests() { # run_tests FILTER_EXPRESSION
  if cargo nextest --version >/dev/null 2>&1; then
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

log "lint: rustfmt and clippy"
cargo fmt --all -- --check || die "code is not formatted: run 'make fmt'"
cargo clippy --locked --workspace --all-targets -- -D warnings

log "tests on the in-memory stores"
run_tests 'not (binary(backends) | binary(instances))'

log "the SAM template: cfn-lint and sam validate --lint"
SAM_VENV="$ROOT/.tmp/sam-venv"
if ! { [ -x "$SAM_VENV/bin/sam" ] && [ -x "$SAM_VENV/bin/cfn-lint" ]; }; then
  python3 -m venv "$SAM_VENV" || die "could not create a Python virtual environment (apt-get install python3-venv)"
  "$SAM_VENV/bin/pip" install -q aws-sam-cli cfn-lint || die "could not install aws-sam-cli and cfn-lint from PyPI"
fi
"$SAM_VENV/bin/cfn-lint" template.yaml
"$SAM_VENV/bin/sam" validate --lint --template template.yaml --region eu-west-1
bash -n infra/bulletproof_deploy.sh infra/smoke_test.sh scripts/invoke.sh

log "installing the test services if missing"
if ! command -v redis-server >/dev/null; then
  command -v apt-get >/dev/null || die "redis-server is missing and apt-get is not available: install Redis 7"
  (apt-get install -y -q redis-server >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }) \
    || die "could not install redis-server"
fi
if ! "$VENV/bin/python" -c 'import moto, waitress' 2>/dev/null; then
  python3 -m venv "$VENV" || die "could not create a Python virtual environment (apt-get install python3-venv)"
  "$VENV/bin/pip" install -q "moto[server]>=5,<6" "waitress>=3" || die "could not install moto[server] and waitress from PyPI"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --logfile "$WORK/redis.log" &
PIDS+=($!)
MOTO_PORT=$(free_port)
"$VENV/bin/python" scripts/moto_server.py "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)

for _ in $(seq 1 100); do
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "redis-server did not start on port $REDIS_PORT (see $WORK/redis.log)"
for _ in $(seq 1 150); do
  curl -sf "http://127.0.0.1:$MOTO_PORT/_cloudmind/requests" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$MOTO_PORT/_cloudmind/requests" >/dev/null || die "moto did not start on port $MOTO_PORT (see $WORK/moto.log)"
echo "redis-server on 127.0.0.1:$REDIS_PORT, moto on 127.0.0.1:$MOTO_PORT" >&2

export CLOUDMIND_TEST_BACKEND=aws
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export DYNAMODB_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export SECRETS_MANAGER_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=cloudmind-test AWS_SECRET_ACCESS_KEY=cloudmind-test AWS_REGION=us-east-1
export REDIS_SERVER_BIN="$(command -v redis-server)" MOTO_PYTHON="$VENV/bin/python" MOTO_SCRIPT="$ROOT/scripts/moto_server.py"

log "tests on the real backends (redis-server, moto)"
run_tests 'all()'
