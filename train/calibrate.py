"""The answer/decline decision: every calibration question run through the assistant with the
judge, a sentence model and the decision fitted on them (each weight within its sign), the
threshold, and the figures beside them in `decision.json`. `assistant judge calibrate` runs
`calibrate()`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np

from .card import write_card
from .data import Article, open_article, read_decline, read_eval_dev, read_squad
from .settings import CALIBRATION, MIN_SUPPORT_ROWS

# ---------------------------------------------------------------- the decision


def question_features(articles: list[Article], judge_dir: Path | None, work: Path, settings=None, log=print):
    """Every question of every article, run through the assistant with the judge (before any
    decision is fitted): whether it is answerable and, per judged candidate sentence, its
    `answering.sentence_features`, the fact kinds it lacks and whether it holds the answer."""
    from assistant.decision import Decider, sentence_features
    from assistant.api import load_ranker
    from assistant.judge import Judge
    from assistant.settings import Settings

    settings = settings or Settings.from_env()
    judge = Judge.load(judge_dir, settings.answer.judge_runtime, settings.answer.judge_threads)
    ranker = load_ranker(settings.answer)  # the passages ordered as the assistant orders them
    out = []
    for art in articles:
        a, shift = open_article(art, work, settings)
        a.decider = Decider(a.index, settings.answer, judge, None, known=a.retriever.knows, ranker=ranker)
        for q in art.questions:
            query = a.resolve(q.text, None)
            keep = settings.answer.passages
            ranked, judged = a.decider.read(query, a.retriever.search(query, a.pool(keep)), keep)
            cands = a.decider.candidates(query.analysis, ranked, judged)
            rules = a.decider.rules_confidence(cands)
            without = {}  # the rules' confidence with one kind of fact no longer asked for
            for kind in {f.kind for f in query.analysis.facts}:
                fewer = dataclasses.replace(query.analysis,
                                            facts=tuple(f for f in query.analysis.facts if f.kind != kind))
                without[kind] = a.decider.rules_confidence(a.decider.candidates(fewer, ranked, judged))
            first = cands[0] if cands else None
            rows = []
            for c in cands:
                if c.judged is None:
                    continue
                s, e = (int(x) for x in a.index.sentence_span[c.sentence.index])
                holds = any(st + shift < e and en + shift > s for st, en in q.answers)  # overlaps the answer
                rows.append({**sentence_features(c.judged, c.sentence), "holds": holds,
                             "missing_kinds": sorted({f.kind for f in c.missing}), "probability": c.judged.probability,
                             "row": c.sentence.index})
            first_holds = False
            if first is not None:
                s, e = (int(x) for x in a.index.sentence_span[first.sentence.index])
                first_holds = any(st + shift < e and en + shift > s for st, en in q.answers)
            out.append({"article": art.title, "answerable": bool(q.answers), "cands": rows, "rules": rules,
                        "rules_without": without, "first_holds": first_holds, "kind": q.kind,
                        "form": q.form or question_form(q.text),
                        "asks": a.decider.asks(query, ranked)})
        log(f"{art.title}: {len(art.questions)} questions")
    return out


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _fit_standardised(x: np.ndarray, y: np.ndarray, signs=None, sample_weight=None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """`fit_logistic` on the standardised columns of `x`: their mean and scale, the weights and bias."""
    mean, scale = _standardise(x)
    w, b = fit_logistic((x - mean) / scale, y.astype(float), signs=signs, sample_weight=sample_weight)
    return mean, scale, w, b


def fit_sentence_model(questions: list[dict]):
    """The sentence model (a `decision.Decision` over `decision.SENTENCE_FEATURES`): how likely each
    judged sentence of an answerable question holds the answer."""
    from assistant.decision import SENTENCE_FEATURES
    from assistant.decision import Decision

    cands = [c for q in questions if q["answerable"] for c in q["cands"]]
    xs = np.array([[c[f] for f in SENTENCE_FEATURES] for c in cands], dtype=np.float64)
    # every input is evidence: none may lower the probability as it rises (the judge's above all)
    mean, scale, w, b = _fit_standardised(xs, np.array([c["holds"] for c in cands]), signs=[1] * len(SENTENCE_FEATURES))
    return Decision(SENTENCE_FEATURES, tuple(mean), tuple(scale), tuple(w), b, 0.5, {})


def decide_rows(questions: list[dict], sentence, drop_kind: str | None = None, orders: bool = False) -> list[dict]:
    """Per question, `decision.decision_features` given the sentence model (`sentence` maps a
    candidate's features to its probability of answering), and whether the first quote holds the
    answer (the most probable sentence when the judge `orders` the quotes). `drop_kind`: as if
    the question analysis no longer read that kind of fact."""
    from types import SimpleNamespace

    from assistant.decision import decision_features
    from assistant.judge import Judgement

    rows = []
    for q in questions:
        cands = [SimpleNamespace(answers=sentence(c), judged=Judgement(c["probability"], c["span"]),
                                 sentence=SimpleNamespace(score=c["support"], lexical=c["lexical"], dense=c["dense"]),
                                 missing=[k for k in c["missing_kinds"] if k != drop_kind], holds=c["holds"])
                 for c in q["cands"]]
        rules = q["rules_without"].get(drop_kind, q["rules"]) if drop_kind else q["rules"]
        feats = decision_features(cands, rules, q["asks"])
        holds = max(cands, key=lambda c: c.answers).holds if orders and cands else q["first_holds"]
        rows.append({"article": q["article"], "answerable": q["answerable"], "holds": holds,
                     "kind": q.get("kind", ""), "form": q.get("form", ""), **feats})
    return rows


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, signs=None, sample_weight=None
                 ) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression, each weight kept to its sign
    where `signs` gives one (+1: at least 0, -1: at most 0, 0: free), by scipy's L-BFGS-B
    (scikit-learn's LogisticRegression has no sign constraints).

    >>> w, b = fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]), l2=0.1)
    >>> bool(w[0] > 0) and bool(-b / w[0] > 1) and bool(-b / w[0] < 2)
    True
    >>> fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]), signs=[-1])[0].tolist()
    [0.0]
    """
    from scipy.optimize import minimize

    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    y = np.asarray(y, dtype=float)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float) * n / np.sum(sample_weight)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ theta
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(reg * theta ** 2))
        return value, xb.T @ (sw * (p - y)) + reg * theta

    signs = list(signs) if signs is not None else [0] * d
    bounds = [(0.0, None) if sg > 0 else (None, 0.0) if sg < 0 else (None, None) for sg in signs] + [(None, None)]
    theta = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 1000, "gtol": 1e-9}).x
    return theta[:-1], float(theta[-1])


