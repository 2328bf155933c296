#!/usr/bin/env python3
"""llama.cpp native (llama-cpp-python) on one GGUF file: prefill and decode tokens/s, measured
the way arbitre measures them (crates/engine/src/generate.rs): prefill tok/s = P / time to the
first sampled token, decode tok/s = (G - 1) / time from the first to the last token. Greedy
(argmax of the logits), end-of-generation ignored. llama.cpp's own perf counters
(llama_perf_context) are recorded next to the wall-clock numbers.

Usage: python3 web/bench/llama_cpp_bench.py --model F --ids 1,2,3 --gen 64 --threads 1 --repeat 3
Prints one JSON object on stdout.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama


def one_run(llm, ids, gen):
    llm.reset()
    llama_cpp.llama_perf_context_reset(llm.ctx)
    t0 = time.perf_counter()
    llm.eval(ids)
    tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    t_first = time.perf_counter()
    for _ in range(gen - 1):
        llm.eval([tok])
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    t_end = time.perf_counter()
    perf = llama_cpp.llama_perf_context(llm.ctx)
    return {
        "ttft_ms": (t_first - t0) * 1e3,
        "prefill_tps": len(ids) / (t_first - t0),
        "decode_tps": (gen - 1) / (t_end - t_first),
        "perf": {
            "t_p_eval_ms": perf.t_p_eval_ms,
            "n_p_eval": perf.n_p_eval,
            "t_eval_ms": perf.t_eval_ms,
            "n_eval": perf.n_eval,
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True, help="prompt token ids, comma-separated")
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--n-ctx", type=int, default=512)
    args = ap.parse_args()
    ids = [int(x) for x in args.ids.split(",")]
    t = time.perf_counter()
    llm = Llama(model_path=args.model, n_ctx=args.n_ctx, n_batch=512, n_threads=args.threads,
                n_threads_batch=args.threads, verbose=False, seed=0)
    load_ms = (time.perf_counter() - t) * 1e3
    for _ in range(args.warmup):
        one_run(llm, ids, args.gen)
    runs = [one_run(llm, ids, args.gen) for _ in range(args.repeat)]
    pre = [r["prefill_tps"] for r in runs]
    dec = [r["decode_tps"] for r in runs]
    out = {
        "engine": "llama.cpp (llama-cpp-python %s)" % llama_cpp.__version__,
        "model": args.model,
        "threads": args.threads,
        "prompt_tokens": len(ids),
        "generated_tokens": args.gen,
        "load_ms": load_ms,
        "prefill_tps": statistics.median(pre), "prefill_min": min(pre), "prefill_max": max(pre),
        "decode_tps": statistics.median(dec), "decode_min": min(dec), "decode_max": max(dec),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "runs": runs,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
