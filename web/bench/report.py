#!/usr/bin/env python3
"""Writes BENCHMARKS.md and its chart (web/bench/chart.svg) from the JSON that scripts/bench.sh
collected in one directory:
  env.json                  machine, load averages, command, memory bandwidth
  <file>.arbitre-t1.json    `arbitre bench --threads 1 --json` (and -t2)
  <file>.llamacpp-t1.json   web/bench/llama_cpp_bench.py --threads 1 (and -t2)
  browser.json              web/bench/run.mjs (arbitre page CPU / WebGPU, wllama 2.3.1 / 3.8.1)

Roofline: decode reads every weight matrix once per token; the token embedding table is only
read one row per token (these files have a separate output.weight, so the table is not the LM
head). bytes/token = sum of all tensor bytes - token_embd bytes + one token_embd row; KV-cache
reads (about 1-3% of that at 64+64 tokens on smol135) are left out. roofline tok/s =
single-thread read bandwidth / bytes/token.

Usage: python3 web/bench/report.py DIR --out BENCHMARKS.md --chart web/bench/chart.svg
"""
import argparse
import json
import os

import gguf


MARKER = "<!-- Everything below this line is kept when scripts/bench.sh rewrites the file. -->"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def type_mix(path):
    """'Q4_K ×120 (56.1 MB), Q5_0 ×30 (...)': the weight types of a file, largest first."""
    r = gguf.GGUFReader(path)
    mix = {}
    for t in r.tensors:
        n, b = mix.get(t.tensor_type.name, (0, 0))
        mix[t.tensor_type.name] = (n + 1, b + int(t.n_bytes))
    return ", ".join(f"{k} ×{n} ({b / 1e6:.1f} MB)" for k, (n, b) in sorted(mix.items(), key=lambda kv: -kv[1][1]))


def bytes_per_token(path):
    r = gguf.GGUFReader(path)
    total = sum(int(t.n_bytes) for t in r.tensors)
    names = {t.name: t for t in r.tensors}
    emb = names.get("token_embd.weight")
    if emb is None:
        return total
    rows = int(emb.shape[-1])
    if "output.weight" in names:
        return total - int(emb.n_bytes) + int(emb.n_bytes) // rows
    return total  # tied: the table is the LM head and is read whole


def fmt(x, nd=1):
    return "—" if x is None else f"{x:.{nd}f}"


