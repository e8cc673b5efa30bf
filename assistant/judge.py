"""The answer judge at question time: a small cross-encoder, run in numpy, that reads
(question, sentence) pairs and gives the probability that the sentence answers the question.

The weights (`data/judge/judge.safetensors`, fp16, trained by `assistant judge train`, see
the model card beside them) hold the bundled MiniLM's layers (as many as `judge.json` says) fine-tuned as a
cross-encoder, a yes/no head on [CLS] and a span head; the word embeddings are the bundled
model's own (its `model.safetensors` is sha256-checked by the embedder code), so the file
does not repeat them. The judge's own file is checked against its sha256 on load: a
missing, truncated or altered file is a one-line `ModelError` naming the file and the fix.

By default the judge's dense layers run in int8 in ONNX Runtime (`answer.judge_runtime`, see
`index.onnxbert`): about twice as fast as float32 numpy on two cores, its probabilities within a
few hundredths of the trained model's; the shipped decision is calibrated on the int8 judge.

Left out: torch (a question never imports it), batching across questions (one question's
candidates form one batch), and any use of the span head beyond a score: the answer still
quotes whole sentences.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from index.embedding import DEFAULT_WEIGHTS_SHA256, default_model_path, file_sha256, weights_fingerprint
from index.errors import ModelError
from index.fastbert import FastBert, bert_layers, gelu_tanh

BUNDLED = Path(__file__).parent / "data" / "judge"
# The shipped weights' sha256: a changed file is refused, whatever judge.json says.
BUNDLED_SHA256 = "a96bcff33d38d0002c5bd3458ebf23c9ffdc0e1a2009fd5c9d2223d797541f40"
RETRAIN = "reinstall the package, or retrain with: assistant judge train --out DIR"


@dataclass(frozen=True)
class Judgement:
    """The judge's reading of one (question, sentence) pair."""

    probability: float  # that the sentence answers the question
    span: float  # best answer span's score over the no-answer score (> 0: a span is preferred)


def segment(section: str, sentence: str) -> str:
    """What the judge reads after the question: the sentence, behind its section title.

    >>> segment("Solar energy", "It is clean."), segment("", "It is clean.")
    ('Solar energy: It is clean.', 'It is clean.')
    """
    return f"{section}: {sentence}" if section else sentence


class Judge:
    """Scores (question, sentence) pairs. Build with `Judge.load`; safe to share between threads."""

    def __init__(self, model: FastBert, answer_w: np.ndarray, answer_b: float, span_w: np.ndarray,
                 span_b: np.ndarray, meta: dict):
        self.model = model
        self.answer_w, self.answer_b = answer_w, answer_b
        self.span_w, self.span_b = span_w, span_b
        self.meta = meta

    @classmethod
    def load(cls, folder: str | Path | None = None, runtime: str = "int8", threads: int = 0,
             sha256: str | None = None, what: str = "judge", retrain: str | None = None) -> "Judge":
        """The judge in `folder` (the bundled one by default), its weights checked against their sha256,
        run in numpy (`runtime="float32"`) or with its dense layers in int8 (`"int8"`, ONNX Runtime on
        `threads` threads, 0 for its own choice; see `index.onnxbert`). `sha256` pins the weights of
        another shipped model of the same shape (the ranker, `assistant.rerank`), which errors name as
        `what`, with `retrain` as the way to fix them."""
        folder = Path(folder) if folder is not None else BUNDLED
        if sha256 is None and folder.resolve() == BUNDLED.resolve():
            sha256 = BUNDLED_SHA256
        return _load_cached(str(folder.resolve()), runtime, threads, sha256, what, retrain or RETRAIN)

    def judge(self, question: str, segments: Sequence[str]) -> list[Judgement]:
        """One `Judgement` per segment ("Section: sentence"), in one batch."""
        if not segments:
            return []
        encs = self.model.tokenizer.encode_batch([(question, s) for s in segments])
        x, mask = self.model.hidden_states([e.ids for e in encs], [e.type_ids for e in encs])
        logits = x[:, 0] @ self.answer_w + self.answer_b
        probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        spans = x @ self.span_w + self.span_b  # [n, len, 2]
        out = []
        for i, enc in enumerate(encs):
            seg = np.array(enc.sequence_ids) == 1
            start, end = spans[i, :len(enc.ids), 0], spans[i, :len(enc.ids), 1]
            null = float(start[0] + end[0])
            best = _best_span(np.where(seg, start, -np.inf), np.where(seg, end, -np.inf))
            out.append(Judgement(float(probs[i]), best - null))
        return out


def _best_span(start: np.ndarray, end: np.ndarray, longest: int = 30) -> float:
    """The best `start[i] + end[j]` with `i <= j < i + longest`.

    >>> _best_span(np.array([1.0, 5.0, 0.0]), np.array([9.0, 0.0, 2.0]))
    10.0
    """
    n = len(start)
    best = -np.inf
    for width in range(min(longest, n)):
        best = max(best, float(np.max(start[: n - width] + end[width:])))
    return best


