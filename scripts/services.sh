# Sourced by scripts/test.sh, scripts/invoke.sh and bench/run.sh: installs redis-server (Debian) and moto + waitress
# (PyPI, into .tmp/venv) if missing, starts both on free ports, waits until they answer, and stops them on exit.
# After `start_services`: REDIS_PORT, MOTO_PORT, and REDIS_URL, DYNAMODB_ENDPOINT, SECRETS_MANAGER_ENDPOINT and
# placeholder AWS credentials exported. `start_redis_cluster WORKDIR` adds a three-master Redis Cluster
# (REDIS_CLUSTER_URL). A service that does not start ends the script with an error.
# SERVICES_BIND (e.g. the Docker bridge's gateway address, for functions in containers) adds an address both
# services also listen on; the exported URLs stay on 127.0.0.1.

SERVICES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_VENV="$SERVICES_ROOT/.tmp/venv"
SERVICES_PIDS=()

services_die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

install_services() {
  command -v python3 >/dev/null || services_die "python3 is needed for the DynamoDB emulator (moto)"
  if ! command -v redis-server >/dev/null; then
    command -v apt-get >/dev/null || services_die "redis-server is missing and apt-get is not available: install Redis 7"
    (apt-get install -y -q redis-server >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }) \
      || services_die "could not install redis-server"
  fi
  # moto and waitress for the emulator; PyJWT (with `cryptography`) for the test that verifies CloudMind's tokens
  # with a library nobody here wrote, from the JWKS alone.
  if ! "$SERVICES_VENV/bin/python" -c 'import moto, waitress, jwt, cryptography' 2>/dev/null; then
    [ -x "$SERVICES_VENV/bin/pip" ] || python3 -m venv "$SERVICES_VENV" \
      || services_die "could not create a Python virtual environment (apt-get install python3-venv)"
    "$SERVICES_VENV/bin/pip" install -q "moto[server]>=5,<6" "waitress>=3" "pyjwt[crypto]>=2.8,<3" \
      || services_die "could not install moto[server], waitress and pyjwt[crypto] from PyPI"
  fi
}

stop_services() {
  for pid in "${SERVICES_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

start_services() { # start_services WORKDIR
  local work=$1
  mkdir -p "$work"
  install_services
  trap stop_services EXIT INT TERM
  REDIS_PORT=$(free_port)
  # With SERVICES_BIND, clients come from containers, not loopback: Redis's protected mode (no password) would
  # refuse them; the bind list still keeps it off every other interface.
  local protected=yes
  [ -n "${SERVICES_BIND:-}" ] && protected=no
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 ${SERVICES_BIND:-} --protected-mode "$protected" --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" &
  SERVICES_PIDS+=($!)
  MOTO_PORT=$(free_port)
  "$SERVICES_VENV/bin/python" "$SERVICES_ROOT/scripts/moto_server.py" "$MOTO_PORT" 127.0.0.1 ${SERVICES_BIND:-} \
    >"$work/moto.log" 2>&1 &
  SERVICES_PIDS+=($!)
  for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG \
    || services_die "redis-server did not start on port $REDIS_PORT (see $work/redis.log)"
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$MOTO_PORT/_cloudmind/requests" >/dev/null && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$MOTO_PORT/_cloudmind/requests" >/dev/null \
    || services_die "moto did not start on port $MOTO_PORT (see $work/moto.log)"
  echo "redis-server on 127.0.0.1:$REDIS_PORT, moto on 127.0.0.1:$MOTO_PORT" >&2
  export REDIS_PORT MOTO_PORT
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
  export SECRETS_MANAGER_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
  export AWS_ACCESS_KEY_ID=cloudmind-local AWS_SECRET_ACCESS_KEY=cloudmind-local AWS_REGION=us-east-1
}

start_redis_cluster() { # start_redis_cluster WORKDIR: three masters, no replicas, every slot served
  local work=$1/cluster ports=() port
  mkdir -p "$work"
  for _ in 1 2 3; do
    port=$(free_port)
    ports+=("$port")
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
      --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000 \
      --cluster-port "$(free_port)" --logfile "$work/redis-$port.log" &
    SERVICES_PIDS+=($!)
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG || services_die "cluster node $port did not start (see $work)"
  done
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 0 --cluster-yes \
    >"$work/create.log" 2>&1 || services_die "redis-cli --cluster create failed (see $work/create.log)"
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' && break; sleep 0.1; done
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || services_die "the cluster is not ok on $port"
  done
  echo "Redis Cluster on 127.0.0.1:${ports[*]}" >&2
  export REDIS_CLUSTER_URL="redis://127.0.0.1:${ports[0]}"
  REDIS_CLUSTER_PORTS=$(IFS=,; echo "${ports[*]}")
  export REDIS_CLUSTER_PORTS
}
