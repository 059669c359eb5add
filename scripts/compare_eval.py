"""Compare the per-question rows of two eval result files (`qa eval --json`), ignoring
timing fields and float noise below 1e-5: `python scripts/compare_eval.py OLD NEW`.
Exit status 1 when any row differs (the rows that differ are printed)."""

from __future__ import annotations

import json
import sys
from typing import Any


def rows(path: str) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.load(open(path, encoding="utf-8"))
    return {(mode, row["id"]): {k: v for k, v in row.items() if "latency" not in k}
            for mode, items in data["rows"].items() for row in items}


def same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None or a.keys() != b.keys():
        return a == b
    return all(abs(a[k] - b[k]) < 1e-5 if isinstance(a[k], float) and isinstance(b[k], float)
               else a[k] == b[k] for k in a)


def main(old: str, new: str) -> int:
    a, b = rows(old), rows(new)
    differ = sorted(k for k in a.keys() | b.keys() if not same(a.get(k), b.get(k)))
    print(f"{old} vs {new}: {len(a)} / {len(b)} rows, {len(differ)} differ")
    for key in differ[:20]:
        print(key, a.get(key), b.get(key), sep="\n  ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
