"""The model card (`README.md` beside the weights), written from what training and calibration
recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .settings import BATCH, CALIBRATION, DEV_ARTICLES, HEAD_LR, HELD_OUT, LR, SPAN_WEIGHT, VALIDATION, WARMUP

# ---------------------------------------------------------------- the model card


def ranked_by(ranker: dict | None) -> str:
    """How the candidates were ordered when the decision was fitted (`calibrate.ranker_about`).

    >>> ranked_by(None), ranked_by({"sha256": "91d0699" + "0" * 57, "reads": 5, "weight": 0.02})
    ("in retrieval's order", 'in the order of the passage ranker 91d0699… (5 reads, weight 0.02)')
    """
    if not ranker:
        return "in retrieval's order"
    return f"in the order of the passage ranker {ranker['sha256'][:7]}… ({ranker['reads']} reads, weight {ranker['weight']})"


def write_card(folder: Path) -> Path:
    """The model card beside the weights, from what training (`judge.json`) and calibration
    (`decision.json`) recorded: nothing in it is typed by hand."""
    meta = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
    decision_path = folder / "decision.json"
    decision = json.loads(decision_path.read_text(encoding="utf-8")) if decision_path.exists() else None
    folded = [t for t in CALIBRATION if t in meta.get("articles", [])]  # trained on, scored by a fold judge
    scored_by = (decision or {}).get("about", {}).get("scored_by", {})
    fold_scored = {t for t, sha in scored_by.items() if sha != meta["sha256"]} | set(folded)
    rows = "\n".join(f"| {h['epoch']} | {h['loss']} | {h.get('best_sentence_answers')} | {h.get('auc')} |"
                     for h in meta.get("history", []))
    lines = [
        "# Answer judge (cross-encoder fine-tuned from all-MiniLM-L6-v2)",
        "",
        "Reads a question and one candidate sentence (behind its section title) and gives the probability",
        "that the sentence answers the question; a span head scores where the answer sits in it.",
        "Used by `assistant`, through `decision.json`, to decide whether the document answers (and, with",
        "`answer.judge_orders=true`, to order passages and pick quotes).",
        "",
        "## Model",
        f"- Base: the bundled all-MiniLM-L6-v2 (Apache-2.0), {meta['layers']} of its 6 layers, GELU in its tanh form;",
        "  the word embeddings are the base model's, frozen and not stored here.",
        f"- Weights: `judge.safetensors`, fp16, sha256 `{meta['sha256']}` (checked on every load).",
        f"- Input: `[CLS] question [SEP] section: sentence [SEP]`, at most {meta['max_tokens']} tokens.",
        "- At question time the dense layers run in int8 by default (`answer.judge_runtime`: ONNX Runtime,",
        "  quantised from these weights on first use into the cache folder); the decision is calibrated on that.",
        "",
        "## Data",
        "SQuAD 2.0 training articles (Rajpurkar, Jia & Liang 2018; CC BY-SA 4.0, text from Wikipedia):",
        ", ".join(a for a in meta.get("articles", []) if a != "eval-dev") + ";",
        ("and the dev split of this project's eval set (`eval/data/grounding.jsonl`, the bundled article)."
         if "eval-dev" in meta.get("articles", []) else
         "not the eval's dev split (the decision is calibrated on it, so the judge has not seen those questions)."),
        f"{meta.get('pairs_count')} question-sentence pairs, {meta.get('positives')} positive: the answer's sentence;",
        "negatives are the sentences nearest the question by the bundled embedder with the answer's sentence",
        "taken out (and any that holds the answer's words), another sentence of its paragraph, the",
        "plausible-answer sentence of unanswerable questions,",
        ("and the answer's own sentence for a copy of the question with a name or number swapped for another."
         if meta.get("synth", "facts") == "facts" else
         "and the answer's own sentence for a copy of the question made unanswerable as SQuAD 2.0's writers did: "
         "a name, number or noun swapped for another of the article, a word turned into its antonym, or a negation."),
        f"Never trained on: {', '.join(t for t in HELD_OUT if t not in meta.get('articles', []))} "
        f"(calibration: {', '.join(t for t in CALIBRATION if t not in meta.get('articles', []))};",
        f"held-out validation: {', '.join(VALIDATION)}), the eval's test split, the decline benchmark",
        "(`eval/data/decline.jsonl`), and any SQuAD 2.0 dev data: the one dev article here,",
        f"{', '.join(DEV_ARTICLES)} (`../shared/data/validation/`), is only calibrated and validated on.",
        *([f"Calibration articles also trained on: {', '.join(folded)}; the decision saw them scored by a fold "
           "judge trained without them (cross-fitting)."] if folded else []),
        "",
        "## Training",
        f"Seed {meta.get('seed')}, {meta.get('epochs')} epochs, batch {BATCH}, AdamW (lr {LR}, heads {HEAD_LR}), "
        f"{int(WARMUP * 100)} % warm-up then linear decay,",
        f"loss: binary cross-entropy on [CLS] + {SPAN_WEIGHT} x span cross-entropy. CPU, two cores.",
        "",
        "| epoch | loss | best sentence holds the answer (calibration articles) | ROC AUC answerable vs not |",
        "|---|---|---|---|",
        rows,
    ]
    figures = (decision or {}).get("about", {}).get("figures_on_calibration_data", {})
    if decision:
        lines += ["", "## Decision (`decision.json`)",
                  f"Logistic model over {', '.join(decision['features'])}; fitted on "
                  f"{', '.join(decision.get('about', {}).get('fitted_on', []))};",
                  f"threshold {decision['threshold']} chosen for the best accuracy with false abstention at most "
                  f"{decision.get('about', {}).get('max_false_abstention')}. On that data: "
                  f"AUC {figures.get('auc')}, declined {figures.get('declined')}, "
                  f"false abstention {figures.get('false_abstention')}. The judge read the best "
                  f"{decision.get('about', {}).get('judge_candidates')} candidate sentences of each question "
                  f"({decision.get('about', {}).get('judge_runtime')}), as `answer.judge_candidates` and "
                  f"`answer.judge_runtime` do by default, {ranked_by(decision.get('about', {}).get('ranker'))}: "
                  "change them and calibrate again.",
                  *[f"Fitted on the other documents alone, AUC on {name}: {auc.get('all')} "
                    f"({auc.get('without what the question asks')} without what the question asks)."
                    for name, auc in figures.get("fitted_on_the_other_documents", {}).items()],
                  "",
                  "Every evidence input's weight is at least 0 and every input read from the question itself (a why,",
                  "yes/no, list or part-of-the-document question; a missing kind of fact) at most 0: the form of a",
                  "question can raise the evidence it needs, never supply it (`Decision.load` refuses a file that",
                  f"breaks this). A binary input is fitted only with at least "
                  f"{decision.get('about', {}).get('min_support_rows')} answerable and as many unanswerable",
                  "calibration questions for its rarer value, from more than one document:",
                  "",
                  "| input | answerable | unanswerable | documents | used |",
                  "|---|---|---|---|---|",
                  *[f"| {f} | {c['answerable']} | {c['unanswerable']} | {c['documents']} | {'yes' if c['used'] else 'no'} |"
                    for f, c in decision.get("about", {}).get("binary_inputs", {}).items()],
                  "",
                  f"Per question form on the calibration data ({decision.get('about', {}).get('decline_rows', 0)} "
                  "of its questions from the decline benchmark's calibration split):",
                  "",
                  "| form | answerable | unanswerable | declined | false abstention |",
                  "|---|---|---|---|---|",
                  *[f"| {form} | {c['answerable']} | {c['unanswerable']} | {c['declined']} | {c['false_abstention']} |"
                    for form, c in figures.get("by_form", {}).items()],
                  "",
                  "Held-out figures: `assistant eval --squad eval/data/squad-heldout.json` and "
                  "`assistant eval --decline` (the README shows them)."]
    reading = ""
    if "judge_alone_best_holds_answer" in figures:
        reading = (f" On the calibration data the sentence the judge alone rates best holds the answer for "
                   f"{figures['judge_alone_best_holds_answer']} of answerable questions, the sentence model's best "
                   f"(judge and retrieval scores) for {figures['sentence_model_best_holds_answer']}, the first quote "
                   f"as shipped for {figures['first_quote_holds_answer']}.")
    lines += ["", "## Limits",
              f"English only. {meta['layers']} layers and a few candidate sentences keep a question within the latency",
              f"budget on two CPU cores.{reading} One sentence at a time: reasoning across sentences",
              "is not seen. SQuAD's adversarial unanswerable questions (a swapped name, a negation) stay hard.",
              "", "## Retrain",
              "```sh",
              f"assistant judge train --out DIR --epochs {meta.get('epochs')} --layers {meta['layers']} --seed {meta.get('seed')}"
              + ("" if "eval-dev" in meta.get("articles", []) else " --no-eval-dev")
              + ("" if meta.get("synth", "facts") == "facts" else f" --synth {meta['synth']}")
              + "".join(f" --train-on '{t}'" for t in folded)
              + (f"   # {meta['minutes']} min on two cores" if meta.get("minutes") else ""),
              *([f"assistant judge train --out FOLD{' --no-eval-dev' if 'eval-dev' in fold_scored else ''}"
                 f"   # the fold judge, for {', '.join(sorted(fold_scored))}: the same run without --train-on"]
                if fold_scored else []),
              "assistant judge calibrate --judge DIR" + (" --fold-judge FOLD" if fold_scored else ""),
              "```", ""]
    card = folder / "README.md"
    tmp = folder / ".README.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, card)
    return card
