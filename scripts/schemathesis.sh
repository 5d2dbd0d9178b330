#!/usr/bin/env bash
# schemathesis (PyPI, pinned) against openapi.yaml on the local server: every operation, every phase (examples,
# coverage, fuzzing, stateful), every check (no 5xx, status codes, headers and bodies that conform to the schema,
# schema-invalid input refused, schema-valid input accepted, auth not ignored). Run by scripts/test.sh on the
# in-memory stores and on the real backends; alone: `scripts/schemathesis.sh [label]` (memory unless
# DYNAMODB_ENDPOINT and REDIS_URL point at services). SCHEMATHESIS_EXAMPLES (default 60) examples per operation,
# SCHEMATHESIS_SEED (default fixed, so a run is reproducible) chooses them. The limits are raised so that the run
# explores the API instead of meeting its own 429s and block; tests/api covers the limits.
set -euo pipefail
cd "$(dirname "$0")/.."
label="${1:-memory}"
work="$PWD/.tmp/schemathesis/$label"
venv="$PWD/.tmp/st-venv"
mkdir -p "$work"
# shellcheck source=scripts/server.sh
. scripts/server.sh

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q 4.32.5; then
  python3 -m venv "$venv" || { echo "error: could not create a Python virtual environment" >&2; exit 1; }
  "$venv/bin/pip" install -q schemathesis==4.32.5 || { echo "error: could not install schemathesis from PyPI" >&2; exit 1; }
fi

start_cloudmind "$work" "schemathesis-$label" \
  AUTH_RATE_LIMIT_PER_MINUTE=1000000 AUTH_RATE_LIMIT_PER_HOUR=1000000 AUTH_RATE_LIMIT_PER_DAY=1000000 \
  RATE_LIMIT_PER_MINUTE=1000000 RATE_LIMIT_PER_HOUR=1000000 HEALTH_RATE_LIMIT_PER_MINUTE=1000000 \
  BLOCK_RATE_LIMIT_VIOLATIONS=1000000 BLOCK_MALICIOUS_REQUESTS=1000000 MAX_LOGIN_ATTEMPTS=1000000

run() { # run NAME TOKEN SCHEMATHESIS-OPTIONS...
  local name=$1 token=$2; shift 2
  echo "schemathesis ($label): $name" >&2
  "$venv/bin/python" scripts/schemathesis_cli.py --config-file tests/schemathesis.toml run openapi.yaml --url "$CLOUDMIND_URL" \
    --checks all -H "Authorization: Bearer $token" --workers 2 \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" --seed "${SCHEMATHESIS_SEED:-20261201}" \
    --report junit,ndjson --report-dir "$work/$name" "$@" >"$work/$name.txt" 2>&1 \
    || { cat "$work/$name.txt" >&2; echo "error: schemathesis found failures ($label, $name); the server log is $work/schemathesis-$label.log" >&2; exit 1; }
  grep -E "generated|passed|failures" "$work/$name.txt" | tail -n 2 >&2
}

# Logout revokes the token it is called with, so it runs on its own, with a token of its own.
run operations "$(admin_token)" --exclude-operation-id logout
run logout "$(admin_token)" --include-operation-id logout
if grep -q "panicked" "$work/schemathesis-$label.log"; then
  echo "error: the server panicked under schemathesis ($work/schemathesis-$label.log)" >&2
  exit 1
fi
