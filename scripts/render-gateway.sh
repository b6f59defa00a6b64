#!/usr/bin/env bash
# Renders deploy/gateway/nginx.conf.template into a runnable config.
# Usage: render-gateway.sh OUT_FILE LISTEN WEB_ROOT RUNTIME_DIR ACTION_ADDRS SCORE_ADDRS NOTIFIER_ADDRS
#   *_ADDRS: comma-separated host:port lists. Optional env: WRITE_RATE (default 20r/s), WRITE_BURST (40),
#   ACCESS_LOG / ERROR_LOG (default RUNTIME_DIR/access.log, error.log).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1 listen=$2 web_root=$3 runtime=$4
servers() { tr ',' '\n' <<<"$1" | sed '/^$/d; s/.*/        server &;/' | paste -sd'\n' -; }
mkdir -p "$runtime"
python3 - "$root/deploy/gateway/nginx.conf.template" "$out" <<PY
import sys
text = open(sys.argv[1]).read()
values = {
    "@LISTEN@": "$listen",
    "@WEB_ROOT@": "$web_root",
    "@RUNTIME_DIR@": "$runtime",
    "@ACCESS_LOG@": "${ACCESS_LOG:-$runtime/access.log}",
    "@ERROR_LOG@": "${ERROR_LOG:-$runtime/error.log}",
    "@WRITE_RATE@": "${WRITE_RATE:-20r/s}",
    "@WRITE_BURST@": "${WRITE_BURST:-40}",
    "@ACTION_SERVERS@": """$(servers "$5")""",
    "@SCORE_SERVERS@": """$(servers "$6")""",
    "@NOTIFIER_SERVERS@": """$(servers "$7")""",
}
for key, value in values.items():
    text = text.replace(key, value)
import re
assert not re.search(r"@[A-Z_]+@", text), "unrendered placeholder"
open(sys.argv[2], "w").write(text)
PY
