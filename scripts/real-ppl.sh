#!/usr/bin/env bash
# Perplexity of arbitre and llama.cpp on the real SmolLM2-135M-Instruct files, every type that
# has a reference in tests/golden/real/ (scripts/real_reference.py), on tests/golden/real/text.txt;
# prints a Markdown table for BENCHMARKS.md. Types arbitre refuses are listed with the reason.
#
#   scripts/real-ppl.sh [TYPE...]        (default: every recorded type)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arbitre/target}"
MODELS="$(bash scripts/real-models.sh)"
cargo build -q --release -p arbitre-cli --locked
BIN="$CARGO_TARGET_DIR/release/arbitre"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
if [ $# -gt 0 ]; then types=("$@"); else
  types=(); for f in tests/golden/real/ppl-*.json; do t="${f##*/ppl-}"; types+=("${t%.json}"); done
fi
for t in "${types[@]}"; do
  t="$(echo "$t" | tr 'A-Z' 'a-z')"
  ref="tests/golden/real/ppl-$t.json"
  file="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['file'])" "$ref")"
  echo "== $t" >&2
  RAYON_NUM_THREADS="${THREADS:-1}" "$BIN" perplexity --model "$MODELS/$file" --file tests/golden/real/text.txt \
    --reference "$ref" --json "$OUT/$t.json" 2>"$OUT/$t.err" >/dev/null || true
  tail -n 2 "$OUT/$t.err" >&2
done
python3 - "$OUT" "${types[@]}" <<'PY'
import json, os, sys
out, types = sys.argv[1], sys.argv[2:]
print("| type | file MB | llama.cpp ppl | arbitre ppl | gap | top-1 vs llama.cpp | llama.cpp with itself | rule | arbitre s |")
print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
for t in types:
    ref = json.load(open(f"tests/golden/real/ppl-{t}.json"))
    row = f"| {ref['type']} | {ref['size_bytes'] / 1e6:.1f} | {ref['perplexity']:.4f} |"
    path = os.path.join(out, f"{t}.json")
    if not os.path.exists(path):
        err = open(os.path.join(out, f"{t}.err")).read().strip().splitlines()
        print(row + f" refused: {err[-1] if err else '?'} | | | | | |")
        continue
    r = json.load(open(path))
    l = r["llama_cpp"]
    print(row + f" {r['perplexity']:.4f} | {100 * (r['perplexity'] / l['perplexity'] - 1):+.3f}% |"
          f" {100 * l['top1_agreement']:.2f}% | {100 * l['self_top1_agreement']:.2f}% |"
          f" {'met' if l['passes'] else 'MISSED'} | {r['seconds']:.0f} |")
PY
