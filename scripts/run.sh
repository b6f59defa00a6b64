#!/usr/bin/env bash
# `make run`: builds, migrates and starts the whole system (two replicas of each service behind the nginx
# gateway, which also serves the web page), prints where to open it, and stops everything on Ctrl-C.
# DEMO_PLAYERS=N (make demo) also runs N simulated players so the board moves by itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=$root/.run
mkdir -p "$state"

scripts/check-services.sh
echo "building..."
cargo build --release --bins -p scoreboard-action -p scoreboard-score -p scoreboard-notifier

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  [ -n "${demo_pid:-}" ] && kill "$demo_pid" 2>/dev/null
  pkill -P $$ sleep 2>/dev/null || true
  scripts/stack.sh stop "$state"
}
trap cleanup INT TERM EXIT
scripts/stack.sh start "$state"
url=$(cat "$state/url")

cat <<MSG

Scoreboard is running: open $url
  two replicas each of the action, score and notifier services behind the nginx gateway
  logs: .run/*.log; OpenAPI: ${url}api/... is proxied, each service serves /openapi.json on its port
  (action 127.0.0.1:8081, score :8082, notifier :8083; second replicas on 8091-8093)

Try it by hand (the README walks through it):
  TOKEN=\$(curl -s -X POST ${url}api/dev/token -H 'content-type: application/json' -d '{"user_id":"alice"}' | jq -r .token)
  curl -s -X POST ${url}api/actions -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' -d '{"kind":"demo"}'
  curl -s ${url}api/leaderboard

Ctrl-C stops everything.
MSG
if [ "${DEMO_PLAYERS:-0}" -gt 0 ]; then
  scripts/demo-players.sh "$url" "$DEMO_PLAYERS" > "$state/demo.log" 2>&1 &
  demo_pid=$!
  echo "$DEMO_PLAYERS simulated players are playing (log: .run/demo.log)."
fi
# `wait` (unlike a foreground sleep) returns at once when a signal arrives, so `kill -INT`/`-TERM` of this
# script stops everything as promptly as Ctrl-C does.
while true; do
  sleep 3600 &
  wait $! || true
done
