#!/usr/bin/env python3
"""Regenerates tests/expected/* with the reference implementation.

Renders every case of cases.json with jinja2 configured exactly as Hugging Face transformers'
`apply_chat_template` does (transformers/utils/chat_template_utils.py, `_compile_jinja_template`):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension,
the `{% generation %}` tag, `raise_exception`, `strftime_now` and HF's `tojson` filter, and the
render call `render(messages=..., tools=..., documents=..., add_generation_prompt=..., **special_tokens, **kwargs)`.

Outputs: expected/<case>.txt (rendered text, exact bytes), expected/<case>.err (a failed render:
the raise_exception message, or "<non-template error> ExceptionType: message" for other errors) or
expected/<case>.syntax (the template does not compile). A case names a file of templates/ ("template")
or carries its source inline ("source").

cases.json's "template_sources" records, for each published template of templates/ (the ones the
crate ships as fallbacks, src/templates/), the models it belongs to, where its exact text was found and
its sha256; this script refuses to run if a template file no longer hashes to the recorded value
(a template is a fact: change it only together with a new source).

Usage: pip install jinja2 && python3 crates/chat/tests/gen_expected.py
"""

import hashlib
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))


def raise_exception(message):
    # transformers raises jinja2.exceptions.TemplateError(message)
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # Verbatim from transformers: no HTML escaping, json.dumps options exposed.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


class AssistantTracker(Extension):
    # Same parse as transformers' AssistantTracker; rendering just emits the body.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render_assistant", []), [], [], body).set_lineno(lineno)

    def _render_assistant(self, caller):
        return caller()


def make_env():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        spec = json.load(f)
    for template_name, source in spec.get("template_sources", {}).items():
        with open(os.path.join(HERE, "templates", template_name + ".jinja"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != source["sha256"]:
            sys.exit("templates/%s.jinja: sha256 %s, but template_sources records %s (found at %s)"
                     % (template_name, digest, source["sha256"], source["found_at"]))
    out_dir = os.path.join(HERE, "expected")
    os.makedirs(out_dir, exist_ok=True)
    env = make_env()
    for case in spec["cases"]:
        name = case["name"]
        for stale in (name + ".txt", name + ".err", name + ".syntax"):
            path = os.path.join(out_dir, stale)
            if os.path.exists(path):
                os.remove(path)
        if "source" in case:
            source = case["source"]
        else:
            with open(os.path.join(HERE, "templates", case["template"] + ".jinja"), encoding="utf-8") as f:
                source = f.read()
        try:
            template = env.from_string(source)
        except jinja2.exceptions.TemplateSyntaxError as e:
            with open(os.path.join(out_dir, name + ".syntax"), "w", encoding="utf-8", newline="") as f:
                f.write(str(e))
            print("%-32s %s" % (name, name + ".syntax"), file=sys.stderr)
            continue
        ctx = {
            "bos_token": case.get("bos_token", ""),
            "eos_token": case.get("eos_token", ""),
            "tools": spec["tools"] if case.get("tools") else None,
            "documents": None,
        }
        ctx.update(case.get("extra", {}))
        ctx["messages"] = spec["conversations"][case["conversation"]]
        ctx["add_generation_prompt"] = case["add_generation_prompt"]
        try:
            text = template.render(**ctx)
            path, content = os.path.join(out_dir, name + ".txt"), text
        except jinja2.exceptions.TemplateError as e:
            if type(e) is jinja2.exceptions.TemplateError:
                content = str(e)  # raise_exception
            else:
                content = "<non-template error> %s: %s" % (type(e).__name__, e)
            path = os.path.join(out_dir, name + ".err")
        except Exception as e:  # noqa: BLE001 - TypeError etc. from the template's Python operations
            path, content = os.path.join(out_dir, name + ".err"), "<non-template error> %s: %s" % (type(e).__name__, e)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(content)
        print("%-32s %s" % (name, os.path.basename(path)), file=sys.stderr)


if __name__ == "__main__":
    main()
