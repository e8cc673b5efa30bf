"""Scores the assistant on any SQuAD 2.0 JSON file: retrieval, quotes, abstention, confidence.

Each article becomes one Markdown document (`# Title`, then its paragraphs separated by blank
lines), indexed on its own with the normal build and cached under
`$XDG_CACHE_HOME/grounded-assistant/squad/`. Every question goes through the public
`Assistant.ask`; its `answer.passages` are the ranked retrieval. Gold answers are mapped from
their paragraph offsets to offsets in the indexed document text (and checked to the character),
so a passage or a quote can be judged by position, not by string search.

Figures, overall and per article (SQuAD 2.0 calls the two halves HasAns and NoAns):

- answerable (HasAns): hit@1/3/5 (a passage's [start, end) covers a gold answer span), gold
  answer inside the quotes (SQuAD normalisation, matched on whole words), first quote covers a
  gold span, false abstention;
- unanswerable (NoAns): declined (abstained);
- accuracy: answerable questions answered with a gold answer inside the quotes, plus
  unanswerable questions declined, over all questions; ROC AUC of `answer.confidence` as a
  HasAns-vs-NoAns separator; mean quoted characters per answered question; ask latency.

Left out: SQuAD's exact match and token F1 of a predicted span (our answers are whole quoted
sentences, not spans), and any use of SQuAD *dev* data. Per-question records keep the
confidence, the gold-in-quotes and first-quote checks, so figures at a stricter abstention
threshold can be recomputed from them without re-running (a looser one needs the quotes the
assistant did not give, which a record of an abstention cannot hold).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from assistant.squad import (ArticleText, SquadAnswer, SquadArticle, SquadDataError, SquadFile,  # noqa: F401
                             SquadParagraph, SquadQuestion, article_text, load_squad)

from .metrics import mean, percentile, squad_normalize

HELDOUT = Path(__file__).parent / "data" / "squad-heldout.json"
KS = (1, 3, 5)
Span = tuple[int, int]


def _plain(title: str) -> str:
    return " ".join(title.replace("_", " ").split()).casefold()


def select_articles(squad: SquadFile, wanted: Sequence[str] | None) -> list[SquadArticle]:
    """The articles named in `wanted` (with or without underscores, any case), in file order; all when None.

    Raises `SquadDataError` naming the titles that match nothing.
    """
    if not wanted:
        return list(squad.data)
    names = {_plain(w) for w in wanted if w.strip()}
    unknown = names - {_plain(a.title) for a in squad.data}
    if unknown:
        titles = ", ".join(a.title for a in squad.data)
        raise SquadDataError(f"no article titled {', '.join(sorted(unknown))} (articles: {titles})")
    return [a for a in squad.data if _plain(a.title) in names]


# ---------------------------------------------------------------- gold spans

def gold_spans(answers: Iterable[SquadAnswer], offset: int, document: str) -> tuple[list[Span], list[SquadAnswer]]:
    """Each answer's span in the document (paragraph offset + answer_start), and the answers whose
    span does not hold their text there (a broken answer_start, or text the loader changed).

    >>> gold_spans([SquadAnswer(text="Sun", answer_start=0), SquadAnswer(text="x", answer_start=1)], 3, "ab Sun.")
    ([(3, 6)], [SquadAnswer(text='x', answer_start=1)])
    """
    spans: list[Span] = []
    bad: list[SquadAnswer] = []
    for a in answers:
        s = offset + a.answer_start
        e = s + len(a.text)
        if a.text and document[s:e] == a.text:
            if (s, e) not in spans:
                spans.append((s, e))
        else:
            bad.append(a)
    return spans, bad


# ---------------------------------------------------------------- per-question judgements

def covers(outer: Span, inner: Span) -> bool:
    """True when the half-open range `outer` contains all of `inner`: `covers((0, 10), (3, 6)) -> True`."""
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def hit_rank(passages: Sequence[Span], gold: Sequence[Span]) -> int | None:
    """1-based rank of the first passage covering a gold span, None when none does.

    `hit_rank([(0, 5), (5, 20)], [(8, 12)]) -> 2`
    """
    for rank, p in enumerate(passages, 1):
        if any(covers(p, g) for g in gold):
            return rank
    return None


def gold_in_quotes(answers: Sequence[str], quotes: Sequence[str]) -> bool:
    """True when some gold answer, SQuAD-normalised (lower case, no punctuation, no a/an/the,
    single spaces), occurs in the normalised joined quotes as whole words.

    >>> gold_in_quotes(["the U.S. Army"], ["It joined the U.S. army in 1950."])
    True
    >>> gold_in_quotes(["195"], ["It joined in 1950."])
    False
    """
    joined = f" {squad_normalize(' '.join(quotes))} "
    return any(g and f" {g} " in joined for g in map(squad_normalize, answers))


# ---------------------------------------------------------------- metrics over records

def roc_auc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """Probability that a random positive scores above a random negative, ties counting half
    (the Mann-Whitney U statistic over n_pos * n_neg; `assistant.judge.auc_of`); None when a side is empty.

    >>> roc_auc([0.9, 0.8], [0.1, 0.2])
    1.0
    >>> roc_auc([0.5, 0.9], [0.5, 0.1])
    0.875
    >>> roc_auc([0.3], [])
    """
    from assistant.judge import auc_of

    return auc_of(positive, negative) if len(positive) and len(negative) else None


@dataclass
class QuestionRecord:
    """What happened to one question: enough to recompute every figure (and stricter thresholds) later."""

    id: str
    article: str
    question: str
    is_impossible: bool
    abstained: bool
    confidence: float | None
    gold_in_quotes: bool | None = None      # answerable only; False when abstained
    hit_rank: int | None = None             # answerable only: first passage covering a gold span
    first_quote_covers: bool | None = None  # answerable only; False when abstained
    quoted_chars: int = 0
    quotes: int = 0
    passages: int = 0
    gold_mapped: bool = True                # answerable only: some gold answer mapped into the document
    ms: float | None = None
    error: str | None = None


FIGURES = (["n", "answerable", "unanswerable", "errors"] + [f"hit@{k}" for k in KS]
           + ["gold_in_quotes", "first_quote_covers", "false_abstention", "declined", "accuracy", "auc",
              "quoted_chars", "ask_p50_ms", "ask_p95_ms"])


def summarize(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """The figures of a group of question records (None where a figure has no questions to count).

    hit@k counts answerable questions with a mapped gold span; gold_in_quotes, first_quote_covers
    and false_abstention count all answerable questions (an abstention has no quotes); declined
    counts unanswerable ones; accuracy and AUC count all.
    """
    ans = [r for r in records if not r.is_impossible]
    unans = [r for r in records if r.is_impossible]
    mapped = [r for r in ans if r.gold_mapped]
    rate = lambda flags: sum(flags) / len(flags) if flags else None  # noqa: E731
    out: dict[str, Any] = {"n": len(records), "answerable": len(ans), "unanswerable": len(unans),
                           "errors": sum(r.error is not None for r in records)}
    for k in KS:
        out[f"hit@{k}"] = rate([r.hit_rank is not None and r.hit_rank <= k for r in mapped])
    out["gold_in_quotes"] = rate([bool(r.gold_in_quotes) and not r.abstained for r in ans])
    out["first_quote_covers"] = rate([bool(r.first_quote_covers) and not r.abstained for r in ans])
    out["false_abstention"] = rate([r.abstained for r in ans])
    out["declined"] = rate([r.abstained for r in unans])
    correct = sum(bool(r.gold_in_quotes) and not r.abstained for r in ans) + sum(r.abstained for r in unans)
    out["accuracy"] = correct / len(records) if records else None
    out["auc"] = roc_auc([r.confidence or 0.0 for r in ans], [r.confidence or 0.0 for r in unans])
    out["quoted_chars"] = mean(r.quoted_chars for r in records if not r.abstained)
    times = [r.ms for r in records if r.ms is not None]
    out["ask_p50_ms"], out["ask_p95_ms"] = percentile(times, 50), percentile(times, 95)
    return out


# ---------------------------------------------------------------- thresholds

BOUNDS = (0.05, 0.10, 0.15)  # false-abstention bounds the report reads the curve at (the is 0.15)


def abstention_curve(records: Sequence[QuestionRecord]) -> list[dict[str, float]]:
    """What thresholding `answer.confidence` at each value it takes would give (abstain below the
    threshold): the share of unanswerable questions declined and of answerable ones declined
    (false abstention), from the lowest threshold (nothing declined) up. Needs only the records'
    confidences, so it holds for any threshold, looser or stricter than the one the run used.

    >>> rs = [QuestionRecord("a", "A", "q", False, False, 0.9), QuestionRecord("b", "A", "q", True, False, 0.4)]
    >>> [(p["threshold"], p["declined"], p["false_abstention"]) for p in abstention_curve(rs)]
    [(0.0, 0.0, 0.0), (0.4, 0.0, 0.0), (0.9, 1.0, 0.0), (inf, 1.0, 1.0)]
    """
    ans = sorted(r.confidence or 0.0 for r in records if not r.is_impossible)
    unans = sorted(r.confidence or 0.0 for r in records if r.is_impossible)
    out = []
    for t in [0.0, *sorted({*ans, *unans}), float("inf")]:
        out.append({"threshold": t,
                    "declined": bisect.bisect_left(unans, t) / len(unans) if unans else None,
                    "false_abstention": bisect.bisect_left(ans, t) / len(ans) if ans else None})
    return out


def best_declined(curve: list[dict[str, float]], max_false_abstention: float) -> dict[str, float] | None:
    """The point of `curve` that declines the most unanswerable questions with false abstention
    within the bound (None without both kinds of question).

    >>> best_declined([{"threshold": 0.0, "declined": 0.0, "false_abstention": 0.0},
    ...                {"threshold": 0.5, "declined": 0.6, "false_abstention": 0.1},
    ...                {"threshold": 0.7, "declined": 0.9, "false_abstention": 0.3}], 0.15)["declined"]
    0.6
    """
    fits = [p for p in curve if p["declined"] is not None and p["false_abstention"] is not None
            and p["false_abstention"] <= max_false_abstention]
    return max(fits, key=lambda p: (p["declined"], -p["false_abstention"]), default=None)


def threshold_groups(records: Sequence[QuestionRecord]) -> dict[str, list[QuestionRecord]]:
    """"overall", then each article, keeping those with both answerable and unanswerable questions
    (a threshold trades one against the other only there)."""
    groups = {"overall": list(records)}
    for r in records:
        groups.setdefault(r.article, []).append(r)
    return {name: rs for name, rs in groups.items()
            if any(r.is_impossible for r in rs) and not all(r.is_impossible for r in rs)}


def curve_summary(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """Per false-abstention bound, the most a threshold on the run's confidences declines, overall
    and per article (`threshold_groups`)."""
    out: dict[str, Any] = {}
    for name, rs in threshold_groups(records).items():
        curve = abstention_curve(rs)
        out[name] = {f"{b:.2f}": best_declined(curve, b) for b in BOUNDS}
    return out


# ---------------------------------------------------------------- running

@dataclass
class ArticleRun:
    """One article as indexed: where, how big, and the gold answers that did not map to the document."""

    title: str
    doc_id: str
    index: str
    chars: int
    paragraphs: int
    questions: int
    build_seconds: float
    unmapped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SquadRun:
    """The result of `run_squad`: articles, per-question records and the settings they were asked with."""

    path: str
    sha256: str
    version: str
    model: str
    settings: dict[str, Any]
    articles: list[ArticleRun]
    records: list[QuestionRecord]
    seconds: float

    def figures(self) -> dict[str, Any]:
        """`{"overall": {...}, "articles": {title: {...}}}`, each as `summarize` gives it."""
        per = {a.title: summarize([r for r in self.records if r.article == a.title]) for a in self.articles}
        return {"overall": summarize(self.records), "articles": per}

    def to_dict(self) -> dict[str, Any]:
        figs = self.figures()
        return {"meta": {"squad": self.path, "sha256": self.sha256, "version": self.version, "model": self.model,
                         "seconds": self.seconds, "build_seconds": sum(a.build_seconds for a in self.articles),
                         "unmapped_answers": sum(len(a.unmapped) for a in self.articles), "settings": self.settings},
                "overall": figs["overall"], "articles": figs["articles"],
                "thresholds": curve_summary(self.records),
                "indexes": [asdict(a) for a in self.articles],
                "records": [asdict(r) for r in self.records]}


def cache_folder(text: str, model: str) -> Path:
    """Where an article's document and index are cached: keyed by its text and the embedding model."""
    from assistant.settings import default_index_dir

    key = hashlib.sha256(f"{text}\0{model}".encode("utf-8")).hexdigest()
    return default_index_dir().parent / "squad" / key


