"""Shared fixtures: offline guard, the bundled article, a tiny corpus, fake and real indexes.

Every index lives under pytest's temporary folders; nothing here touches ~/.cache.
The socket guard fails any connection that leaves the machine, so a test that needs
the network fails instead of passing by luck.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "assistant" / "data" / "kim-jong-un-russia-support.txt"
DATA = Path(__file__).resolve().parent / "data"


class NetworkBlocked(ConnectionRefusedError):
    """Raised for any connection to a non-loopback address during tests."""


def _is_local(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = address[0]
    if host in ("localhost", "", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be a network request


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def guarded_connect(self, address):
        if not _is_local(address):
            raise NetworkBlocked(f"tests run offline: connection to {address!r} blocked")
        return original_connect(self, address)

    def guarded_connect_ex(self, address):
        if not _is_local(address):
            raise NetworkBlocked(f"tests run offline: connection to {address!r} blocked")
        return original_connect_ex(self, address)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    yield
    socket.socket.connect = original_connect
    socket.socket.connect_ex = original_connect_ex


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """The default index of `Assistant.load()` goes to a temporary cache, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.delenv("ASSISTANT_INDEX", raising=False)


@pytest.fixture(scope="session")
def article_path() -> Path:
    return ARTICLE


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_corpus() -> Path:
    """A folder with one .txt, one .md and one .html document (tests/data/tiny)."""
    return DATA / "tiny"


@pytest.fixture(scope="session")
def hashing_settings():
    from assistant import Settings

    # The rules path (no judge): fast and exact; the judge has tests of its own.
    return Settings().with_(index={"model": "hashing"}, answer={"judge": "none"})


@pytest.fixture(scope="session")
def hashing_article(tmp_path_factory, hashing_settings):
    """The bundled article indexed with the weightless hashing embedder: fast, exact, fake."""
    from assistant import Assistant

    return Assistant.from_paths([ARTICLE], tmp_path_factory.mktemp("hashing-article"), hashing_settings)


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory) -> Path:
    """The bundled article indexed with the real bundled model (built once per session)."""
    from index import build_index

    folder = tmp_path_factory.mktemp("real-article")
    build_index([ARTICLE], folder, progress=False)
    return folder


@pytest.fixture(scope="session")
def real_article(real_index_dir):
    from assistant import Assistant

    return Assistant.load(real_index_dir)
