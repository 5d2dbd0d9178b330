#!/usr/bin/env bash
# Soak: mixed traffic (scripts/soak.py) against the local server on the real backends for SECONDS (default 600):
# no 5xx, every request answered, RSS flat after warm-up. Starts redis-server and moto unless scripts/test.sh
# already did (DYNAMODB_ENDPOINT set). `make soak` runs 10 minutes; `make test` runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
work="$PWD/.tmp/soak"
mkdir -p "$work"
if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then
  # shellcheck source=scripts/services.sh
  . scripts/services.sh
  start_services "$work/services"
fi
[ -x "${CLOUDMIND_BIN:-target/debug/cloudmind}" ] || cargo build --locked -q -p cloudmind
# shellcheck source=scripts/server.sh
. scripts/server.sh
# Limits high enough that the traffic of one address is mostly admitted; tests/api covers the limits themselves.
start_cloudmind "$work" soak \
  AUTH_RATE_LIMIT_PER_MINUTE=1000000 AUTH_RATE_LIMIT_PER_HOUR=1000000 AUTH_RATE_LIMIT_PER_DAY=1000000 \
  RATE_LIMIT_PER_MINUTE=1000000 RATE_LIMIT_PER_HOUR=1000000 HEALTH_RATE_LIMIT_PER_MINUTE=1000000 \
  BLOCK_RATE_LIMIT_VIOLATIONS=1000000 BLOCK_MALICIOUS_REQUESTS=1000000
python3 scripts/soak.py "$CLOUDMIND_URL" "$CLOUDMIND_PID" "$seconds" "$work/report.json" \
  || { echo "error: the soak failed (report: $work/report.json, server log: $work/soak.log)" >&2; exit 1; }