def _document_file(folder: Path, title: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^\w.()-]+", "_", title).strip("._") or "article")
    path = path.with_name(path.name + ".md")
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def _ask(assistant, article: str, q: SquadQuestion, spans: list[Span], golds: list[str], doc_id: str) -> QuestionRecord:
    record = QuestionRecord(id=q.id, article=article, question=q.question, is_impossible=q.is_impossible,
                            abstained=True, confidence=None, gold_mapped=bool(spans) or q.is_impossible)
    try:
        t0 = time.perf_counter()
        answer = assistant.ask(q.question)
        record.ms = (time.perf_counter() - t0) * 1000
    except Exception as exc:  # noqa: BLE001 - one question failing is recorded (and counted), not fatal
        first = str(exc).splitlines()[0] if str(exc) else ""
        record.error = f"{type(exc).__name__}: {first}"
        if not q.is_impossible:
            record.gold_in_quotes = record.first_quote_covers = False
        return record
    record.abstained, record.confidence = answer.abstained, answer.confidence
    cites = [] if answer.abstained else answer.citations
    record.quotes, record.passages = len(cites), len(answer.passages)
    record.quoted_chars = sum(len(c.quote) for c in cites)
    if not q.is_impossible:
        record.hit_rank = hit_rank([(p.start, p.end) for p in answer.passages if p.doc_id == doc_id], spans)
        record.gold_in_quotes = gold_in_quotes(golds, [c.quote for c in cites])
        record.first_quote_covers = bool(cites) and cites[0].doc_id == doc_id and \
            any(covers((cites[0].start, cites[0].end), g) for g in spans)
    return record


