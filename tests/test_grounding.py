"""The grounding invariant (assistant/grounding.py) on answers built by hand: each fault is named."""

from __future__ import annotations

import pytest

from assistant.grounding import grounding_problems
from assistant.types import Answer, Citation, Passage, Timing

DOC = "Tea is a drink. It grows in hills. Rain helps it."
DOCS = {"d": DOC}


def passage(rank: int, start: int, end: int) -> Passage:
    return Passage(chunk_id=f"d#{rank - 1}", doc_id="d", section="", text=DOC[start:end], start=start, end=end,
                   score=1.0, rank=rank)


def cite(n: int, p: Passage, start: int, end: int) -> Citation:
    return Citation(n=n, chunk_id=p.chunk_id, doc_id="d", section="", quote=DOC[start:end], start=start, end=end,
                    score=1.0)


def answer(citations: list[Citation], passages: list[Passage], abstained: bool = False, text: str | None = None):
    if text is None:
        text = "\n".join(f"- “{c.quote}” [{c.n}]" for c in citations)
    return Answer(question="q", text=text, citations=citations, passages=passages, abstained=abstained,
                  timing=Timing(retrieve_ms=0, answer_ms=0, total_ms=0))


P1, P2 = passage(1, 16, 49), passage(2, 0, 15)
GOOD = answer([cite(1, P1, 16, 34), cite(1, P1, 35, 49), cite(2, P2, 0, 15)], [P1, P2])


def test_a_grounded_answer_and_an_abstention_have_no_problems():
    assert grounding_problems(GOOD, DOCS) == []
    declined = answer([], [P1, P2], abstained=True, text="**The document doesn't say.**")
    assert grounding_problems(declined, DOCS) == []


def faults():
    c1, c2, c3 = GOOD.citations
    yield "not verbatim", answer([c1.model_copy(update={"quote": "It grows in hill."}), c2, c3], [P1, P2])
    yield "not verbatim", answer([c1.model_copy(update={"doc_id": "elsewhere"}), c2, c3], [P1, P2])
    yield "which was not retrieved", answer([c1, c2, c3], [P1])
    yield "is not inside passage", answer([c1, c2, cite(2, P2, 16, 34)], [P1, P2])
    yield "has two numbers", answer([c1, c2.model_copy(update={"n": 2}), c3.model_copy(update={"n": 3})], [P1, P2])
    yield "expected [1]", answer([c3.model_copy(update={"n": 2}), c1.model_copy(update={"n": 1})], [P1, P2])
    yield "quoted twice", answer([c1, c1, c3], [P1, P2])
    yield "missing from the answer text", GOOD.model_copy(update={"text": GOOD.text.replace("[2]", "[3]")})
    yield "is not d[16:49]", answer([c1], [P1.model_copy(update={"text": "tampered"}), P2])
    yield "passages ranked [2, 1]", answer([c1], [P1.model_copy(update={"rank": 2}), P2.model_copy(update={"rank": 1})])
    yield "abstained but cites quotes", GOOD.model_copy(update={"abstained": True})
    yield "abstained but cites quotes", answer([], [P1], abstained=True, text="Nothing. [1]")
    yield "answered without citations", answer([], [P1], text="Tea.")


@pytest.mark.parametrize("expected, bad", list(faults()))
def test_each_fault_is_named(expected, bad):
    assert any(expected in p for p in grounding_problems(bad, DOCS)), grounding_problems(bad, DOCS)


def test_a_loaded_index_stands_for_its_documents(hashing_article):
    answer = hashing_article.ask("What does North Korea supply to Russia?")
    assert grounding_problems(answer, hashing_article.index) == []
