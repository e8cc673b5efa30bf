"""Held-out development sets of other genres: is the passage holding the answer first, and do the quotes hold it?

Questions live in JSON lines (`eval/data/genres/questions.jsonl`, described in `eval/data/genres/README.md`),
one `GenreRow` each: an answerable question about one document in the question file's folder, with
`answer` (the answer key: an exact substring of the document's text, whitespace aside) and an optional
`evidence` (a longer exact substring holding the answer, to say *which* occurrence of the key is
meant; without it, the first occurrence of the answer is). Each document is copied once into the
cache (keyed by content and model, as `eval/decline.py` does) and indexed on its own; every question
goes through `Assistant.ask`.

Figures of a group of questions (every question is answerable):
- hit@1, hit@3, hit@5: share whose gold answer span lies inside the answer's passage of rank <= k
  (`answer.passages`, the ranked retrieval the answer was chosen from);
- key_recall: share answered with quotes whose joined text holds the answer key (SQuAD-normalised,
  whole words; `eval.squad.gold_in_quotes`); an abstention holds nothing;
  a `section` question ("which section covers...") has a section title for its answer, which no
  passage holds as text: its passage hits when its section title holds the key, and its quotes hold
  the key when one of their section titles does (the answer shows each quote's section);
- false_abstention: share abstained;
- quoted_chars: mean characters quoted per answered question;
- visible_chars: the same with each run of white space counted as one character (a quote of a
  hard-wrapped man page carries each line's indentation and justification; reported, not gated);
- errors: questions whose `ask` raised (scored as abstentions);
- p50_ms: median `ask` time.
Given per document, per form and overall.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from . import metrics as m

DATA = Path(__file__).parent / "data" / "genres"
DEFAULT_SET = DATA / "questions.jsonl"
Form = Literal["what", "which", "who", "when", "where", "why", "how", "polar", "number", "list", "imperative",
               "terse", "section"]
FORMS: tuple[str, ...] = Form.__args__
KS = (1, 3, 5)
FIGURES = ("n", "errors", "hit@1", "hit@3", "hit@5", "key_recall", "false_abstention", "quoted_chars", "p50_ms")
GATE_FIGURES = FIGURES[1:]
_SPACE = re.compile(r"\s+")

Span = tuple[int, int]


class GenreDataError(ValueError):
    """A question file that cannot be read, a document it names, or an answer not in its document; one line."""


class GenreRow(BaseModel):
    """One answerable question about one document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    doc: str = Field(min_length=1, description="The document's file name, relative to the question file's folder.")
    form: Form = Field(description="The question's form; `terse` is a keyword query, `section` asks which section.")
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1, description="The answer key: an exact substring of the document's text.")
    evidence: str | None = Field(None, description="A longer exact substring holding the answer (which occurrence).")


def load_rows(path: Path | str = DEFAULT_SET) -> list[GenreRow]:
    """The rows of a question file; `GenreDataError` naming the line for a bad one."""
    from .decline import DeclineDataError, read_jsonl

    try:
        return read_jsonl(path, GenreRow)
    except DeclineDataError as exc:
        raise GenreDataError(str(exc)) from None


def gold_span(document: str, row: GenreRow) -> Span | None:
    """Where the row's answer sits: inside the first match of its evidence (or, without one, its first match).

    >>> doc = "Cats purr. Dogs bark. Dogs bark loudly at night."
    >>> gold_span(doc, GenreRow(id="q", doc="d", form="what", question="?", answer="Dogs bark"))
    (11, 20)
    >>> gold_span(doc, GenreRow(id="q", doc="d", form="what", question="?", answer="Dogs  bark", evidence="bark loudly"))
    >>> gold_span(doc, GenreRow(id="q", doc="d", form="what", question="?", answer="Dogs bark", evidence="Dogs bark loudly"))
    (22, 31)
    """
    where = m.locate(document, row.evidence or row.answer)
    if where is None:
        return None
    inner = m.locate(document[where[0]:where[1]], row.answer)
    return None if inner is None else (where[0] + inner[0], where[0] + inner[1])


def hit_rank(passages: Sequence[Span], gold: Span) -> int | None:
    """1-based rank of the first passage holding all of the gold span, None when none does.

    >>> hit_rank([(0, 10), (10, 40)], (12, 20)), hit_rank([(0, 15)], (12, 20))
    (2, None)
    """
    for rank, (start, end) in enumerate(passages, 1):
        if start <= gold[0] and gold[1] <= end:
            return rank
    return None


@dataclass
class Record:
    """What happened to one question: enough to recompute every figure."""

    id: str
    doc: str
    form: str
    question: str
    answer: str
    abstained: bool = True
    confidence: float | None = None
    hit_rank: int | None = None
    key_in_quotes: bool = False
    quotes: int = 0
    quoted_chars: int = 0
    visible_chars: int = 0
    ms: float | None = None
    error: str | None = None


