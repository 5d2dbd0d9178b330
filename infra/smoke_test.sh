#!/usr/bin/env bash
# CloudMind post-deploy smoke test: /health is healthy, then a fresh user goes register -> login -> GET /api/v1/me
# -> logout -> GET /api/v1/me, which must be refused as 401 token_revoked.
#
#   infra/smoke_test.sh https://<api-id>.execute-api.<region>.amazonaws.com/<stage>
#
# Needs curl and python3. The password is random and never printed; the token and the request bodies travel in
# files (not in curl's command line, which other local users could read). The smoke user stays in the users table
# (the API has no delete); its name starts with "smoke-".
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: smoke_test.sh <api-base-url>

  <api-base-url>   the stack's ApiUrl output, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod

Checks, in order (the first failure stops the test with a non-zero exit):
  1. GET  /health                 200, "status": "healthy", security headers present
  2. POST /api/v1/auth/register   201 for a new random user
  3. POST /api/v1/auth/login      200 with a Bearer access token
  4. GET  /api/v1/me              200, the same username
  5. GET  /.well-known/jwks.json  200; with an ES256/EdDSA token, the key set holds the token's kid
  6. POST /api/v1/auth/logout     204
  7. GET  /api/v1/me              401 with code token_revoked
Environment: SMOKE_TIMEOUT (seconds per request, default 30).
EOF
}

log() {
    local level=$1
    shift
    printf '%s [%-5s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$*" >&2
}

die() {
    log FAIL "$*"
    exit 1
}

require() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is required (install it and run again)"
}

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    usage
    [[ $# -eq 1 ]] && exit 0
    exit 2
fi
require curl
require python3

BASE=${1%/}
[[ $BASE == http://* || $BASE == https://* ]] || die "the API URL must start with https:// (got: $BASE)"
TIMEOUT=${SMOKE_TIMEOUT:-30}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STATUS=""

# request METHOD PATH [auth: yes|no] [body-file]: sets STATUS; the body lands in $WORK/body, headers in $WORK/headers.
request() {
    local method=$1 path=$2 auth=${3:-no} body=${4:-}
    local args=(--silent --show-error --max-time "$TIMEOUT" -X "$method" -o "$WORK/body" -D "$WORK/headers"
        -w '%{http_code} %{time_total}' -H 'Accept: application/json')
    if [[ $auth == yes ]]; then
        args+=(-H "@$WORK/auth")
    fi
    if [[ -n $body ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    fi
    local out
    if ! out=$(curl "${args[@]}" "$BASE$path"); then
        die "$method $path: no answer (network, DNS or TLS failure)"
    fi
    STATUS=${out%% *}
    log INFO "$method $path -> $STATUS in ${out#* }s"
}

# field NAME: a top-level field of the last JSON body ("" when absent or not JSON).
field() {
    python3 -c '
import json, sys
try:
    value = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception:
    value = ""
print(value if isinstance(value, str) else json.dumps(value))
' "$WORK/body" "$1"
}

# expect STATUS WHAT: fails the test, showing the (problem) body, unless the last status is STATUS.
expect() {
    if [[ $STATUS != "$1" ]]; then
        log FAIL "$2: expected HTTP $1, got $STATUS; body:"
        head -c 2000 "$WORK/body" >&2 || true
        printf '\n' >&2
        exit 1
    fi
}

header_present() {
    grep -qi "^$1:" "$WORK/headers"
}

# ---- 1. health ---------------------------------------------------------------------------------------------------
request GET /health
expect 200 "GET /health"
health=$(field status)
[[ $health == healthy ]] || die "GET /health: status is '$health', not 'healthy' (degraded = Redis fallback; see infra/README.md)"
for h in Strict-Transport-Security X-Content-Type-Options X-Frame-Options X-Request-Id; do
    header_present "$h" || die "GET /health: security header $h is missing"
done
log OK "health: healthy (environment $(field environment), version $(field version))"

# ---- 2. register -------------------------------------------------------------------------------------------------
USERNAME="smoke-$(date -u +%s)-$(python3 -c 'import secrets; print(secrets.token_hex(3))')"
# A random password the default (seed) and nist policies accept: the checks mirror shared/security/src/password.rs.
python3 - "$USERNAME" "$WORK/register.json" "$WORK/login.json" <<'PY'
import json, secrets, string, sys

username, register_file, login_file = sys.argv[1:4]
ROWS = ["`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", "qwertzuiop", "azertyuiop"]
WALKS = ["qazwsx", "wsxedc", "1qaz", "2wsx", "3edc", "zaq1", "1q2w3e", "q1w2e3", "!qaz", "!q2w"]

def has_sequence(p):
    low = p.lower()
    for i in range(len(low) - 3):
        w = low[i:i + 4]
        if all(c in string.ascii_lowercase for c in w) or all(c in string.digits for c in w):
            steps = {ord(w[j + 1]) - ord(w[j]) for j in range(3)}
            if steps in ({1}, {-1}):
                return True
    for row in ROWS:
        for keys in (row, row[::-1]):
            if any(keys[i:i + 4] in low for i in range(len(keys) - 3)):
                return True
    return any(w in low for w in WALKS)

def acceptable(p):
    return (any(c.isupper() for c in p) and any(c.islower() for c in p) and any(c.isdigit() for c in p)
            and any(not c.isalnum() for c in p) and not has_sequence(p)
            and not any(p[i] == p[i + 1] == p[i + 2] for i in range(len(p) - 2))
            and username not in p.lower())

alphabet = string.ascii_letters + string.digits + "!#%+-.:=@^_~"
while True:
    password = "".join(secrets.choice(alphabet) for _ in range(24))
    if acceptable(password):
        break
with open(register_file, "w") as f:
    json.dump({"username": username, "email": f"{username}@example.com", "password": password,
               "display_name": "Smoke Test"}, f)
with open(login_file, "w") as f:
    json.dump({"username": username, "password": password}, f)
PY
chmod 600 "$WORK/register.json" "$WORK/login.json"

request POST /api/v1/auth/register no "$WORK/register.json"
expect 201 "POST /api/v1/auth/register"
[[ $(field username) == "$USERNAME" ]] || die "register: the answer names another user"
log OK "register: created $USERNAME"

# ---- 3. login ----------------------------------------------------------------------------------------------------
request POST /api/v1/auth/login no "$WORK/login.json"
expect 200 "POST /api/v1/auth/login"
[[ $(field token_type) == Bearer ]] || die "login: token_type is not Bearer"
token=$(field access_token)
[[ -n $token ]] || die "login: no access_token in the answer"
(umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$WORK/auth")
# The header only (algorithm and key id): public, unlike the token.
read -r token_alg token_kid < <(printf '%s' "$token" | python3 -c '
import base64, json, sys
h = sys.stdin.read().split(".")[0]
h = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
print(h.get("alg", ""), h.get("kid", ""))')
unset token
log OK "login: token issued (expires_in $(field expires_in) s)"

# ---- 4. me -------------------------------------------------------------------------------------------------------
request GET /api/v1/me yes
expect 200 "GET /api/v1/me"
[[ $(field username) == "$USERNAME" ]] || die "GET /api/v1/me: the profile is not $USERNAME's"
log OK "me: profile of $USERNAME"

# ---- 5. the public keys ------------------------------------------------------------------------------------------
request GET /.well-known/jwks.json
expect 200 "GET /.well-known/jwks.json"
kids=$(python3 -c 'import json, sys; print(" ".join(k["kid"] for k in json.load(open(sys.argv[1]))["keys"]))' "$WORK/body")
if [[ $token_alg == HS* ]]; then
    [[ -z $kids ]] || die "GET /.well-known/jwks.json: an HMAC deployment publishes keys ($kids)"
    log OK "jwks: empty ($token_alg tokens: nothing to publish)"
else
    [[ " $kids " == *" $token_kid "* ]] || die "GET /.well-known/jwks.json: the token's key $token_kid is not published"
    log OK "jwks: the $token_alg key of the token is published"
fi

# ---- 6. logout ---------------------------------------------------------------------------------------------------
request POST /api/v1/auth/logout yes
expect 204 "POST /api/v1/auth/logout"
log OK "logout: token revoked"

# ---- 7. me again: the revoked token is refused ---------------------------------------------------------------------
request GET /api/v1/me yes
expect 401 "GET /api/v1/me after logout"
code=$(field code)
[[ $code == token_revoked ]] || die "GET /api/v1/me after logout: code is '$code', not 'token_revoked'"
log OK "me after logout: 401 token_revoked"

log OK "smoke test passed against $BASE (smoke user $USERNAME)"
