#!/usr/bin/env bash
# Sockudo as a benchmark peer for the notifier's fan-out.
#
# The notifier pushes each leaderboard snapshot to every watcher of a board. To know whether its
# fan-out is fast, the benchmark runs the same watchers against Sockudo, an off-the-shelf WebSocket
# server speaking the Pusher protocol: watchers subscribe to a channel, one REST call broadcasts a
# snapshot to all of them. This script installs Sockudo and runs one local instance of it with the
# limits that would distort a benchmark turned off (per-IP connection and API rate limits, the
# per-app connection cap), no Redis/NATS, metrics off, listening on 127.0.0.1 only.
#
#   scripts/peer-sockudo.sh install          cargo install sockudo 5.x unless it is already there
#                                            (installs Debian's protobuf-compiler first if missing)
#   scripts/peer-sockudo.sh start DIR PORT   render bench/peer/sockudo.config.template.json into DIR
#                                            (must be new or empty), start Sockudo in the background
#                                            with DIR as working directory, log DIR/sockudo.log,
#                                            pid DIR/pid, secret DIR/secret; wait for PORT, check the
#                                            log shows the config was applied, then print
#                                            SOCKUDO_APP_ID=... SOCKUDO_APP_KEY=... SOCKUDO_APP_SECRET=...
#                                            for `eval "$(scripts/peer-sockudo.sh start DIR PORT)"`
#   scripts/peer-sockudo.sh stop DIR         stop the instance started in DIR
#
# Why so careful: Sockudo silently falls back to its defaults (port 6001, rate limiter on, Redis
# queue) when a config file does not parse, auto-loads ./config/config.toml or ./config/config.json
# from its working directory, and lets many environment variables (PORT, HOST, DEBUG, REDIS_URL,
# SOCKUDO_DEFAULT_APP_*, ...) override the file. So it runs from an empty directory, with the config
# given by --config and an emptied environment, and the start is only reported once its log proves
# that our settings are the ones in force.
# Environment: SOCKUDO_BIN [sockudo on PATH, else ~/.cargo/bin/sockudo], SOCKUDO_METRICS_PORT
# [PORT+1; metrics stay disabled, the port is only written into the config].
# Progress goes to stderr; stdout carries only the SOCKUDO_* lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
template="$root/bench/peer/sockudo.config.template.json"
app_id=bench
app_key=bench-key

usage() {
  echo "usage: scripts/peer-sockudo.sh install | start DIR PORT | stop DIR" >&2
  exit 2
}

die() {
  echo "peer-sockudo: $*" >&2
  exit 1
}

