#!/usr/bin/env bash
# Compares the two ways to redeem a key with pgbench, at the same concurrency, on a scratch database:
# the guarded single statement the score service uses, and SELECT ... FOR UPDATE plus separate writes.
# Usage: bench/redeem-tx/run.sh [clients] [transactions per client]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
clients=${1:-16}
per_client=${2:-2000}
server=${BENCH_DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}
db=scoreboard_bench_tx
url="$server/$db"

psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
(cd "$root" && DATABASE_URL=$url cargo run -q --release -p scoreboard-score -- migrate >/dev/null)

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(psql "$url" -tAc 'SHOW server_version')"
echo "clients: $clients, transactions per client: $per_client"
for variant in guarded row-lock; do
  psql "$url" -q -v clients="$clients" -v per_client="$per_client" -f "$here/setup.sql"
  result=$(pgbench -n -M extended -c "$clients" -j 2 -t "$per_client" -D i=0 -f "$here/$variant.sql" "$url" 2>&1)
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$result")
  latency=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$result")
  redeemed=$(psql "$url" -tAc "SELECT count(*) FROM score_keys WHERE status = 'redeemed'")
  audited=$(psql "$url" -tAc "SELECT count(*) FROM score_audit")
  printf '%-9s tps %9s   mean latency %7s ms   keys redeemed %s, audit rows %s\n' "$variant" "$tps" "$latency" "$redeemed" "$audited"
done
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