def run_squad(path: str | Path, settings=None, articles: Sequence[str] | None = None, limit: int | None = None,
              progress: bool | None = None) -> SquadRun:
    """Index each article (cached) and ask every question through `Assistant.ask`.

    `articles` restricts to some titles, `limit` keeps the first N questions of each article,
    `progress` shows bars (None: only on a terminal). Raises `SquadDataError` for a bad file.
    """
    from tqdm import tqdm

    from assistant import Assistant, Settings

    t_start = time.perf_counter()
    settings = settings or Settings()
    squad = load_squad(path)
    chosen = select_articles(squad, articles)
    total = sum(min(len(qs), limit) if limit is not None else len(qs)
                for qs in ([q for p in a.paragraphs for q in p.qas] for a in chosen))
    bar = tqdm(total=total, desc="squad", unit="q", leave=False, disable=None if progress is None else not progress)
    runs, records, model = [], [], settings.index.model
    try:
        for article in chosen:
            doc = article_text(article)
            folder = cache_folder(doc.text, settings.index.model)
            t0 = time.perf_counter()
            assistant = Assistant.from_paths([_document_file(folder, article.title, doc.text)], folder / "index",
                                             settings, progress=progress)
            build_seconds = time.perf_counter() - t0
            info = assistant.info()
            model = info.model
            doc_id = info.documents[0]["doc_id"]
            indexed = assistant.document_text(doc_id)
            run = ArticleRun(title=article.title, doc_id=doc_id, index=info.folder, chars=len(indexed),
                             paragraphs=len(article.paragraphs), questions=0, build_seconds=build_seconds)
            asked = 0
            for para, offset in zip(article.paragraphs, doc.offsets):
                for q in para.qas:
                    if limit is not None and asked >= limit:
                        break
                    asked += 1
                    spans, bad = gold_spans(q.answers, offset, indexed)
                    run.unmapped += [{"id": q.id, "text": a.text, "answer_start": a.answer_start} for a in bad]
                    golds = [a.text for a in q.answers]
                    records.append(_ask(assistant, article.title, q, spans, golds, doc_id))
                    bar.update(1)
            run.questions = asked
            runs.append(run)
    finally:
        bar.close()
    return SquadRun(path=str(path), sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                    version=squad.version, model=model, settings=settings.model_dump(), articles=runs,
                    records=records, seconds=time.perf_counter() - t_start)


