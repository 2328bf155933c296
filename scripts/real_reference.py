"""Records llama.cpp's references on the real SmolLM2-135M-Instruct files of real-models.sh.

Usage (llama-cpp-python 0.3.36 and numpy; scripts/llama-venv.sh prints such a Python):
    python3 scripts/real_reference.py MODELS_DIR [chats] [TYPE...]   (nothing named: all)
    python3 scripts/real_reference.py MODELS_DIR gemma3   (Gemma 3 270M: real-models.sh --gemma F32)

Writes into tests/golden/real/:
- chats.json: greedy chat answers of llama.cpp on the F32 file for the conversations of
  conversations.json (temperature 0, repeat penalty 1, at most `max_tokens` tokens), with the
  prompt token ids llama.cpp used. F32 files are compared exactly.
- ppl-<type>.json, per file type: the scoring of text.txt the way llama-perplexity does it
  (windows of 512 tokens, BOS first where the vocabulary adds one, the second half of each
  window scored), once with each window evaluated in one batch and, on the first
  STEP_WINDOWS windows, token by token, so the test knows how far llama.cpp agrees with itself
  on that file: the batched argmax of every scored position, the perplexities, and the top-1
  agreement of the two runs. Quantized files are
  compared statistically against these.
- tokens.json: llama.cpp's token ids of text.txt.
- gemma3-completions.json: greedy completions of llama.cpp on Gemma 3 270M as F32 (a base
  model without a chat template), one prompt longer than its sliding window of 512;
  ppl-gemma3-q4_k_m.json and tokens-gemma3.json: the scoring above on the published Q4_K_M.
The file's sha256 is recorded with each reference, so a test knows it reads the same bytes.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_safe  # noqa: E402,F401  (before any model loads)
import llama_cpp  # noqa: E402
from llama_cpp import Llama, llama_chat_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "tests", "golden", "real")
N_CTX = 512
# Token-by-token evaluation is slow (one decode per position); llama.cpp's agreement with its
# own batched run is estimated on the scored positions of the first windows only.
STEP_WINDOWS = 3
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K", "Q3_K_M", "Q2_K",
         "IQ4_NL", "IQ4_XS"]


def model_path(models: str, t: str) -> str:
    if t.startswith("gemma3-"):
        return os.path.join(models, f"gemma-3-270m-{t.removeprefix('gemma3-').lower()}.gguf")
    if t == "Q4_1":  # the published file itself, not a requantized copy
        return os.path.join(models, "SmolLM2-135M-Instruct.Q4_1.gguf")
    return os.path.join(models, f"smollm2-135m-instruct-{t.lower()}.gguf")


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load(path: str, n_batch: int) -> Llama:
    return Llama(model_path=path, n_ctx=N_CTX, n_batch=n_batch, n_ubatch=n_batch, logits_all=True, n_threads=1,
                 verbose=False, seed=0)


def score(llm: Llama, window: list, batched: bool):
    """Argmax and NLL of the scored positions of one window, evaluated from an empty cache."""
    llm.reset()
    llm._ctx.kv_cache_clear()
    ids = window[:-1]
    if batched:
        llm.eval(ids)
    else:
        for t in ids:
            llm.eval([t])
    first = N_CTX // 2
    logits = np.asarray(llm.scores[first:N_CTX - 1], dtype=np.float64)
    argmax = logits.argmax(axis=1)
    m = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=1)) + m[:, 0]
    targets = np.asarray(window[first + 1:N_CTX])
    nll = lse - logits[np.arange(len(targets)), targets]
    return [int(a) for a in argmax], [float(x) for x in nll]


def windows(tokens: list, bos) -> list:
    out = []
    for i in range(len(tokens) // N_CTX):
        w = list(tokens[i * N_CTX:(i + 1) * N_CTX])
        if bos is not None:
            w[0] = bos
        out.append(w)
    return out


def perplexity_reference(models: str, t: str, text: str) -> dict:
    path = model_path(models, t)
    batched_llm = load(path, N_CTX)
    tokens = batched_llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    add_bos = batched_llm._model.add_bos_token() if hasattr(batched_llm._model, "add_bos_token") else True
    bos = batched_llm.token_bos() if add_bos and tokens and tokens[0] == batched_llm.token_bos() else None
    wins = windows(tokens, bos)
    b_arg, b_nll = [], []
    for w in wins:
        a, n = score(batched_llm, w, True)
        b_arg += a
        b_nll += n
    s_arg, s_nll = [], []
    for w in wins[:STEP_WINDOWS]:
        a, n = score(batched_llm, w, False)
        s_arg += a
        s_nll += n
    del batched_llm
    agree = sum(1 for x, y in zip(b_arg, s_arg) if x == y) / len(s_arg)
    b_nll_step = b_nll[:len(s_nll)]
    return {
        "type": t,
        "file": os.path.basename(path),
        "sha256": sha256(path),
        "size_bytes": os.path.getsize(path),
        "n_ctx": N_CTX,
        "n_tokens": len(tokens),
        "bos": bos,
        "scored": len(b_arg),
        "perplexity": math.exp(sum(b_nll) / len(b_nll)),
        "token_by_token_positions": len(s_arg),
        "perplexity_batched_same_positions": math.exp(sum(b_nll_step) / len(b_nll_step)),
        "perplexity_token_by_token": math.exp(sum(s_nll) / len(s_nll)),
        "self_top1_agreement": agree,
        "mean_abs_nll_diff_token_by_token": sum(abs(x - y) for x, y in zip(b_nll_step, s_nll)) / len(s_nll),
        "argmax": b_arg,
        "tokens": tokens,
    }


def chats_reference(models: str) -> dict:
    """Greedy answers, one token at a time after a batched prompt, stopping at an end-of-
    generation token or after max_tokens (no completion of a cut UTF-8 character)."""
    with open(os.path.join(GOLDEN, "conversations.json"), encoding="utf-8") as f:
        spec = json.load(f)
    path = model_path(models, "F32")
    llm = Llama(model_path=path, n_ctx=2048, n_batch=512, n_threads=1, logits_all=True, verbose=False, seed=0)
    # The file's own template through jinja2, as the page renders it (not a built-in format
    # that llama-cpp-python might guess from the template).
    piece = lambda i: llm._model.token_get_text(i) if i >= 0 else ""
    formatter = llama_chat_format.Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"], eos_token=piece(llm.token_eos()),
        bos_token=piece(llm.token_bos()))
    out = []
    for conv in spec["conversations"]:
        rendered = formatter(messages=conv["messages"])
        prompt = llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
        llm.reset()
        llm.eval(prompt)
        ids, reason = [], "length"
        for _ in range(spec["max_tokens"]):
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            if llama_cpp.llama_vocab_is_eog(llm._model.vocab, tok):
                reason = "stop"
                break
            ids.append(tok)
            llm.eval([tok])
        answer = llm.detokenize(ids).decode("utf-8", errors="replace")
        out.append({"id": conv["id"], "answer": answer, "finish_reason": reason, "ids": ids,
                    "prompt_tokens": len(prompt)})
        print(f"chat {conv['id']}: {answer!r}", flush=True)
    return {"file": os.path.basename(path), "sha256": sha256(path), "max_tokens": spec["max_tokens"],
            "engine": "llama-cpp-python 0.3.36 (llama.cpp), greedy argmax after a batched prompt", "chats": out}


GEMMA_PROMPTS = ["The capital of France is", "def fibonacci(n):", "Once upon a time, in a small village,",
                 "La recette de la tarte aux pommes :"]
GEMMA_STEPS = 48


def gemma_completions(models: str, text: str) -> dict:
    """Greedy completions, one token at a time after a batched prompt; the last prompt is the
    first 3000 characters of text.txt (more tokens than the 512 of Gemma 3's sliding window)."""
    path = os.path.join(models, "gemma-3-270m-f32.gguf")
    llm = Llama(model_path=path, n_ctx=1024, n_batch=1024, n_threads=2, logits_all=True, verbose=False, seed=0)
    out = []
    for prompt in GEMMA_PROMPTS + [text[:3000]]:
        ids_in = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        llm.reset()
        llm.eval(ids_in)
        ids, margins = [], []
        for _ in range(GEMMA_STEPS):
            logits = np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            order = np.argsort(-logits, kind="stable")
            ids.append(int(order[0]))
            margins.append(float(logits[order[0]] - logits[order[1]]))
            llm.eval([int(order[0])])
        out.append({"prompt": prompt, "prompt_ids": [int(t) for t in ids_in], "ids": ids, "margins": margins,
                    "text": llm.detokenize(ids).decode("utf-8", errors="replace")})
        print(f"gemma3 {len(ids_in)} tokens: {out[-1]['text'][:60]!r}", flush=True)
    return {"file": os.path.basename(path), "sha256": sha256(path),
            "engine": "llama-cpp-python 0.3.36 (llama.cpp), greedy argmax after a batched prompt",
            "completions": out}


def main() -> None:
    models = sys.argv[1]
    if sys.argv[2:] == ["gemma3"]:
        with open(os.path.join(GOLDEN, "text.txt"), encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(GOLDEN, "gemma3-completions.json"), "w", encoding="utf-8") as f:
            json.dump(gemma_completions(models, text), f, ensure_ascii=False, indent=1)
        ref = perplexity_reference(models, "gemma3-Q4_K_M", text)
        with open(os.path.join(GOLDEN, "tokens-gemma3.json"), "w") as f:
            json.dump(ref.pop("tokens"), f)
        with open(os.path.join(GOLDEN, "ppl-gemma3-q4_k_m.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        print(f"gemma3 Q4_K_M: ppl {ref['perplexity']:.4f}, self top-1 {100 * ref['self_top1_agreement']:.2f}%")
        return
    types = sys.argv[2:] or ["chats"] + TYPES
    with open(os.path.join(GOLDEN, "text.txt"), encoding="utf-8") as f:
        text = f.read()
    if "chats" in types:
        with open(os.path.join(GOLDEN, "chats.json"), "w", encoding="utf-8") as f:
            json.dump(chats_reference(models), f, ensure_ascii=False, indent=1)
    for t in types:
        if t == "chats":
            continue
        ref = perplexity_reference(models, t, text)
        tokens = ref.pop("tokens")
        with open(os.path.join(GOLDEN, "tokens.json"), "w") as f:
            json.dump(tokens, f)
        with open(os.path.join(GOLDEN, f"ppl-{t.lower()}.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        print(f"{t}: {ref['n_tokens']} tokens, ppl {ref['perplexity']:.4f}, token by token "
              f"{ref['perplexity_token_by_token']:.4f} vs batched {ref['perplexity_batched_same_positions']:.4f}"
              f" on the same positions, self top-1 {100 * ref['self_top1_agreement']:.2f}%",
              flush=True)


if __name__ == "__main__":
    main()
