#!/usr/bin/env bash
# End-to-end benchmark of the whole system on this machine, with the machine's own ceilings in the same run.
#
#   scripts/bench.sh           full run (about 5 minutes): closed loop for the highest redeem throughput,
#                              open loop at half of it with many WebSocket watchers, a redeem-only closed
#                              loop (pre-minted keys) direct to one score replica and through the gateway,
#                              then the ceilings:
#                              the redeem statement in pgbench, Redis ZREVRANGE in redis-benchmark, a static
#                              top-10 JSON file from nginx in wrk (and our own top-10 read in wrk)
#   scripts/bench.sh --smoke   a few seconds of load, few players, 5 watchers: checks correctness only
#
# Builds the release binaries, creates a fresh database `scoreboard_bench`, starts the stack
# (scripts/stack.sh) on free ports with limits raised for benchmarking, runs target/release/scoreboard-bench
# through the gateway and always stops the stack and drops the databases. Needs PostgreSQL, Redis and
# RabbitMQ as for `make run`, and pgbench, redis-benchmark and wrk for the ceilings (wrk is installed from
# Debian when missing). Results: target/bench/*.json and the tables printed here.
# Environment: BENCH_DATABASE_SERVER [postgres://postgres@127.0.0.1:5432], BENCH_DURATION [30 s per run],
# BENCH_CONCURRENCY [32 players in the closed loop; also pgbench's clients], BENCH_USERS [2000],
# BENCH_WATCHERS_CLOSED [200], BENCH_WATCHERS_OPEN [1000], BENCH_REDEEM_KEYS [50 pre-minted keys per player
# for each redeem-only run], DATABASE_POOL_SIZE [12 per service process].
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
smoke=false
case "${1:-}" in
  --smoke) smoke=true ;;
  "") ;;
  *) echo "usage: scripts/bench.sh [--smoke]" >&2; exit 2 ;;
esac

