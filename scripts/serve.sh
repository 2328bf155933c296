#!/usr/bin/env bash
# Builds the page and serves it on http://127.0.0.1:${PORT:-8080}/ with the embedded default
# model (stories260K, copied beside the page from ../shared/fixtures) ready to run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs
  else
    echo "node is required to serve the page (apt-get install nodejs)" >&2
    exit 1
  fi
fi
bash scripts/build-page.sh
exec node web/serve.mjs --port "${PORT:-8080}" "$@"
