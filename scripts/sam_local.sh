#!/usr/bin/env bash
# `make sam-local`: the template's functions run by SAM's own emulation, in containers, on this machine with no
# image registry. `sam build` builds the functions through the template's build metadata for the host
# (LAMBDA_ARCH=host: the debug profile, the same binaries make test uses; `Architecture=x86_64`), then the local
# base image (scripts/lambda_base_image.sh: the host's libraries FROM scratch; SAM adds the Runtime Interface
# Emulator from its PyPI package); starts redis-server and moto where containers reach them (the Docker bridge's gateway);
# then
#   1. `sam local invoke <Function> -e events/<fixture>.json --env-vars <env file>` for every fixture of
#      events/expected.tsv, checking each answer's status and problem code;
#   2. `sam local start-api` and infra/smoke_test.sh against it (the template's routes and events through SAM's
#      API Gateway emulation).
# The env file is events/env.local.json with this run's addresses. Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK="$ROOT/.tmp/sam-local"
SAM="${SAM:-$ROOT/.tmp/sam-venv/bin/sam}"
IMAGE=cloudmind/lambda-base:local
# The template's functions, from functions.tsv (key-rotation has no route: sam build builds it, the fixtures do not
# call it).
mapfile -t BINARIES < <(awk -F'\t' '!/^#/ {print $2}' functions.tsv)
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"

[ -x "$SAM" ] || die "$SAM is missing: run 'make sam-tools'"
docker info >/dev/null 2>&1 || die "no Docker engine answers: start dockerd (sam local runs functions in containers)"
[ "$(uname -m)" = x86_64 ] || die "this target builds host binaries for an x86_64 template; on $(uname -m) use Architecture=arm64"

started=$(date +%s)
cargo build --locked -q --workspace --all-targets # the CLI (create-tables); the same build as the tests
# `sam build` through the template's own build metadata (BuildMethod: makefile, the Makefile's build-<LogicalId>
# targets), with LAMBDA_ARCH=host: the debug build of the workspace, the one make test already made.
LAMBDA_ARCH=host "$SAM" build --template template.yaml --build-in-source --build-dir "$WORK/build" \
  --parameter-overrides Architecture=x86_64 >"$WORK/build.log" 2>&1 ||
  { tail -n 40 "$WORK/build.log" >&2; die "sam build failed (log: $WORK/build.log)"; }
built=$(find "$WORK/build" -name bootstrap | wc -l)
[ "$built" -eq "${#BINARIES[@]}" ] || die "sam build left $built bootstrap files for ${#BINARIES[@]} functions"
./scripts/lambda_base_image.sh "${BINARIES[@]/#/target/debug/}"

# The bridge's gateway: the address of the host that containers on Docker's default network reach.
GATEWAY=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
if [ -z "$GATEWAY" ] && command -v ip >/dev/null; then
  GATEWAY=$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1)
