#!/usr/bin/env bash
# The docs page in headless Chromium (scripts/docs_browser.py): every operation listed, no console error, no
# request to another origin; the screenshot goes to .tmp/docs.png. Installs Debian's `chromium` if missing, and
# websocket-client and PyYAML (PyPI) into .tmp/browser-venv. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$PWD/.tmp/docs-browser"
venv="$PWD/.tmp/browser-venv"
mkdir -p "$work"
chromium_bin="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chromium_bin" ]; then
  command -v apt-get >/dev/null || { echo "error: chromium is missing and apt-get is not available" >&2; exit 1; }
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }) \
    || { echo "error: could not install chromium from Debian" >&2; exit 1; }
  chromium_bin="$(command -v chromium)"
fi
if ! "$venv/bin/python" -c 'import websocket, yaml' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q "websocket-client==1.9.2" "PyYAML>=6" \
    || { echo "error: could not install websocket-client and PyYAML from PyPI" >&2; exit 1; }
fi
# shellcheck source=scripts/server.sh
. scripts/server.sh
start_cloudmind "$work" docs
"$venv/bin/python" scripts/docs_browser.py "$chromium_bin" "$CLOUDMIND_URL" openapi.yaml "$PWD/.tmp/docs.png" "$work"