def ask_row(assistant, row: GenreRow, document: str, doc_id: str) -> Record:
    """Ask one question and judge the answer; an exception is recorded as the row's error (an abstention)."""
    from .squad import gold_in_quotes

    record = Record(id=row.id, doc=row.doc, form=row.form, question=row.question, answer=row.answer)
    gold = gold_span(document, row)
    try:
        t0 = time.perf_counter()
        answer = assistant.ask(row.question)
        record.ms = (time.perf_counter() - t0) * 1000
    except Exception as exc:  # noqa: BLE001 - one failing question is counted, not fatal
        first = str(exc).splitlines()[0] if str(exc) else ""
        record.error = f"{type(exc).__name__}: {first}"
        return record
    record.abstained, record.confidence = answer.abstained, answer.confidence
    cites = [] if answer.abstained else answer.citations
    record.quotes, record.quoted_chars = len(cites), sum(len(c.quote) for c in cites)
    record.visible_chars = sum(len(_SPACE.sub(" ", c.quote)) for c in cites)
    if row.form == "section":
        ranks = [p.rank for p in answer.passages if p.doc_id == doc_id and gold_in_quotes([row.answer], [p.section])]
        record.hit_rank = min(ranks, default=None)
        record.key_in_quotes = any(gold_in_quotes([row.answer], [c.section]) for c in cites)
        return record
    if gold is not None:
        record.hit_rank = hit_rank([(p.start, p.end) for p in answer.passages if p.doc_id == doc_id], gold)
    record.key_in_quotes = bool(cites) and gold_in_quotes([row.answer], [c.quote for c in cites])
    return record


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def summarize(records: Sequence[Record]) -> dict[str, Any]:
    """The figures of a group of records (see the module docstring).

    >>> r = [Record("a", "d", "what", "?", "x", abstained=False, hit_rank=1, key_in_quotes=True, quotes=1, quoted_chars=40, ms=10.0),
    ...      Record("b", "d", "how", "?", "y", abstained=False, hit_rank=3, quotes=1, quoted_chars=60, ms=30.0),
    ...      Record("c", "d", "why", "?", "z", abstained=True, ms=20.0)]
    >>> s = summarize(r); (s["hit@1"], s["hit@3"], s["key_recall"], s["false_abstention"], s["quoted_chars"], s["p50_ms"])
    (0.333..., 0.666..., 0.333..., 0.333..., 50.0, 20.0)
    """
    answered = [r for r in records if not r.abstained]
    times = [r.ms for r in records if r.ms is not None]
    out: dict[str, Any] = {"n": len(records), "errors": sum(r.error is not None for r in records)}
    for k in KS:
        out[f"hit@{k}"] = _rate([r.hit_rank is not None and r.hit_rank <= k for r in records])
    out["key_recall"] = _rate([r.key_in_quotes for r in records])
    out["false_abstention"] = _rate([r.abstained for r in records])
    out["quoted_chars"] = statistics.fmean(r.quoted_chars for r in answered) if answered else None
    out["visible_chars"] = statistics.fmean(r.visible_chars for r in answered) if answered else None
    out["p50_ms"] = statistics.median(times) if times else None
    return out


