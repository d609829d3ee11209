#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; start them if not.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis_up; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
for _ in $(seq 1 60); do
  if pg_up && redis_up; then
    echo "services: PostgreSQL and Redis are answering"
    exit 0
  fi
  sleep 0.5
done
pg_up || echo "services: PostgreSQL is not answering on 127.0.0.1:5432" >&2
redis_up || echo "services: Redis is not answering on 127.0.0.1:6379" >&2
exit 1
