"""The grounding invariant, in one place: what must hold for an answer to leave the library.

`grounding_problems(answer, documents)` lists every way an `Answer` breaks it, against the
documents it claims to quote (doc_id -> text, or a loaded index): each quote is the
non-empty text `document[start:end]` inside a retrieved passage it cites; passages are
numbered 1..N in order of first appearance, one number each; no sentence is quoted twice;
each quote stands in the answer text followed by its marker; every passage shown is the
document's text at its offsets, ranked 1..N; an abstention cites nothing and an answer
cites something. The library raises on the first problem (`answering.check_grounding`);
the load test and the test suite check served and returned answers with the same list.
Not here: whether the quotes answer the question (that is `eval/`'s business).
"""

from __future__ import annotations

import re
from typing import Mapping

from .types import Answer

_MARKER = re.compile(r"\[\d+\]")


def grounding_problems(answer: Answer, documents: Mapping[str, str] | object) -> list[str]:
    """Every way `answer` breaks the grounding invariant (`[]` when it keeps it), in one line each.

    `documents` maps doc_id to text, or is an object with such a `.documents` (a loaded index).
    Each problem is one line, e.g. "citation [2] is not verbatim at a.txt[10:42]".
    """
    texts: Mapping[str, str] = documents if isinstance(documents, Mapping) else documents.documents
    problems = []
    retrieved = {p.chunk_id: p for p in answer.passages}
    expected_next = 1
    numbers: dict[str, int] = {}
    spans = set()
    for c in answer.citations:
        doc = texts.get(c.doc_id)
        if doc is None or doc[c.start:c.end] != c.quote or not c.quote:
            problems.append(f"citation [{c.n}] is not verbatim at {c.doc_id}[{c.start}:{c.end}]")
        p = retrieved.get(c.chunk_id)
        if p is None:
            problems.append(f"citation [{c.n}] points at {c.chunk_id}, which was not retrieved")
        elif not (p.start <= c.start and c.end <= p.end and p.doc_id == c.doc_id):
            problems.append(f"citation [{c.n}] is not inside passage {c.chunk_id}")
        if c.chunk_id in numbers:
            if numbers[c.chunk_id] != c.n:
                problems.append(f"passage {c.chunk_id} has two numbers")
        else:
            if c.n != expected_next:
                problems.append(f"citation numbered [{c.n}], expected [{expected_next}]")
            numbers[c.chunk_id] = c.n
            expected_next += 1
        if (c.doc_id, c.start, c.end) in spans:
            problems.append(f"the same sentence is quoted twice ({c.doc_id}[{c.start}:{c.end}])")
        spans.add((c.doc_id, c.start, c.end))
        if f"“{c.quote}” [{c.n}]" not in answer.text:
            problems.append(f"quote [{c.n}] is missing from the answer text")
    for p in [*answer.passages, *answer.related]:
        if texts.get(p.doc_id, "\0")[p.start:p.end] != p.text:
            problems.append(f"passage {p.chunk_id} is not {p.doc_id}[{p.start}:{p.end}]")
    ranks = [p.rank for p in answer.passages]
    if ranks != list(range(1, len(ranks) + 1)):
        problems.append(f"passages ranked {ranks}, expected 1..{len(ranks)}")
    if answer.abstained and (answer.citations or _MARKER.search(answer.text)):
        problems.append("abstained but cites quotes")
    if not answer.abstained and not answer.citations:
        problems.append("answered without citations")
    return problems
