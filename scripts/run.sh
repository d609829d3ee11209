#!/usr/bin/env bash
# Start the service on 127.0.0.1:8000 with its relay (sms/relay.py), which hands stored messages
# to the workers. With no DATABASE_URL / REDIS_URL it runs on the embedded default: SQLite
# (var/db.sqlite3), an in-process cache and eager tasks, so the relay processes messages itself.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" requirements.txt
mkdir -p var
python manage.py migrate --noinput
python manage.py sms_relay &
relay=$!
trap 'kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
python manage.py runserver "${BIND:-127.0.0.1:8000}"
