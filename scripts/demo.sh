#!/usr/bin/env bash
# First README command: set up on a fresh Debian machine and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/invoice-worker demo "$@"
