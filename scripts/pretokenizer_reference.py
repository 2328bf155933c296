#!/usr/bin/env python3
"""Records llama.cpp's tokenization under the pre-tokenizers the catalog's models use.

No vocabulary fixture here has `tokenizer.ggml.pre` = llama-bpe, qwen2 or smollm, so this takes
the GPT-2 vocabulary (../shared/fixtures/vocab/ggml-vocab-gpt-2.gguf), swaps its `pre` value,
and asks llama.cpp (llama-cpp-python 0.3.36, vocab_only) to tokenize a set of texts: the
fixture's own .inp texts plus texts aimed at where the pre-tokenizers differ (digit runs,
contractions, whitespace, punctuation, non-Latin scripts). The same merges then meet different
splitting rules; crates/tokenizer/tests/pretokenizers.rs checks arbitre gives the same ids.

    pip install llama-cpp-python==0.3.36
    python3 scripts/pretokenizer_reference.py   # writes tests/golden/pretok/<pre>.json
"""
import json
import os
import struct
import sys
import tempfile

import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.environ.get("ARBITRE_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
VOCAB = os.path.join(FIXTURES, "vocab", "ggml-vocab-gpt-2.gguf")
PRES = ["llama-bpe", "qwen2", "smollm", "gpt-2"]
EXTRA = [
    "1234567890 12 123 1234 12345",
    "In 2024, 3.14159 and 1,000,000.00 were numbers; so was 007.",
    "I'm, you're, we've, they'll, she'd, it's, IT'S, DON'T",
    "tabs\tand\t\tnewlines\n\n\nand   spaces    here ",
    "   leading and trailing   ",
    "naïve café — “quotes” ‘single’ … ¿qué? ¡sí!",
    "Здравствуй, мир! 你好，世界！ こんにちは 안녕하세요 مرحبا",
    "emoji 🦙🚀 and combining é vs é",
    "snake_case camelCase kebab-case URL https://example.com/a?b=c&d=1",
    "x=y+z*2; if (a<=b) { return -1; } // comment",
]


def with_pre(data: bytes, pre: str) -> bytes:
    key = b"tokenizer.ggml.pre"
    at = data.index(struct.pack("<Q", len(key)) + key) + 8 + len(key)
    (vtype,) = struct.unpack_from("<I", data, at)
    assert vtype == 8, "tokenizer.ggml.pre is not a string"
    (n,) = struct.unpack_from("<Q", data, at + 4)
    start = at + 12
    new = pre.encode()
    return data[: at + 4] + struct.pack("<Q", len(new)) + new + data[start + n :]


def main() -> None:
    data = open(VOCAB, "rb").read()
    with open(VOCAB + ".inp", encoding="utf-8") as f:
        texts = f.read().split("\n__ggml_vocab_test__\n")
    texts = [t for t in texts if t] + EXTRA
    out_dir = os.path.join(ROOT, "tests", "golden", "pretok")
    os.makedirs(out_dir, exist_ok=True)
    for pre in PRES:
        with tempfile.NamedTemporaryFile(suffix=".gguf", delete=False) as tmp:
            tmp.write(with_pre(data, pre))
            path = tmp.name
        try:
            llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
            cases = [{"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)} for t in texts]
        finally:
            os.unlink(path)
        record = {
            "about": f"llama.cpp (llama-cpp-python {llama_cpp.__version__}) tokenization with the GPT-2 vocabulary and tokenizer.ggml.pre = {pre!r}",
            "vocab": "vocab/ggml-vocab-gpt-2.gguf",
            "pre": pre,
            "cases": cases,
        }
        with open(os.path.join(out_dir, f"{pre}.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"{pre}: {len(cases)} texts", file=sys.stderr)


if __name__ == "__main__":
    main()