find_sockudo() {
  if [[ -n "${SOCKUDO_BIN:-}" ]]; then
    [[ -x "$SOCKUDO_BIN" ]] || die "SOCKUDO_BIN=$SOCKUDO_BIN is not executable"
    echo "$SOCKUDO_BIN"
  elif command -v sockudo >/dev/null 2>&1; then
    command -v sockudo
  elif [[ -x "$HOME/.cargo/bin/sockudo" ]]; then
    echo "$HOME/.cargo/bin/sockudo"
  else
    return 1
  fi
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_install() {
  local bin
  if bin=$(find_sockudo); then
    echo "sockudo already installed: $bin ($("$bin" --version 2>/dev/null || echo 'version unknown'))" >&2
    return 0
  fi
  if ! command -v protoc >/dev/null 2>&1; then
    echo "== installing protobuf-compiler (sockudo's build needs protoc)" >&2
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >&2
    else
      sudo apt-get update -qq >&2
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >&2
    fi
  fi
  echo "== cargo install sockudo --version '^5' --locked (a long release build)" >&2
  local started=$SECONDS
  cargo install sockudo --version '^5' --locked >&2
  local took=$((SECONDS - started))
  bin=$(find_sockudo) || die "cargo install finished but no sockudo binary was found"
  echo "installed $("$bin" --version) at $bin in ${took}s ($((took / 60))m$((took % 60))s)" >&2
}

cmd_start() {
  local dir=$1 port=$2
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65534)); then
    die "PORT must be a number in 1..65534"
  fi
  local metrics_port=${SOCKUDO_METRICS_PORT:-$((port + 1))}
  local bin
  bin=$(find_sockudo) || die "sockudo not found; run scripts/peer-sockudo.sh install"
  if [[ -e "$dir" ]]; then
    [[ -d "$dir" ]] || die "$dir exists and is not a directory"
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty (it must be, so that no ./config/ is picked up)"
  fi
  if port_open "$port"; then
    die "something already listens on 127.0.0.1:$port"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)

  local secret config="$dir/sockudo.config.json" log="$dir/sockudo.log"
  secret=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '%s\n' "$secret" >"$dir/secret")
  sed -e "s/@PORT@/$port/g" -e "s/@METRICS_PORT@/$metrics_port/g" \
    -e "s/@APP_ID@/$app_id/g" -e "s/@APP_KEY@/$app_key/g" -e "s/@APP_SECRET@/$secret/g" \
    "$template" >"$config"
  chmod 600 "$config"
  if grep -q '@[A-Z_]*@' "$config"; then
    die "unreplaced placeholder in $config"
  fi
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$config" ||
      die "$config is not valid JSON (sockudo would silently ignore it)"
  fi

  # Raise the open-files limit for the child only: 65536, or the hard limit where that is lower
  # (a sandbox without CAP_SYS_RESOURCE cannot go above it), which caps the watchers it can hold.
  local nofile=65536 hard
  hard=$(ulimit -Hn)
  if [[ $hard != unlimited ]] && ((hard < nofile)); then
    echo "peer-sockudo: WARNING: hard limit of open files is $hard, below 65536;" \
      "sockudo gets $hard, so it can hold fewer than $hard connections" >&2
    nofile=$hard
  fi
  (
    cd "$dir"
    ulimit -n "$nofile"
    exec setsid env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" \
      "$bin" --config "$config"
  ) </dev/null >>"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"

  local deadline=$((SECONDS + 30))
  until port_open "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2 || true
      die "sockudo exited during startup (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$log" >&2 || true
      kill "$pid" 2>/dev/null || true
      die "sockudo did not answer on 127.0.0.1:$port within 30 s (log: $log)"
    fi
    sleep 0.2
  done

  # The "config loaded" lines are logged before sockudo's logger exists, so they never appear;
  # prove it from what it did instead: every line below only appears with our config in force.
  local missing=() pattern
  for pattern in \
    "http server listening listen_addr=127.0.0.1:$port" \
    "http api rate limiting disabled in configuration" \
    "websocket rate limiting disabled in configuration" \
    'queue manager disabled queue_driver="none"' \
    "metrics disabled" \
    "registered app app_id=$app_id enabled=true" \
    "debug=false" \
    "custom logging configuration applied"; do
    grep -qF -- "$pattern" "$log" || missing+=("$pattern")
  done
  if grep -qE 'configuration load failed|Using defaults|listen_addr=[0-9.]+:6001\b' "$log"; then
    missing+=("(log mentions a failed config load, defaults or port 6001)")
  fi
  # Functional check: the app exists only if our config was loaded (defaults define none).
  if ! curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$port/up/$app_id"; then
    missing+=("GET /up/$app_id answered 200")
  fi
  if ((${#missing[@]})); then
    tail -n 40 "$log" >&2 || true
    printf 'peer-sockudo: not proven from %s:\n' "$log" >&2
    printf '  %s\n' "${missing[@]}" >&2
    cmd_stop "$dir" >&2 || true
    exit 1
  fi
  local limit
  limit=$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits" 2>/dev/null || echo unknown)
  echo "sockudo pid $pid on ws://127.0.0.1:$port/app/$app_key, open files limit $limit" \
    "(config $config, log $log)" >&2
  echo "SOCKUDO_APP_ID=$app_id"
  echo "SOCKUDO_APP_KEY=$app_key"
  echo "SOCKUDO_APP_SECRET=$secret"
}

cmd_stop() {
  local dir=$1
  local pidfile="$dir/pid"
  [[ -f "$pidfile" ]] || die "no $pidfile: nothing started there"
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || die "bad pid in $pidfile"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "sockudo (pid $pid) is not running" >&2
    rm -f "$pidfile"
    return 0
  fi
  # Guard against a recycled pid.
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sockudo ]] || die "pid $pid is not sockudo; not killing it"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "sockudo (pid $pid) still running after 20 s, sending KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  echo "sockudo (pid $pid) stopped" >&2
}

case "${1:-}" in
  install) (($# == 1)) || usage; cmd_install ;;
  start) (($# == 3)) || usage; cmd_start "$2" "$3" ;;
  stop) (($# == 2)) || usage; cmd_stop "$2" ;;
  *) usage ;;
esac
