"""Assertions and helpers shared by several test modules."""

from __future__ import annotations

import random
from pathlib import Path


def damage_file(path: Path, how: str) -> None:
    """Damage a file the ways a crash or a bad disk does: truncated, emptied, garbage (seeded) or deleted."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(random.Random(len(data)).randbytes(len(data)))
    elif how == "deleted":
        path.unlink()
    else:
        raise AssertionError(how)


def assert_grounded(assistant, answer) -> None:
    """The invariants every answer must keep (`assistant.grounding`), each problem named on failure."""
    from assistant.grounding import grounding_problems

    assert grounding_problems(answer, assistant.index) == []


def rebuildable_index(tmp_path: Path, settings):
    """An index folder of one document, and a function that rebuilds it with a second one:
    `(assistant on the first build, folder, rebuild)`."""
    from assistant import Assistant

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("One\n\nApples grow on trees in the orchard.\n", encoding="utf-8")
    folder = tmp_path / "index"
    first = Assistant.from_paths([docs], folder, settings)

    def rebuild():
        (docs / "two.txt").write_text("Two\n\nPears grow on trees too.\n", encoding="utf-8")
        Assistant.from_paths([docs], folder, settings)

    return first, folder, rebuild