server=${BENCH_DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}
db=scoreboard_bench
ceiling_db=scoreboard_bench_ceiling
url="$server/$db"
stack="$root/target/bench-stack"
out="$root/target/bench"
board_prefix="scoreboard-bench:$$"
mkdir -p "$out" "$stack"
rm -f "$out"/*.json

ports_free() { # port...
  python3 - "$@" <<'PY'
import socket, sys
for p in map(int, sys.argv[1:]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}
pick_ports() {
  # Below the ephemeral range, where the generator's own connections could take a port meanwhile.
  local ephemeral_low
  ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 50); do
    base=$(( 10000 + RANDOM % (ephemeral_low - 10100) ))
    gateway_port=$(( base + 5 ))
    static_port=$(( base + 6 ))
    fanout_port=$(( base + 20 ))
    peer_port=$(( base + 30 ))
    ports_free "$base" $((base + 1)) $((base + 2)) $((base + 10)) $((base + 11)) $((base + 12)) \
      "$gateway_port" "$static_port" "$fanout_port" "$peer_port" $((peer_port + 1)) && return 0
  done
  echo "no free ports found" >&2
  exit 1
}

static_pid=""
fanout_pid=""
peer_dir="$stack/sockudo"
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  set +e
  "$root/scripts/stack.sh" stop "$stack" >/dev/null 2>&1
  [ -n "$static_pid" ] && kill "$static_pid" 2>/dev/null
  [ -n "$fanout_pid" ] && kill "$fanout_pid" 2>/dev/null
  [ -f "$peer_dir/pid" ] && "$root/scripts/peer-sockudo.sh" stop "$peer_dir" 2>/dev/null
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $ceiling_db WITH (FORCE)" >/dev/null 2>&1
  redis-cli --scan --pattern "$board_prefix*" 2>/dev/null | xargs -r redis-cli del >/dev/null 2>&1
}
trap cleanup EXIT

# The smoke run (part of make test) checks correctness only, so the debug build the tests made will do.
if $smoke; then
  profile=debug
  echo "== building debug binaries"
  cargo build --bins -q
else
  profile=release
  echo "== building release binaries"
  cargo build --release --bins -q
fi

pick_ports
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
ulimit -n 65536 2>/dev/null || true
echo "== starting the stack: gateway :$gateway_port, services from :$base"
env BIN_DIR="$root/target/$profile" DATABASE_URL="$url" GATEWAY_PORT="$gateway_port" SERVICE_PORT_BASE="$base" \
  REPLICA_PREFIX="bench-$$" AMQP_PREFIX=scoreboard-bench REDIS_BOARD_PREFIX="$board_prefix" \
  WRITE_RATE=100000r/s WRITE_BURST=100000 ACTION_STARTS_PER_MINUTE=100000 ACTION_COMPLETES_PER_MINUTE=100000 \
  ACTION_KINDS='[{"name":"demo","completion":"challenge","amount":10,"min_duration":0,"time_limit":120000,"key_ttl":86400000,"max_attempts":3}]' \
  DATABASE_POOL_SIZE="${DATABASE_POOL_SIZE:-12}" RUST_LOG=warn \
  "$root/scripts/stack.sh" start "$stack"
gateway="http://127.0.0.1:$gateway_port"
bench=("$root/target/$profile/scoreboard-bench" --base-url "$gateway" --database-url "$url"
  --pids-file "$stack/all-pids" --user-prefix bench-)
# The stack's processes plus the shared servers (oldest process of each: PostgreSQL's postmaster with its
# backends, redis-server, RabbitMQ's Erlang VM), whose CPU and peak memory the report shows too.
{ cat "$stack/pids"; pgrep -o -x postgres; pgrep -o -x redis-server; pgrep -o -x beam.smp; } > "$stack/all-pids" || true

status=0
# Fan-out: a notifier of its own (its own exchange and Redis board, started after the stack's load) and,
# in the full run, Sockudo (a Pusher-protocol server); both are watched by scoreboard-fanout, alternating
# at each watcher count so that both meet the same machine.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
start_fanout_notifier() {
  env DATABASE_URL="$url" NOTIFIER_BIND_ADDR="127.0.0.1:$fanout_port" NOTIFIER_REPLICA_ID="fanout-$$" \
    REDIS_BOARD_PREFIX="$board_prefix-fanout" AMQP_PREFIX=scoreboard-bench-fanout WS_ALLOWED_ORIGINS='*' \
    WS_MAX_CONNECTIONS=100000 RUST_LOG=warn "$root/target/$profile/scoreboard-notifier" serve \
    > "$stack/fanout-notifier.log" 2>&1 &
  fanout_pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$fanout_port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  if ! kill -0 "$fanout_pid" 2>/dev/null; then
    echo "the fan-out notifier did not start:" >&2
    tail -n 5 "$stack/fanout-notifier.log" >&2
    exit 1
  fi
  fanout_idle=$(rss_kib "$fanout_pid")
}
stop_fanout_notifier() {
  kill "$fanout_pid" 2>/dev/null || true
  wait "$fanout_pid" 2>/dev/null || true
  fanout_pid=""
}
fanout_notifier() { # watchers broadcasts json
  "$root/target/$profile/scoreboard-fanout" --server scoreboard --ws-url "ws://127.0.0.1:$fanout_port/ws" \
    --watchers "$1" --broadcasts "$2" --amqp-prefix scoreboard-bench-fanout --pid "$fanout_pid" \
    --baseline-rss-kib "$fanout_idle" --json "$3" || status=1
}

if $smoke; then
  "${bench[@]}" --label smoke-closed --users 50 --hot-users 5 --hot-every 3 --concurrency 8 --duration 4 --watchers 5 \
    --settle 10 --json "$out/smoke-closed.json"
  "${bench[@]}" --label smoke-open --users 50 --hot-users 5 --hot-every 3 --rate 40 --duration 3 --watchers 5 \
    --settle 10 --json "$out/smoke-open.json"
  start_fanout_notifier
  fanout_notifier 20,50 3 "$out/smoke-fanout.json"
  stop_fanout_notifier
  [ $status = 0 ] || { echo "== smoke benchmark: fan-out watchers missed a broadcast" >&2; exit 1; }
  echo "== smoke benchmark: all checks passed"
  exit 0
fi

duration=${BENCH_DURATION:-30}
concurrency=${BENCH_CONCURRENCY:-32}
users=${BENCH_USERS:-2000}
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(psql "$url" -tAc 'SHOW server_version' | sed 's/ .*//') PostgreSQL, Redis $(redis-cli info server | tr -d "\r" | sed -n "s/^redis_version://p")," \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== closed loop: $concurrency players, $duration s"
"${bench[@]}" --label closed --users "$users" --concurrency "$concurrency" --duration "$duration" \
  --watchers "${BENCH_WATCHERS_CLOSED:-200}" --json "$out/closed.json" || status=1
