"""Writes <prefix>-<type>.gguf beside a source GGUF with llama.cpp's quantizer.

Usage: requantize.py SOURCE.gguf OUT_DIR [--prefix NAME] TYPE...
(TYPE as llama.cpp names it: F32, Q4_K_M...; the prefix defaults to smollm2-135m-instruct)

Each file is written to a .part name and renamed when complete, so an interrupted run leaves
nothing that looks finished.
"""
import ctypes
import os
import sys

import llama_cpp


def main() -> None:
    src, out_dir, types = sys.argv[1], sys.argv[2], sys.argv[3:]
    prefix = "smollm2-135m-instruct"
    if types[:1] == ["--prefix"]:
        prefix, types = types[1], types[2:]
    for name in types:
        ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{name}", None)
        if ftype is None and name == "F32":
            ftype = llama_cpp.LLAMA_FTYPE_ALL_F32
        if ftype is None:
            sys.exit(f"llama.cpp has no file type {name}")
        out = os.path.join(out_dir, f"{prefix}-{name.lower()}.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = os.cpu_count() or 1
        rc = llama_cpp.llama_model_quantize(src.encode(), (out + ".part").encode(), ctypes.byref(params))
        if rc != 0:
            sys.exit(f"llama_model_quantize to {name} failed ({rc})")
        os.replace(out + ".part", out)
        print(f"== wrote {out} ({os.path.getsize(out)} bytes)", flush=True)


if __name__ == "__main__":
    main()
