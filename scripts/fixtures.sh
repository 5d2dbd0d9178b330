# Sourced by scripts/invoke.sh (cargo lambda) and scripts/sam_local.sh (sam local invoke): every fixture of
# events/expected.tsv through the caller's `invoke BINARY EVENT_FILE` (prints the Lambda response JSON), checking
# each answer's status and problem code. alice is registered by the first fixture and logged in again whenever a
# fixture ends her token; the admin (`root`, password $ADMIN_PASSWORD) must exist. Needs $WORK.
# After `run_fixtures`: FIXTURE_FAILURES and FIXTURE_COUNT.

field() { python3 -c 'import json,sys; r=json.load(sys.stdin); b=json.loads(r.get("body") or "null"); print(eval(sys.argv[1]))' "$1"; }

# login_event PASSWORD USERNAME > file: events/login-success.json with these credentials.
login_event() {
  python3 - "$1" "$2" events/login-success.json <<'PY'
import json, sys
event = json.load(open(sys.argv[3]))
event["body"] = json.dumps({"username": sys.argv[2], "password": sys.argv[1]})
json.dump(event, sys.stdout)
PY
}

run_fixtures() {
  local admin_token alice_token="" alice_password file function status code response got_status got_code verdict
  alice_password=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["password"])' \
    events/login-success.json)
  login_event "$ADMIN_PASSWORD" root >"$WORK/login-admin.json"
  admin_token=$(invoke login "$WORK/login-admin.json" | field 'b["access_token"]') \
    || { echo "error: the admin could not log in (see $WORK)" >&2; return 1; }
  FIXTURE_FAILURES=0 FIXTURE_COUNT=0
  while IFS=$'\t' read -r file function status code _; do
    [[ $file == \#* || -z $file ]] && continue
    [ "$code" = - ] && code=""
    [ -f "events/$file.json" ] || { echo "error: events/$file.json is listed but missing" >&2; return 1; }
    local token=$alice_token
    [[ $file == admin-* ]] && token=$admin_token
    sed "s/REPLACE_WITH_ACCESS_TOKEN/$token/" "events/$file.json" >"$WORK/$file.json"
    response=$(invoke "$function" "$WORK/$file.json")
    got_status=$(printf '%s' "$response" | field 'r["statusCode"]' 2>/dev/null || echo "?")
    got_code=$(printf '%s' "$response" | field '(b or {}).get("code", "") if isinstance(b, dict) else ""' 2>/dev/null || echo "?")
    verdict=ok
    if [ "$got_status" != "$status" ] || [ "$got_code" != "$code" ]; then
      verdict=DIFFERS
      FIXTURE_FAILURES=$((FIXTURE_FAILURES + 1))
    fi
    FIXTURE_COUNT=$((FIXTURE_COUNT + 1))
    printf '%-32s %-10s %s %-24s %s\n' "$file" "$function" "$got_status" "${got_code:--}" "$verdict"
    # A fixture that creates alice or ends her token (logout, a password change): log her in again.
    if [ "$file" = protected-change-password ]; then
      alice_password=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["new_password"])' \
        "events/$file.json")
    fi
    if [ "$file" = register-success ] || [ "$file" = logout-success ] || [ "$file" = protected-change-password ]; then
      login_event "$alice_password" alice >"$WORK/login-alice.json"
      alice_token=$(invoke login "$WORK/login-alice.json" | field 'b["access_token"]')
    fi
  done <events/expected.tsv
}
