#!/usr/bin/env bash
# `make bench`: cold start, warm-invoke CPU, peak memory and binary size of the functions against the floors of
# PERFORMANCE.md (F1: the smallest lambda_runtime function, F2: the smallest lambda_http one), all built with the
# same release profile and run through the same Runtime API stub (bench/lambda_timer.py). The functions run in
# Lambda mode against redis-server and moto on loopback (started here), so their figures include the real SDK and
# Redis clients; moto answers in milliseconds, so wall times of calls that reach it are not AWS latencies.
# BENCH_RUNS (default 10) cold starts per target, BENCH_WARM (default 200) warm invokes per run. Then instruction
# counts under callgrind (repeatable where times are not): init + first invoke, and per warm invoke as
# (Ir(N2) - Ir(N1)) / (N2 - N1). BENCH_CALLGRIND=0 skips them; BENCH_BIN measures other binaries of the same names
# (a build of an older commit, say) with BENCH_SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$PWD/.tmp/bench"
RUNS=${BENCH_RUNS:-10}
WARM=${BENCH_WARM:-200}
mkdir -p "$WORK"

# Each function is measured as it ships: built with the profile functions.tsv names for it (`release`, fat LTO for
# speed; `release-size` for size), with the same package sets as the Makefile's lambda-binaries (so the features
# unify the same way); the floors with `release`. BENCH_BIN measures other binaries of the same names instead.
profile_of() { awk -F'\t' -v b="$1" '!/^#/ && $2 == b {print $5}' functions.tsv; }
packages_of() { awk -F'\t' -v p="$1" '!/^#/ && $5 == p {printf "-p cloudmind-%s ", $2}' functions.tsv; }
bin() { # bin NAME -> the binary to measure
  if [ -n "${BENCH_BIN:-}" ]; then echo "$BENCH_BIN/$1"; else echo "target/$(profile_of "$1" | grep . || echo release)/$1"; fi
}

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  # shellcheck disable=SC2046
  cargo build --locked --profile release $(packages_of release)
  # shellcheck disable=SC2046
  cargo build --locked --profile release-size $(packages_of release-size)
  cargo build --locked --release -p cloudmind-floor-runtime -p cloudmind-floor-http
fi
cargo build --locked -p cloudmind
CLI=target/debug/cloudmind

# shellcheck source=scripts/services.sh
. scripts/services.sh
start_services "$WORK"
export USERS_TABLE=bench-users SECURITY_TABLE=bench-security ENVIRONMENT=bench RUST_LOG=warn
export JWT_SECRET_KEY="cloudmind-bench-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
# In Lambda mode the functions that seal MFA secrets need their key (Secrets Manager in the stack).
export MFA_ENCRYPTION_KEY="cloudmind-bench-mfa-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export AUTH_RATE_LIMIT_PER_MINUTE=100000000 AUTH_RATE_LIMIT_PER_HOUR=100000000 AUTH_RATE_LIMIT_PER_DAY=100000000
export RATE_LIMIT_PER_MINUTE=100000000 RATE_LIMIT_PER_HOUR=100000000 HEALTH_RATE_LIMIT_PER_MINUTE=100000000
$CLI create-tables >/dev/null

# A user and its token, made through the local server on the same stores.
PORT=$(free_port)
$CLI serve --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"username":"alice","email":"alice@example.com","password":"Correct-Horse-42-Battery"}' >/dev/null
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"alice","password":"Correct-Horse-42-Battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo
echo "local server (dev profile, on redis-server and moto), login peak memory:"
python3 bench/concurrent_logins.py "http://127.0.0.1:$PORT" "$SERVER" Correct-Horse-42-Battery 20 5
kill "$SERVER"
sed "s/REPLACE_WITH_ACCESS_TOKEN/$TOKEN/" events/protected-me.json >"$WORK/protected-me.json"

