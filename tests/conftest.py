"""Shared fixtures. Tests run offline: any connection to a non-loopback address fails, so an
accidental model download or CDN request is an error, not a silent dependency."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise OSError(f"tests are offline: connection to {host} refused")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _offline() -> None:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_FILE.read_bytes().decode("utf-8")


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def assistant(index_dir: Path):  # type: ignore[no-untyped-def]
    """The real assistant on the bundled report (USE model, FAISS), built once per run."""
    from qa import load_assistant

    return load_assistant(SEEDS, index_dir)


@pytest.fixture()
def source_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/ that a test may edit."""
    dst = tmp_path / "seeds"
    shutil.copytree(SEEDS, dst, copy_function=shutil.copyfile)  # writable copies
    return dst