def _by(records: Sequence[Record], attr: str, order: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(getattr(r, attr), []).append(r)
    keys = [k for k in order if k in groups] if order else list(groups)
    return {k: summarize(groups[k]) for k in keys}


def check_gate(overall: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """One line per missed bound of a gate's `genres` section; ValueError for a figure it does not know."""
    from .runner import check_gate as check

    unknown = (set(gate.get("min", {})) | set(gate.get("max", {}))) - set(GATE_FIGURES)
    if unknown:
        raise ValueError(f"unknown genres figures in the gate: {', '.join(sorted(unknown))}")
    return check(overall, gate)


def is_default(path: Path | str) -> bool:
    try:
        return Path(path).resolve().samefile(DEFAULT_SET)
    except OSError:
        return False


# ---------------------------------------------------------------- running

@dataclass
class GenreRun:
    set_file: str
    model: str | None
    judge: str | None
    records: list[Record]
    seconds: float
    build_seconds: float = 0.0
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    unlocated: list[str] = field(default_factory=list)
    date: str = field(default_factory=lambda: dt.date.today().isoformat())

    def to_dict(self) -> dict[str, Any]:
        return {"meta": {"set": self.set_file, "model": self.model, "judge": self.judge, "date": self.date,
                         "n": len(self.records), "seconds": self.seconds, "build_seconds": self.build_seconds,
                         "unlocated": self.unlocated},
                "overall": summarize(self.records), "docs": _by(self.records, "doc"),
                "forms": _by(self.records, "form", FORMS), "documents": self.documents,
                "records": [asdict(r) for r in self.records]}


def run_genres(set_file: Path | str, rows: Sequence[GenreRow], settings=None, progress: bool | None = None) -> GenreRun:
    """Index each document the rows name (cached) and ask every question through `Assistant.ask`.

    Raises `GenreDataError` for a document that cannot be read."""
    from tqdm import tqdm

    from assistant import Settings

    from .decline import Source, open_each

    t_start = time.perf_counter()
    settings = settings or Settings()
    base = Path(set_file).resolve().parent
    sources = {}
    for name in dict.fromkeys(r.doc for r in rows):
        try:
            sources[name] = Source(f"genres:{name}", Path(name).name, (base / name).read_bytes())
        except OSError as exc:
            raise GenreDataError(f"{name}: cannot read {base / name}: {exc.strerror or exc}") from None
    records: dict[str, Record] = {}
    documents: dict[str, dict[str, Any]] = {}
    unlocated: list[str] = []
    build, model = 0.0, settings.index.model
    bar = tqdm(total=len(rows), desc="genres", unit="q", leave=False, disable=None if progress is None else not progress)
    try:
        for doc in open_each(sources, settings, progress):
            build += doc.build_seconds
            model, documents[doc.key] = doc.model, doc.about
            for row in rows:
                if row.doc == doc.key:
                    if gold_span(doc.text, row) is None:
                        unlocated.append(row.id)
                    records[row.id] = ask_row(doc.assistant, row, doc.text, doc.doc_id)
                    bar.update(1)
    finally:
        bar.close()
    return GenreRun(set_file=str(set_file), model=model, judge=settings.answer.judge,
                    records=[records[r.id] for r in rows], seconds=time.perf_counter() - t_start,
                    build_seconds=build, documents=documents, unlocated=unlocated)


# ---------------------------------------------------------------- tables

COLUMNS = [("n", "questions"), ("hit@1", "hit@1"), ("hit@3", "hit@3"), ("key_recall", "answer-key recall"),
           ("false_abstention", "false abstention"), ("quoted_chars", "mean quoted chars")]


def _num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, int):
        return str(v)
    return f"{v:.0f}" if v >= 10 else f"{v:.2f}"


def table_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["document", *(label for _, label in COLUMNS)]
    rows = [[f"`{name}`", *(_num(figs[key]) for key, _ in COLUMNS)] for name, figs in results["docs"].items()]
    rows.append(["**all**", *(_num(results["overall"][key]) for key, _ in COLUMNS)])
    return header, rows


def terminal_table(results: dict[str, Any]) -> str:
    from .report import _table

    header, rows = table_rows(results)
    out = _table(header, [[c.strip("`*") for c in r] for r in rows])
    forms = results["forms"]
    out.append("by form (hit@1 / key recall): " + ", ".join(
        f"{f} {_num(g['hit@1'])}/{_num(g['key_recall'])} ({g['n']})" for f, g in forms.items()))
    return "\n".join(out)


def readme_block(results: dict[str, Any]) -> str:
    """What `--readme` writes between the `genres-figures` markers: one paragraph (it reads the same inline in a
    README line or on lines of its own), the overall figures, then each document's."""
    meta, o = results["meta"], results["overall"]
    docs = "; ".join(f"`{name}` {_num(f['hit@1'])} / {_num(f['hit@3'])} / {_num(f['key_recall'])} / "
                     f"{_num(f['false_abstention'])} / {_num(f['quoted_chars'])} ({f['n']})"
                     for name, f in results["docs"].items())
    return (f"Run of {meta['date']}, {meta['n']} questions about {len(results['docs'])} documents "
            f"(`{Path(meta['set']).name}`; {meta['model']}, judge {meta['judge']}): hit@1 **{_num(o['hit@1'])}**, "
            f"hit@3 {_num(o['hit@3'])}, answer-key recall **{_num(o['key_recall'])}**, false abstention "
            f"{_num(o['false_abstention'])}, mean quoted characters {_num(o['quoted_chars'])}, ask p50 "
            f"{_num(o['p50_ms'])} ms. By document (hit@1 / hit@3 / answer-key recall / false abstention / quoted "
            f"characters, questions): {docs}.")


def write_report(results: dict[str, Any], folder: Path) -> Path:
    """`report.md` (the README block, the figures by form and the questions missed) and `results.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    forms = ["| form | questions | hit@1 | hit@3 | answer-key recall | false abstention |", "|---|---:|---:|---:|---:|---:|"]
    forms += [f"| {f} | {g['n']} | {_num(g['hit@1'])} | {_num(g['hit@3'])} | {_num(g['key_recall'])} | "
              f"{_num(g['false_abstention'])} |" for f, g in results["forms"].items()]
    missed = [r for r in results["records"] if not r["key_in_quotes"]]
    listed = [f"| {r['id']} | {'abstained' if r['abstained'] else 'answered'} | {r['hit_rank'] or '–'} | "
              f"{r['question']} | {r['answer']} |" for r in missed]
    header, rows = table_rows(results)
    table = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    lines = [f"# assistant eval --genres {Path(results['meta']['set']).name}", "", readme_block(results), "", *table, "",
             "## By form", "", *forms, "", f"## Quotes without the answer key ({len(missed)})", ""]
    lines += ["| id | outcome | gold passage rank | question | answer key |", "|---|---|---:|---|---|", *listed] \
        if missed else ["None."]
    (folder / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
