#!/usr/bin/env bash
# Starts or stops the whole system on this machine: two replicas each of the action, score and notifier
# services and the nginx gateway in front of them, against PostgreSQL, Redis and RabbitMQ on 127.0.0.1.
#
#   scripts/stack.sh start DIR    start everything, wait until it is ready; state and logs go to DIR
#   scripts/stack.sh stop DIR     stop what `start` started
#
# Environment (defaults in brackets): BIN_DIR [target/release], DATABASE_URL
# [postgres://postgres@127.0.0.1:5432/scoreboard], GATEWAY_PORT [8080], SERVICE_PORT_BASE [8081: action
# 8081/8091, score 8082/8092, notifier 8083/8093], REPLICA_PREFIX [local], WEB_ROOT [web], plus any
# service setting (README, Configuration). Secrets default to ones generated once into DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command=${1:?usage: stack.sh start|stop DIR}
dir=$(mkdir -p "${2:?usage: stack.sh start|stop DIR}" && cd "$2" && pwd)

stop() {
  if [ -f "$dir/pids" ]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done < "$dir/pids"
    for _ in $(seq 1 100); do
      alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$dir/pids"
      [ $alive = 0 ] && break
      sleep 0.1
    done
    rm -f "$dir/pids"
  fi
}

if [ "$command" = stop ]; then stop; exit 0; fi
[ "$command" = start ] || { echo "usage: stack.sh start|stop DIR" >&2; exit 2; }

bin=${BIN_DIR:-$root/target/release}
base=${SERVICE_PORT_BASE:-8081}
gateway_port=${GATEWAY_PORT:-8080}
replica_prefix=${REPLICA_PREFIX:-local}
web_root=$(cd "${WEB_ROOT:-$root/web}" && pwd)
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/scoreboard}
export DEV_TOKENS_ENABLED=${DEV_TOKENS_ENABLED:-true}
export WS_ALLOWED_ORIGINS=${WS_ALLOWED_ORIGINS:-http://127.0.0.1:$gateway_port,http://localhost:$gateway_port}
export RUST_LOG=${RUST_LOG:-info}
[ -s "$dir/jwt-secret" ] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$dir/jwt-secret"
[ -s "$dir/service-credential" ] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$dir/service-credential"
export JWT_SECRET=${JWT_SECRET:-$(cat "$dir/jwt-secret")}
export SERVICE_CREDENTIAL=${SERVICE_CREDENTIAL:-$(cat "$dir/service-credential")}

"$root/scripts/check-services.sh"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing nginx (Debian package nginx-light)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null; }
  else
    echo "nginx is needed for the gateway: install it (Debian/Ubuntu: sudo apt-get install nginx-light," >&2
    echo "macOS: brew install nginx) or run everything with: docker compose up" >&2
    exit 1
  fi
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

stop
"$bin/scoreboard-score" migrate > "$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; exit 1; }

start_service() { # name replica port-variable port command...
  local name=$1 replica=$2 var=$3 port=$4; shift 4
  env "$var=127.0.0.1:$port" NOTIFIER_REPLICA_ID="$replica_prefix-$replica" "$@" > "$dir/$name-$replica.log" 2>&1 &
  echo $! >> "$dir/pids"
}
for replica in 1 2; do
  offset=$(( (replica - 1) * 10 ))
  start_service action "$replica" ACTION_BIND_ADDR $((base + offset)) "$bin/scoreboard-action" serve
  start_service score "$replica" SCORE_BIND_ADDR $((base + 1 + offset)) "$bin/scoreboard-score" serve
  start_service notifier "$replica" NOTIFIER_BIND_ADDR $((base + 2 + offset)) "$bin/scoreboard-notifier" serve
done

addresses() { echo "127.0.0.1:$(( base + $1 )),127.0.0.1:$(( base + $1 + 10 ))"; }
"$root/scripts/render-gateway.sh" "$dir/nginx.conf" "127.0.0.1:$gateway_port" "$web_root" "$dir/nginx" \
  "$(addresses 0)" "$(addresses 1)" "$(addresses 2)"
run_as=()
if [ "$(id -u)" = 0 ]; then
  # Never run the gateway as root: hand its files to an unprivileged account and drop to it.
  user=$(id -u www-data >/dev/null 2>&1 && echo www-data || echo nobody)
  chown -R "$user" "$dir/nginx"
  chmod o+rx "$dir"
  run_as=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups)
fi
"${run_as[@]}" "$nginx_bin" -c "$dir/nginx.conf" -e "$dir/nginx/error.log" -g 'daemon off;' > "$dir/gateway.log" 2>&1 &
echo $! >> "$dir/pids"

wait_ready() { # name url
  for _ in $(seq 1 150); do
    curl -fsS "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$1 did not become ready ($2); its log:" >&2
  tail -n 20 "$dir/$1.log" "$dir/$1"*.log 2>/dev/null >&2 || true
  stop
  exit 1
}
for replica in 1 2; do
  offset=$(( (replica - 1) * 10 ))
  wait_ready "action-$replica" "http://127.0.0.1:$((base + offset))/readyz"
  wait_ready "score-$replica" "http://127.0.0.1:$((base + 1 + offset))/readyz"
  wait_ready "notifier-$replica" "http://127.0.0.1:$((base + 2 + offset))/readyz"
done
wait_ready gateway "http://127.0.0.1:$gateway_port/gateway/healthz"
echo "http://127.0.0.1:$gateway_port/" > "$dir/url"
