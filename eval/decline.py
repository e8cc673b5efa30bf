"""The decline benchmark: does the assistant say "the document doesn't say" when it should?

Questions live in JSON lines (`eval/data/decline.jsonl`, described in `eval/data/decline/README.md`),
one `DeclineRow` each: a question about one document that is off-topic (nothing to do with it),
near-topic (about its subject, but the document does not answer it) or answerable (with the
evidence spans that answer it). Each document is materialised once into the cache
(`$XDG_CACHE_HOME/grounded-assistant/decline/`, keyed by content and model; SQuAD articles share
`eval/squad.py`'s cache) and indexed on its own; every question goes through `Assistant.ask`.
`--predictions` scores another system's answers the same way without running ours.

Figures of a group of questions: n, declined (share abstained), max_wrong_confidence (highest
`confidence` of an off- or near-topic question that was answered; None when none was), and for
answerable questions false_abstention and holds (share answered with a quote overlapping an
evidence span; an abstention holds nothing). They are given overall, per kind, and per kind
crossed with form, document and style; `headline` flattens the ones the gate and the targets read.

Left out: whether an answer is *right* beyond overlapping the evidence (the grounding eval and
`--squad` measure that), retrieval figures, and any threshold sweep (the SQuAD runner has one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import metrics as m

DATA = Path(__file__).parent / "data"
DEFAULT_SET = DATA / "decline.jsonl"
PDF_FOLDER = "decline"  # pdf:NAME is <question file's folder>/decline/NAME.pdf

Kind = Literal["off-topic", "near-topic", "answerable"]
Form = Literal["why", "polar", "how", "what", "who", "when", "where", "which", "list", "imperative", "number"]
Style = Literal["plain", "lowercase", "no-mark", "typo"]
KINDS: tuple[str, ...] = Kind.__args__
FORMS: tuple[str, ...] = Form.__args__
STYLES: tuple[str, ...] = Style.__args__
SPLITS = ("test", "calibration", "all")
WRONG = ("off-topic", "near-topic")  # kinds where answering at all is the mistake

# The targets the README states (not the gate: that holds the measured figures, re-based by hand).
TARGETS = {"off_topic_declined": (">=", 0.99), "off_topic_min_form_declined": (">=", 0.95),
           "off_topic_answered_above_0.5": ("<=", 0), "near_topic_declined": (">=", 0.85)}
GATE_FIGURES = ("off_topic_declined", "off_topic_min_form_declined", "off_topic_max_wrong_confidence",
                "off_topic_answered_above_0.5", "near_topic_declined", "near_topic_max_wrong_confidence",
                "answerable_false_abstention", "answerable_holds", "errors")


class DeclineDataError(ValueError):
    """A question or predictions file that cannot be read, or a document it names; the message is one line."""


# ---------------------------------------------------------------- the question file

class DeclineRow(BaseModel):
    """One question of the decline benchmark."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Unique id.")
    split: Literal["test", "calibration"] = Field(description="`test` is gated; only `calibration` may be fitted on.")
    doc: str = Field(pattern=r"^(bundled|(squad|pdf|file):.+)$",
                     description="`bundled`, `squad:TITLE`, `pdf:NAME` (decline/NAME.pdf) or `file:RELATIVE/PATH`.")
    kind: Kind = Field(description="off-topic, near-topic (the document does not say) or answerable.")
    form: Form = Field(description="The question's grammatical form.")
    style: Style = Field(description="How it is typed: plain, lowercase, no-mark (no question mark) or typo.")
    question: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list,
                                description="Exact substrings of the document that answer it; answerable rows only.")
    note: str | None = None

    @model_validator(mode="after")
    def _evidence_only_when_answerable(self) -> "DeclineRow":
        if self.kind != "answerable" and self.evidence:
            raise ValueError(f"evidence on a {self.kind} row (only answerable rows have evidence)")
        if self.kind == "answerable" and not any(e.strip() for e in self.evidence):
            raise ValueError("an answerable row needs evidence")
        return self


class DeclineCitation(BaseModel):
    """A quote another system gave: offsets into the row's document, the quote itself, or both."""

    model_config = ConfigDict(extra="ignore")

    start: int | None = None
    end: int | None = None
    quote: str | None = None


