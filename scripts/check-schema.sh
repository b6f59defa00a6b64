#!/usr/bin/env bash
# Applies the migrations to a scratch database and diffs `diesel print-schema` against the committed
# crates/db/src/schema.rs. Installs diesel_cli (PostgreSQL only) when it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v diesel >/dev/null; then
  echo "installing diesel_cli (PostgreSQL only)..."
  cargo install diesel_cli --no-default-features --features postgres --locked --quiet
fi
server=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
db="scoreboard_schema_check_$$"
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
DATABASE_URL="$server/$db" cargo run -q -p scoreboard-score -- migrate >/dev/null
generated=$(mktemp)
diesel print-schema --database-url "$server/$db" > "$generated"
if ! diff -u crates/db/src/schema.rs "$generated"; then
  echo "crates/db/src/schema.rs does not match the migrations: run 'diesel print-schema > crates/db/src/schema.rs'" >&2
  exit 1
fi
echo "schema.rs matches the migrations"
