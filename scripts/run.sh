#!/usr/bin/env bash
# `make run`: builds, migrates and starts the services against the local PostgreSQL, waits until each is
# ready, prints where to reach them, and stops them all on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/scoreboard}
export ACTION_BIND_ADDR=${ACTION_BIND_ADDR:-127.0.0.1:8081}
export SCORE_BIND_ADDR=${SCORE_BIND_ADDR:-127.0.0.1:8082}
export NOTIFIER_BIND_ADDR=${NOTIFIER_BIND_ADDR:-127.0.0.1:8083}
export NOTIFIER_REPLICA_ID=${NOTIFIER_REPLICA_ID:-local}
export DEV_TOKENS_ENABLED=${DEV_TOKENS_ENABLED:-true}
export RUST_LOG=${RUST_LOG:-info}

# Development secrets: generated once per checkout, kept out of git in .run/.
mkdir -p .run
[ -s .run/jwt-secret ] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > .run/jwt-secret
[ -s .run/service-credential ] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > .run/service-credential
export JWT_SECRET=${JWT_SECRET:-$(cat .run/jwt-secret)}
export SERVICE_CREDENTIAL=${SERVICE_CREDENTIAL:-$(cat .run/service-credential)}

scripts/check-services.sh

echo "building..."
cargo build --release --bins -p scoreboard-action -p scoreboard-score -p scoreboard-notifier
echo "migrating $DATABASE_URL ..."
target/release/scoreboard-score migrate

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

target/release/scoreboard-action serve > .run/action.log 2>&1 & pids+=($!)
target/release/scoreboard-score serve > .run/score.log 2>&1 & pids+=($!)
target/release/scoreboard-notifier serve > .run/notifier.log 2>&1 & pids+=($!)

wait_ready() {
  local name=$1 url=$2
  for _ in $(seq 1 100); do
    if curl -fsS "$url/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$name did not become ready; see .run/$name.log" >&2
  tail -n 20 ".run/$name.log" >&2
  exit 1
}
wait_ready action "http://$ACTION_BIND_ADDR"
wait_ready score "http://$SCORE_BIND_ADDR"
wait_ready notifier "http://$NOTIFIER_BIND_ADDR"

cat <<MSG

Scoreboard is running.
  action service  http://$ACTION_BIND_ADDR   (OpenAPI: /openapi.json)
  score service   http://$SCORE_BIND_ADDR   (OpenAPI: /openapi.json)
  notifier        ws://$NOTIFIER_BIND_ADDR/ws   (live top-10 snapshots; stats at /stats)
  logs            .run/action.log, .run/score.log, .run/notifier.log

Try it (the README walks through it):
  TOKEN=\$(curl -s -X POST http://$ACTION_BIND_ADDR/api/dev/token -H 'content-type: application/json' -d '{"user_id":"alice"}' | jq -r .token)
  curl -s -X POST http://$ACTION_BIND_ADDR/api/actions -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' -d '{"kind":"demo"}'
  curl -s http://$SCORE_BIND_ADDR/api/leaderboard
  websocat ws://$NOTIFIER_BIND_ADDR/ws     (or any WebSocket client)

Ctrl-C stops everything.
MSG
wait
