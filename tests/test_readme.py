"""The README's Python snippets run as written, and its two set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    """The README's Python blocks, but those that need a running `assistant serve` (its first line
    says so; tests/ui/test_rest.py runs them against a real server)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if "assistant serve" not in b.splitlines()[0]]


@pytest.mark.integration
def test_readme_python_snippets_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    blocks = python_blocks()
    assert blocks, "the README has no Python snippet"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "[1]" in out and "doesn't say" in out


def test_readme_starts_with_the_two_commands():
    head = README.read_text(encoding="utf-8").split("## ")[0]
    assert "make run" in head and "make test" in head
    makefile = (README.parent / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
