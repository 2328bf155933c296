#!/usr/bin/env bash
# Prints the path of a Python that has llama-cpp-python[server] 0.3.36 (llama.cpp's reference
# implementation, its quantizer and its OpenAI-compatible server), installing it on first use
# into a virtual environment outside the clone ($HOME/.cache/arbitre/venv). Everything but the
# final path goes to stderr, so callers can write PY="$(bash scripts/llama-venv.sh)".
set -euo pipefail
PY="${PYTHON:-python3}"
if "$PY" -c 'import llama_cpp.server, numpy' >/dev/null 2>&1; then
  echo "$PY"
  exit 0
fi
VENV="${ARBITRE_VENV:-$HOME/.cache/arbitre/venv}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import llama_cpp.server, numpy' >/dev/null 2>&1; then
  {
    apt_install() {
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
      else
        echo "missing: $* (apt-get install $*)" >&2
        exit 1
      fi
    }
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
      apt_install python3-venv python3-dev build-essential cmake
      python3 -m venv "$VENV"
    fi
    command -v cmake >/dev/null 2>&1 || apt_install build-essential cmake
    echo "== installing llama-cpp-python[server] 0.3.36 and numpy (builds llama.cpp; several minutes, once)"
    "$VENV/bin/pip" install -q 'llama-cpp-python[server]==0.3.36' numpy
  } >&2
fi
echo "$VENV/bin/python"