def supported_inputs(rows: list[dict], features=None) -> tuple[list[str], dict]:
    """The decision's inputs that have enough support in `rows` to be fitted: every binary input
    (a question flag, a missing kind of fact) needs `MIN_SUPPORT_ROWS` answerable and as many
    unanswerable rows with its rarer value, from more than one document; the others always
    qualify. Returns the kept names and, for each binary input, its counts."""
    from assistant.decision import DECISION_FEATURES
    from assistant.decision import LOWERS

    kept, counts = [], {}
    for f in features or DECISION_FEATURES:
        if f not in LOWERS:
            kept.append(f)
            continue
        on = [r for r in rows if r[f] >= 0.5]
        rare = on if len(on) <= len(rows) / 2 else [r for r in rows if r[f] < 0.5]
        c = {"answerable": sum(r["answerable"] for r in rare), "unanswerable": sum(not r["answerable"] for r in rare),
             "documents": len({r["article"] for r in rare})}
        counts[f] = c
        if c["answerable"] >= MIN_SUPPORT_ROWS and c["unanswerable"] >= MIN_SUPPORT_ROWS and c["documents"] > 1:
            kept.append(f)
    return kept, counts


def fit_decision(rows: list[dict], features=None, balanced: bool = False
                 ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, float]:
    """The answer/decline model over the supported inputs (`supported_inputs`), evidence weights
    kept at or above zero and the question's own flags at or below (`judge.LOWERS`). `balanced`:
    each document weighs the same in the fit, however many questions it has."""
    from assistant.decision import LOWERS

    names, _ = supported_inputs(rows, features)
    x = np.array([[r[f] for f in names] for r in rows], dtype=np.float64)
    weight = None
    if balanced:
        count: dict[str, int] = {}
        for r in rows:
            count[r["article"]] = count.get(r["article"], 0) + 1
        weight = np.array([1.0 / count[r["article"]] for r in rows])
    mean, scale, w, b = _fit_standardised(x, np.array([r["answerable"] for r in rows]),
                                          signs=[-1 if f in LOWERS else 1 for f in names], sample_weight=weight)
    return names, mean, scale, w, b


