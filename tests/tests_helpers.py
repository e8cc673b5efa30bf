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