def is_heldout(path: str | Path) -> bool:
    """True when `path` is the bundled held-out file (the one CI gates on)."""
    try:
        return Path(path).resolve().samefile(HELDOUT)
    except OSError:
        return False


# ---------------------------------------------------------------- the gate and tables

def check_gate(overall: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """One line per missed bound of a gate's `squad` section (`min`/`max` on overall figures).

    Raises ValueError for a figure name this module does not compute.
    """
    from .runner import check_gate as check

    unknown = (set(gate.get("min", {})) | set(gate.get("max", {}))) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown SQuAD figures in the gate: {', '.join(sorted(unknown))}")
    return check(overall, gate)


COLUMNS = [("n", "questions"), ("unanswerable", "unanswerable"), ("hit@1", "hit@1"), ("hit@3", "hit@3"),
           ("gold_in_quotes", "gold in quotes"), ("first_quote_covers", "first quote covers"),
           ("declined", "declined"), ("false_abstention", "false abstention"), ("accuracy", "accuracy"),
           ("auc", "AUC"), ("quoted_chars", "quoted chars"), ("ask_ms", "p50 / p95 ms")]


def _cell(figs: dict[str, Any], key: str) -> str:
    def num(v: float | None, digits: int = 2) -> str:
        return "–" if v is None else f"{v:.{digits}f}"

    if key in ("n", "unanswerable"):
        return str(figs[key])
    if key == "quoted_chars":
        return num(figs["quoted_chars"], 0)
    if key == "ask_ms":
        p50, p95 = figs["ask_p50_ms"], figs["ask_p95_ms"]
        return "–" if p50 is None else f"{p50:.0f} / {p95:.0f}" if p50 >= 10 else f"{p50:.1f} / {p95:.0f}"
    return num(figs[key])


def table_rows(figures: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (overall first, then one per article) of the figures table."""
    header = ["", *[label for _, label in COLUMNS]]
    rows = [["overall", *[_cell(figures["overall"], k) for k, _ in COLUMNS]]]
    for title, figs in figures["articles"].items():
        rows.append([title.replace("_", " "), *[_cell(figs, k) for k, _ in COLUMNS]])
    return header, rows


def markdown_table(figures: dict[str, Any]) -> str:
    """The figures as a Markdown table (the README's `squad-figures` block)."""
    header, rows = table_rows(figures)
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def terminal_table(figures: dict[str, Any]) -> str:
    """The figures as aligned plain-text columns, for the terminal."""
    from .report import _table

    header, rows = table_rows(figures)
    return "\n".join(_table(["article", *header[1:]], rows))


def thresholds_table(run: SquadRun) -> str:
    """Markdown: per group with unanswerable questions, what the run's threshold did and the most any
    threshold on its confidences would decline within each false-abstention bound (`curve_summary`)."""
    figs = run.figures()
    rows = []
    for name, best in curve_summary(run.records).items():
        own = figs["overall"] if name == "overall" else figs["articles"][name]
        cells = [f"{p['declined']:.2f} at {p['false_abstention']:.2f}" if p else "–" for p in best.values()]
        rows.append(f"| {name.replace('_', ' ')} | {own['declined']:.2f} at {own['false_abstention']:.2f} | "
                    + " | ".join(cells) + " |")
    if not rows:
        return ""
    head = " | ".join(f"best at false abstention <= {b:.2f}" for b in BOUNDS)
    return "\n".join([f"| declined at false abstention | this run's threshold | {head} |",
                      "|---|---:|" + "---:|" * len(BOUNDS), *rows])


def chart(run: SquadRun, path: Path) -> Path:
    """A PNG of declined against false abstention as the threshold on `answer.confidence` moves, one
    line per group with unanswerable questions, the run's own threshold marked and the corner the
    issue asks for (declined >= 0.50 with false abstention <= 0.15) shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = run.figures()
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    ax.add_patch(plt.Rectangle((0, 0.5), 0.15, 0.5, color="green", alpha=0.12, label="target: declined >= 0.50, FA <= 0.15"))
    for i, (name, rs) in enumerate(threshold_groups(run.records).items()):
        curve = abstention_curve(rs)
        own = figs["overall"] if name == "overall" else figs["articles"][name]
        ax.plot([c["false_abstention"] for c in curve], [c["declined"] for c in curve], color=f"C{i}",
                label=f"{name.replace('_', ' ')} (AUC {own['auc']:.3f})")
        ax.scatter([own["false_abstention"]], [own["declined"]], color=f"C{i}", edgecolor="black", zorder=5)
    ax.set_xlabel("false abstention (answerable questions declined)")
    ax.set_ylabel("unanswerable questions declined")
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{Path(run.path).name}: the threshold on answer.confidence moved (dots: the run's)", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(run: SquadRun, results: dict[str, Any], folder: Path) -> Path:
    """`report.md`, `abstention.png` and `results.json` in `folder`; returns the report's path."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    o = results["overall"]
    lines = [f"# assistant eval --squad {Path(run.path).name}", "",
             f"{len(run.articles)} article(s), {o['n']} questions ({o['unanswerable']} unanswerable); model "
             f"{run.model}; {run.seconds:.0f} s. Figures as `eval/squad.py` defines them.", "",
             markdown_table(run.figures())]
    table = thresholds_table(run)
    if table:
        chart(run, folder / "abstention.png")
        lines += ["", "## Abstention threshold", "",
                  "What a threshold on `answer.confidence` gives: declined (unanswerable questions) at false "
                  "abstention (answerable questions declined), for the run's own threshold and the best any "
                  "threshold reaches within each bound.", "", table, "", "![abstention](abstention.png)"]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def readme_block(run: SquadRun) -> str:
    """What `--readme` writes between the `squad-figures` markers."""
    o = run.figures()["overall"]
    name = Path(run.path).name
    block = (f"Latest run ({name}: {len(run.articles)} article(s), {o['n']} questions, "
             f"{o['unanswerable']} unanswerable; {run.model}; {run.seconds:.0f} s):\n\n{markdown_table(run.figures())}")
    table = thresholds_table(run)
    return block + (f"\n\nThe threshold on `answer.confidence` moved (same run; the chart is "
                    f"`docs/squad-abstention.png`):\n\n{table}" if table else "")
