#!/usr/bin/env bash
# `make test`'s security probe. `cloudmind probe` runs against the local server and must pass every check; then
# against deliberately weakened deployments, where it must fail and name the check that catches the weakening:
#   MAX_LOGIN_ATTEMPTS=1000 (lockout effectively off)   -> lockout.engages, lockout.device_parallel
#   a proxy that strips the security headers            -> headers.success, headers.error, headers.all_responses
#   a proxy that answers unknown users 15 ms sooner     -> enumeration.timing
#     (and resets for addresses without accounts)       -> enumeration.reset
# and, before all that, the timing check alone on a fresh server's very first logins (the dummy hash is built in: the
# first login of an unknown user costs what any other login costs).
# usage: scripts/probe.sh memory|real-backends (the weakened runs need only the first). Reports: .tmp/probe/.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-memory}
WORK=.tmp/probe
mkdir -p "$WORK"
# shellcheck source=scripts/server.sh
. scripts/server.sh
# The key start_cloudmind gives the server: the probe signs tokens with wrong claims with it (tokens.claims).
export PROBE_SIGNING_KEY=cloudmind-local-tests-0123456789-abcdefghijklmnop
PROXY_PID=
stop_proxy() { if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=; fi; }

probe() { # probe URL REPORT
  "$CLOUDMIND_BIN" probe --url "$1" --signing-key-env PROBE_SIGNING_KEY --output "$2"
}

# expect_caught NAME URL CHECK...: the probe must exit 1, report each CHECK as failed and pass every other check
# (a weakening is named by the checks meant for it, not by collateral failures).
expect_caught() {
  local name=$1 url=$2; shift 2
  local report="$WORK/weakened-$name.json" status=0
  echo "--- weakened: $name (must fail: $*)"
  probe "$url" "$report" || status=$?
  [ "$status" = 1 ] || { echo "error: the probe exited $status against the weakened deployment ($name), not 1" >&2; exit 1; }
  python3 - "$report" "$@" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
status = {c["id"]: c["status"] for c in report["checks"]}
missed = [c for c in sys.argv[2:] if status.get(c) != "fail"]
if missed:
    sys.exit(f"error: the probe did not catch the weakening: {missed} were {[status.get(c) for c in missed]}")
others = {c: s for c, s in status.items() if c not in sys.argv[2:] and s != "pass"}
if others:
    sys.exit(f"error: checks not meant for this weakening did not pass: {others}")
print(f"caught: {', '.join(sys.argv[2:])} failed, as they must")
PY
}

echo "--- a fresh local server ($MODE): the timing check on its very first logins (nothing hashed before them)"
start_cloudmind "$WORK" "fresh-$MODE"
"$CLOUDMIND_BIN" probe --url "$CLOUDMIND_URL" --only enumeration.timing --output "$WORK/probe-fresh-$MODE.json" \
  || { echo "error: unknown users can be told apart on a fresh server ($MODE): $WORK/probe-fresh-$MODE.json" >&2; exit 1; }
stop_cloudmind

echo "--- a local server signing with a key pair ($MODE): the token checks, with its published keys as material"
es_pem=$("$CLOUDMIND_BIN" generate-key --algorithm ES256 2>/dev/null) \
  || { echo "error: cloudmind generate-key failed" >&2; exit 1; }
start_cloudmind "$WORK" "es256-$MODE" JWT_ALGORITHM=ES256 "JWT_PRIVATE_KEY=$es_pem"
"$CLOUDMIND_BIN" probe --url "$CLOUDMIND_URL" --only tokens.forged,tokens.role,tokens.replay --output "$WORK/probe-es256-$MODE.json" \
  || { echo "error: the token checks failed against an ES256 server ($MODE): $WORK/probe-es256-$MODE.json" >&2; exit 1; }
stop_cloudmind

echo "--- the local server ($MODE)"
start_cloudmind "$WORK" "server-$MODE"
probe "$CLOUDMIND_URL" "$WORK/probe-$MODE.json" \
  || { echo "error: the probe failed against the local server ($MODE): see $WORK/probe-$MODE.json" >&2; exit 1; }
[ "$MODE" = memory ] || exit 0

trap 'stop_proxy; stop_cloudmind' EXIT INT TERM
for proxy_mode in strip-headers leak-timing; do
  port=$(server_free_port)
  python3 scripts/weaken_proxy.py "$proxy_mode" "$port" "${CLOUDMIND_URL##*:}" &
  PROXY_PID=$!
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  case $proxy_mode in
    strip-headers) expect_caught "$proxy_mode" "http://127.0.0.1:$port" headers.success headers.error headers.all_responses ;;
    leak-timing) expect_caught "$proxy_mode" "http://127.0.0.1:$port" enumeration.timing enumeration.reset ;;
  esac
  stop_proxy
done
stop_cloudmind

start_cloudmind "$WORK" server-weak-lockout MAX_LOGIN_ATTEMPTS=1000
trap 'stop_proxy; stop_cloudmind' EXIT INT TERM
expect_caught lockout-off "$CLOUDMIND_URL" lockout.engages lockout.device_parallel