def decision_confidence(rows: list[dict], names, mean, scale, w, b) -> np.ndarray:
    x = np.array([[r[f] for f in names] for r in rows], dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ w + b)))


def choose_threshold(confidence: np.ndarray, answerable: np.ndarray, holds: np.ndarray,
                     max_false_abstention: float) -> float:
    """The threshold (abstain below) with the best accuracy (answered with the answer's sentence first,
    or declined when there is none) among those whose false-abstention rate stays within the bound."""
    best, best_t = -1.0, 0.0
    for t in np.unique(np.concatenate([[0.0], confidence])):
        answered = confidence >= t
        fa = float(np.mean(~answered[answerable])) if answerable.any() else 0.0
        if fa > max_false_abstention:
            continue
        acc = float(np.mean(np.where(answerable, answered & holds, ~answered)))
        if acc > best:
            best, best_t = acc, float(t)
    return best_t


def ablate_kinds(questions: list[dict], sentence) -> dict:
    """Does each kind of fact the question analysis reads pay off? ROC AUC of the refitted
    decision on the SQuAD articles and on the bundled article apart, with every kind, and with
    one kind at a time no longer read (neither in `missing_kind` nor in the rules' confidence)."""
    from assistant.decision import DECISION_FEATURES
    from assistant.judge import auc_of
    from assistant.question import FACT_KINDS

    def score(rows: list[dict]) -> dict:
        y = np.array([r["answerable"] for r in rows])
        squad = np.array([r["article"] != "eval-dev" for r in rows])
        conf = decision_confidence(rows, *fit_decision(rows, DECISION_FEATURES))
        return {g: round(auc_of(conf[m & y], conf[m & ~y]), 4) for g, m in (("squad", squad), ("bundled", ~squad))}

    out = {"all": score(decide_rows(questions, sentence))}
    for kind in FACT_KINDS:
        if any(kind in q["rules_without"] for q in questions):
            out[f"without {kind}"] = score(decide_rows(questions, sentence, drop_kind=kind))
    return out


def across_documents(questions: list[dict]) -> dict:
    """Does the decision carry to a document it was not fitted on? For each calibration document
    with unanswerable questions: the ROC AUC there of the sentence model and decision fitted on the
    other documents alone, with every feature, and without what the question itself asks
    (`decision.question_flags`)."""
    from assistant.decision import DECISION_FEATURES, QUESTION_FLAGS
    from assistant.judge import auc_of

    out: dict[str, dict] = {}
    for held in sorted({q["article"] for q in questions if not q["answerable"]}):
        fit = [q for q in questions if q["article"] != held]
        test = [q for q in questions if q["article"] == held]
        sentence = fit_sentence_model(fit).confidence
        rows, held_rows = decide_rows(fit, sentence), decide_rows(test, sentence)
        out[held] = {}
        for name, features in (("all", DECISION_FEATURES),
                               ("without what the question asks", [f for f in DECISION_FEATURES if f not in QUESTION_FLAGS])):
            conf = decision_confidence(held_rows, *fit_decision(rows, features))
            y = np.array([r["answerable"] for r in held_rows])
            out[held][name] = round(auc_of(conf[y], conf[~y]), 4)
    return out


