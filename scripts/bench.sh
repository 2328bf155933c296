#!/usr/bin/env bash
# Benchmarks arbitre against its peers on the same GGUF files, in one go, and writes
# BENCHMARKS.md (+ web/bench/chart.svg). See issue 7 and web/bench/.
#
#   scripts/bench.sh [--tiny1b] [--real TYPE,TYPE...] [--prompt-tokens 64] [--gen-tokens 64]
#                    [--repeat 3] [--max-load 1.5] [--wait-load 900] [--skip-browser]
#                    [--out BENCHMARKS.md]
#
# --real measures real SmolLM2-135M-Instruct weights in the named GGUF types (scripts/real-models.sh:
# the published Q4_1 file and llama.cpp's requantizations of it; `--real all` for every type)
# instead of the synthetic files.
#
# Runs, for each file in target/synth/ (smol135 q8_0/q4_0/q4_k_m, made if missing; tiny1b too
# with --tiny1b): `arbitre bench` native with 1 and 2 threads; llama.cpp native through
# llama-cpp-python 0.3.36 with 1 and 2 threads; then in one headless Chromium (web/bench/run.mjs)
# arbitre's page in bench mode on the CPU and with backend=webgpu, wllama 2.3.1 and 3.8.1
# single-threaded. Before measuring it waits (up to --wait-load seconds) for the 1-minute load
# average to fall below --max-load, and records the load next to the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arbitre/target}"
P=64 G=64 R=3 MAX_LOAD=1.5 WAIT_LOAD=900 TINY=0 BROWSER=1 OUT=BENCHMARKS.md REAL=""
CMD="scripts/bench.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny1b) TINY=1 ;;
    --real) REAL=$2; shift ;;
    --prompt-tokens) P=$2; shift ;;
    --gen-tokens) G=$2; shift ;;
    --repeat) R=$2; shift ;;
    --max-load) MAX_LOAD=$2; shift ;;
    --wait-load) WAIT_LOAD=$2; shift ;;
    --skip-browser) BROWSER=0 ;;
    --out) OUT=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[bench] %s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
loads() { cut -d' ' -f1-3 /proc/loadavg; }

# --- prerequisites --------------------------------------------------------------------------
log "building the release CLI"
cargo build --release -p arbitre-cli --offline -q
ARBITRE="$CARGO_TARGET_DIR/release/arbitre"
if ! python3 -c "import llama_cpp, numpy, gguf" 2>/dev/null; then
  log "installing llama-cpp-python 0.3.36 (builds llama.cpp: several minutes)"
  pip install llama-cpp-python==0.3.36 numpy gguf
fi
if [ "$BROWSER" = 1 ]; then
  [ -f dist/index.html ] || bash scripts/build-page.sh
  [ -d web/node_modules/wllama-2 ] && [ -d web/node_modules/wllama-3 ] || (cd web && npm ci)
fi
SYNTH=target/synth BENCH=target/bench
mkdir -p "$SYNTH" "$BENCH"
VOCAB="${ARBITRE_FIXTURES:-$ROOT/../shared/fixtures}/vocab/ggml-vocab-llama-spm.gguf"
SHAPES="smol135"
[ "$TINY" = 1 ] && SHAPES="smol135 tiny1b"
FILES=()
if [ -n "$REAL" ]; then
  SHAPES=""
  [ "$REAL" = all ] && REAL="F32,F16,BF16,Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q4_K_M,Q5_K_M,Q6_K,Q3_K_M,Q2_K,IQ4_NL,IQ4_XS"
  IFS=, read -r -a REAL_TYPES <<<"$REAL"
  MODELS="$(bash scripts/real-models.sh "${REAL_TYPES[@]}")"
  for t in "${REAL_TYPES[@]}"; do
    # Linked into target/synth, where the browser run's server serves benchmark files.
    name="smollm2-135m-instruct-$(echo "$t" | tr 'A-Z' 'a-z').gguf"
    ln -sfn "$MODELS/$name" "$SYNTH/$name"
    FILES+=("$SYNTH/$name")
  done
fi
for shape in $SHAPES; do
  for quant in q8_0 q4_0 q4_k_m; do
    f="$SYNTH/$shape-$quant.gguf"
    if [ ! -s "$f" ]; then
      log "making $f"
      "$ARBITRE" synth --shape "$shape" --quant "$quant" --vocab "$VOCAB" --out "$f"
    fi
    FILES+=("$f")
  done
