#!/usr/bin/env bash
# `make bench-scale`: the credential-stuffing mix of SCALING.md at the size this machine allows, against the local
# server on a three-master Redis Cluster and moto (bench/scale.py), reporting where the work landed per Redis node
# and slot and per DynamoDB partition, and the extrapolation to 100,000 attempts a second. SCALE_SECONDS (60),
# SCALE_CONCURRENCY (32), SCALE_ADDRESSES (50000), SCALE_NAMES (200000). Report: .tmp/bench-scale/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$PWD/.tmp/bench-scale"
rm -rf "$WORK" && mkdir -p "$WORK"
# The debug build make test makes (argon2 and the hot crates are optimized in it, Cargo.toml): what this measures is
# where the work lands, not how fast one process is.
cargo build --locked -q --workspace --all-targets
# shellcheck source=scripts/services.sh
. scripts/services.sh
start_services "$WORK"
start_redis_cluster "$WORK"
"$SERVICES_VENV/bin/python" -c 'import boto3' 2>/dev/null || "$SERVICES_VENV/bin/pip" install -q boto3
export USERS_TABLE=scale-users SECURITY_TABLE=scale-security ENVIRONMENT=bench RUST_LOG=warn
export JWT_SECRET_KEY="cloudmind-scale-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export MFA_ENCRYPTION_KEY="cloudmind-scale-mfa-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export REDIS_URL="$REDIS_CLUSTER_URL" REDIS_CLUSTER=true REDIS_TIMEOUT_MS=1000
export CLOUDMIND_MAX_CONNECTIONS=4096 CLOUDMIND_MAX_CONNECTIONS_PER_IP=64
target/debug/cloudmind create-tables >/dev/null
PORT=$(free_port)
target/debug/cloudmind serve --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; stop_services' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
PORTS=$REDIS_CLUSTER_PORTS
"$SERVICES_VENV/bin/python" bench/scale.py "http://127.0.0.1:$PORT" "${SCALE_SECONDS:-60}" "${SCALE_CONCURRENCY:-32}" \
  "${SCALE_ADDRESSES:-50000}" "${SCALE_NAMES:-200000}" "$PORTS" "$DYNAMODB_ENDPOINT" "$SECURITY_TABLE" "$WORK/report.json"
