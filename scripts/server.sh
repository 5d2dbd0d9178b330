# Sourced by scripts/schemathesis.sh and scripts/soak.sh: starts the local server (`cloudmind serve`, the binary
# scripts/test.sh builds) on a free port, on the in-memory stores or, when scripts/services.sh has exported
# DYNAMODB_ENDPOINT and REDIS_URL, on redis-server and moto with tables of its own. After `start_cloudmind`:
# CLOUDMIND_URL and CLOUDMIND_PID; the server is stopped on exit. A server that does not answer ends the script.

CLOUDMIND_BIN="${CLOUDMIND_BIN:-target/debug/cloudmind}"
SERVER_ADMIN_USERNAME=root
SERVER_ADMIN_PASSWORD='Admin-Pass-For-Tests-7!'

server_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

stop_cloudmind() {
  if [ -n "${CLOUDMIND_PID:-}" ]; then kill "$CLOUDMIND_PID" 2>/dev/null || true; wait "$CLOUDMIND_PID" 2>/dev/null || true; fi
}

start_cloudmind() { # start_cloudmind WORKDIR NAME [VAR=VALUE ...]
  local work=$1 name=$2; shift 2
  [ -x "$CLOUDMIND_BIN" ] || { echo "error: $CLOUDMIND_BIN is missing (cargo build -p cloudmind)" >&2; exit 1; }
  mkdir -p "$work"
  local port; port=$(server_free_port)
  local vars=(JWT_SECRET_KEY=cloudmind-local-tests-0123456789-abcdefghijklmnop
    "CLOUDMIND_ADMIN_USERNAME=$SERVER_ADMIN_USERNAME" "CLOUDMIND_ADMIN_PASSWORD=$SERVER_ADMIN_PASSWORD" RUST_LOG=warn)
  if [ -n "${DYNAMODB_ENDPOINT:-}" ]; then
    local ns="$name-$$-$RANDOM"
    vars+=("USERS_TABLE=$ns-users" "SECURITY_TABLE=$ns-security" "REDIS_KEY_PREFIX=$ns")
    env "${vars[@]}" "$CLOUDMIND_BIN" create-tables >/dev/null \
      || { echo "error: could not create the tables of $name in moto" >&2; exit 1; }
  fi
  env "${vars[@]}" "$@" "$CLOUDMIND_BIN" serve --port "$port" >"$work/$name.log" 2>&1 &
  CLOUDMIND_PID=$!
  # Stops the server, and the services too when this script started them (scripts/services.sh's own trap would
  # otherwise be replaced by this one).
  trap 'stop_cloudmind; if declare -F stop_services >/dev/null; then stop_services; fi' EXIT INT TERM
  CLOUDMIND_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "$CLOUDMIND_URL/health" && break
    kill -0 "$CLOUDMIND_PID" 2>/dev/null || break
    sleep 0.2
  done
  curl -s -o /dev/null "$CLOUDMIND_URL/health" \
    || { echo "error: the server did not start (see $work/$name.log):" >&2; tail -n 20 "$work/$name.log" >&2; exit 1; }
  export CLOUDMIND_URL CLOUDMIND_PID
}

# admin_token: logs the admin in and prints the access token.
admin_token() {
  curl -sf "$CLOUDMIND_URL/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$SERVER_ADMIN_USERNAME\",\"password\":\"$SERVER_ADMIN_PASSWORD\"}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
