#!/bin/sh
# Put a backup back: the database (same kind as the config's) and the output folder.
# Refuses to replace data unless --force. Usage: deploy/restore.sh FILE [--force]
set -eu
exec "${PYTHON:-python3}" -m worker.backup restore "$@"