# The same request with tokens signed by a key pair: ES256 and EdDSA (a fresh key each; the server signs, the
# function verifies with the same key from JWT_PRIVATE_KEY).
for alg in ES256 EdDSA; do
  $CLI generate-key --algorithm "$alg" >"$WORK/key-$alg.pem" 2>/dev/null
  PORT=$(free_port)
  JWT_ALGORITHM=$alg JWT_PRIVATE_KEY="$(cat "$WORK/key-$alg.pem")" $CLI serve --port "$PORT" >"$WORK/serve-$alg.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
  KTOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"username":"alice","password":"Correct-Horse-42-Battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  kill "$SERVER"
  sed "s/REPLACE_WITH_ACCESS_TOKEN/$KTOKEN/" events/protected-me.json >"$WORK/protected-me-$alg.json"
done
# with_key ALG COMMAND...: runs COMMAND with the functions verifying ALG tokens.
with_key() { local alg=$1; shift; JWT_ALGORITHM=$alg JWT_PRIVATE_KEY="$(cat "$WORK/key-$alg.pem")" "$@"; }

timer() { taskset -c 1 python3 bench/lambda_timer.py --runs "$RUNS" "$@"; }
echo
echo "cold start and warm invokes (median of $RUNS runs; function pinned to CPU 1):"
timer --warm "$WARM" --label "F1 runtime" -- "$(bin floor-runtime)"
timer --warm "$WARM" --label "F2 http" --event events/health.json -- "$(bin floor-http)"
timer --warm "$WARM" --label health --event events/health.json -- "$(bin health)"
timer --warm "$WARM" --label "protected me" --event "$WORK/protected-me.json" -- "$(bin protected)"
with_key ES256 timer --warm "$WARM" --label "protected ES256" --event "$WORK/protected-me-ES256.json" -- "$(bin protected)"
with_key EdDSA timer --warm "$WARM" --label "protected EdDSA" --event "$WORK/protected-me-EdDSA.json" -- "$(bin protected)"
timer --warm 30 --label login --event events/login-success.json -- "$(bin login)"
echo

echo "stripped binaries (host; the profile each ships with):"
for name in floor-runtime floor-http $(awk -F'\t' '!/^#/ {print $2}' functions.tsv); do
  [ -f "$(bin "$name")" ] || continue
  printf '  %-14s %-13s %6.2f MB\n' "$name" "$(profile_of "$name" | grep . || echo release)" \
    "$(python3 -c "import os, sys; print(os.path.getsize(sys.argv[1]) / 1e6)" "$(bin "$name")")"
done

[ "${BENCH_CALLGRIND:-1}" = 0 ] && exit 0
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind (or BENCH_CALLGRIND=0)" >&2; exit 1; }
# A Redis call under valgrind is slower than the default 250 ms timeout.
export REDIS_TIMEOUT_MS=20000
ir() { # ir WARM EVENT BINARY -> total instructions of the function's process (init, first and WARM invokes)
  local out="$WORK/callgrind.$(basename "$3").$1.out"
  python3 bench/lambda_timer.py --runs 1 --warm "$1" --event "$2" -- \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$3" >/dev/null
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
}
echo
echo "instructions (callgrind; N1 = 10 and N2 = 60 warm invokes):"
for target in "F2 http|events/health.json|floor-http|" "health|events/health.json|health|" \
  "protected me|$WORK/protected-me.json|protected|" "protected ES256|$WORK/protected-me-ES256.json|protected|ES256" \
  "protected EdDSA|$WORK/protected-me-EdDSA.json|protected|EdDSA" "login|events/login-success.json|login|"; do
  IFS='|' read -r label event bin alg <<<"$target"
  run=()
  [ -n "$alg" ] && run=(with_key "$alg")
  a=$("${run[@]}" ir 10 "$event" "$(bin "$bin")")
  b=$("${run[@]}" ir 60 "$event" "$(bin "$bin")")
  python3 -c "import sys; a, b = int(sys.argv[2]), int(sys.argv[3]); w = (b - a) / 50; \
print(f'  {sys.argv[1]:14} init + first invoke {(a - 10 * w) / 1e6:7.2f} M | per warm invoke {w / 1e3:8.1f} k')" \
    "$label" "$a" "$b"
done
