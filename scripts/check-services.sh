#!/usr/bin/env bash
# Says which local service Scoreboard needs is not reachable, and how to start it.
set -uo pipefail
missing=0
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432. Start it with:" >&2
  echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  missing=1
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is not reachable on 127.0.0.1:6379. Start it with:" >&2
  echo "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no" >&2
  missing=1
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "RabbitMQ is not reachable on 127.0.0.1:5672. Start it with:" >&2
  echo "  rabbitmq-server -detached" >&2
  missing=1
fi
if [ $missing = 1 ]; then
  echo "(Or run the whole system in containers: docker compose up)" >&2
fi
exit $missing
