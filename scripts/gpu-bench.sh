#!/usr/bin/env bash
# The GPU benchmark of issue 21, prepared here and run once on a machine with a GPU.
#
#   scripts/gpu-bench.sh prepare   # here: builds arbitre (release, stripped) into .gpubench/
#                                  # with the vocabulary it needs, and the Vulkan loader's
#                                  # .deb files into .gl/ (both git-ignored through
#                                  # .git/info/exclude; carry [".gl", ".gpubench"])
#   scripts/gpu-bench.sh run       # there, as root, from the repo root, with $OUT set
#
# `run` unpacks the loaders into / (skipped with GPUBENCH_QUICK=1 or GPUBENCH_SKIP_LOADERS=1),
# finds a Vulkan GPU (else points the loader at the NVIDIA driver's ICD), prints nvidia-smi,
# times the WGSL kernels on large matrices of every weight type (`arbitre gpubench
# --kernels`), writes synthetic models (tiny1b Q4_0, Q4_K_M, Q8_0; llama7b Q4_0; smol135
# Q4_0) into $GPUBENCH_MODELS and times prefill and decode on each, one step at a time, each
# under `timeout`, going on after a failure and skipping what the time budget
# (GPUBENCH_SECONDS, default 330) no longer allows. GPUBENCH_PEAK_GBPS sets the peak bandwidth
# of the % figures (default: 4800 on an H200, else none). $OUT gets gpubench.json (every part's
# numbers: {"run": ..., "parts": [...]}, rewritten after each step) and gpubench.log.
#
# GPUBENCH_QUICK=1 shrinks everything for a software adapter (lavapipe): small matrices, the
# `test` and smol135 shapes, a 16-token prompt and 4 generated tokens:
#   GPUBENCH_QUICK=1 OUT=/tmp/gpuout scripts/gpu-bench.sh run
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
VOCAB_NAME=ggml-vocab-llama-spm.gguf

exclude() {
  local f
  f=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$f")"
  grep -qxF "$1" "$f" 2>/dev/null || echo "$1" >>"$f"
}

prepare() {
  set -e
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arbitre/target}"
  cargo build --release -p arbitre-cli --locked
  exclude /.gpubench/
  rm -rf .gpubench && mkdir -p .gpubench
  cp "$CARGO_TARGET_DIR/release/arbitre" .gpubench/arbitre
  strip .gpubench/arbitre 2>/dev/null || echo "strip not found: the binary stays unstripped"
  cp "../shared/fixtures/vocab/$VOCAB_NAME" .gpubench/
  {
    echo "commit $(git rev-parse HEAD)"
    echo "built $(date -u +%FT%TZ) on $(uname -srm), $(ldd --version | head -1)"
    echo "uncommitted changes (git status --short):"
    git status --short
  } >.gpubench/BUILD
  if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
    # The device machine's notes, verbatim (the exclude line made idempotent).
    exclude /.gl/
    mkdir -p .gl /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    apt-get $o update
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  ls -la .gpubench .gl
  local kib
  kib=$(du -sk .gpubench .gl | awk '{s += $1} END {print s}')
  echo "carry [\".gl\", \".gpubench\"]: $((kib / 1024)) MiB ($kib KiB) in all"
  if [ "$kib" -ge $((60 * 1024)) ]; then
    echo "too large to carry (limit 60 MiB)" >&2
    exit 1
  fi
}

