#!/usr/bin/env bash
# Browser test of the whole system: starts two replicas of each service and the nginx gateway on free
# ports against a fresh database, then drives the web page in Debian's Chromium with the Node.js test
# runner (e2e/browser/). Everything it started or created is removed again, whatever the outcome.
#
#   scripts/browser-test.sh                      run it (make test runs it after the cargo tests)
#   UPDATE_SCREENSHOT=1 scripts/browser-test.sh  also refresh docs/screenshot.png
#
# Needs PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (scripts/check-services.sh says how to start them),
# Node.js 20 or newer with npm, and the debug binaries in target/debug (built here if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

e2e=$root/e2e/browser
stack_dir=$root/target/e2e-stack
admin_url=postgres://postgres@127.0.0.1:5432/postgres
database=scoreboard_e2e
redis_prefix="scoreboard-e2e:$$"
export PGOPTIONS="--client-min-messages=warning"

# --- tools -------------------------------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  else
    echo "The browser test needs Chromium at /usr/bin/chromium. Install it with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" >&2
    exit 1
  fi
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "The browser test needs Node.js 20 or newer with npm (https://nodejs.org, or your package manager)." >&2
  exit 1
fi

# Dependencies: installed exactly from the committed lock, again whenever the lock changes.
lock_sum=$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$e2e/node_modules" ] || [ "$(cat "$e2e/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
  echo "installing the browser test's dependencies (npm ci)..."
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$e2e/node_modules/.lock-sha256"
fi

bins=(scoreboard-action scoreboard-score scoreboard-notifier)
for bin in "${bins[@]}"; do
  if [ ! -x "target/debug/$bin" ]; then
    echo "building the debug binaries..."
    cargo build --bins -p scoreboard-action -p scoreboard-score -p scoreboard-notifier
    break
  fi
done

scripts/check-services.sh

# --- ports: the gateway's, and a base with base, +1, +2, +10, +11, +12 free ------------------------------
read -r gateway_port port_base < <(python3 - <<'PY'
import random
import socket

def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    gateway = s.getsockname()[1]
for _ in range(200):
    base = random.randint(20000, 39990)
    ports = [base + offset for offset in (0, 1, 2, 10, 11, 12)]
    if gateway not in ports and all(free(port) for port in ports):
        print(gateway, base)
        break
else:
    raise SystemExit("no free service ports found between 20000 and 40000")
PY
)

# --- always clean up ---------------------------------------------------------------------------------
rm -f "$stack_dir"/*.log "$stack_dir"/nginx/*.log
node_log=$(mktemp)
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  scripts/stack.sh stop "$stack_dir" >/dev/null 2>&1 || true
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$redis_prefix:*" 2>/dev/null \
    | xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1 || true
  # The notifiers' queues would expire by themselves within the hour; remove them now where we can.
  if command -v rabbitmqctl >/dev/null; then
    for replica in 1 2; do
      timeout 20 rabbitmqctl -q delete_queue "scoreboard-e2e.notifier.e2e-$$-$replica" >/dev/null 2>&1 || true
    done
  fi
  if [ "$status" != 0 ]; then
    for log in "$stack_dir"/*.log "$stack_dir"/nginx/error.log; do
      [ -s "$log" ] || continue
      echo "--- last lines of ${log#"$root"/} ---"
      tail -n 25 "$log"
    done
    # End with the test runner's summary, as a successful run does.
    if [ -s "$node_log" ]; then
      echo
      grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$node_log" || true
    fi
  fi
  rm -f "$node_log"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the system --------------------------------------------------------------------------------------
psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
psql "$admin_url" -qc "CREATE DATABASE $database" >/dev/null
echo "starting the system: gateway on 127.0.0.1:$gateway_port, services from port $port_base"
BIN_DIR=target/debug \
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" \
  GATEWAY_PORT="$gateway_port" \
  SERVICE_PORT_BASE="$port_base" \
  REPLICA_PREFIX="e2e-$$" \
  AMQP_PREFIX=scoreboard-e2e \
  REDIS_BOARD_PREFIX="$redis_prefix" \
  scripts/stack.sh start "$stack_dir"

# --- the test ----------------------------------------------------------------------------------------
mkdir -p test-artifacts
GATEWAY_URL="http://127.0.0.1:$gateway_port/" \
  node --test --test-reporter=spec e2e/browser/ 2>&1 | tee "$node_log"
