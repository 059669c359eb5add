"""Replace a file in one step, so that a process killed while writing it leaves the old
file (or none), never half of the new one; and hold a lock file across processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def write_atomically(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: str | Path, text: str) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_figure_atomically(fig: Any, path: str | Path, **savefig: Any) -> None:
    """``fig.savefig`` to ``path`` atomically, in the format its suffix names (png if none)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    write_atomically(path, lambda tmp: fig.savefig(tmp, format=fmt, **savefig))


@contextlib.contextmanager
def exclusive_lock(lock_file: Path, error: Callable[[OSError], Exception]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` (created if missing) for the block; a
    folder that cannot be written raises ``error(exc)``, the caller's own message."""
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_file, "a")
    except OSError as exc:
        raise error(exc) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
