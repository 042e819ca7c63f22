#!/usr/bin/env bash
# Installs what invoice-worker needs on a Debian machine: system packages and a venv.
# Usage: scripts/setup.sh [test]   ("test" adds the test tools and test servers)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# weasyprint (PDFs) needs pango; libharfbuzz-subset0 is its font subsetter: without it
# weasyprint falls back to fontTools, ~5 s per PDF for a CJK face instead of ~0.1 s.
packages=(python3 python3-venv fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
          libharfbuzz-subset0)
if [ "${1:-}" = "test" ]; then
    # poppler-utils: pdftotext/pdftoppm/pdffonts; zbar-tools: zbarimg reads the barcodes;
    # chromium: the console's browser tests (Playwright drives /usr/bin/chromium)
    packages+=(dovecot-imapd openssl poppler-utils zbar-tools chromium)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    # policy-rc.d keeps the package from starting a system-wide dovecot: tests start their own.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "test" ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
else
    .venv/bin/python -m pip install -q -e .
fi
