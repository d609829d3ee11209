#!/usr/bin/env bash
# Start the service on 127.0.0.1:8000. With no DATABASE_URL / REDIS_URL it runs on the
# embedded default: SQLite (var/db.sqlite3), an in-process cache and eager tasks.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" requirements.txt
mkdir -p var
python manage.py migrate --noinput
exec python manage.py runserver "${BIND:-127.0.0.1:8000}"
