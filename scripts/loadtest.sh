#!/usr/bin/env bash
# `cloudmind loadtest --concurrent 200` against the local server (in-memory stores) for SECONDS (default 3): it must
# finish by itself with every request answered 200, a JSON report and an SVG picture (.tmp/loadtest/). Run by
# `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3}"
work="$PWD/.tmp/loadtest"
mkdir -p "$work"
# shellcheck source=scripts/server.sh
. scripts/server.sh
start_cloudmind "$work" loadtest CLOUDMIND_MAX_CONNECTIONS_PER_IP=1024 HEALTH_RATE_LIMIT_PER_MINUTE=100000000 \
  BLOCK_RATE_LIMIT_VIOLATIONS=100000000
"$CLOUDMIND_BIN" loadtest --url "$CLOUDMIND_URL" --endpoint /health --concurrent 200 --duration "$seconds" \
  --output "$work/results.json" </dev/null
python3 - "$work/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["requests"] > 0 and r["statuses"] == {"200": r["requests"]} and not r["errors"], r["statuses"]
assert open(sys.argv[1][:-5] + ".svg").read().startswith("<svg")
print(f"loadtest: {r['requests']} requests, {r['requests_per_second']:.0f}/s, p99 {r['latency_ms']['p99']:.1f} ms, all 200")
PY
