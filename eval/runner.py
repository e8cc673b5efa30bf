"""Runs systems over the eval set and scores them: ours, the naive baseline, or a predictions file.

Each system's output for an item becomes an `Output` (answer text, abstained, citations,
retrieved passages, confidence, timings); `score_item` turns it into per-item metrics and
`summarize` into overall and per-category figures. The gate compares overall figures with
the checked-in minimums and maximums. Making tables and charts is `eval/report.py`'s job.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import metrics as m
from .schema import CATEGORIES, EvalItem, Prediction

KS = (1, 3, 5, 10)
DEFAULT_GATE = Path(__file__).parent / "gate.json"

Cite = tuple[str, int | None, int | None, str | None]  # quote, start, end, doc_id


@dataclass
class Output:
    """What one system did with one item, in the form every scorer reads."""

    id: str
    answer: str = ""
    abstained: bool = True
    citations: list[Cite] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    confidence: float | None = None
    retrieve_ms: float | None = None
    ask_ms: float | None = None
    error: str | None = None


# ---------------------------------------------------------------- running systems

def _progress(items: Sequence[EvalItem], label: str, show: bool | None):
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="q", leave=False, disable=None if show is None else not show)


def run_assistant(assistant, items: Sequence[EvalItem], k: int = 10, progress: bool | None = None) -> list[Output]:
    """Ask every item (with its history) and retrieve k passages for it, timing both calls.

    An exception on one item is recorded as that item's error (scored as an empty
    abstention and counted in `errors`, which the gate caps) instead of ending the run.
    """
    outputs = []
    for item in _progress(items, "ours", progress):
        try:
            t0 = time.perf_counter()
            answer = assistant.ask(item.question, history=item.history)
            ask_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            passages = assistant.retrieve(item.question, k=k, history=item.history)
            retrieve_ms = (time.perf_counter() - t0) * 1000
        except Exception as exc:  # noqa: BLE001 - reported per item, and the gate fails on any
            first = str(exc).splitlines()[0] if str(exc) else ""
            outputs.append(Output(id=item.id, error=f"{type(exc).__name__}: {first}"))
            continue
        outputs.append(Output(
            id=item.id, answer=answer.text, abstained=answer.abstained,
            citations=[(c.quote, c.start, c.end, c.doc_id) for c in answer.citations],
            passages=[p.text for p in passages], confidence=answer.confidence,
            retrieve_ms=retrieve_ms, ask_ms=ask_ms))
    return outputs


def run_baseline(baseline, items: Sequence[EvalItem], doc_id: str | None, k: int = 10,
                 progress: bool | None = None) -> list[Output]:
    """The naive baseline on every item (question only: it has no notion of history)."""
    outputs = []
    for item in _progress(items, "baseline", progress):
        answer, ms = baseline.ask(item.question, k)
        outputs.append(Output(id=item.id, answer=answer.text, abstained=False,
                              citations=[(answer.quote, answer.start, answer.end, doc_id)],
                              passages=[t for t, _, _ in answer.passages], confidence=answer.score,
                              retrieve_ms=ms, ask_ms=ms))
    return outputs


def outputs_from_predictions(items: Sequence[EvalItem], predictions: dict[str, Prediction]) -> tuple[list[Output], list[str]]:
    """Outputs from a predictions file, and the ids it lacks (scored as empty abstentions)."""
    outputs, missing = [], []
    for item in items:
        p = predictions.get(item.id)
        if p is None:
            missing.append(item.id)
            outputs.append(Output(id=item.id, error="missing from predictions"))
            continue
        outputs.append(Output(id=item.id, answer=p.answer, abstained=p.abstained,
                              citations=[(c.quote, c.start, c.end, c.doc_id) for c in p.citations],
                              passages=[x.text for x in p.passages], confidence=p.confidence))
    return outputs, missing


# ---------------------------------------------------------------- scoring

def _cited_spans(document: str, doc_id: str | None, citations: Iterable[Cite]) -> list[tuple[int, int]]:
    """Where each citation sits in the document; a citation that is invalid or from another document gets (-1, -1),
    which overlaps nothing, so it still counts against precision."""
    spans = []
    for quote, start, end, cite_doc in citations:
        if doc_id and cite_doc and cite_doc != doc_id:
            spans.append((-1, -1))
        elif start is not None and end is not None:
            spans.append((start, end) if m.quote_is_valid(document, quote, start, end) else (-1, -1))
        else:
            spans.append(m.locate(document, quote) or (-1, -1))
    return spans


def score_item(item: EvalItem, out: Output, document: str, doc_id: str | None = None) -> dict[str, float | None]:
    """Per-item metrics; None where a metric does not apply (e.g. retrieval on an unanswerable item)."""
    s: dict[str, float | None] = {}
    rel = m.relevance(out.passages, item.evidence)
    for k in KS:
        s[f"hit@{k}"] = m.hit_at_k(rel, k) if item.answerable else None
        s[f"recall@{k}"] = m.recall_at_k(out.passages, item.evidence, k)
        s[f"chars@{k}"] = float(m.chars_read_at_k(out.passages, k)) if out.passages else None
    s["mrr@10"] = m.mrr_at_k(rel, 10) if item.answerable else None
    s["ndcg@10"] = m.ndcg_at_k(rel, 10) if item.answerable else None

    cites = [] if out.abstained else out.citations
    own = [(q, a, b) for q, a, b, d in cites if not (doc_id and d and d != doc_id)]  # other documents: not checkable here
    s["quote_validity"] = m.quote_validity(document, own)
    gold = [span for span in (m.locate(document, e) for e in item.evidence) if span]
    cited = _cited_spans(document, doc_id, cites)
    # Answering an unanswerable question is scored by abstention, not here.
    s["citation_precision"] = m.citation_precision(cited, gold) if item.answerable else None
    s["citation_recall"] = m.citation_recall(cited, gold) if item.answerable else None
    if out.abstained:
        s["uncited_rate"] = None
    else:
        uncited, total = m.uncited_sentences(out.answer, [q for q, *_ in cites])
        s["uncited_rate"] = uncited / total if total else None

    answer = "" if out.abstained else out.answer
    s["key_recall"] = m.answer_key_recall(answer, item.answer_keys)
    quoted = " ".join(q for q, *_ in cites)
    s["token_f1"] = m.token_f1(quoted, " ".join(item.evidence)) if item.answerable else None
    # One number per item for the charts: key recall when answerable, abstaining when not.
    s["outcome"] = (0.0 if out.abstained else s["key_recall"]) if item.answerable else float(out.abstained)
    return s


METRICS = ([f"hit@{k}" for k in KS] + [f"recall@{k}" for k in KS] + ["mrr@10", "ndcg@10"]
           + [f"chars@{k}" for k in KS]
           + ["quote_validity", "citation_precision", "citation_recall", "uncited_rate", "key_recall", "token_f1",
              "outcome"])
COUNTS = ["errors"]
ABSTENTION = ["abstain_precision", "abstain_recall", "abstain_f1", "false_abstention", "abstained"]
LATENCY = ["retrieve_p50_ms", "retrieve_p95_ms", "ask_p50_ms", "ask_p95_ms"]


def summarize(items: Sequence[EvalItem], outputs: Sequence[Output], scores: Sequence[dict]) -> dict[str, Any]:
    """Means of the per-item metrics, abstention scores and latency percentiles for a group of items."""
    out: dict[str, Any] = {"n": len(items), "answerable": sum(it.answerable for it in items),
                           "errors": sum(o.error is not None for o in outputs)}
    for name in METRICS:
        out[name] = m.mean(s[name] for s in scores)
    ab = m.abstention_scores([not it.answerable for it in items], [o.abstained for o in outputs])
    out.update({"abstain_precision": ab["precision"], "abstain_recall": ab["recall"], "abstain_f1": ab["f1"],
                "false_abstention": ab["false_abstention"],
                "abstained": sum(o.abstained for o in outputs) / len(outputs) if outputs else None})
    for what in ("retrieve", "ask"):
        times = [getattr(o, f"{what}_ms") for o in outputs if getattr(o, f"{what}_ms") is not None]
        out[f"{what}_p50_ms"] = m.percentile(times, 50)
        out[f"{what}_p95_ms"] = m.percentile(times, 95)
    return out


def evaluate(items: Sequence[EvalItem], outputs: Sequence[Output], document: str,
             doc_id: str | None = None) -> dict[str, Any]:
    """Overall and per-category figures, the abstention curve and per-item rows for one system."""
    by_id = {o.id: o for o in outputs}
    outs = [by_id[it.id] for it in items]
    scores = [score_item(it, o, document, doc_id) for it, o in zip(items, outs)]
    categories = {}
    for cat in CATEGORIES:
        idx = [i for i, it in enumerate(items) if it.category == cat]
        if idx:
            categories[cat] = summarize([items[i] for i in idx], [outs[i] for i in idx], [scores[i] for i in idx])
    confident = [(not it.answerable, o.confidence) for it, o in zip(items, outs) if o.confidence is not None]
    curve = m.abstention_curve([u for u, _ in confident], [c for _, c in confident]) \
        if len(confident) == len(items) else []
    rows = [{"id": it.id, "category": it.category, "split": it.split, "answerable": it.answerable,
             "question": it.question, **{k: v for k, v in asdict(o).items() if k != "id"}, "metrics": s}
            for it, o, s in zip(items, outs, scores)]
    return {"overall": summarize(items, outs, scores), "categories": categories, "curve": curve, "items": rows}


# ---------------------------------------------------------------- the gate

def load_gate(path: Path | str = DEFAULT_GATE) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    unknown = set(data.get("min", {})) | set(data.get("max", {}))
    unknown -= set(METRICS) | set(ABSTENTION) | set(LATENCY) | set(COUNTS)
    if unknown:
        raise ValueError(f"{path}: unknown metrics in the gate: {', '.join(sorted(unknown))}")
    return data


def check_gate(overall: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """One line per missed threshold; empty when every threshold is met. A missing figure misses."""
    failures = []
    for name, bound in gate.get("min", {}).items():
        value = overall.get(name)
        if value is None or value < bound:
            failures.append(f"{name} = {_fmt(value)} is below the minimum {bound}")
    for name, bound in gate.get("max", {}).items():
        value = overall.get(name)
        if value is None or value > bound:
            failures.append(f"{name} = {_fmt(value)} is above the maximum {bound}")
    return failures


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


# ---------------------------------------------------------------- settings overrides

def parse_overrides(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`["answer.min_support=0.5", "index.chunker.max_chars=400"]` -> nested dicts; values parsed as JSON when they can be.

    `parse_overrides(["answer.max_quotes=2"]) -> {"answer": {"max_quotes": 2}}`
    """
    groups: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        path = key.strip().split(".")
        if not sep or len(path) < 2 or not all(path):
            raise ValueError(f"bad override {pair!r}: use group.field=value, e.g. answer.min_support=0.5")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = groups.setdefault(path[0], {})
        for part in path[1:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return groups


def apply_overrides(settings, overrides: dict[str, dict[str, Any]]):
    """A copy of `settings` with nested overrides merged in; unknown names fail validation."""
    data = settings.model_dump()

    def merge(into: dict, new: dict, where: str) -> None:
        for key, value in new.items():
            if key not in into:
                raise ValueError(f"unknown setting {where}{key}")
            if isinstance(value, dict) and isinstance(into[key], dict):
                merge(into[key], value, f"{where}{key}.")
            else:
                into[key] = value

    merge(data, overrides, "")
    return type(settings).model_validate(data)