done
cc -O3 -march=native -o "$BENCH/membw" web/bench/membw.c

# --- wait for a quiet machine -----------------------------------------------------------------
waited=0
while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "$WAIT_LOAD" ]; do
  log "load $(loads): waiting for the 1-minute load to fall below $MAX_LOAD ($waited/$WAIT_LOAD s)"
  sleep 20
  waited=$((waited + 20))
done
LOAD_START="$(loads)"
log "load at start: $LOAD_START"
MEMBW="$("$BENCH/membw")"
log "memory bandwidth: $MEMBW"

# --- native ---------------------------------------------------------------------------------
IDS=""
for f in "${FILES[@]}"; do
  name=$(basename "$f")
  for t in 1 2; do
    log "$name: arbitre native, $t thread(s)"
    "$ARBITRE" bench --model "$f" --threads "$t" --prompt-tokens "$P" --gen-tokens "$G" --repeat "$R" --json \
      > "$BENCH/$name.arbitre-t$t.json" || log "  failed"
  done
  if [ -z "$IDS" ]; then
    IDS=$(python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompt_ids"])))' \
      "$BENCH/$name.arbitre-t1.json")
  fi
  for t in 1 2; do
    log "$name: llama.cpp native, $t thread(s)"
    python3 web/bench/llama_cpp_bench.py --model "$f" --ids "$IDS" --gen "$G" --threads "$t" --repeat "$R" \
      > "$BENCH/$name.llamacpp-t$t.json" 2>/dev/null || log "  failed"
  done
done

# --- browser --------------------------------------------------------------------------------
if [ "$BROWSER" = 1 ]; then
  # wllama 3 takes the prompt as text: the ids detokenized, checked to tokenize back the same.
  python3 - "${FILES[0]}" "$IDS" > "$BENCH/prompt.txt" <<'EOF'
import sys
from llama_cpp import Llama
ids = [int(x) for x in sys.argv[2].split(",")]
llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
text = llm.detokenize(ids[1:]).decode()
text = text[1:] if text.startswith(" ") else text
back = llm.tokenize(text.encode(), add_bos=True, special=False)
print(f"prompt text round trip: {'same ids' if back == ids else 'DIFFERENT ids'}", file=sys.stderr)
sys.stdout.write(text)
EOF
  log "browser: arbitre page (CPU, WebGPU), wllama 2.3.1 and 3.8.1"
  (cd web && node bench/run.mjs --models "$(IFS=,; echo "${FILES[*]/#/$ROOT/}")" --ids "$IDS" \
    --text-file "$ROOT/$BENCH/prompt.txt" --prompt-tokens "$P" --gen-tokens "$G" --repeat "$R" \
    --out "$ROOT/$BENCH/browser.json") || log "browser run failed"
fi
LOAD_END="$(loads)"
log "load at end: $LOAD_END"

# --- report ---------------------------------------------------------------------------------
python3 - "$BENCH/env.json" <<EOF
import json, platform, subprocess, sys, datetime
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"
browser = {}
try:
    browser = json.load(open("$BENCH/browser.json"))
except Exception:
    pass
env = {
    "command": "$CMD".strip(),
    "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    "git": sh("git rev-parse --short HEAD") + (" + uncommitted changes" if sh("git status --porcelain") else ""),
    "cpu": sh("lscpu | sed -n 's/^Model name: *//p'") + " (" + sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'") + " VM)",
    "ncpu": sh("nproc"),
    "mem": sh("free -h | awk '/^Mem/ {print \$2}'"),
    "os": platform.platform(),
    "load_start": "$LOAD_START",
    "load_end": "$LOAD_END",
    "load_waited_s": $waited,
    "load_note": "" if float("$LOAD_START".split()[0]) < $MAX_LOAD else "The load did not fall below $MAX_LOAD in $WAIT_LOAD s: other processes shared the 2 cores, so the numbers (2-thread ones most) are lower than on a quiet machine.",
    "membw": json.loads('$MEMBW'),
    "files": "${FILES[*]}".split(),
    "prompt_tokens": $P, "gen_tokens": $G, "repeat": $R,
    "chromium": browser.get("chromium"),
    "webgpu_adapter": browser.get("webgpu_adapter"),
}
json.dump(env, open(sys.argv[1], "w"), indent=1)
EOF
python3 web/bench/report.py "$BENCH" --out "$OUT" --chart web/bench/chart.svg
log "wrote $OUT and web/bench/chart.svg"
