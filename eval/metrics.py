"""Grounding metrics as plain functions over lists; no model, no I/O.

Retrieval (hit@k, recall@k, MRR@k, nDCG@k, characters read), citations (quote validity,
precision, recall, uncited sentences), answers (answer-key recall, SQuAD-style token F1),
abstention (precision / recall / F1 on unanswerable questions, false-abstention rate on
answerable ones, and the curve over a confidence threshold) and latency percentiles.

A passage is relevant when it contains a gold evidence span, both whitespace-normalised.
Functions return `None` where a metric is undefined (e.g. citation precision of an answer
without citations); `mean` skips those. Judging whether an answer is *true* is left out:
the eval has no LLM judge, only these checks against hand-made gold data.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Iterable, Sequence

Span = tuple[int, int]

_WS = re.compile(r"\s+")
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")


# ---------------------------------------------------------------- text helpers

def normalize_ws(text: str) -> str:
    """Runs of whitespace become one space, ends stripped: `normalize_ws(" a \\n b ") -> "a b"`."""
    return _WS.sub(" ", text).strip()


def contains_span(passage: str, span: str) -> bool:
    """True when `span` occurs in `passage`, whitespace-normalised: `contains_span("a  b c", "a b") -> True`."""
    needle = normalize_ws(span)
    return bool(needle) and needle in normalize_ws(passage)


def locate(document: str, span: str) -> Span | None:
    """Offsets of the first whitespace-normalised match of `span` in `document`, or None.

    `locate("one  two three", "two three") -> (5, 14)`
    """
    words = span.split()
    if not words:
        return None
    m = re.search(r"\s+".join(map(re.escape, words)), document)
    return (m.start(), m.end()) if m else None


def overlaps(a: Span, b: Span) -> bool:
    """True when two half-open character ranges share at least one character: `overlaps((0, 5), (4, 9)) -> True`."""
    return a[0] < b[1] and b[0] < a[1]


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none: `mean([1, None, 0]) -> 0.5`."""
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


# ---------------------------------------------------------------- retrieval

