#!/usr/bin/env bash
# Simulated players for `make demo`: each signs in as a development user and plays the demo action in a
# loop (start, solve the challenge, complete, redeem), pausing a few seconds between rounds.
# Usage: demo-players.sh GATEWAY_URL PLAYERS
set -uo pipefail
url=${1:?gateway url}
players=${2:-5}
names=(ada bea cyd dov eli fay gus hal ivy jon kim lou mei ned oli pia quinn rex sol tia)

play() {
  local name=$1 token start id prompt answer key
  token=$(curl -fsS -X POST "${url}api/dev/token" -H 'content-type: application/json' \
    -d "{\"user_id\":\"$name\"}" | jq -r .token) || return
  while true; do
    start=$(curl -fsS -X POST "${url}api/actions" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d '{"kind":"demo"}') || { sleep 5; continue; }
    id=$(jq -r .action_id <<<"$start")
    prompt=$(jq -r .challenge.prompt <<<"$start")
    answer=$(( $(grep -oE '[0-9]+' <<<"$prompt" | paste -sd+ -) ))
    sleep "$(( 1 + RANDOM % 3 )).$(( RANDOM % 10 ))"
    key=$(curl -fsS -X POST "${url}api/actions/$id/complete" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d "{\"answer\":\"$answer\"}" | jq -r .key) || continue
    curl -fsS -X POST "${url}api/scores/redeem" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d "{\"key\":\"$key\"}" >/dev/null && echo "$name scored"
    sleep "$(( 1 + RANDOM % 4 ))"
  done
}

# Stopping this script stops every player with it.
trap 'kill $(jobs -p) 2>/dev/null; exit 0' INT TERM EXIT

for i in $(seq 0 $(( players - 1 ))); do
  play "${names[$(( i % ${#names[@]} ))]}$([ "$i" -ge ${#names[@]} ] && echo "$i")" &
done
wait
