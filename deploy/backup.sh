#!/bin/sh
# Back up the database (SQLite online backup or pg_dump) and the output folder into
# DIR/invoice-worker-YYYYmmdd-HHMMSS.tar.gz, then drop archives older than KEEP_DAYS.
# Usage: deploy/backup.sh DIR        (reads INVOICE_WORKER_CONFIG like the worker)
# Restore: deploy/restore.sh FILE    (stop invoice-worker and invoice-console first)
set -eu
dir="${1:?usage: backup.sh DIR}"
"${PYTHON:-python3}" -m worker.backup backup "$dir"
find "$dir" -maxdepth 1 -name 'invoice-worker-*.tar.gz' -mtime +"${KEEP_DAYS:-30}" -delete