max=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["redeems_per_s"])' "$out/closed.json")
half=$(python3 -c 'import sys; print(round(float(sys.argv[1]) / 2, 1))' "$max")
echo "== open loop: $half redeems/s (half of $max), $duration s"
"${bench[@]}" --label open-half --users "$users" --rate "$half" --duration "$duration" \
  --watchers "${BENCH_WATCHERS_OPEN:-1000}" --json "$out/open.json" || status=1
# Latency against offered load: shorter open loops at other fractions of the maximum.
sweep_duration=${BENCH_SWEEP_DURATION:-15}
for percent in 25 75 100; do
  rate=$(python3 -c 'import sys; print(round(float(sys.argv[1]) * int(sys.argv[2]) / 100, 1))' "$max" "$percent")
  echo "== open loop: $rate redeems/s ($percent% of $max), $sweep_duration s, 200 watchers"
  "${bench[@]}" --label "open-$percent" --users "$users" --rate "$rate" --duration "$sweep_duration" \
    --watchers 200 --overload "$([ "$percent" = 100 ] && echo true || echo false)" --json "$out/open-$percent.json" \
    || status=1
done

# The redeem alone (keys pre-minted in PostgreSQL, no start/complete, no watchers), players chosen evenly
# like pgbench's users, at pgbench's concurrency: first direct to one score replica (no nginx), then
# through the gateway.
redeem_keys=${BENCH_REDEEM_KEYS:-50}
score_url="http://127.0.0.1:$(( base + 1 ))"
echo "== redeem-only closed loop, direct to score replica $score_url: $concurrency players, $duration s" \
  "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
"${bench[@]}" --base-url "$score_url" --sign-in-url "$gateway" --label redeem-only-direct --users "$users" \
  --hot-users 0 --redeem-only "$redeem_keys" --concurrency "$concurrency" --duration "$duration" \
  --json "$out/redeem-direct.json" || status=1
echo "== redeem-only closed loop, through the gateway: $concurrency players, $duration s" \
  "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
"${bench[@]}" --label redeem-only-gateway --users "$users" \
  --hot-users 0 --redeem-only "$redeem_keys" --concurrency "$concurrency" --duration "$duration" \
  --json "$out/redeem-gateway.json" || status=1

echo "== ceilings (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
if ! command -v wrk >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  else
    echo "wrk is needed for the read ceilings: sudo apt-get install wrk" >&2
    exit 1
  fi
fi
# CPU seconds of PostgreSQL so far: the postmaster, its live children, and the children it has reaped
# (pgbench's backends end with it).
postgres_cpu_seconds() {
  python3 - "$(pgrep -o -x postgres)" <<'PY'
import os, sys
root, total = int(sys.argv[1]), 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if int(pid) == root:
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    elif int(fields[1]) == root:
        total += int(fields[11]) + int(fields[12])
print(total / os.sysconf("SC_CLK_TCK"))
PY
}
wrk_rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$1"; }
wrk_p99() { awk '/^ +99%/ {print $2}' <<<"$1"; }

# Our top-10 read through the gateway (score service, Redis board), then the same bytes from nginx.
curl -fsS "$gateway/api/leaderboard" > "$stack/top10.json"
ours=$(wrk -t2 -c64 -d10s --latency "$gateway/api/leaderboard")
static_dir="$stack/static"
mkdir -p "$static_dir/root" "$static_dir/tmp"
cp "$stack/top10.json" "$static_dir/root/leaderboard.json"
cat > "$static_dir/nginx.conf" <<EOF
worker_processes auto;
pid $static_dir/tmp/nginx.pid;
error_log $static_dir/tmp/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $static_dir/tmp/client_body;
    proxy_temp_path $static_dir/tmp/proxy;
    fastcgi_temp_path $static_dir/tmp/fastcgi;
    uwsgi_temp_path $static_dir/tmp/uwsgi;
    scgi_temp_path $static_dir/tmp/scgi;
    server {
        listen 127.0.0.1:$static_port;
        location / { root $static_dir/root; default_type application/json; }
    }
}
EOF
run_as=()
if [ "$(id -u)" = 0 ]; then
  user=$(id -u www-data >/dev/null 2>&1 && echo www-data || echo nobody)
  chown -R "$user" "$static_dir"
  run_as=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups)