def question_form(text: str) -> str:
    """The form a question is typed in, for the per-form figures (the decline benchmark's own
    labels where it has them): why, polar (yes or no), how, what, who, when, where, which,
    imperative, or other.

    >>> question_form("Why do cats purr?"), question_form("can dogs swim"), question_form("Tell me about X.")
    ('why', 'polar', 'imperative')
    """
    from assistant.question import asks_yes_no

    first = (re.findall(r"[a-z']+", text.lower()) or [""])[0]
    if first in ("why", "how", "what", "who", "when", "where", "which"):
        return first
    if asks_yes_no(text):
        return "polar"
    if first in ("tell", "explain", "describe", "summarise", "summarize", "list", "name", "give", "show", "define"):
        return "imperative"
    return "other"


def by_form(rows: list[dict], answered: np.ndarray) -> dict:
    """Per question form (`question_form`, or the decline benchmark's label): how many answerable
    and unanswerable calibration questions there are, the share of unanswerable ones declined and
    of answerable ones declined (false abstention)."""
    out: dict[str, dict] = {}
    forms = [r["form"] or "other" for r in rows]
    for form in sorted(set(forms)):
        m = np.array([f == form for f in forms])
        y = np.array([r["answerable"] for r in rows])
        out[form] = {"answerable": int((m & y).sum()), "unanswerable": int((m & ~y).sum()),
                     "declined": round(float(np.mean(~answered[m & ~y])), 4) if (m & ~y).any() else None,
                     "false_abstention": round(float(np.mean(~answered[m & y])), 4) if (m & y).any() else None}
    return out


def ranker_about(settings) -> dict | None:
    """What orders the passages the decision is fitted on: the ranker's sha256, reads and weight (None: off)."""
    from assistant.api import load_ranker

    ranker = load_ranker(settings)
    if ranker is None:
        return None
    return {"sha256": ranker.judge.meta["sha256"], "reads": settings.rerank_reads or ranker.reads,
            "weight": ranker.weight}


def trained_on(judge_dir: Path | None) -> dict:
    """A judge folder's `judge.json` (the bundled judge's when None): its sha256 and `articles`."""
    from assistant.judge import BUNDLED

    path = (judge_dir or BUNDLED) / "judge.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: no readable judge.json ({exc.__class__.__name__}); "
                         "pass the folder `assistant judge train --out` wrote") from None


def scoring_judges(titles: list[str], judge_dir: Path | None, fold_judges: tuple[Path, ...] = ()) -> dict:
    """Cross-fitting: which judge scores each calibration article for the decision. The judge
    itself, unless it was trained on the article; then the first fold judge that was not, so the
    decision sees the judge's features on questions it never read (as at question time). The
    eval's dev split, which the shipped judge trains on, falls back to the judge itself when no
    fold judge left it out (`--no-eval-dev`), as the decision was fitted before cross-fitting."""
    seen = {folder: set(trained_on(folder).get("articles", [])) for folder in (judge_dir, *fold_judges)}
    out = {}
    for title in titles:
        fresh = [f for f, arts in seen.items() if title not in arts] or ([judge_dir] if title == "eval-dev" else [])
        if not fresh:
            raise ValueError(f"the judge was trained on {title}: pass --fold-judge DIR, a judge trained without it "
                             "(assistant judge train --out DIR)")
        out[title] = fresh[0]
    return out