run() {
  local OUT=${OUT:-/tmp/gpubench-out}
  local QUICK=${GPUBENCH_QUICK:-0}
  local BUDGET=${GPUBENCH_SECONDS:-330}
  local MODELS=${GPUBENCH_MODELS:-/tmp/gpubench-models}
  local PARTS=/tmp/gpubench-parts.$$
  local BIN=.gpubench/arbitre VOCAB=.gpubench/$VOCAB_NAME
  mkdir -p "$OUT" "$MODELS" "$PARTS"
  exec > >(tee -a "$OUT/gpubench.log") 2>&1
  local T0=$SECONDS
  echo "gpu-bench run: $(date -u +%FT%TZ), quick=$QUICK, budget ${BUDGET}s, $(nproc) cores, $(uname -srm)"
  cat .gpubench/BUILD 2>/dev/null | head -3

  # step SECONDS CMD...: CMD under `timeout`, capped by what is left of the budget.
  step() {
    local secs=$1 left rc
    shift
    left=$((BUDGET - (SECONDS - T0)))
    if [ "$left" -lt 15 ]; then
      echo "== SKIPPED (budget spent): $*"
      return 124
    fi
    [ "$secs" -gt "$left" ] && secs=$left
    echo "== [$((SECONDS - T0))s] $* (timeout ${secs}s)"
    timeout -k 5 "$secs" "$@"
    rc=$?
    echo "== [$((SECONDS - T0))s] rc=$rc"
    return $rc
  }
  # Every part so far into $OUT/gpubench.json.
  merge() {
    local f first=1
    {
      printf '{"run": {"quick": %s, "seconds": %s, "build": "%s"},\n "parts": [\n' \
        "$QUICK" "$((SECONDS - T0))" "$(head -1 .gpubench/BUILD 2>/dev/null)"
      for f in "$PARTS"/*.json; do
        [ -s "$f" ] || continue
        [ $first = 1 ] || echo ","
        cat "$f"
        first=0
      done
      printf '\n]}\n'
    } >"$OUT/gpubench.json.tmp" && mv "$OUT/gpubench.json.tmp" "$OUT/gpubench.json"
  }

  if [ ! -x "$BIN" ]; then
    echo "no $BIN: run 'scripts/gpu-bench.sh prepare' first and carry .gpubench" >&2
    return 1
  fi
  if [ "${GPUBENCH_SKIP_LOADERS:-$QUICK}" != 1 ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  ldconfig -p | grep -i libvulkan || echo "no libvulkan in ldconfig's cache"
  if ! step 60 "$BIN" gpubench --list-adapters; then
    local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [ -f "$icd" ]; then
      echo "no Vulkan GPU found: trying the NVIDIA driver's ICD $icd"
      export VK_DRIVER_FILES=$icd
      export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
      if ! step 60 "$BIN" gpubench --list-adapters; then
        echo "still no GPU adapter: going on with whatever wgpu finds"
        unset VK_DRIVER_FILES __EGL_VENDOR_LIBRARY_FILENAMES
      fi
    else
      echo "no GPU adapter and no $icd: going on with whatever wgpu finds"
    fi
  fi
  if command -v nvidia-smi >/dev/null; then
    timeout 20 nvidia-smi
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit --format=csv
  fi

  # Models as shape:quant:seconds, the most wanted first.
  local kargs=(--kernels) margs=(--prompt-tokens 512 --gen-tokens 128 --repeat 3 --warmup 1) ksecs=150
  local models=(tiny1b:q4_0:90 llama7b:q4_0:150 tiny1b:q4_k_m:90 tiny1b:q8_0:90 smol135:q4_0:60)
  if [ "$QUICK" = 1 ]; then
    kargs=(--kernels --quick) margs=(--prompt-tokens 16 --gen-tokens 4 --repeat 1 --warmup 0) ksecs=150
    models=(test:q4_k_m:120 smol135:q4_0:150)
  fi
  if [ -n "${GPUBENCH_PEAK_GBPS:-}" ]; then
    kargs+=(--peak-gbps "$GPUBENCH_PEAK_GBPS") margs+=(--peak-gbps "$GPUBENCH_PEAK_GBPS")
  fi
  step "$ksecs" "$BIN" gpubench "${kargs[@]}" --json "$PARTS/00-kernels.json"
  merge
  local i=1 m shape quant secs file
  for m in "${models[@]}"; do
    IFS=: read -r shape quant secs <<<"$m"
    file=$MODELS/$shape-$quant.gguf
    if [ -s "$file" ] || step 90 "$BIN" synth --shape "$shape" --quant "$quant" --vocab "$VOCAB" --out "$file"; then
      step "$secs" "$BIN" gpubench --model "$file" "${margs[@]}" --json "$PARTS/1$i-$shape-$quant.json"
      merge
    fi
    rm -f "$file"
    i=$((i + 1))
  done
  merge
  rm -rf "$PARTS"
  echo "gpu-bench done in $((SECONDS - T0))s: $OUT/gpubench.json, $OUT/gpubench.log"
  sleep 1 # lets tee write the log's last lines
}

case "$MODE" in
  prepare) prepare ;;
  run) run ;;
  *)
    echo "usage: $0 prepare|run" >&2
    exit 2
    ;;
esac
