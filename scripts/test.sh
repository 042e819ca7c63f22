#!/usr/bin/env bash
# Second README command: set up everything the tests need, then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# The machine's PostgreSQL (127.0.0.1:5432, trust auth, database "test"): start it if stopped.
if command -v pg_ctlcluster >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