def relevance(passages: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    """Per passage, whether it contains any evidence span: `relevance(["x a", "b"], ["a"]) -> [True, False]`."""
    return [any(contains_span(p, e) for e in evidence) for p in passages]


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when a relevant passage is in the top k, else 0.0: `hit_at_k([False, True], 1) -> 0.0`."""
    return 1.0 if any(relevant[:k]) else 0.0


def recall_at_k(passages: Sequence[str], evidence: Sequence[str], k: int) -> float | None:
    """Share of evidence spans contained in some top-k passage; None without evidence.

    `recall_at_k(["a b", "c"], ["a", "c", "z"], 1) -> 0.333…`
    """
    if not evidence:
        return None
    top = passages[:k]
    return sum(any(contains_span(p, e) for p in top) for e in evidence) / len(evidence)


def mrr_at_k(relevant: Sequence[bool], k: int) -> float:
    """Reciprocal rank of the first relevant passage in the top k (0.0 if none): `mrr_at_k([False, False, True], 10) -> 0.333…`."""
    for rank, rel in enumerate(relevant[:k], 1):
        if rel:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], k: int) -> float:
    """Binary-gain nDCG of the top k; the ideal ranking puts the relevant passages retrieved first.

    Only retrieved passages are judged (we do not know every relevant chunk of every
    chunking), so this scores the order; recall@k scores the coverage.
    `ndcg_at_k([False, True], 10) -> 1/log2(3) = 0.6309…`
    """
    top = list(relevant[:k])
    dcg = sum(1.0 / math.log2(i + 2) for i, rel in enumerate(top) if rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(sum(top)))
    return dcg / ideal if ideal else 0.0


def chars_read_at_k(passages: Sequence[str], k: int) -> int:
    """Characters a reader goes through in the top k passages: `chars_read_at_k(["ab", "cde"], 1) -> 2`."""
    return sum(len(p) for p in passages[:k])


# ---------------------------------------------------------------- citations

def quote_is_valid(document: str, quote: str, start: int | None, end: int | None) -> bool:
    """`document[start:end] == quote` (non-empty); without offsets, the quote occurs verbatim in the document.

    `quote_is_valid("hello world", "world", 6, 11) -> True`; `quote_is_valid("hello world", "world", 0, 5) -> False`
    """
    if not quote:
        return False
    if start is None or end is None:
        return quote in document
    return 0 <= start <= end <= len(document) and document[start:end] == quote


def quote_validity(document: str, citations: Sequence[tuple[str, int | None, int | None]]) -> float | None:
    """Share of `(quote, start, end)` citations that are valid (see `quote_is_valid`); None without citations."""
    if not citations:
        return None
    return sum(quote_is_valid(document, q, s, e) for q, s, e in citations) / len(citations)


def citation_precision(cited: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of cited ranges that overlap a gold evidence range; None without citations.

    `citation_precision([(0, 5), (20, 30)], [(3, 8)]) -> 0.5`
    """
    if not cited:
        return None
    return sum(any(overlaps(c, g) for g in gold) for c in cited) / len(cited)


def citation_recall(cited: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of gold evidence ranges overlapped by some citation; None without gold.

    `citation_recall([(0, 5)], [(3, 8), (40, 50)]) -> 0.5`
    """
    if not gold:
        return None
    return sum(any(overlaps(c, g) for c in cited) for g in gold) / len(gold)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if re.search(r"\w", s)]


_LINE_MARKUP = re.compile(r"^\s*(?:[-*+>]|\d+[.)])\s+")
_EDGE = "“”\"'‘’«»()[]…*_ "


def uncited_sentences(answer: str, quotes: Sequence[str]) -> tuple[int, int]:
    """`(uncited, total)` sentences of an answer; a sentence is cited when it lies inside one of the cited quotes.

    Markers `[n]`, list bullets and the quotation marks around a quote are ignored, so a
    lead-in like "The article says:" is the kind of sentence this counts.
    `uncited_sentences("“A b. C d.” [1] E f.", ["A b. C d."]) -> (1, 3)`
    """
    cited_text = [normalize_ws(q) for q in quotes if q.strip()]
    uncited = total = 0
    for line in _MARKER.sub("\n", answer).splitlines():  # a marker closes a run of text
        for sentence in _sentences(_LINE_MARKUP.sub("", line)):
            core = normalize_ws(sentence).strip(_EDGE)
            if not re.search(r"\w", core):
                continue
            total += 1
            uncited += not any(core in q for q in cited_text)
    return uncited, total


# ---------------------------------------------------------------- answers

def _fold(text: str) -> str:
    return normalize_ws(text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')).casefold()


def answer_key_recall(answer: str, keys: Sequence[Sequence[str]]) -> float | None:
    """Share of key groups with at least one phrase in the answer (case-insensitive, whitespace-normalised).

    `answer_key_recall("Moscow, in 1991", [["moscow"], ["1990", "1991"], ["Kim"]]) -> 0.666…`
    """
    if not keys:
        return None
    text = _fold(answer)
    return sum(any(_fold(p) in text for p in group) for group in keys) / len(keys)


def squad_normalize(text: str) -> str:
    """SQuAD answer normalisation: lower case, drop punctuation and articles, squeeze spaces.

    `squad_normalize("The  Soviet Union’s aid!") -> "soviet unions aid"`
    """
    text = "".join(" " if unicodedata.category(ch).startswith("P") and ch not in "’'" else ch
                   for ch in text.lower())
    text = "".join(ch for ch in text if ch not in "’'")  # "union’s" -> "unions", as SQuAD does with "'"
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between two texts (1.0 when both normalise to nothing).

    `token_f1("soviet union aid", "the Soviet Union") -> 0.8`
    """
    pred, ref = squad_normalize(prediction).split(), squad_normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------- abstention

def abstention_scores(unanswerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Abstention as detection of unanswerable questions (SQuAD 2.0's NoAns vs HasAns).

    precision: abstentions that were on unanswerable questions; recall: unanswerable
    questions abstained on; f1 of the two; false_abstention: answerable questions abstained on.
    Undefined values are None. `abstention_scores([True, True, False], [True, False, True])`
    -> precision 0.5, recall 0.5, f1 0.5, false_abstention 1.0
    """
    tp = sum(u and a for u, a in zip(unanswerable, abstained))
    n_abstained, n_unans = sum(abstained), sum(unanswerable)
    n_ans = len(unanswerable) - n_unans
    false_abst = sum(a and not u for u, a in zip(unanswerable, abstained))
    precision = tp / n_abstained if n_abstained else None
    recall = tp / n_unans if n_unans else None
    f1 = None
    if recall is not None:
        p = precision or 0.0
        f1 = 2 * p * recall / (p + recall) if p + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "false_abstention": false_abst / n_ans if n_ans else None}


def abstention_curve(unanswerable: Sequence[bool], confidence: Sequence[float]) -> list[dict[str, float | None]]:
    """Abstention scores when abstaining below each threshold, one point per distinct confidence (plus one above all).

    `abstention_curve([True, False], [0.2, 0.8])` has thresholds 0.2 (nothing abstains),
    0.8 (the first abstains: precision 1, recall 1) and 0.8 + 1 (both abstain: precision 0.5).
    """
    if not confidence:
        return []
    cuts = sorted(set(confidence))
    cuts.append(cuts[-1] + 1.0)
    points = []
    for t in cuts:
        scores = abstention_scores(unanswerable, [c < t for c in confidence])
        points.append({"threshold": t, **scores})
    return points


# ---------------------------------------------------------------- latency

def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation (numpy's default); None for no values.

    >>> percentile([1, 2, 3, 4], 50), percentile([7], 95), percentile([], 50)
    (2.5, 7.0, None)
    """
    xs = list(values)
    if not xs:
        return None
    import numpy as np  # here: the other metrics are plain Python, and importing them stays light

    return float(np.percentile(xs, q, method="linear"))
