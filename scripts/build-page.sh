#!/usr/bin/env bash
# Builds the static page into dist/ with Trunk (release). Installs what is missing on a fresh
# Debian machine: the wasm32 target, wasm-bindgen-cli at the Cargo.lock version, Trunk 0.21.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arbitre/target}"
export CARGO_TERM_COLOR=never

log() { printf '[build-page] %s\n' "$*" >&2; }

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "installing rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

WB_VERSION="$(awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = "wasm-bindgen"$/ { name = "wasm-bindgen"; next }
    name == "wasm-bindgen" && /^version = / { gsub(/version = |"/, ""); print; exit }
' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "installing wasm-bindgen-cli $WB_VERSION"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked || cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# Trunk 0.22 needs a newer rustc than the project's; 0.21 is pinned.
if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  log "installing trunk 0.21 (one-off, a few minutes)"
  cargo install trunk --version '~0.21' --locked
fi

cargo fetch --locked >/dev/null
log "trunk build --release"
trunk build --release --offline --locked
ls -l dist >&2
