"""Fixtures for the chat: answers built by hand, a fast hashing index, served apps on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "assistant" / "data" / "kim-jong-un-russia-support.txt"

# The hashing embedder's support scores are lower than the real model's: a lower
# threshold lets the fast index give cited answers (the real model keeps the default). The
# judge's decision is calibrated on the real model's scores, so these fast tests of the chat
# take the rules path; tests/ui/test_integration.py runs the chat with the judge.
HASHING = {"index": {"model": "hashing"}, "answer": {"min_support": 0.3, "judge": "none"}}

# A document whose text is a collection of injection attempts; none may run in the page.
XSS_DOCUMENT = """<img src=x onerror="window.__xss=6"> Apples and payloads

Apples

The orchard report says <script>window.__xss=1</script> apples grow on apple trees in the orchard.

Apple trees in the orchard carry <img src=x onerror="window.__xss=2"> red apples every autumn.

Orchard apples cost ${window.__xss=3} and {{constructor.constructor('window.__xss=4')()}} per `apple` basket.
"""


@contextmanager
def served(app_or_assistant, auth=None, stream_pause: float = 0.0, uploads: bool = False) -> Iterator[str]:
    """Launch the chat on a free local port, yield its address, close it afterwards."""
    from ui.app import build_app, launch

    demo = build_app(app_or_assistant, stream_pause=stream_pause, uploads=uploads)
    url = launch(demo, host="127.0.0.1", port=free_port(), auth=auth)
    try:
        yield url
    finally:
        demo.close(verbose=False)


@pytest.fixture(scope="session")
def ui_settings():
    from assistant import Settings

    return Settings().with_(**HASHING)


@pytest.fixture(scope="session")
def ui_assistant(tmp_path_factory, ui_settings):
    """The bundled article on the hashing embedder, answering (not abstaining) on topic."""
    from assistant import Assistant

    return Assistant.from_paths([ARTICLE], tmp_path_factory.mktemp("ui-hashing"), ui_settings)


@pytest.fixture(scope="session")
def xss_assistant(tmp_path_factory, ui_settings):
    from assistant import Assistant

    folder = tmp_path_factory.mktemp("ui-xss")
    doc = folder / "docs" / "payloads.txt"
    doc.parent.mkdir()
    doc.write_text(XSS_DOCUMENT, encoding="utf-8")
    return Assistant.from_paths([doc], folder / "index", ui_settings)


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Where browser screenshots go: $ASSISTANT_ARTIFACTS if set (CI keeps it), else a temp folder."""
    folder = Path(os.environ.get("ASSISTANT_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def serve_app():
    """`with serve_app(assistant) as url:` runs the chat on a free port (see `served`)."""
    return served


@pytest.fixture(scope="session")
def hashing_url(ui_assistant) -> Iterator[str]:
    """One chat on the hashing index shared by the read-only end-to-end tests."""
    with served(ui_assistant) as url:
        yield url


@pytest.fixture(scope="session", name="free_port")
def free_port_fixture():
    """`free_port()` -> a local port nobody listens on right now."""
    return free_port
