#!/usr/bin/env bash
# `make invoke`: every function under `cargo lambda watch` (the Lambda runtime emulator), invoked with every
# events/ fixture through `cargo lambda invoke --data-file`, on real backends (redis-server and moto, started here
# on free ports and stopped afterwards). Prints one line per fixture and fails if any answer differs from
# events/expected.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK="$ROOT/.tmp/invoke"
mkdir -p "$WORK"
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v cargo-lambda >/dev/null || die "cargo-lambda is missing: run 'make sam-tools' (or pip install cargo-lambda)"
# shellcheck source=scripts/services.sh
. scripts/services.sh
start_services "$WORK"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; stop_services; }
trap cleanup EXIT INT TERM
WATCH_PORT=$(free_port)

export USERS_TABLE=cloudmind-users SECURITY_TABLE=cloudmind-security
export JWT_SECRET_KEY="cloudmind-invoke-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
# In Lambda mode the functions that seal MFA secrets need their key (Secrets Manager in the stack).
export MFA_ENCRYPTION_KEY="cloudmind-invoke-mfa-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export ENVIRONMENT=development RUST_LOG=warn
# The fixtures log in more than five times a minute from one address (203.0.113.10).
export AUTH_RATE_LIMIT_PER_MINUTE=1000 AUTH_RATE_LIMIT_PER_HOUR=1000 AUTH_RATE_LIMIT_PER_DAY=1000
ADMIN_PASSWORD='Invoke-Admin-Pass-42!'

cargo run -q -p cloudmind -- create-tables
printf '%s\n' "$ADMIN_PASSWORD" | cargo run -q -p cloudmind -- create-admin --username root

cargo lambda watch --invoke-port "$WATCH_PORT" >"$WORK/watch.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do
  (echo >/dev/tcp/127.0.0.1/"$WATCH_PORT") 2>/dev/null && break
  sleep 0.5
done

invoke() { # invoke FUNCTION FILE -> prints the response JSON
  cargo lambda invoke "$1" --invoke-port "$WATCH_PORT" --data-file "$2" --output-format json 2>>"$WORK/invoke.err" </dev/null
}
# shellcheck source=scripts/fixtures.sh
. scripts/fixtures.sh
run_fixtures
failures=$FIXTURE_FAILURES
[ "$failures" = 0 ] || die "$failures fixture(s) answered differently (see $WORK/watch.log)"
echo "every fixture answered as the contract says"
