"""llama-cpp-python's OpenAI-compatible server with llama.cpp's extra CPU buffer types off
(see llama_safe.py), so that it serves quantized files on every CPU. Same arguments as
`python -m llama_cpp.server`."""
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_safe  # noqa: E402,F401

runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