def spread(lo, hi):
    return "" if lo is None or hi is None else f" ({lo:.0f}–{hi:.0f})"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--chart", default="web/bench/chart.svg")
    args = ap.parse_args()
    env = load(os.path.join(args.dir, "env.json")) or {}
    browser = (load(os.path.join(args.dir, "browser.json")) or {}).get("results", {})
    files = env.get("files", [])
    bw = env.get("membw", {})
    read_gbs = bw.get("read_gbs")

    rows_by_file = {}
    for path in files:
        name = os.path.basename(path)
        stem = os.path.join(args.dir, name)
        b = browser.get(name, {})
        bpt = bytes_per_token(path)
        rows = []

        def add(engine, where, threads, pre, dec, pre_lo=None, pre_hi=None, dec_lo=None, dec_hi=None, mem=None, note=""):
            rows.append(dict(engine=engine, where=where, threads=threads, pre=pre, dec=dec, pre_lo=pre_lo,
                             pre_hi=pre_hi, dec_lo=dec_lo, dec_hi=dec_hi, mem=mem, note=note))

        for t in (1, 2):
            a = load(f"{stem}.arbitre-t{t}.json")
            if a:
                add("arbitre", "native", t, a["prefill_tps"]["median"], a["decode_tps"]["median"],
                    a["prefill_tps"]["min"], a["prefill_tps"]["max"], a["decode_tps"]["min"], a["decode_tps"]["max"],
                    a.get("peak_rss_bytes"))
            else:
                add("arbitre", "native", t, None, None, note="not run / failed")
        for t in (1, 2):
            l = load(f"{stem}.llamacpp-t{t}.json")
            if l:
                add("llama.cpp (llama-cpp-python 0.3.36)", "native", t, l["prefill_tps"], l["decode_tps"],
                    l["prefill_min"], l["prefill_max"], l["decode_min"], l["decode_max"], l.get("peak_rss_bytes"))
            else:
                add("llama.cpp (llama-cpp-python 0.3.36)", "native", t, None, None, note="not run / failed")
        c = b.get("arbitre_cpu", {})
        if c.get("state") == "done":
            add("arbitre page, CPU", "Chromium", 1, c["prefill_tps"], c["decode_tps"], c["prefill_min"],
                c["prefill_max"], c["decode_min"], c["decode_max"], note=c.get("backend_line", ""))
        else:
            add("arbitre page, CPU", "Chromium", 1, None, None, note=f"{c.get('state', 'not run')}: {c.get('error', '')}")
        g = b.get("arbitre_webgpu")
        if g is not None:
            s = (g.get("runs") or [{}])[0] if g.get("runs") else {}
            add("arbitre page, backend=webgpu (1 run, informational)", "Chromium", 1, s.get("prefill_tps"),
                s.get("decode_tps"), note=("page says: " + g.get("backend_line", "")) if g.get("state") == "done"
                else f"{g.get('state')}: {g.get('error', '')}; page says: {g.get('backend_line', '')}")
        for lib in ("2", "3"):
            w = b.get(f"wllama{lib}")
            label = f"wllama {'2.3.1' if lib == '2' else '3.8.1'}"
            if w and w.get("state") == "done":
                note = "threads %s" % w.get("threads")
                if lib == "3":
                    note += ", llama.cpp's own timings"
                add(label, "Chromium", 1, w["prefill_tps"], w["decode_tps"], w["prefill_min"], w["prefill_max"],
                    w["decode_min"], w["decode_max"], note=note)
            elif w:
                add(label, "Chromium", 1, None, None, note=f"{w.get('state')}: {w.get('error', '')}")
        rows_by_file[name] = (rows, bpt, os.path.getsize(path), path)

    def get(rows, engine_prefix, threads=None, where=None):
        for r in rows:
            if r["engine"].startswith(engine_prefix) and (threads is None or r["threads"] == threads) and \
                    (where is None or r["where"] == where):
                return r
        return None

    out = []
    out.append("# Benchmarks\n")
    out.append("arbitre against its peers on the same GGUF files, side by side in one run of "
               "`scripts/bench.sh` (issue 7). The files are the project's synthetic benchmark models "
               "(`arbitre synth`: random weights, fixed seed, real SmolLM2-135M / TinyLlama-1.1B shapes, the "
               "llama SPM vocabulary); speed does not depend on the weights' values.\n")
    out.append("## How it was measured\n")
    out.append(f"- Command: `{env.get('command', '?')}` ({env.get('date', '?')}, git `{env.get('git', '?')}`).")
    out.append(f"- Machine: {env.get('cpu', '?')}, {env.get('ncpu', '?')} cores, {env.get('mem', '?')} RAM; "
               f"{env.get('os', '?')}. Shared with other work: the load average is part of the result.")
    out.append(f"- Load average (1/5/15 min): at start **{env.get('load_start', '?')}**"
               f"{' after waiting ' + str(env.get('load_waited_s')) + ' s for it to drop' if env.get('load_waited_s') else ''}"
               f", at end **{env.get('load_end', '?')}**. {env.get('load_note', '')}")
    out.append(f"- Single-thread memory bandwidth (web/bench/membw.c, 256 MiB arrays, best of 7): read "
               f"**{fmt(bw.get('read_gbs'))} GB/s**, copy {fmt(bw.get('copy_gbs'))} GB/s (STREAM convention, "
               "read + write bytes).")
    out.append(f"- Prompt: {env.get('prompt_tokens', '?')} tokens (BOS + a fixed English text repeated, the page's "
               f"bench prompt; every engine gets the same token ids), then {env.get('gen_tokens', '?')} generated "
               "tokens, greedy, end-of-generation ignored. Median of "
               f"{env.get('repeat', '?')} runs after one warm-up run; (min–max) in brackets.")
    out.append("- Definitions (arbitre's, applied to every engine): prefill tok/s = prompt tokens ÷ time to the "
               "first sampled token; decode tok/s = (generated − 1) ÷ time from the first to the last token. "
               "llama.cpp native and wllama 2.3.1 are timed by wall clock around their decode calls; wllama 3.8.1 "
               "offers only a llama-server-style completion, so its own `timings` are used.")
    out.append("- Browser: " + (env.get("chromium") or "?") + ", headless, the e2e suite's flags; single "
               "thread everywhere (the page is not cross-origin isolated). WebGPU there is SwiftShader (a CPU "
               "emulation of a GPU): informational only.")
    out.append("- Roofline: single-thread read bandwidth ÷ bytes of weights read per generated token (all "
               "tensors minus the token-embedding table, of which one row is read; the files have a separate "
               "`output.weight`). KV-cache reads are ignored (a few % at this length).\n")

    # Headline ratios.
    out.append("## Headline ratios (decode, same file, same run)\n")
    out.append("| file | arbitre page ÷ better wllama | arbitre page ÷ llama.cpp 1 thread | arbitre native ÷ "
               "llama.cpp, 1 thread | arbitre native ÷ llama.cpp, 2 threads | prefill: arbitre page ÷ better wllama |")
    out.append("|---|---|---|---|---|---|")
    chart = []
    for name, (rows, bpt, size, path) in rows_by_file.items():
        page = get(rows, "arbitre page, CPU")
        w2, w3 = get(rows, "wllama 2"), get(rows, "wllama 3")
        ws = [w for w in (w2, w3) if w and w["dec"] is not None]
        best_w_dec = max((w["dec"] for w in ws), default=None)
        best_w_pre = max((w["pre"] for w in ws), default=None)
        l1, l2 = get(rows, "llama.cpp", 1), get(rows, "llama.cpp", 2)
        a1, a2 = get(rows, "arbitre", 1, "native"), get(rows, "arbitre", 2, "native")

        def r(x, y):
            v = ratio(x, y)
            return "—" if v is None else f"**{v:.2f}×**"

        out.append(f"| {name} | {r(page and page['dec'], best_w_dec)} | {r(page and page['dec'], l1 and l1['dec'])} | "
                   f"{r(a1 and a1['dec'], l1 and l1['dec'])} | {r(a2 and a2['dec'], l2 and l2['dec'])} | "
                   f"{r(page and page['pre'], best_w_pre)} |")
        roof = read_gbs * 1e9 / bpt if read_gbs else None
        chart.append((name, rows, roof))
    out.append("\nGoals from issue 7: page ÷ better wllama ≥ 1.5 (decode and prefill), page ÷ llama.cpp-1-thread "
               "≥ 0.35, native ÷ llama.cpp ≥ 0.9. A ratio below 1 means arbitre is slower.\n")
    out.append("![decode tokens/s per engine and file, with the bandwidth roofline](web/bench/chart.svg)\n")

    for name, (rows, bpt, size, path) in rows_by_file.items():
        roof = read_gbs * 1e9 / bpt if read_gbs else None
        out.append(f"## {name}\n")
        out.append(f"Tensor types: {type_mix(path)}.\n")
        out.append(f"File {size / 1e6:.1f} MB; weights read per token ≈ {bpt / 1e6:.1f} MB; decode roofline "
                   f"**{fmt(roof, 0)} tok/s** (1 thread, {fmt(read_gbs)} GB/s).\n")
        out.append("| engine | where | threads | prefill tok/s | decode tok/s | decode ÷ roofline | peak RSS | notes |")
        out.append("|---|---|---|---|---|---|---|---|")
        for x in rows:
            mem = "—" if not x["mem"] else f"{x['mem'] / 2**20:.0f} MiB"
            rr = ratio(x["dec"], roof)
            out.append(f"| {x['engine']} | {x['where']} | {x['threads']} | {fmt(x['pre'])}{spread(x['pre_lo'], x['pre_hi'])} | "
                       f"{fmt(x['dec'])}{spread(x['dec_lo'], x['dec_hi'])} | {'—' if rr is None else f'{rr * 100:.0f}%'} | "
                       f"{mem} | {x['note'].replace('|', '/')} |")
        out.append("")
    out.append("Peak RSS: `VmHWM` of the arbitre process (the whole file is read into memory, then the weights are "
               "copied into the backend's layout) and `ru_maxrss` of the Python process for llama.cpp (which "
               "mmaps the file). Browser memory is not measured.\n")
    out.append("wllama 3.8.1 gets the prompt as text: its `createCompletion` fails on a token-id prompt (a "
               "RangeError in its worker), so scripts/bench.sh detokenizes the ids and checks that llama.cpp's "
               "tokenizer gives the same ids back; its `timings.prompt_n` confirms the prompt length.\n")
    # Hand-written analysis below the marker survives regeneration.
    kept = ""
    try:
        with open(args.out) as f:
            old = f.read()
        if MARKER in old:
            kept = old[old.index(MARKER):]
    except OSError:
        pass
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n" + (kept or MARKER + "\n"))
    write_chart(args.chart, chart)


