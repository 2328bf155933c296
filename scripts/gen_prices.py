#!/usr/bin/env python3
"""Generate models/prices.json, the price table of hosted models that arbitre ships.

Input: the public price facts in ../shared/data/prices/*.json (one file per vendor, the
vendor-file format of llm-prices.com: {"vendor", "models": [{"id", "name", "price_history":
[{"input", "output", "input_cached", "from_date", "to_date"}]}]}, USD per million tokens).

Output: models/prices.json in the format crates/pricing parses ("arbitre-prices/1"): one
entry per (provider, model) with the current price (the history record whose to_date is
null), the as-of date of the snapshot, the source, and the full price history sorted oldest
first so the page can show how a price changed over time.

Prices are written as decimal strings exactly as they appear in the facts (no float
arithmetic happens here); the Rust crate turns them into integer micro-units.

The output is deterministic: running the script twice on the same facts gives the same
bytes. Usage: python3 scripts/gen_prices.py [--data DIR] [--out FILE] [--as-of YYYY-MM-DD]
"""

import argparse
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "prices"
DEFAULT_OUT = REPO / "models" / "prices.json"
# The day the facts in ../shared/data/prices were taken as this project's snapshot.
# Update it together with the facts.
DEFAULT_AS_OF = "2026-11-23"
SOURCE_URL = "https://www.llm-prices.com/"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fail(msg):
    print(f"gen_prices: {msg}", file=sys.stderr)
    sys.exit(1)


def price_text(value, where):
    """A non-negative price as a plain decimal string (no exponent), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{where}: price must be a number, got {value!r}")
    # repr() of a float is its shortest round-trip form, i.e. what the JSON file said.
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if d < 0:
        fail(f"{where}: negative price {value!r}")
    text = format(d.normalize(), "f")
    return text


def date_text(value, where):
    if value is None:
        return None
    if not isinstance(value, str) or not DATE_RE.match(value):
        fail(f"{where}: date must be YYYY-MM-DD, got {value!r}")
    return value


def history_record(rec, where):
    return {
        "input": price_text(rec.get("input"), f"{where}.input"),
        "output": price_text(rec.get("output"), f"{where}.output"),
        "cached_input": price_text(rec.get("input_cached"), f"{where}.input_cached"),
        "from": date_text(rec.get("from_date"), f"{where}.from_date"),
        "to": date_text(rec.get("to_date"), f"{where}.to_date"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--as-of", default=DEFAULT_AS_OF)
    args = ap.parse_args()
    if not DATE_RE.match(args.as_of):
        fail(f"--as-of must be YYYY-MM-DD, got {args.as_of!r}")

    files = sorted(args.data.glob("*.json"))
    if not files:
        fail(f"no *.json price files in {args.data}")

    entries = []
    notes = []
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        vendor = data.get("vendor")
        if not isinstance(vendor, str) or not vendor:
            fail(f"{path.name}: missing vendor")
        seen = {}
        for i, model in enumerate(data.get("models", [])):
            where = f"{path.name}: models[{i}]"
            mid = model.get("id")
            name = model.get("name") or mid
            if not isinstance(mid, str) or not mid:
                fail(f"{where}: missing id")
            history = [
                history_record(rec, f"{where}.price_history[{j}]")
                for j, rec in enumerate(model.get("price_history", []))
            ]
            current = [h for h in history if h["to"] is None]
            if len(current) != 1:
                fail(f"{where} ({mid}): expected exactly one current price (to_date null), found {len(current)}")
            cur = current[0]
            if cur["input"] is None or cur["output"] is None:
                fail(f"{where} ({mid}): current price lacks input or output")
            # Oldest first; a null from_date means "since the model was released".
            history.sort(key=lambda h: (h["from"] is not None, h["from"] or ""))
            if mid in seen:
                prev = seen[mid]
                same = (prev["input"], prev["output"], prev["cached_input"]) == (
                    cur["input"], cur["output"], cur["cached_input"])
                if not same:
                    fail(f"{path.name}: model id {mid!r} appears twice with different prices")
                notes.append(f"{vendor}/{mid}: duplicate entry {name!r} with the same price dropped")
                continue
            entry = {
                "provider": vendor,
                "model": mid,
                "name": name,
                "currency": "USD",
                "input": cur["input"],
                "output": cur["output"],
                "cached_input": cur["cached_input"],
                "as_of": args.as_of,
                "effective_from": cur["from"],
                "source": f"llm-prices.com vendor data, {path.name}",
                "source_url": SOURCE_URL,
                "history": history,
            }
            seen[mid] = entry
            entries.append(entry)

    out = {
        "format": "arbitre-prices/1",
        "about": (
            "Hosted-model prices per million tokens, generated by scripts/gen_prices.py from the "
            "public price facts in ../shared/data/prices (llm-prices.com vendor files). Do not "
            "edit by hand: change the facts and re-run the script. Prices are decimal strings; "
            "cached_input null means cached input tokens are billed at the input price."
        ),
        "as_of": args.as_of,
        "entries": entries,
    }
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {len(entries)} entries from {len(files)} vendor files to {args.out}")


if __name__ == "__main__":
    main()
