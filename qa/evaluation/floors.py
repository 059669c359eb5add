"""The floors file (eval/floors.json) the eval gate holds each set to: read once, and the
broken floors told the same way by every kind of eval (own, dialogue, SQuAD)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from qa.errors import UsageError


def read_floors(path: str | Path | None) -> dict[str, Any] | None:
    """The floors of ``path`` (None when no file is given); UsageError when unreadable."""
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the floors file {path}: {exc}") from None


def tell_broken(broken: list[str], held: str) -> int:
    """Each broken floor on stderr and exit code 1, or ``held`` on stdout and 0."""
    for problem in broken:
        print(f"floor broken: {problem}", file=sys.stderr)
    if broken:
        return 1
    print(held)
    return 0