def write_chart(path, chart):
    """Grouped horizontal bars of decode tok/s per file, with the roofline as a tick."""
    series = [("arbitre", 1, "native", "arbitre native 1t", "#1f6feb"),
              ("arbitre", 2, "native", "arbitre native 2t", "#79b8ff"),
              ("llama.cpp", 1, "native", "llama.cpp 1t", "#d73a49"),
              ("llama.cpp", 2, "native", "llama.cpp 2t", "#f97583"),
              ("arbitre page, CPU", 1, "Chromium", "arbitre page (wasm)", "#28a745"),
              ("wllama 2", 1, "Chromium", "wllama 2.3.1", "#6f42c1"),
              ("wllama 3", 1, "Chromium", "wllama 3.8.1", "#b392f0")]
    bar_h, gap, left, width = 14, 22, 170, 520
    # One scale per model shape (smol135, tiny1b): a 1B model decodes ~8x slower than a 135M
    # one, and on a shared scale its bars would be slivers.
    shape = lambda name: name.split("-")[0]
    vmax = {}
    for name, rows, roof in chart:
        for v in [r["dec"] for r in rows if r["dec"]] + ([roof] if roof else []):
            vmax[shape(name)] = max(vmax.get(shape(name), 1.0), v)
    y = 40
    parts = []
    if len(vmax) > 1:
        parts.append('<text x="10" y="38" font-size="12" fill="#555">Each model shape has its own scale '
                     '(given beside each file name).</text>')
        y = 54
    for name, rows, roof in chart:
        scale = width / vmax.get(shape(name), 1.0)
        note = (f'<tspan font-weight="normal" font-size="11" fill="#555">   scale 0–{vmax[shape(name)]:.0f} tok/s</tspan>'
                if len(vmax) > 1 else '')
        parts.append(f'<text x="10" y="{y + 10}" font-weight="bold">{name}{note}</text>')
        y0 = y + 18
        for eng, th, where, label, color in series:
            r = next((r for r in rows if r["engine"].startswith(eng) and r["threads"] == th and r["where"] == where), None)
            v = r["dec"] if r else None
            parts.append(f'<text x="{left - 6}" y="{y0 + 11}" text-anchor="end">{label}</text>')
            if v:
                parts.append(f'<rect x="{left}" y="{y0}" width="{v * scale:.1f}" height="{bar_h}" fill="{color}"/>')
                parts.append(f'<text x="{left + v * scale + 4:.1f}" y="{y0 + 11}">{v:.1f}</text>')
            else:
                parts.append(f'<text x="{left + 4}" y="{y0 + 11}" fill="#888">not measured</text>')
            y0 += bar_h + 4
        if roof:
            x = left + roof * scale
            parts.append(f'<line x1="{x:.1f}" y1="{y + 14}" x2="{x:.1f}" y2="{y0}" stroke="#000" stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{x - 4:.1f}" y="{y + 12}" text-anchor="end" font-size="11">roofline {roof:.0f}</text>')
        y = y0 + gap
    h = y + 10
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="#fff"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">Decode tokens/s (higher is better; dashed: '
           '1-thread bandwidth roofline)</text>'] + parts + ['</svg>']
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