_lock = threading.Lock()
_cache: dict[tuple[str, str, int], Judge] = {}


def _load_cached(folder: str, runtime: str, threads: int, sha256: str | None = None, what: str = "judge",
                 retrain: str = RETRAIN) -> Judge:
    if runtime not in ("int8", "float32"):
        raise ValueError(f"unknown judge runtime {runtime!r}: int8 or float32")
    with _lock:
        judge = _cache.get((folder, runtime, threads))
        if judge is None:
            judge = _read(Path(folder), sha256, what, retrain)
            if runtime == "int8":
                judge.model.runner = _int8_layers(judge.model, threads, judge.meta["sha256"])
            _cache[(folder, runtime, threads)] = judge
        return judge


def _int8_layers(model: FastBert, threads: int, digest: str):
    """The judge's layers in int8 (built once per weights, named by their checked sha256, into the
    cache folder; see `index.onnxbert`)."""
    from index.cache import cache_dir
    from index.onnxbert import OnnxLayers

    try:  # onnx and onnxruntime are imported when the file is built or run
        return OnnxLayers.for_model(model, cache_dir() / "judge", "tanh" if model.activation is gelu_tanh else "none",
                                    threads, int8=True, key=digest)
    except ImportError:  # a dependency, but a broken install says how to go on
        raise ModelError("the int8 judge needs onnx and onnxruntime: pip install onnx onnxruntime, "
                         "or set answer.judge_runtime=float32") from None


def _read(folder: Path, sha256: str | None = None, what: str = "judge", retrain: str = RETRAIN) -> Judge:
    weights, card = folder / "judge.safetensors", folder / "judge.json"
    for path in (weights, card):
        if not path.is_file():
            hint = " (or set answer.judge=none)" if retrain == RETRAIN else ""
            raise ModelError(f"{what} file {path} is missing: {retrain}{hint}")
    try:
        meta = json.loads(card.read_text(encoding="utf-8"))
        expected = sha256 or meta["sha256"]
        layers = int(meta["layers"])
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{what} file {card} is not a {what} description: {retrain}") from None
    digest = file_sha256(weights)
    if digest != expected:
        raise ModelError(f"{what} file {weights} has sha256 {digest[:12]}…, expected {str(expected)[:12]}…: "
                         f"it is damaged or not this {what}; {retrain}")
    from safetensors.numpy import load_file

    try:
        raw = load_file(str(weights))
    except Exception:  # noqa: BLE001 - a file with the right hash that still does not parse is damaged all the same
        raise ModelError(f"{what} file {weights} cannot be read: {retrain}") from None
    base = default_model_path()
    weights_fingerprint(base, DEFAULT_WEIGHTS_SHA256)  # the shared word embeddings are checked too
    from safetensors import safe_open

    with safe_open(str(base / "model.safetensors"), framework="numpy") as shared:
        word = shared.get_tensor("embeddings.word_embeddings.weight")

    def w(name: str) -> np.ndarray:
        return raw["bert." + name].astype(np.float32)

    def ln(name: str) -> tuple[np.ndarray, np.ndarray]:
        return w(name + ".weight"), w(name + ".bias")

    emb_ln = ln("embeddings.LayerNorm")
    embeddings = {"word": word.astype(np.float32), "position": w("embeddings.position_embeddings.weight"),
                  "token_type": w("embeddings.token_type_embeddings.weight"), "ln_w": emb_ln[0], "ln_b": emb_ln[1]}
    config = json.loads((base / "config.json").read_text(encoding="utf-8"))
    tokenizer = _pair_tokenizer(base / "tokenizer.json", int(meta.get("max_tokens", 96)))
    model = FastBert(tokenizer, embeddings, bert_layers(w, ln, layers), int(config["num_attention_heads"]),
                     float(config.get("layer_norm_eps", 1e-12)), int(meta.get("max_tokens", 96)), normalize=False,
                     pad_id=int(config.get("pad_token_id") or 0), activation=gelu_tanh)
    f = lambda name: raw[name].astype(np.float32)  # noqa: E731
    return Judge(model, f("answer.weight")[0], float(f("answer.bias")[0]), np.ascontiguousarray(f("span.weight").T),
                 f("span.bias"), meta | {"sha256": digest})  # the digest just checked


def _pair_tokenizer(path: Path, max_tokens: int):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length=max_tokens, strategy="longest_first")
    tok.no_padding()
    return tok


def auc_of(positive, negative) -> float:
    """ROC AUC (scikit-learn's `roc_auc_score`): how often a positive scores above a negative, ties
    counting half; nan without both. Used by calibration and the eval, never on the question path.

    >>> auc_of([0.9, 0.4], [0.5, 0.1]), auc_of([1.0], [1.0])
    (0.75, 0.5)
    """
    pos, neg = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    if not len(pos) or not len(neg):
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))
