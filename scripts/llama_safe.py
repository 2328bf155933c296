"""Loads llama-cpp-python with llama.cpp's extra CPU buffer types turned off.

On CPUs that report AMX (e.g. Sapphire Rapids virtual machines), llama.cpp 0.3.36's extra
buffer types (AMX and weight repacking) crash the process with a segmentation fault at the first
batch over a quantized file; F32 files run. With `use_extra_bufts = False` every model loads
into plain CPU buffers and runs everywhere. Import this module before creating a `Llama`.
"""
import llama_cpp
import llama_cpp.llama as _llama

_default_params = llama_cpp.llama_model_default_params


def _plain_buffers():
    params = _default_params()
    params.use_extra_bufts = False
    return params


llama_cpp.llama_model_default_params = _plain_buffers
_llama.llama_cpp.llama_model_default_params = _plain_buffers