class DeclinePrediction(BaseModel):
    """Another system's answer to one row, as `--predictions FILE` reads it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    abstained: bool
    confidence: float | None = None
    citations: list[DeclineCitation] | None = None
    quotes: list[str] | None = None

    @property
    def quoted(self) -> bool:
        """True when the prediction says what it quoted (so `holds` can be judged)."""
        return self.citations is not None or self.quotes is not None


def _problem(exc: ValidationError) -> str:
    """The first problem of a validation error, on one line: `kind: Input should be ...`."""
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"]))
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {msg}{more}" if where else f"{msg}{more}"


def read_jsonl(path: Path | str, model: type[BaseModel]) -> list:
    """Rows of `model` from a JSON-lines file (blank lines skipped); `DeclineDataError` naming the line otherwise."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        raise DeclineDataError(f"cannot read {path}: {reason}") from None
    rows, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = model.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DeclineDataError(f"{path}:{n}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        except ValidationError as exc:
            raise DeclineDataError(f"{path}:{n}: {_problem(exc)}") from None
        if row.id in seen:
            raise DeclineDataError(f"{path}:{n}: duplicate id {row.id!r}")
        seen.add(row.id)
        rows.append(row)
    return rows


def load_rows(path: Path | str = DEFAULT_SET, split: str = "test") -> list[DeclineRow]:
    """The rows of `split` (`test`, `calibration` or `all`) of a question file."""
    if split not in SPLITS:
        raise DeclineDataError(f"unknown split {split!r}: use {', '.join(SPLITS)}")
    rows = read_jsonl(path, DeclineRow)
    return [r for r in rows if split == "all" or r.split == split]


def load_predictions(path: Path | str) -> dict[str, DeclinePrediction]:
    """Predictions by row id."""
    return {p.id: p for p in read_jsonl(path, DeclinePrediction)}


# ---------------------------------------------------------------- documents

def squad_files() -> list[Path]:
    """Where `squad:TITLE` is looked up, in order: the held-out file (test split), then the shared
    training and dev files (calibration split), `../shared/data` beside the project."""
    from assistant.settings import SHARED_DATA
    from .squad import HELDOUT

    return [HELDOUT, SHARED_DATA / "squad2-train-10-articles.json",
            SHARED_DATA / "validation" / "squad2-dev-computational-complexity.json"]


@dataclass(frozen=True)
class Source:
    """A document as a row names it: its file name and content, ready to be cached and indexed."""

    key: str
    name: str
    data: bytes
    squad_title: str | None = None  # SQuAD articles are cached where `eval/squad.py` caches them


def _squad_source(key: str, title: str, files: Sequence[Path], loaded: dict[Path, Any]) -> Source:
    from .squad import SquadDataError, article_text, load_squad, select_articles

    for path in files:
        if path not in loaded:
            if not path.is_file():
                raise DeclineDataError(f"{key}: no SQuAD file at {path} (needed to find the article)")
            loaded[path] = load_squad(path)
        try:
            article = select_articles(loaded[path], [title])[0]
        except SquadDataError:
            continue
        return Source(key, f"{article.title}.md", article_text(article).text.encode("utf-8"), article.title)
    raise DeclineDataError(f"{key}: no article titled {title!r} in {', '.join(p.name for p in files)}")


def resolve_sources(keys: Sequence[str], base: Path, files: Sequence[Path] | None = None) -> dict[str, Source]:
    """Each distinct document key, read: `bundled`, `squad:TITLE`, `pdf:NAME` (`base/decline/NAME.pdf`,
    else `eval/data/decline/NAME.pdf`) or `file:PATH` (relative to `base`, the question file's folder).

    Raises `DeclineDataError` (one line) for a key naming nothing.
    """
    from assistant.settings import DEFAULT_DOCUMENT

    files = list(files) if files is not None else squad_files()
    loaded: dict[Path, Any] = {}
    out: dict[str, Source] = {}
    for key in dict.fromkeys(keys):
        scheme, _, rest = key.partition(":")
        if key == "bundled":
            path = DEFAULT_DOCUMENT
        elif scheme == "squad":
            out[key] = _squad_source(key, rest, files, loaded)
            continue
        elif scheme == "pdf":
            path = base / PDF_FOLDER / f"{rest}.pdf"
            path = path if path.is_file() else DATA / PDF_FOLDER / f"{rest}.pdf"
        elif scheme == "file":
            path = base / rest
        else:
            raise DeclineDataError(f"unknown document key {key!r}: use bundled, squad:TITLE, pdf:NAME or file:PATH")
        try:
            out[key] = Source(key, path.name, path.read_bytes())
        except OSError as exc:
            raise DeclineDataError(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
    return out


def materialise(source: Source, model: str) -> Path:
    """The document's file in the cache, written once: a folder per content and embedding model, so a
    rerun reuses the index beside it (`<folder>/index`)."""
    from .squad import _document_file, cache_folder

    if source.squad_title is not None:
        text = source.data.decode("utf-8")
        return _document_file(cache_folder(text, model), source.squad_title, text)
    from index.cache import cache_dir

    key = hashlib.sha256(source.data + b"\0" + model.encode("utf-8")).hexdigest()
    folder = cache_dir() / "decline" / key[:32]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^\w.()-]+", "_", source.name).strip("._") or "document")
    if not path.is_file() or path.read_bytes() != source.data:
        path.write_bytes(source.data)
    return path


@dataclass
class Opened:
    """One benchmark document, indexed (cached) and opened: what its questions are asked of."""

    key: str
    assistant: Any
    doc_id: str
    text: str
    about: dict[str, Any]  # its file, index folder, characters and chunks, for the report
    model: str
    build_seconds: float


def open_each(sources: dict[str, Source], settings, progress: bool | None) -> Iterator[Opened]:
    """Each source cached (`materialise`), indexed (reused when unchanged) and opened, in turn."""
    from assistant import Assistant

    for key, source in sources.items():
        path = materialise(source, settings.index.model)
        t0 = time.perf_counter()
        assistant = Assistant.from_paths([path], path.parent / "index", settings, progress=progress)
        seconds = time.perf_counter() - t0
        info = assistant.info()
        doc_id = info.documents[0]["doc_id"]
        text = assistant.document_text(doc_id)
        yield Opened(key, assistant, doc_id, text,
                     {"path": str(path), "index": info.folder, "chars": len(text), "chunks": info.chunks},
                     info.model, seconds)


# ---------------------------------------------------------------- judging one row

def evidence_spans(document: str, evidence: Sequence[str]) -> list[tuple[int, int]]:
    """Where each evidence string sits in the document (whitespace-normalised match); unfound ones are left out.

    >>> evidence_spans("The cat  sat. A dog ran.", ["cat sat", "a bird"])
    [(4, 12)]
    """
    return [span for span in (m.locate(document, e) for e in evidence) if span]


def holds(document: str, evidence: Sequence[str], cites: Sequence[tuple], doc_id: str | None = None) -> bool:
    """True when some citation `(quote, start, end, doc_id)` overlaps an evidence span of the document.
    A citation with offsets must match the document there; one without is looked up by its quote.

    >>> doc = "The cat sat. A dog ran."
    >>> holds(doc, ["A dog ran."], [("dog", 15, 18, None)]), holds(doc, ["A dog ran."], [("The cat", None, None, None)])
    (True, False)
    """
    from .runner import _cited_spans

    gold = evidence_spans(document, evidence)
    return any(m.overlaps(c, g) for c in _cited_spans(document, doc_id, cites) for g in gold)


@dataclass
class RowRecord:
    """What happened to one row: enough to recompute every figure."""

    id: str
    doc: str
    kind: str
    form: str
    style: str
    question: str
    abstained: bool
    confidence: float | None
    quotes: int = 0
    holds: bool | None = None        # answerable rows only; None when the quotes are unknown
    evidence_found: bool | None = None  # answerable rows only: every evidence string was found in the document
    ms: float | None = None
    error: str | None = None


def _record(row: DeclineRow, **kw) -> RowRecord:
    return RowRecord(id=row.id, doc=row.doc, kind=row.kind, form=row.form, style=row.style, question=row.question, **kw)


def ask_row(assistant, row: DeclineRow, document: str, doc_id: str) -> RowRecord:
    """Ask one row's question; an exception is recorded as the row's error and scored as an abstention."""
    answerable = row.kind == "answerable"
    found = len(evidence_spans(document, row.evidence)) == len(row.evidence) if answerable else None
    try:
        t0 = time.perf_counter()
        answer = assistant.ask(row.question)
        ms = (time.perf_counter() - t0) * 1000
    except Exception as exc:  # noqa: BLE001 - one failing question is counted, not fatal
        first = str(exc).splitlines()[0] if str(exc) else ""
        return _record(row, abstained=True, confidence=None, holds=False if answerable else None,
                       evidence_found=found, error=f"{type(exc).__name__}: {first}")
    cites = [] if answer.abstained else [(c.quote, c.start, c.end, c.doc_id) for c in answer.citations]
    return _record(row, abstained=answer.abstained, confidence=answer.confidence, quotes=len(cites), ms=ms,
                   holds=holds(document, row.evidence, cites, doc_id) if answerable else None, evidence_found=found)


def score_prediction(row: DeclineRow, pred: DeclinePrediction | None, document: str, quoted: bool) -> RowRecord:
    """A row scored from another system's prediction. A missing one counts as answered without quotes;
    `quoted` says whether the file gives quotes at all (else `holds` stays None)."""
    answerable = row.kind == "answerable"
    found = len(evidence_spans(document, row.evidence)) == len(row.evidence) if answerable else None
    if pred is None:
        return _record(row, abstained=False, confidence=None, holds=False if answerable and quoted else None,
                       evidence_found=found, error="missing from predictions")
    cites: list[tuple] = []
    if not pred.abstained:
        for c in pred.citations or []:
            ok = c.start is not None and c.end is not None and 0 <= c.start <= c.end <= len(document)
            cites.append((c.quote if c.quote is not None else document[c.start:c.end] if ok else "",
                          c.start, c.end, None))
        cites += [(q, None, None, None) for q in pred.quotes or []]
    value = None
    if answerable and quoted:
        value = False if pred.abstained else holds(document, row.evidence, cites)
    return _record(row, abstained=pred.abstained, confidence=pred.confidence, quotes=len(cites), holds=value,
                   evidence_found=found)


# ---------------------------------------------------------------- figures

def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def summarize(records: Sequence[RowRecord]) -> dict[str, Any]:
    """The figures of a group of records (None where the group has no question to count).

    >>> rs = [RowRecord("a", "d", "off-topic", "why", "plain", "q", True, 0.1),
    ...       RowRecord("b", "d", "near-topic", "why", "plain", "q", False, 0.7),
    ...       RowRecord("c", "d", "answerable", "why", "plain", "q", False, 0.9, holds=True)]
    >>> f = summarize(rs)
    >>> f["n"], round(f["declined"], 3), f["max_wrong_confidence"], f["false_abstention"], f["holds"]
    (3, 0.333, 0.7, 0.0, 1.0)
    """
    wrong = [r for r in records if r.kind in WRONG]
    answered_wrong = [r for r in wrong if not r.abstained]
    confidences = [r.confidence for r in answered_wrong if r.confidence is not None]
    ans = [r for r in records if r.kind == "answerable"]
    return {"n": len(records),
            "declined": _rate([r.abstained for r in records]),
            "max_wrong_confidence": max(confidences, default=None),
            "wrong_answered": len(answered_wrong),
            "answered_above_0.5": sum(c > 0.5 for c in confidences),
            "false_abstention": _rate([r.abstained for r in ans]),
            "holds": None if any(r.holds is None for r in ans) else _rate([bool(r.holds) for r in ans]),
            "errors": sum(r.error is not None and r.error != "missing from predictions" for r in records),
            "missing": sum(r.error == "missing from predictions" for r in records)}


def _by(records: Sequence[RowRecord], attr: str, order: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[RowRecord]] = {}
    for r in records:
        groups.setdefault(getattr(r, attr), []).append(r)
    keys = [k for k in order if k in groups] if order else list(groups)
    return {k: summarize(groups[k]) for k in keys}


def figures(records: Sequence[RowRecord]) -> dict[str, Any]:
    """Overall, per kind, and per kind crossed with form, document and style."""
    per_kind = {k: [r for r in records if r.kind == k] for k in KINDS}
    per_kind = {k: rs for k, rs in per_kind.items() if rs}
    return {"overall": summarize(records),
            "kinds": {k: summarize(rs) for k, rs in per_kind.items()},
            "forms": {k: _by(rs, "form", FORMS) for k, rs in per_kind.items()},
            "docs": {k: _by(rs, "doc") for k, rs in per_kind.items()},
            "styles": {k: _by(rs, "style", STYLES) for k, rs in per_kind.items()}}


def headline(figs: dict[str, Any]) -> dict[str, Any]:
    """The flat figures the gate and the targets read. `*_max_wrong_confidence` is 0.0 when every
    such question was declined (nothing was answered with any confidence) and None when some were
    answered without a confidence."""
    def kind(k: str, key: str):
        return figs["kinds"].get(k, {}).get(key)

    def max_wrong(k: str):
        group = figs["kinds"].get(k)
        if group is None:
            return None
        return 0.0 if group["wrong_answered"] == 0 else group["max_wrong_confidence"]

    off_forms = {f: g["declined"] for f, g in figs["forms"].get("off-topic", {}).items()}
    worst = min(off_forms, key=off_forms.get, default=None)
    return {"off_topic_declined": kind("off-topic", "declined"),
            "off_topic_min_form_declined": off_forms.get(worst),
            "off_topic_worst_form": worst,
            "off_topic_max_wrong_confidence": max_wrong("off-topic"),
            "off_topic_answered_above_0.5": kind("off-topic", "answered_above_0.5"),
            "near_topic_declined": kind("near-topic", "declined"),
            "near_topic_max_wrong_confidence": max_wrong("near-topic"),
            "answerable_false_abstention": kind("answerable", "false_abstention"),
            "answerable_holds": kind("answerable", "holds"),
            "errors": figs["overall"]["errors"]}


def targets(head: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each README target with this run's value and whether it is met (None when not measured)."""
    out = {}
    for name, (op, bound) in TARGETS.items():
        value = head.get(name)
        met = None if value is None else value >= bound if op == ">=" else value <= bound
        out[name] = {"target": f"{op} {bound}", "value": value, "met": met}
    return out


def check_gate(head: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """One line per missed bound of a gate's `decline` section; ValueError for a figure not in `GATE_FIGURES`."""
    from .runner import check_gate as check

    unknown = (set(gate.get("min", {})) | set(gate.get("max", {}))) - set(GATE_FIGURES)
    if unknown:
        raise ValueError(f"unknown decline figures in the gate: {', '.join(sorted(unknown))}")
    return check(head, gate)


# ---------------------------------------------------------------- running

@dataclass
class DeclineRun:
    """The result of `run_decline` or `score_predictions`: per-row records and what produced them."""

    set_file: str
    split: str
    system: str
    model: str | None
    judge: str | None
    records: list[RowRecord]
    seconds: float
    build_seconds: float = 0.0
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    date: str = field(default_factory=lambda: dt.date.today().isoformat())

    def to_dict(self) -> dict[str, Any]:
        figs = figures(self.records)
        head = headline(figs)
        return {"meta": {"set": self.set_file, "split": self.split, "system": self.system, "model": self.model,
                         "judge": self.judge, "date": self.date, "n": len(self.records), "seconds": self.seconds,
                         "build_seconds": self.build_seconds,
                         "evidence_not_found": [r.id for r in self.records if r.evidence_found is False]},
                "headline": head, "targets": targets(head), **figs, "documents": self.documents,
                "records": [asdict(r) for r in self.records]}


def _documents_of(rows: Sequence[DeclineRow], set_file: Path, squad: Sequence[Path] | None) -> dict[str, Source]:
    return resolve_sources([r.doc for r in rows], Path(set_file).resolve().parent, squad)


def run_decline(set_file: Path | str, rows: Sequence[DeclineRow], split: str = "test", settings=None,
                progress: bool | None = None, squad: Sequence[Path] | None = None) -> DeclineRun:
    """Index each document the rows name (cached) and ask every row's question through `Assistant.ask`."""
    from tqdm import tqdm

    from assistant import Settings

    t_start = time.perf_counter()
    settings = settings or Settings()
    sources = _documents_of(rows, Path(set_file), squad)
    records: dict[str, RowRecord] = {}
    documents: dict[str, dict[str, Any]] = {}
    build, model = 0.0, settings.index.model
    bar = tqdm(total=len(rows), desc="decline", unit="q", leave=False,
               disable=None if progress is None else not progress)
    try:
        for doc in open_each(sources, settings, progress):
            build += doc.build_seconds
            model, documents[doc.key] = doc.model, doc.about
            for row in rows:
                if row.doc == doc.key:
                    records[row.id] = ask_row(doc.assistant, row, doc.text, doc.doc_id)
                    bar.update(1)
    finally:
        bar.close()
    return DeclineRun(set_file=str(set_file), split=split, system="ours (this assistant)", model=model,
                      judge=settings.answer.judge, records=[records[r.id] for r in rows],
                      seconds=time.perf_counter() - t_start, build_seconds=build, documents=documents)


def score_predictions(set_file: Path | str, rows: Sequence[DeclineRow], predictions: dict[str, DeclinePrediction],
                      name: str, split: str = "test",
                      squad: Sequence[Path] | None = None) -> tuple[DeclineRun, list[str]]:
    """Score a predictions file (no model runs); also returns the ids it lacks (scored as answered)."""
    from index.errors import AssistantError
    from index.loading import load_document

    t_start = time.perf_counter()
    sources = _documents_of(rows, Path(set_file), squad)
    quoted = any(p.quoted for p in predictions.values())
    texts: dict[str, str] = {}
    documents: dict[str, dict[str, Any]] = {}
    for key, source in sources.items():
        path = materialise(source, "text")  # read, never indexed: no model in the key
        try:
            texts[key] = load_document(path).text
        except AssistantError as exc:
            raise DeclineDataError(f"{key}: {exc}") from None
        documents[key] = {"path": str(path), "chars": len(texts[key])}
    missing = [r.id for r in rows if r.id not in predictions]
    records = [score_prediction(r, predictions.get(r.id), texts[r.doc], quoted) for r in rows]
    return DeclineRun(set_file=str(set_file), split=split, system=f"predictions from {name}", model=None, judge=None,
                      records=records, seconds=time.perf_counter() - t_start, documents=documents), missing


# ---------------------------------------------------------------- tables

def _num(v: float | None, digits: int = 2) -> str:
    """`_num(0.8123) -> "0.81"`, `_num(3) -> "3"` (a count), `_num(None) -> "–"`."""
    return "–" if v is None else str(v) if isinstance(v, int) else f"{v:.{digits}f}"


def _conf(v: float | None) -> str:
    """Confidences get three decimals: 0.991 is not 1."""
    return _num(v, 3)


def _cell(group: dict[str, Any] | None, key: str = "declined") -> str:
    """`0.95 (20)`: a figure and the questions behind it; `–` for none."""
    return "–" if not group else f"{_num(group[key])} ({group['n']})"


def _wrong_confidence(groups: Sequence[dict[str, Any] | None]) -> str:
    values = [g["max_wrong_confidence"] for g in groups if g and g["max_wrong_confidence"] is not None]
    return _conf(max(values)) if values else "–"


def _rows_by(results: dict[str, Any], part: str, names: Sequence[str]) -> list[list[str]]:
    """One row per form (or document): off-topic declined, near-topic declined, answerable false
    abstention, highest confidence of a wrongly answered question; then overall."""
    rows = []
    for name in names:
        g = [results[part].get(k, {}).get(name) for k in KINDS]
        rows.append([name, _cell(g[0]), _cell(g[1]), _cell(g[2], "false_abstention"), _wrong_confidence(g[:2])])
    k = [results["kinds"].get(kind) for kind in KINDS]
    rows.append(["overall", _cell(k[0]), _cell(k[1]), _cell(k[2], "false_abstention"), _wrong_confidence(k[:2])])
    return rows


def _names(results: dict[str, Any], part: str, order: Sequence[str] | None = None) -> list[str]:
    seen = dict.fromkeys(n for per in results[part].values() for n in per)
    return [n for n in order if n in seen] if order else list(seen)


HEADER = ["off-topic declined", "near-topic declined", "answerable false abstention",
          "highest confidence, wrongly answered"]


def terminal_table(results: dict[str, Any]) -> str:
    """Per form and per document: declined (n) for each kind, then the headline figures."""
    from .report import _table

    out = []
    for part, label, order in (("forms", "form", FORMS), ("docs", "document", None)):
        out += _table([label, *HEADER], _rows_by(results, part, _names(results, part, order)))
        out.append("")
    h = results["headline"]
    out.append(f"off-topic: worst form {h['off_topic_worst_form'] or '–'} {_num(h['off_topic_min_form_declined'])}, "
               f"answered above 0.5: {h['off_topic_answered_above_0.5'] if h['off_topic_answered_above_0.5'] is not None else '–'}"
               f"   answerable: holds {_num(h['answerable_holds'])}")
    missed = [f"{n} {t['target']} (is {_num(t['value'])})" for n, t in results["targets"].items() if t["met"] is False]
    out.append("targets: " + ("all met" if not missed else "missed " + "; ".join(missed)))
    return "\n".join(out)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _target_line(results: dict[str, Any]) -> str:
    t, h = results["targets"], results["headline"]

    def mark(name: str) -> str:
        met = t[name]["met"]
        return "not measured" if met is None else "met" if met else "missed"

    above = h["off_topic_answered_above_0.5"]
    return (f"Targets: off-topic declined >= 0.99 overall (this run {_num(h['off_topic_declined'])}, "
            f"{mark('off_topic_declined')}) and >= 0.95 in every form (worst: {h['off_topic_worst_form'] or '–'} "
            f"{_num(h['off_topic_min_form_declined'])}, {mark('off_topic_min_form_declined')}); no off-topic question "
            f"answered above 0.5 confidence (this run {'–' if above is None else above}, "
            f"{mark('off_topic_answered_above_0.5')}); near-topic declined >= 0.85 "
            f"({_num(h['near_topic_declined'])}, {mark('near_topic_declined')}).")


def markdown_block(results: dict[str, Any]) -> str:
    """What `--readme` writes between the `decline-figures` markers: the run, a table by form, one by
    document, and the targets with this run's values. Cells are `figure (questions)`."""
    meta = results["meta"]
    kinds = ", ".join(f"{g['n']} {k}" for k, g in results["kinds"].items())
    who = f"embedding model {meta['model']}, judge {meta['judge']}" if meta["model"] else meta["system"]
    run = (f"Run of {meta['date']} on the {meta['split']} split of `{Path(meta['set']).name}`: {meta['n']} questions "
           f"({kinds}); {who}; {meta['seconds']:.0f} s.")
    by_form = _markdown_table(["form", *HEADER], _rows_by(results, "forms", _names(results, "forms", FORMS)))
    by_doc = _markdown_table(["document", *HEADER], _rows_by(results, "docs", _names(results, "docs")))
    return "\n\n".join([run, by_form, by_doc, _target_line(results)])


def write_report(results: dict[str, Any], folder: Path) -> Path:
    """`report.md` (the README block, the style table and the questions answered wrongly) and `results.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    styles = _markdown_table(["style", *HEADER], _rows_by(results, "styles", _names(results, "styles", STYLES)))
    wrong = [r for r in results["records"] if r["kind"] in WRONG and not r["abstained"]]
    wrong.sort(key=lambda r: -(r["confidence"] or 0.0))
    listed = [f"| {r['id']} | {r['kind']} | {r['doc']} | {_conf(r['confidence'])} | {r['question']} |" for r in wrong]
    lines = [f"# assistant eval --decline {Path(results['meta']['set']).name}", "", markdown_block(results), "",
             "## By style", "", styles, "", f"## Answered, but the document does not say ({len(wrong)})", ""]
    lines += ["| id | kind | document | confidence | question |", "|---|---|---|---:|---|", *listed] if wrong else ["None."]
    (folder / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
