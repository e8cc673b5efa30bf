"""`assistant judge rerank`: fits the sentence re-ranker (`assistant.rerank`, `answer.rerank`) for ranking.

Every answerable question of the calibration articles the judge never trained on (IPod and The
Legend of Zelda: Twilight Princess; never the validation articles Spectre and Solar_energy, never
the eval's or the decline benchmark's sets) goes through the retriever; the judge reads the best
`n` candidate sentences by retrieval support, as the assistant does with `answer.rerank=n`. A
linear model over `rerank.FEATURES` is fitted with a listwise loss (softmax cross-entropy over a
question's judged sentences, the target shared by those overlapping the answer), L2-regularised,
by scipy's L-BFGS-B: deterministic, no sampling. Reported on the SQuAD dev article
(Computational_complexity_theory), never fitted on: how often the first sentence, and the first
passage, hold the answer, in retrieval order and re-ranked.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from .data import read_squad
from .settings import CALIBRATION, DEV_ARTICLES

FIT_ON = tuple(t for t in CALIBRATION if t not in DEV_ARTICLES)


def question_rows(articles, work: Path, n: int, judge_dir: Path | None = None, log=print) -> list[dict]:
    """Per answerable question, per judged sentence: its `rerank.rank_features`, whether it holds
    the answer, its passage's retrieval position; and whether the first passage holds the answer."""
    from assistant.api import Assistant
    from assistant.judge import Judge
    from assistant.rerank import rank_features
    from assistant.settings import Settings

    settings = Settings.from_env()
    plain = settings.with_(answer={"judge": "none"})
    judge = Judge.load(judge_dir, settings.answer.judge_runtime, settings.answer.judge_threads)
    out = []
    for art in articles:
        safe = re.sub(r"[^\w.-]+", "_", art.title)
        doc_path = work / "docs" / f"{safe}.md"
        doc_path.parent.mkdir(parents=True, exist_ok=True)
        doc_path.write_text(art.text, encoding="utf-8")
        a = Assistant.from_paths([doc_path], work / "indexes" / safe, plain, progress=False)
        text = a.index.documents[next(iter(a.index.documents))]
        shift = text.find(art.text[:200])

        def holds(row: int, answers) -> bool:
            s, e = (int(v) for v in a.index.sentence_span[row])
            return any(st + shift < e and en + shift > s for st, en in answers)

        for q in art.questions:
            if not q.answers:
                continue
            query = a.resolve(q.text, None)
            ranked = a.retriever.search(query, settings.answer.passages)
            rows, segments = a.decider.judge_inputs(ranked, n)
            support: dict[int, float] = {}
            passage: dict[int, int] = {}
            for ci, c in enumerate(ranked):
                for s in c.sentences:
                    if s.score > support.get(s.index, -np.inf):
                        support[s.index] = s.score
                    passage.setdefault(s.index, ci)
            verdicts = judge.judge(query.text, segments) if rows else []
            feats = [rank_features(support[r], v.probability, v.span) for r, v in zip(rows, verdicts)]
            out.append({"article": art.title, "features": feats, "holds": np.array([holds(r, q.answers) for r in rows]),
                        "passage": np.array([passage[r] for r in rows], dtype=int),
                        "first_passage_holds": bool(ranked) and any(holds(s.index, q.answers) for s in ranked[0].sentences)})
        log(f"{art.title}: {sum(1 for q in art.questions if q.answers)} answerable questions")
    return out


def fit_listwise(xs: list[np.ndarray], targets: list[np.ndarray], l2: float = 1.0) -> np.ndarray:
    """Weights of the linear scorer minimising the listwise softmax loss over the (standardised) rows of each
    question (questions whose rows hold no answer carry no signal: leave them out)."""
    from scipy.optimize import minimize

    ts = [t / t.sum() for t in targets]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.5 * l2 * float(w @ w), l2 * w
        for x, t in zip(xs, ts):
            z = x @ w
            z = z - z.max()
            p = np.exp(z)
            total = p.sum()
            value += float(np.log(total) - (t * z).sum())
            grad = grad + x.T @ (p / total - t)
        return value, grad

    return minimize(loss, np.zeros(xs[0].shape[1]), jac=True, method="L-BFGS-B",
                    options={"maxiter": 2000, "gtol": 1e-8}).x


def figures(questions: list[dict], score) -> dict:
    """Share of questions whose first judged sentence holds the answer, and whose first passage does,
    in retrieval order and ordered by `score(features)` (the passages by their best judged sentence;
    a passage with no judged sentence keeps its place after them)."""
    sentence = passage = 0
    base_sentence = base_passage = 0
    for q in questions:
        if not len(q["holds"]):
            base_passage += q["first_passage_holds"]
            passage += q["first_passage_holds"]
            continue
        base_sentence += bool(q["holds"][0])
        base_passage += q["first_passage_holds"]
        z = np.array([score(f) for f in q["features"]])
        top = int(np.argmax(z))
        sentence += bool(q["holds"][top])
        lead = q["passage"][top]
        passage += bool(q["holds"][q["passage"] == lead].any()) or (lead == 0 and q["first_passage_holds"])
    n = max(len(questions), 1)
    return {"questions": len(questions),
            "retrieval": {"first_sentence_holds": round(base_sentence / n, 4), "first_passage_holds": round(base_passage / n, 4)},
            "reranked": {"first_sentence_holds": round(sentence / n, 4), "first_passage_holds": round(passage / n, 4)}}


def fit_reranker(out: Path, data: list[Path], validation: list[Path], work: Path, n: int = 6, l2: float = 1.0,
                 features: tuple[str, ...] = ("support", "judge_logit"), judge_dir: Path | None = None,
                 log=print) -> dict:
    """Fit on the calibration articles the judge never saw (`FIT_ON`), report on the SQuAD dev
    article, write the model to `out` atomically; returns what was written."""
    from assistant.rerank import Reranker

    train = [a for p in data for a in read_squad(p, keep=lambda t: t in FIT_ON)]
    held = [a for p in validation for a in read_squad(p, keep=lambda t: t in DEV_ARTICLES)]
    if not train:
        raise ValueError(f"none of the articles {', '.join(FIT_ON)} in the data")
    rows = question_rows(train, work, n, judge_dir, log)
    dev = question_rows(held, work, n, judge_dir, log) if held else []
    useful = [q for q in rows if q["holds"].any() and len(q["holds"]) > 1]
    allx = np.array([[f[k] for k in features] for q in useful for f in q["features"]])
    mean, scale = allx.mean(axis=0), allx.std(axis=0)
    scale[scale == 0] = 1.0
    xs = [(np.array([[f[k] for k in features] for f in q["features"]]) - mean) / scale for q in useful]
    w = fit_listwise(xs, [q["holds"].astype(float) for q in useful], l2)
    model = Reranker(tuple(features), tuple(mean.round(6)), tuple(scale.round(6)), tuple(w.round(6)), {})
    report = {"fitted_on": [a.title for a in train], "judge_reads": n, "l2": l2, "loss": "listwise softmax",
              "fit": figures(rows, model.score),
              "validation": {"articles": [a.title for a in held], **figures(dev, model.score)} if dev else None}
    written = {"features": list(features), "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
               "weights": w.round(6).tolist(), "about": report}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(written, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return written
