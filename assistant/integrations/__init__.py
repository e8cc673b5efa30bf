"""Retrievers for the frameworks: `assistant.integrations.langchain` (LangChain) and
`assistant.integrations.llamaindex` (LlamaIndex), each behind its extra (`pip install
'grounded-assistant[langchain]'` / `[llamaindex]`). Nothing here is imported by `assistant` itself.

Both return the same records, built here from the Python API:

- `mode="passages"` (the default): `Assistant.retrieve`, the `k` best passages, best first;
- `mode="quotes"`: only the verified quotes of `Assistant.ask`, and nothing when it declines.

Every record's text is `document_text(doc_id)[start:end]`; its metadata carry `doc_id`, `start`,
`end`, `page`, `section`, `score` and `rank` (plus `chunk_id`, and in quotes mode the marker `n`
and the answer's `confidence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from ..api import Assistant

Mode = Literal["passages", "quotes"]
MODES = ("passages", "quotes")


@dataclass(frozen=True)
class Record:
    """One retrieved text with where it comes from; `id` is unique within one result."""

    id: str
    text: str
    metadata: dict
    score: float


def check_mode(mode: str) -> str:
    """The mode, or a ValueError naming the two there are.

    >>> check_mode("quotes")
    'quotes'
    >>> check_mode("answers")
    Traceback (most recent call last):
    ...
    ValueError: mode must be 'passages' or 'quotes', not 'answers'
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'passages' or 'quotes', not {mode!r}")
    return mode


def records(assistant: Assistant, query: str, mode: Mode = "passages", k: int | None = None,
            history: Sequence[str] | None = None, documents: Sequence[str] | None = None) -> list[Record]:
    """The `k` passages (`mode="passages"`) or all the verified quotes of the answer (`mode="quotes"`, in
    the answer's order; [] when the assistant declines) for `query`. Raises what `Assistant.retrieve` / `ask` raise for bad input."""
    if check_mode(mode) == "passages":
        return [Record(id=p.chunk_id, text=p.text, score=p.score,
                       metadata={"doc_id": p.doc_id, "start": p.start, "end": p.end, "page": p.page,
                                 "section": p.section, "score": p.score, "rank": p.rank, "chunk_id": p.chunk_id})
                for p in assistant.retrieve(query, k, history, documents)]
    answer = assistant.ask(query, history, documents)
    if answer.abstained:
        return []
    return [Record(id=f"{c.doc_id}:{c.start}-{c.end}", text=c.quote, score=c.score,
                   metadata={"doc_id": c.doc_id, "start": c.start, "end": c.end, "page": c.page, "section": c.section,
                             "score": c.score, "rank": rank, "chunk_id": c.chunk_id, "n": c.n,
                             "confidence": answer.confidence})
            for rank, c in enumerate(answer.citations, start=1)]
