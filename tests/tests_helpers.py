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
    """The invariants every answer must keep, checked independently of the library's own check."""
    retrieved = {p.chunk_id for p in answer.passages}
    numbers = []
    for c in answer.citations:
        assert assistant.document_text(c.doc_id)[c.start:c.end] == c.quote
        assert c.chunk_id in retrieved
        assert f"“{c.quote}” [{c.n}]" in answer.text
        if c.n not in numbers:
            numbers.append(c.n)
    assert numbers == list(range(1, len(numbers) + 1))
    assert len({(c.doc_id, c.start, c.end) for c in answer.citations}) == len(answer.citations)
    if answer.abstained:
        assert answer.citations == [] and "[" not in answer.text
    else:
        assert answer.citations
    for p in answer.passages:
        assert assistant.document_text(p.doc_id)[p.start:p.end] == p.text
    assert [p.rank for p in answer.passages] == list(range(1, len(answer.passages) + 1))
