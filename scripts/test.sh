#!/usr/bin/env bash
# The test command: lint, type-check, then the whole suite against real PostgreSQL and Redis.
# Extra arguments go to pytest (e.g. scripts/test.sh -k webhook).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" requirements-dev.txt
scripts/services.sh
ruff check .
ruff format --check .
mypy .
exec pytest "$@"
