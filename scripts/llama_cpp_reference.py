#!/usr/bin/env python3
"""Records llama.cpp's greedy outputs on arbitre's synthetic models (the golden references of
crates/engine/tests/families.rs).

For each architecture x weight type it asks `arbitre synth` for the model (random weights,
fixed seed, a real vocabulary from ../shared/fixtures/vocab), runs llama.cpp through
llama-cpp-python on it, and writes tests/golden/synth/<arch>-<quant>.json with:
  sha256        of the synthetic file (the test regenerates it and checks it is the same file)
  prompt_ids    llama.cpp's tokens for PROMPT (BOS as the vocab says)
  ids           64 greedy token ids
  margins       llama.cpp's top-1 minus top-2 logit at each of the 64 steps
  top_logits    the 16 largest (id, logit) pairs at the first 4 steps
  late_top_logits  the same at steps 16, 32, 48 and 63, past a sliding window (Gemma 3's
                synthetic window is 16) where greedy ids alone may not tell

Usage: pip install llama-cpp-python==0.3.36 numpy && cargo build --release -p arbitre-cli &&
       python3 scripts/llama_cpp_reference.py [--arbitre target/release/arbitre]
"""
import argparse, hashlib, json, os, subprocess, sys, tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_safe  # noqa: E402,F401  (plain CPU buffers: see llama_safe.py; before any model loads)
from llama_cpp import Llama, __version__ as LLAMA_CPP_PYTHON_VERSION  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.environ.get("ARBITRE_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
PROMPT = "Once upon a time"
STEPS = 64
LATE_STEPS = (16, 32, 48, 63)
# Architecture: (vocabulary, shape). Gemma 3 needs six layers for its pattern of five
# sliding-window layers and one global layer.
FAMILIES = {"llama": ("llama-spm", "test"), "qwen2": ("gpt-2", "test"), "phi3": ("phi-3", "test"),
            "qwen3": ("gpt-2", "test"), "gemma3": ("llama-spm", "test6")}
QUANTS = ["f32", "q8_0", "q4_0", "q4_k"]
SEED = 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arbitre", default=os.path.join(ROOT, "target", "release", "arbitre"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "synth"))
    ap.add_argument("arch", nargs="*", help="architectures to record (default: all)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for arch, (vocab, shape) in FAMILIES.items():
            if args.arch and arch not in args.arch:
                continue
            for quant in QUANTS:
                path = os.path.join(tmp, f"{arch}-{quant}.gguf")
                subprocess.run([args.arbitre, "synth", "--arch", arch, "--quant", quant, "--seed", str(SEED), "--shape", shape,
                                "--vocab", os.path.join(FIXTURES, "vocab", f"ggml-vocab-{vocab}.gguf"), "--out", path],
                               check=True, stderr=subprocess.DEVNULL)
                with open(path, "rb") as f:
                    sha = hashlib.sha256(f.read()).hexdigest()
                record = run(path)
                record.update({"arch": arch, "quant": quant, "vocab": vocab, "shape": shape, "seed": SEED, "sha256": sha,
                               "prompt": PROMPT, "llama_cpp_python": LLAMA_CPP_PYTHON_VERSION})
                out = os.path.join(args.out, f"{arch}-{quant}.json")
                with open(out, "w") as f:
                    json.dump(record, f, indent=1)
                    f.write("\n")
                print(f"{arch}-{quant}: {record['ids'][:8]}... min margin {min(record['margins']):.4f}", file=sys.stderr)


def run(path):
    llm = Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=1, logits_all=True, verbose=False, seed=0)
    prompt = llm.tokenize(PROMPT.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(prompt)
    ids, margins, top, late = [], [], [], {}
    for step in range(STEPS):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        order = np.argsort(-logits, kind="stable")
        tok = int(order[0])
        ids.append(tok)
        margins.append(float(logits[order[0]] - logits[order[1]]))
        if step < 4:
            top.append([[int(i), float(logits[i])] for i in order[:16]])
        if step in LATE_STEPS:
            late[str(step)] = [[int(i), float(logits[i])] for i in order[:16]]
        llm.eval([tok])
    return {"prompt_ids": [int(t) for t in prompt], "ids": ids, "margins": margins, "top_logits": top, "late_top_logits": late}


if __name__ == "__main__":
    main()