fi
"${run_as[@]}" "$(command -v nginx || echo /usr/sbin/nginx)" -c "$static_dir/nginx.conf" -g 'daemon off;' &
static_pid=$!
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$static_port/leaderboard.json" >/dev/null 2>&1 && break; sleep 0.1; done
static=$(wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$static_port/leaderboard.json")
kill "$static_pid"; static_pid=""

# Redis: the board's own sorted set, the top 10 as the score service reads it.
board_key=$(redis-cli --scan --pattern "$board_prefix*" | while read -r k; do
  if [ "$(redis-cli type "$k")" = zset ]; then echo "$k"; fi; done | head -n 1)
redis=$(redis-benchmark -q -n 200000 -c 64 ZREVRANGE "$board_key" 0 9 WITHSCORES | tr '\r' '\n' | tail -n 1)
redis_rps=$(sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' <<<"$redis")

# The redeem statement alone, at the closed loop's concurrency, on a scratch database.
"$root/scripts/stack.sh" stop "$stack" >/dev/null
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $ceiling_db WITH (FORCE)"
DATABASE_URL="$server/$ceiling_db" "$root/target/release/scoreboard-score" migrate >/dev/null
per_client=$(( 60000 / concurrency ))
psql "$server/$ceiling_db" -q -v clients="$concurrency" -v per_client="$per_client" -f bench/redeem-tx/setup.sql
pg_cpu_before=$(postgres_cpu_seconds)
pg=$(pgbench -n -M extended -c "$concurrency" -j 2 -t "$per_client" -D i=0 -f bench/redeem-tx/guarded.sql \
  "$server/$ceiling_db" 2>&1)
pg_cpu=$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$pg_cpu_before" "$(postgres_cpu_seconds)")
pg_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$pg")
pg_lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$pg")
pg_transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$pg")

# Fan-out to many watchers: the notifier and Sockudo, each alone on the machine with the same watcher
# client and a frame of the notifier's snapshot size, alternating at each watcher count.
fanout_counts=${BENCH_FANOUT_WATCHERS:-1000,2500,5000,10000}
fanout_broadcasts=${BENCH_FANOUT_BROADCASTS:-20}
peer=${BENCH_FANOUT_PEER:-sockudo}
start_fanout_notifier
if [ "$peer" = sockudo ]; then
  "$root/scripts/peer-sockudo.sh" install
  rm -rf "$peer_dir"
  eval "$("$root/scripts/peer-sockudo.sh" start "$peer_dir" "$peer_port")"
  peer_pid=$(cat "$peer_dir/pid")
  peer_idle=$(rss_kib "$peer_pid")
  peer_bin=$(command -v sockudo || echo "$HOME/.cargo/bin/sockudo")
  echo "== fan-out: the notifier and $("$peer_bin" --version), $fanout_counts watchers, $fanout_broadcasts broadcasts each"
else
  echo "== fan-out: the notifier, $fanout_counts watchers, $fanout_broadcasts broadcasts each"
fi
for n in ${fanout_counts//,/ }; do
  fanout_notifier "$n" "$fanout_broadcasts" "$out/fanout-notifier-$n.json"
  if [ "$peer" = sockudo ]; then
    frame=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps"][0]["frame_bytes"])' \
      "$out/fanout-notifier-$n.json")
    "$root/target/$profile/scoreboard-fanout" --server pusher \
      --ws-url "ws://127.0.0.1:$peer_port/app/$SOCKUDO_APP_KEY?protocol=7&client=scoreboard-fanout&version=1.0" \
      --rest-url "http://127.0.0.1:$peer_port" --app-id "$SOCKUDO_APP_ID" --app-secret "$SOCKUDO_APP_SECRET" \
      --frame-bytes "$frame" --watchers "$n" --broadcasts "$fanout_broadcasts" --pid "$peer_pid" \
      --baseline-rss-kib "$peer_idle" --json "$out/fanout-sockudo-$n.json" || status=1
  fi
done
stop_fanout_notifier
if [ "$peer" = sockudo ]; then "$root/scripts/peer-sockudo.sh" stop "$peer_dir"; fi
# One report per server, its steps in watcher order.
python3 - "$out" "$fanout_counts" <<'PY'
import json, sys
out, counts = sys.argv[1], [int(n) for n in sys.argv[2].split(",")]
for name in ("notifier", "sockudo"):
    try:
        parts = [json.load(open(f"{out}/fanout-{name}-{n}.json")) for n in counts]
    except FileNotFoundError:
        continue
    json.dump({"label": parts[0]["label"], "server": parts[0]["server"],
               "steps": [step for part in parts for step in part["steps"]]},
              open(f"{out}/fanout-{name}.json", "w"), indent=2)
PY

python3 - "$out" "$(wrk_rps "$ours")" "$(wrk_p99 "$ours")" "$(wrk_rps "$static")" "$(wrk_p99 "$static")" \
  "$redis_rps" "$pg_tps" "$pg_lat" "$concurrency" "$pg_cpu" "$pg_transactions" <<'PY'
import json, sys
out, ours, ours_p99, static, static_p99, redis, pg, pg_lat, c, pg_cpu, pg_transactions = sys.argv[1:]
closed = json.load(open(f"{out}/closed.json"))
opened = json.load(open(f"{out}/open.json"))
direct = json.load(open(f"{out}/redeem-direct.json"))
gw = json.load(open(f"{out}/redeem-gateway.json"))
f = lambda v: "n/a" if v is None else f"{v:,.1f}"
ceil = {
    "pgbench_redeem_tps": float(pg), "pgbench_latency_avg_ms": float(pg_lat), "pgbench_clients": int(c),
    "redis_zrevrange_rps": float(redis), "nginx_static_top10_rps": float(static),
    "nginx_static_top10_p99": static_p99, "ours_top10_rps": float(ours), "ours_top10_p99": ours_p99,
    "closed_loop_redeems_per_s": closed["redeems_per_s"],
    "closed_loop_ratio_to_pgbench": closed["redeems_per_s"] / float(pg),
}
for name, run in (("direct", direct), ("gateway", gw)):
    ceil[f"redeem_only_{name}_redeems_per_s"] = run["redeems_per_s"]
    ceil[f"redeem_only_{name}_ratio_to_pgbench"] = run["redeems_per_s"] / float(pg)
    ceil[f"redeem_only_{name}_latency"] = run["latency"]["redeem"]
    ceil[f"redeem_only_{name}_keys_exhausted"] = run["keys_exhausted"]
json.dump(ceil, open(f"{out}/ceilings.json", "w"), indent=2)
print(f"\n== summary")
print(f"| figure | ours | ceiling | ratio |")
print(f"|---|---|---|---|")
print(f"| redeem throughput, closed loop ({closed['concurrency']} players) vs pgbench guarded statement ({c} clients) | "
      f"{closed['redeems_per_s']:,.0f}/s | {float(pg):,.0f} tps | {closed['redeems_per_s'] / float(pg):.0%} |")
for what, run in (("direct to one score replica", direct), ("through the gateway", gw)):
    r = run["latency"]["redeem"]
    print(f"| redeem-only throughput, {what} ({run['concurrency']} players; p50/p95/p99/max "
          f"{f(r['p50_ms'])}/{f(r['p95_ms'])}/{f(r['p99_ms'])}/{f(r['max_ms'])} ms"
          f"{', keys ran out' if run['keys_exhausted'] else ''}) vs pgbench guarded statement ({c} clients) | "
          f"{run['redeems_per_s']:,.0f}/s | {float(pg):,.0f} tps | {run['redeems_per_s'] / float(pg):.0%} |")
print(f"| top-10 read via gateway vs nginx static file (wrk -c64) | {float(ours):,.0f}/s (p99 {ours_p99}) | "
      f"{float(static):,.0f}/s (p99 {static_p99}) | {float(ours) / float(static):.0%} |")
print(f"| top-10 read via gateway vs Redis ZREVRANGE 0 9 (redis-benchmark -c64) | {float(ours):,.0f}/s | "
      f"{float(redis):,.0f}/s | {float(ours) / float(redis):.0%} |")
o = opened["latency"]
print(f"| open loop at {opened['target_rate']}/s: achieved | {opened['redeems_per_s']:,.1f}/s | | |")
print(f"| open loop: redeem p99 | {f(o['redeem']['p99_ms'])} ms | target < 50 ms | |")
print(f"| open loop: end-to-end p50 / p99 ({opened['watchers']} watchers, "
      f"{o['end_to_end']['count']} of {opened['end_to_end_pairs']} pairs observed) | "
      f"{f(o['end_to_end']['p50_ms'])} / {f(o['end_to_end']['p99_ms'])} ms | target p99 < 100 ms | |")
print(f"| open loop: fan-out p50 / p99 ({opened['fan_out_versions']} versions) | "
      f"{f(o['fan_out']['p50_ms'])} / {f(o['fan_out']['p99_ms'])} ms | | |")
for pct in (25, 75, 100):
    try:
        sweep = json.load(open(f"{out}/open-{pct}.json"))
    except FileNotFoundError:
        continue
    l = sweep["latency"]
    failed = sum(sweep["failed_requests"].values())
    print(f"| open loop at {pct}% ({sweep['target_rate']}/s, achieved {sweep['redeems_per_s']:,.1f}/s"
          f"{f', {failed} failed requests' if failed else ''}): redeem p50 / p99, end-to-end p50 / p99 | "
          f"{f(l['redeem']['p50_ms'])} / {f(l['redeem']['p99_ms'])} ms, "
          f"{f(l['end_to_end']['p50_ms'])} / {f(l['end_to_end']['p99_ms'])} ms | | |")
# PostgreSQL's CPU per redeem: in the system (the whole server, autovacuum included) and under pgbench.
postgres = lambda run: sum(p["cpu_seconds"] for p in run["processes"] if p["label"].startswith("postgres"))
ceil["pgbench_postgres_cpu_ms_per_redeem"] = 1000 * float(pg_cpu) / int(pg_transactions)
ceil["redeem_only_direct_postgres_cpu_ms_per_redeem"] = 1000 * postgres(direct) / direct["redeems"]
print(f"| PostgreSQL CPU per redeem: redeem-only direct vs pgbench | "
      f"{ceil['redeem_only_direct_postgres_cpu_ms_per_redeem']:.2f} ms | "
      f"{ceil['pgbench_postgres_cpu_ms_per_redeem']:.2f} ms | |")
for name, run in (("closed loop", closed), ("open loop at half", opened), ("redeem-only direct", direct), ("redeem-only via gateway", gw)):
    if run.get("database_commits") is not None and run["redeems"]:
        print(f"| PostgreSQL transactions per redeem, {name} | {run['database_commits'] / run['redeems']:.2f} | | |")

def steps(name):
    try:
        return {s["watchers"]: s for s in json.load(open(f"{out}/fanout-{name}.json"))["steps"]}
    except FileNotFoundError:
        return {}
ours_fan, peer_fan = steps("notifier"), steps("sockudo")
fan = []
for n, mine in sorted(ours_fan.items()):
    peer = peer_fan.get(n)
    row = {"watchers": n, "notifier": mine, "sockudo": peer}
    fan.append(row)
    a = mine["last"]["p99_ms"]
    kib = mine["per_connection_kib"]
    if peer:
        b = peer["last"]["p99_ms"]
        row["ratio_last_p99"] = a / b if a is not None and b else None
        print(f"| fan-out to {n:,} watchers, time to the last watcher p50 / p99 ({mine['broadcasts']} broadcasts, "
              f"{mine['frame_bytes']} B frames): notifier vs Sockudo | {f(mine['last']['p50_ms'])} / {f(a)} ms | "
              f"{f(peer['last']['p50_ms'])} / {f(b)} ms | {row['ratio_last_p99']:.2f}x (target <= 0.7x) |")
        print(f"| memory per connection at {n:,} watchers: notifier vs Sockudo | {kib:,.1f} KiB | "
              f"{peer['per_connection_kib']:,.1f} KiB | target < 30 KB |")
    else:
        print(f"| fan-out to {n:,} watchers, time to the last watcher p50 / p99: notifier | "
              f"{f(mine['last']['p50_ms'])} / {f(a)} ms | | |")
        print(f"| memory per connection at {n:,} watchers: notifier | {kib:,.1f} KiB | | target < 30 KB |")
ceil["fan_out"] = fan
json.dump(ceil, open(f"{out}/ceilings.json", "w"), indent=2)
PY
if python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install -q matplotlib >/dev/null 2>&1; then
  python3 "$root/bench/plot.py" "$out" "$out/benchmarks.png"
else
  echo "(no plot: matplotlib is not installed and could not be; pip install matplotlib)"
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ $status = 0 ] || echo "== some correctness checks FAILED (see above)" >&2
exit $status