def calibrate(out: Path, data: list[Path], eval_set: Path | None, document: Path | None, judge_dir: Path | None,
              work: Path, max_false_abstention: float = 0.05, fold_judges: tuple[Path, ...] = (),
              decline_set: Path | None = None, log=print) -> dict:
    """Fit the answer/decline decision on the calibration articles (and the eval's dev split, and
    the decline benchmark's calibration split) and write `decision.json` atomically. A calibration
    article the judge trained on is scored by a fold judge that did not (`scoring_judges`)."""
    from assistant.decision import SENTENCE_FEATURES
    from assistant.judge import auc_of
    from assistant.settings import Settings

    articles = []
    for path in data:
        articles += read_squad(path, keep=lambda t: t in CALIBRATION)
    if eval_set is not None and document is not None:
        articles.append(read_eval_dev(eval_set, document))
    declines = read_decline(decline_set, articles) if decline_set is not None else 0
    log(f"calibration: {', '.join(a.title for a in articles)}; {declines} decline benchmark rows")
    settings = Settings.from_env()
    scorer = scoring_judges([a.title for a in articles], judge_dir, fold_judges)
    questions = []
    for folder in dict.fromkeys(scorer.values()):
        questions += question_features([a for a in articles if scorer[a.title] == folder], folder, work, settings,
                                       log=log)
    # 1. the sentence model: which judged sentence answers, from the judge and the retrieval scores
    sentence = fit_sentence_model(questions)
    # 2. the decision over the best sentence so chosen
    orders = settings.answer.judge_orders
    rows = decide_rows(questions, sentence.confidence, orders=orders)
    y = np.array([r["answerable"] for r in rows])
    holds = np.array([r["holds"] for r in rows])
    names, mean, scale, w, b = fit_decision(rows)
    _, support = supported_inputs(rows)
    conf = decision_confidence(rows, names, mean, scale, w, b)
    threshold = choose_threshold(conf, y, holds, max_false_abstention)
    answered = conf >= threshold
    judge_only = decide_rows(questions, lambda c: c["probability"], orders=True)
    combined = decide_rows(questions, sentence.confidence, orders=True)
    figures = {"questions": len(rows), "unanswerable": int((~y).sum()), "auc": round(auc_of(conf[y], conf[~y]), 4),
               "declined": round(float(np.mean(~answered[~y])), 4) if (~y).any() else None,
               "false_abstention": round(float(np.mean(~answered[y])), 4),
               "first_quote_holds_answer": round(float(np.mean(holds[y])), 4),
               "sentence_model_best_holds_answer": round(float(np.mean([r["holds"] for r in combined
                                                                        if r["answerable"]])), 4),
               "judge_alone_best_holds_answer": round(float(np.mean([r["holds"] for r in judge_only
                                                                     if r["answerable"]])), 4)}
    for name in sorted({r["article"] for r in rows}):
        m = np.array([r["article"] == name for r in rows])
        figures[name] = {"auc": round(auc_of(conf[m & y], conf[m & ~y]), 4) if (m & ~y).any() else None,
                         "declined": round(float(np.mean(~answered[m & ~y])), 4) if (m & ~y).any() else None,
                         "false_abstention": round(float(np.mean(~answered[m & y])), 4),
                         "first_quote_holds_answer": round(float(np.mean(holds[m & y])), 4)}
    figures["by_form"] = by_form(rows, conf >= threshold)
    figures["ablation"] = ablate_kinds(questions, sentence.confidence)
    figures["fitted_on_the_other_documents"] = across_documents(questions)
    decision = {"features": names, "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
                "weights": w.round(6).tolist(), "bias": round(b, 6), "threshold": round(threshold, 6),
                "sentence": {"features": list(SENTENCE_FEATURES), "mean": np.round(sentence.mean, 6).tolist(),
                             "scale": np.round(sentence.scale, 6).tolist(),
                             "weights": np.round(sentence.weights, 6).tolist(), "bias": round(sentence.bias, 6)},
                "about": {"fitted_on": [a.title for a in articles], "max_false_abstention": max_false_abstention,
                          "decline_rows": declines, "binary_inputs": {
                              f: {**c, "used": f in names} for f, c in support.items()},
                          "min_support_rows": MIN_SUPPORT_ROWS,
                          "scored_by": {title: trained_on(folder)["sha256"] for title, folder in scorer.items()},
                          "judge_candidates": settings.answer.judge_candidates,
                          "judge_runtime": settings.answer.judge_runtime,
                          "ranker": ranker_about(settings.answer),
                          "figures_on_calibration_data": figures}}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    if (out.parent / "judge.json").exists():
        write_card(out.parent)
    log(json.dumps(figures, indent=1))
    return decision
