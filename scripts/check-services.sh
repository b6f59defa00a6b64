#!/usr/bin/env bash
# Says which local service the tests need is not reachable, and how to start it.
set -euo pipefail
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432." >&2
  echo "Start it with: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  echo "          or: docker compose up -d postgres" >&2
  exit 1
fi
