"""A numpy twin of a BERT sentence-transformers model, so a question is embedded without torch.

`FastBert.load(folder)` reads a sentence-transformers folder (modules.json, config.json,
sentence_bert_config.json, 1_Pooling/config.json, tokenizer.json, model.safetensors) and
runs the same forward pass as `SentenceTransformer(folder).encode(texts)` in float32 numpy:
the `tokenizers` library (Rust) for tokens, `safetensors.numpy` for weights, BERT's
encoder with the exact (erf) GELU, mean pooling over the attention mask, then Normalize
when the model has it. Importing this module and encoding costs well under a second,
where `import sentence_transformers` costs about 8 s.

Left out on purpose: anything this pass would not reproduce exactly. `load` returns None
(and the caller falls back to sentence-transformers) for a model type other than BERT, an
activation other than erf GELU, pooling other than mean, extra modules (Dense, LayerNorm,
...), prompts, weights not stored as float32 safetensors, unknown model or tokenizer
arguments, or missing files. With its layers in ONNX Runtime (`index.onnxbert`) it also
embeds a build's documents (`index.embedding`), in batches of texts of about one length.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

_MODULE_KINDS = {"Transformer": "transformer", "Pooling": "pooling", "Normalize": "normalize"}
_POOLING_OFF = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")
_SBERT_KEYS = {"max_seq_length", "do_lower_case"}


# ---------------------------------------------------------------- erf and GELU


def _erf_polynomial(degree: int = 22, half_width: float = 2.0) -> np.ndarray:
    """Power-series coefficients (highest first) of erf on [0, 2 * half_width] in u = x / half_width - 1.

    Interpolated from `math.erf` at Chebyshev nodes, then rewritten in powers of u (the
    coefficients stay below 1, so Horner's rule loses nothing). Degree 22 is within 1e-10
    of `math.erf`, far below float32's resolution.
    """
    n = degree + 1
    theta = np.pi * (np.arange(n) + 0.5) / n
    nodes = np.cos(theta)
    values = np.array([math.erf(half_width * (u + 1.0)) for u in nodes])
    cheb = (2.0 / n) * (np.cos(np.outer(np.arange(n), theta)) @ values)
    cheb[0] /= 2.0
    power = np.zeros(n)
    t_prev, t_cur = np.zeros(n), np.zeros(n)
    t_prev[0], t_cur[1] = 1.0, 1.0  # T0 = 1, T1 = u, as coefficient vectors (lowest first)
    power += cheb[0] * t_prev + cheb[1] * t_cur
    for k in range(2, n):
        t_next = -t_prev
        t_next[1:] += 2.0 * t_cur[:-1]  # T(k) = 2u T(k-1) - T(k-2)
        power += cheb[k] * t_next
        t_prev, t_cur = t_cur, t_next
    coeffs = power[::-1].copy()
    at_zero = 0.0
    for c in coeffs:
        at_zero = at_zero * -1.0 + c
    coeffs[-1] -= at_zero  # erf(0) = 0 exactly, so tiny arguments keep their sign
    return coeffs


_ERF_LIMIT = 4.0  # float32(erf(4)) is exactly 1.0: erfc(4) = 1.5e-8 is under half a float32 step below 1
_ERF_COEFFS = _erf_polynomial(half_width=_ERF_LIMIT / 2)


def erf(x: np.ndarray, block: int = 65536) -> np.ndarray:
    """The error function, elementwise, accurate to 1e-10 (computed in float64, returned as float32).

    Works through `block` elements at a time so the 22 Horner steps stay in the CPU cache.

    >>> [round(float(v), 6) for v in erf(np.array([-1.0, 0.0, 0.5, 9.0]))]
    [-0.842701, 0.0, 0.5205, 1.0]
    """
    x = np.asarray(x)
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype=np.float32)
    u_buf = np.empty(min(block, flat.size))
    r_buf = np.empty_like(u_buf)
    for start in range(0, flat.size, block):
        xs = flat[start:start + block]
        u, r = u_buf[:xs.size], r_buf[:xs.size]
        np.abs(xs, out=u, casting="unsafe")
        np.minimum(u, _ERF_LIMIT, out=u)
        u *= 2.0 / _ERF_LIMIT
        u -= 1.0
        r.fill(_ERF_COEFFS[0])
        for c in _ERF_COEFFS[1:]:
            r *= u
            r += c
        np.copysign(r, xs, out=r)
        out[start:start + xs.size] = r
    return out.reshape(x.shape)


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, `x/2 * (1 + erf(x/sqrt(2)))`, in float32 in the order torch computes it.

    >>> [round(float(v), 5) for v in gelu(np.array([-1.0, 0.0, 1.0], dtype=np.float32))]
    [-0.15866, 0.0, 0.84134]
    """
    x = np.asarray(x, dtype=np.float32)
    e = erf(x * np.float32(math.sqrt(0.5)))
    e += np.float32(1.0)
    return x * np.float32(0.5) * e


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU's tanh approximation (torch's `approximate="tanh"`), several times cheaper than `gelu`.

    >>> [round(float(v), 4) for v in gelu_tanh(np.array([-1.0, 0.0, 1.0], dtype=np.float32))]
    [-0.1588, 0.0, 0.8412]
    """
    x = np.asarray(x, dtype=np.float32)
    inner = x * x
    inner *= np.float32(0.044715 * math.sqrt(2.0 / math.pi))
    inner += np.float32(math.sqrt(2.0 / math.pi))
    inner *= x
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(0.5)
    return inner


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Normalise the last axis to mean 0 and variance 1 (biased), then scale and shift."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(np.square(centred), axis=-1, keepdims=True)
    return centred / np.sqrt(var + np.float32(eps)) * weight + bias


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _lowercases(state) -> bool:
    """Whether a serialised `tokenizers` normaliser already lower-cases its input.

    >>> _lowercases({"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}]})
    True
    """
    if isinstance(state, dict):
        return (state.get("type") == "Lowercase" or state.get("lowercase") is True
                or any(_lowercases(n) for n in state.get("normalizers") or []))
    return False


# ---------------------------------------------------------------- the model


@dataclass
class _Layer:
    qkv_w: np.ndarray  # [hidden, 3 * hidden], already transposed for `x @ w`
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


def bert_layers(w, ln, count: int) -> list[_Layer]:
    """BERT encoder layers 0..count-1 from `w(name) -> array` and `ln(name) -> (weight, bias)`,
    names as transformers stores them without the model prefix (`encoder.layer.0.output.dense.weight`)."""
    layers = []
    for i in range(count):
        p = f"encoder.layer.{i}."
        q, k, v = (w(p + f"attention.self.{n}.weight") for n in ("query", "key", "value"))
        qb, kb, vb = (w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value"))
        ln1 = ln(p + "attention.output.LayerNorm")
        ln2 = ln(p + "output.LayerNorm")
        layers.append(_Layer(
            qkv_w=np.ascontiguousarray(np.concatenate([q, k, v], axis=0).T),
            qkv_b=np.concatenate([qb, kb, vb]),
            out_w=np.ascontiguousarray(w(p + "attention.output.dense.weight").T),
            out_b=w(p + "attention.output.dense.bias"),
            ln1_w=ln1[0], ln1_b=ln1[1],
            up_w=np.ascontiguousarray(w(p + "intermediate.dense.weight").T),
            up_b=w(p + "intermediate.dense.bias"),
            down_w=np.ascontiguousarray(w(p + "output.dense.weight").T),
            down_b=w(p + "output.dense.bias"),
            ln2_w=ln2[0], ln2_b=ln2[1],
        ))
    return layers


def batches(lengths: Sequence[int], batch_size: int, max_tokens: int = 0) -> list[range]:
    """Consecutive ranges over texts sorted longest first: `batch_size` texts each, or (`max_tokens` > 0)
    as many as keep the padded batch (texts x the first, longest, text) within `max_tokens`, at least one.

    >>> batches([5, 4, 2, 2, 1], 2)
    [range(0, 2), range(2, 4), range(4, 5)]
    >>> batches([5, 4, 2, 2, 1], 2, max_tokens=10)
    [range(0, 2), range(2, 5)]
    """
    out, start, n = [], 0, len(lengths)
    while start < n:
        if max_tokens > 0:
            size = max(1, max_tokens // max(1, lengths[start]))
        else:
            size = batch_size
        out.append(range(start, min(n, start + size)))
        start += size
    return out


class FastBert:
    """A BERT sentence-transformers model (mean pooling) as plain numpy. Build with `FastBert.load`."""

    def __init__(self, tokenizer, embeddings: dict[str, np.ndarray], layers: list[_Layer], heads: int, eps: float,
                 max_seq_length: int, normalize: bool, pad_id: int, activation=gelu):
        self.tokenizer = tokenizer
        self.word = embeddings["word"]
        self.position = embeddings["position"]
        self.token_type = embeddings["token_type"]
        self.token_type0 = self.token_type[0]
        self.activation = activation
        self.emb_ln_w = embeddings["ln_w"]
        self.emb_ln_b = embeddings["ln_b"]
        self.layers = layers
        self.heads = heads
        self.eps = eps
        self.max_seq_length = max_seq_length
        self.normalize = normalize
        self.pad_id = pad_id
        self.dim = int(self.word.shape[1])
        self.runner = None  # set by `index.onnxbert` to run the layers there instead

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, folder: str | Path) -> FastBert | None:
        """The model in `folder`, or None when this module cannot reproduce it exactly (see module doc)."""
        try:
            return cls._load(Path(folder))
        except Exception:  # noqa: BLE001 - any surprise in a model folder means "use sentence-transformers"
            return None

    @classmethod
    def _load(cls, folder: Path) -> FastBert | None:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [_MODULE_KINDS.get(str(m.get("type", "")).rsplit(".", 1)[-1]) for m in modules]
        if kinds not in (["transformer", "pooling"], ["transformer", "pooling", "normalize"]):
            return None
        base = folder / modules[0].get("path", "")
        pooling_dir = folder / modules[1]["path"]

        st_config_path = folder / "config_sentence_transformers.json"
        if st_config_path.exists():
            st_config = json.loads(st_config_path.read_text(encoding="utf-8"))
            if st_config.get("default_prompt_name") or st_config.get("prompts", {}).get("query"):
                return None  # a prompt would be prepended to every text

        sbert = json.loads((base / "sentence_bert_config.json").read_text(encoding="utf-8"))
        if any(v for k, v in sbert.items() if k not in _SBERT_KEYS):
            return None  # model_args, tokenizer_args, processing_kwargs...: not reproduced here

        config = json.loads((base / "config.json").read_text(encoding="utf-8"))
        if (config.get("model_type") != "bert" or config.get("hidden_act") != "gelu"
                or config.get("position_embedding_type", "absolute") != "absolute"
                or config.get("is_decoder") or config.get("add_cross_attention")):
            return None
        hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
        if hidden % heads:
            return None

        pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        if pooling.get("pooling_mode", "mean") != "mean" or not pooling.get("pooling_mode_mean_tokens", True):
            return None
        if any(pooling.get(k) for k in _POOLING_OFF) or not pooling.get("include_prompt", True):
            return None
        if int(pooling.get("word_embedding_dimension", hidden)) != hidden:
            return None

        tok_config_path = base / "tokenizer_config.json"
        tok_config = json.loads(tok_config_path.read_text(encoding="utf-8")) if tok_config_path.exists() else {}
        max_seq_length = sbert.get("max_seq_length") or min(
            int(tok_config.get("model_max_length", 1 << 30)), int(config["max_position_embeddings"]))
        max_seq_length = int(max_seq_length)
        if not 2 <= max_seq_length <= int(config["max_position_embeddings"]):
            return None

        tokenizer = cls._tokenizer(base / "tokenizer.json", max_seq_length, bool(sbert.get("do_lower_case")))
        if tokenizer is None:
            return None

        from safetensors.numpy import load_file

        weights_path = base / "model.safetensors"
        if not weights_path.exists():
            return None
        raw = load_file(str(weights_path))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in raw else ""

        def w(name: str) -> np.ndarray:
            array = raw[prefix + name]
            if array.dtype != np.float32:
                raise TypeError(f"{name} is {array.dtype}")  # torch would keep the stored dtype; we don't
            return array

        def ln(name: str) -> tuple[np.ndarray, np.ndarray]:
            if prefix + name + ".weight" in raw:
                return w(name + ".weight"), w(name + ".bias")
            return w(name + ".gamma"), w(name + ".beta")  # very old BERT checkpoints

        emb_ln_w, emb_ln_b = ln("embeddings.LayerNorm")
        embeddings = {"word": w("embeddings.word_embeddings.weight"),
                      "position": w("embeddings.position_embeddings.weight"),
                      "token_type": w("embeddings.token_type_embeddings.weight"),
                      "ln_w": emb_ln_w, "ln_b": emb_ln_b}
        if embeddings["word"].shape[1] != hidden:
            return None
        layers = bert_layers(w, ln, int(config["num_hidden_layers"]))
        if f"{prefix}encoder.layer.{len(layers)}.attention.self.query.weight" in raw:
            return None  # more layers stored than the config names: not the model it claims to be
        return cls(tokenizer, embeddings, layers, heads, float(config.get("layer_norm_eps", 1e-12)),
                   max_seq_length, normalize=len(kinds) == 3, pad_id=int(config.get("pad_token_id") or 0))

    @staticmethod
    def _tokenizer(path: Path, max_seq_length: int, lower_case: bool):
        from tokenizers import Tokenizer, normalizers

        if not path.exists():
            return None
        tokenizer = Tokenizer.from_file(str(path))
        if lower_case:
            # sentence-transformers puts Lowercase in front of the normaliser unless one is there.
            current = tokenizer.normalizer
            state = json.loads(current.__getstate__()) if current is not None else None
            if not _lowercases(state):
                parts = [normalizers.Lowercase()] + ([current] if current is not None else [])
                tokenizer.normalizer = normalizers.Sequence(parts)
        tokenizer.enable_truncation(max_length=max_seq_length, strategy="longest_first")
        tokenizer.no_padding()
        return tokenizer

    # ------------------------------------------------------------ running

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text as the model sees them: `[CLS] ... [SEP]`, truncated to max_seq_length."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], batch_size: int = 32, runner=None, max_tokens: int = 0,
               on_batch=None) -> np.ndarray:
        """One float32 row of `dim` per text, as `SentenceTransformer.encode` gives (normalised if the model is).

        Texts are run longest first, so a batch holds texts of about one length and little is padding.
        `max_tokens` > 0: instead of `batch_size` texts, a batch takes as many as keep its padded size
        (texts x its longest) within `max_tokens`, so short sentences share big batches. `runner`: the layers to
        run (another `index.onnxbert.OnnxLayers` than `self.runner`, e.g. a build's, on more threads).
        `on_batch(n)` is called after each batch of n texts (a progress bar)."""
        ids = self.token_ids(texts)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # similar lengths share a batch
        for batch in batches([len(ids[i]) for i in order], batch_size, max_tokens):
            rows = [order[i] for i in batch]
            out[rows] = self._forward([ids[i] for i in rows], runner)
            if on_batch is not None:
                on_batch(len(rows))
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, np.float32(1e-12))
        return out

    def _forward(self, batch: list[list[int]], runner=None) -> np.ndarray:
        x, mask = self.hidden_states(batch, runner=runner)
        summed = np.einsum("nld,nl->nd", x, mask)
        return summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))

    def hidden_states(self, batch: list[list[int]], types: list[list[int]] | None = None, runner=None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's token states `[n, len, dim]` and the padding mask `[n, len]` of a batch of
        token id lists (padded on the right); `types` are segment ids for text pairs (0 when absent)."""
        n, length = len(batch), max(len(b) for b in batch)
        ids = np.full((n, length), self.pad_id, dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1.0
        if types is None:
            x = self.word[ids] + self.position[:length] + self.token_type0
        else:
            segments = np.zeros((n, length), dtype=np.int64)
            for i, row in enumerate(types):
                segments[i, :len(row)] = row
            x = self.word[ids] + self.position[:length] + self.token_type[segments]
        x = layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps)
        # Padding gets the most negative float32 before softmax, as transformers does.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        runner = runner if runner is not None else self.runner
        if runner is not None:  # the same layers in ONNX Runtime, int8 or float32 (index.onnxbert)
            return runner.run(x, bias), mask
        if mask.min() == 1:
            bias = np.float32(0)
        hidden = self.dim
        d = hidden // self.heads
        scale = np.float32(1.0 / math.sqrt(d))
        x = x.reshape(n * length, hidden)  # the dense layers as one matrix product each, not one per text
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            qkv = qkv.reshape(n, length, 3, self.heads, d).transpose(2, 0, 3, 1, 4)  # [3, n, heads, len, d]
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= scale
            scores += bias
            context = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(n * length, hidden)
            h = context @ layer.out_w
            h += layer.out_b
            h += x
            x = layer_norm(h, layer.ln1_w, layer.ln1_b, self.eps)
            up = x @ layer.up_w
            up += layer.up_b
            h = self.activation(up) @ layer.down_w
            h += layer.down_b
            h += x
            x = layer_norm(h, layer.ln2_w, layer.ln2_b, self.eps)
        return x.reshape(n, length, hidden), mask