fi
[ -n "$GATEWAY" ] || die "could not find the Docker bridge's gateway address"
export SERVICES_BIND=$GATEWAY
# shellcheck source=scripts/services.sh
. scripts/services.sh
start_services "$WORK"
# SAM asks STS for the account id before every invoke: moto answers (no internet here: 10 s of retries each).
export AWS_ENDPOINT_URL_STS="http://127.0.0.1:$MOTO_PORT" AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0
API_PID=
cleanup() { [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null; stop_services; }
trap cleanup EXIT INT TERM
python3 - "$GATEWAY" "$REDIS_PORT" "$MOTO_PORT" events/env.local.json >"$WORK/env.json" <<'PY'
import json, sys
gateway, redis_port, moto_port, path = sys.argv[1:]
env = json.load(open(path))
p = env["Parameters"]
p["REDIS_URL"] = f"redis://{gateway}:{redis_port}"
p["DYNAMODB_ENDPOINT"] = p["SECRETS_MANAGER_ENDPOINT"] = p["SES_ENDPOINT"] = f"http://{gateway}:{moto_port}"
json.dump(env, sys.stdout, indent=2)
PY
export USERS_TABLE=cloudmind-users SECURITY_TABLE=cloudmind-security
target/debug/cloudmind create-tables >/dev/null
ADMIN_PASSWORD='Sam-Local-Admin-Pass-42!'
printf '%s\n' "$ADMIN_PASSWORD" | JWT_SECRET_KEY=unused-here-0123456789abcdefghijklmnop target/debug/cloudmind create-admin --username root >/dev/null

SAM_ARGS=(--template "$WORK/build/template.yaml" --env-vars "$WORK/env.json" --invoke-image "$IMAGE" --skip-pull-image
  --parameter-overrides Architecture=x86_64 --region us-east-1)
echo "setup: $(( $(date +%s) - started )) s"

# 1. sam local invoke, fixture by fixture.
logical() { # the template's logical id of a binary (functions.tsv)
  awk -F'\t' -v b="$1" '!/^#/ && $2 == b {print $1 "Function"}' functions.tsv
}
invoke() { # invoke BINARY EVENT_FILE -> the response JSON
  "$SAM" local invoke "$(logical "$1")" -e "$2" "${SAM_ARGS[@]}" 2>>"$WORK/invoke.log" </dev/null | tail -n 1
}
# shellcheck source=scripts/fixtures.sh
. scripts/fixtures.sh
invoke_started=$(date +%s)
run_fixtures || die "the fixtures could not run under sam local invoke (see $WORK/invoke.log)"
failures=$FIXTURE_FAILURES count=$FIXTURE_COUNT
echo "sam local invoke: $count fixtures in $(( $(date +%s) - invoke_started )) s"
[ "$failures" = 0 ] || die "$failures fixture(s) answered differently under sam local invoke (see $WORK/invoke.log)"

# 1b. The mail worker: the jobs the fixtures queued (MAILJOB# items in the emulator's security table), handed to
# MailerFunction as the table's stream would (an INSERT record with the new image each), through sam local invoke;
# SES (the emulator, its sender verified first) must then hold alice's verification message with its token.
"$SERVICES_VENV/bin/python" - "$MOTO_PORT" >"$WORK/mail-jobs.json" <<'PY'
import json, sys
import boto3
kw = dict(endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
          aws_access_key_id="local", aws_secret_access_key="local")
boto3.client("sesv2", **kw).create_email_identity(EmailIdentity="example.com")
pages = boto3.client("dynamodb", **kw).get_paginator("scan").paginate(TableName="cloudmind-security")
jobs = [i for page in pages for i in page["Items"] if i["pk"]["S"].startswith("MAILJOB#")]
records = [{"eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"pk": j["pk"], "sk": j["sk"]}, "NewImage": j, "StreamViewType": "NEW_IMAGE"}}
           for j in jobs]
json.dump({"Records": records}, sys.stdout)
PY
jobs=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Records"]))' "$WORK/mail-jobs.json")
[ "$jobs" -ge 1 ] || die "the fixtures queued no mail job (register-success queues alice's verification)"
"$SAM" local invoke MailerFunction -e "$WORK/mail-jobs.json" "${SAM_ARGS[@]}" >>"$WORK/invoke.log" 2>&1 </dev/null \
  || die "sam local invoke MailerFunction failed (see $WORK/invoke.log)"
curl -sf "http://127.0.0.1:$MOTO_PORT/_cloudmind/ses" | python3 -c '
import json, sys
sent = [m for m in json.load(sys.stdin)["messages"] if "alice@example.com" in m["destinations"]]
assert sent and "Token: " in sent[-1]["body"], "no verification message to alice@example.com in SES"
print(f"sam local invoke MailerFunction: {sys.argv[1]} job(s) -> SES sent {len(sent)} message(s) to alice@example.com")
' "$jobs" || die "the mail worker sent nothing through SES under sam local invoke (see $WORK/invoke.log)"

# 2. sam local start-api and the smoke test.
API_PORT=$(free_port)
"$SAM" local start-api --port "$API_PORT" --warm-containers LAZY "${SAM_ARGS[@]}" >"$WORK/start-api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$API_PORT/health" && break
  kill -0 "$API_PID" 2>/dev/null || die "sam local start-api exited (see $WORK/start-api.log)"
  sleep 1
done
smoke_started=$(date +%s)
SMOKE_TIMEOUT=60 infra/smoke_test.sh "http://127.0.0.1:$API_PORT" \
  || die "the smoke test failed against sam local start-api (see $WORK/start-api.log)"
echo "sam local start-api: smoke test passed in $(( $(date +%s) - smoke_started )) s; whole run $(( $(date +%s) - started )) s"
