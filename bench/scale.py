"""How FAISS index types behave as a corpus grows: query time, recall@10, memory, build time.

The vectors are synthetic, so the figures are about the index types, not about retrieval
quality: `clustered_vectors` draws unit vectors in tight groups around random centres
(about 100 per group), like sentences about the same topic, so nearest neighbours are
close together and hard to tell apart; uniform noise would make every neighbour equally
far and recall meaningless. Queries come from the same groups but are not in the index.
Recall@10 is measured against exact (Flat) inner-product search, as `index.store` uses.

Query times are one question at a time on one OpenMP thread, as a server answering a
question does: with two threads on a busy two-core machine, a one-query search that opens
a parallel region (the refinement step does) now and then waits a scheduler tick (~8 ms)
for the second thread. Builds use every thread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

DIM = 384  # all-MiniLM-L6-v2


def clustered_vectors(n: int, dim: int = DIM, queries: int = 1000, seed: int = 0,
                      per_cluster: int = 100, spread: float = 0.7, decay: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """`(base, queries)`: unit float32 vectors, each a random group centre plus noise, normalised.

    Groups hold `per_cluster` vectors on average. Centres and noise share one anisotropic
    spectrum, like real sentence embeddings: in a random orthogonal basis, axis j has
    standard deviation (j + 1) ** -decay, so a few directions carry most of the variance
    (decay 0.5 puts about 43% in the top 10 of 384 axes and 85% in the top 100; MiniLM
    vectors of Python-docs sentences measure 35% and 82%). `spread` 0.7 (the noise's size
    relative to the centres') gives a median cosine of 0.79 to the nearest neighbour and
    0.75 to the 10th (those sentences: 0.90 and 0.75). The same seed gives the same vectors.
    """
    rng = np.random.default_rng(seed)
    clusters = max(1, n // per_cluster)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    scale = np.arange(1, dim + 1, dtype=np.float64) ** -decay
    mix = (scale[:, None] * basis.T).astype(np.float32)  # rows: scaled basis directions
    centres = rng.standard_normal((clusters, dim), dtype=np.float32) @ mix

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 65536):
            m = min(65536, count - start)
            noise = rng.standard_normal((m, dim), dtype=np.float32) @ mix
            block = centres[rng.integers(0, clusters, m)] + np.float32(spread) * noise
            out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    return draw(n), draw(queries)


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10,
                found_scores: np.ndarray | None = None, truth_scores: np.ndarray | None = None) -> float:
    """Mean share of each query's true top-k that the search returned in its top-k.

    With scores, a returned vector that ties the k-th true score (duplicates are common in
    real corpora) counts as a hit too, so tie-breaking order is not counted as a miss.

    >>> recall_at_k(np.array([[1, 2], [3, 9]]), np.array([[2, 1], [3, 4]]), k=2)
    0.75
    """
    hits = 0
    for i, (f, t) in enumerate(zip(found, truth)):
        true = set(t[:k].tolist())
        if found_scores is None or truth_scores is None:
            hits += len(set(f[:k].tolist()) & true)
        else:
            floor = truth_scores[i, k - 1] - 1e-5
            hits += min(k, sum(1 for j, idx in enumerate(f[:k].tolist())
                               if idx in true or (idx >= 0 and found_scores[i, j] >= floor)))
    return hits / (k * len(truth))


def nlist_for(n: int) -> int:
    """IVF cells: the power of two nearest sqrt(n) (k-means on 2 cores stays within minutes at 1M).

    >>> nlist_for(100_000), nlist_for(1_000_000)
    (256, 1024)
    """
    return max(1, 2 ** round(math.log2(math.sqrt(n))))


def configurations(n: int, dim: int = DIM, quick: bool = False) -> list[tuple[str, str, list[str]]]:
    """`(family, factory string, search-parameter settings to sweep)` for a corpus of `n` vectors."""
    nlist = nlist_for(n)
    pq = 48 if dim % 48 == 0 else (16 if dim % 16 == 0 else 1)
    pq = f"{pq}x4" if n < 10_000 else str(pq)  # 8-bit codes need 10k training vectors
    probes = [p for p in (1, 4, 16, 64) if p <= nlist]
    refine = [f"nprobe={p},k_factor_rf={kf}" for p, kf in ((8, 4), (16, 8), (32, 16), (64, 32)) if p <= nlist]
    efs = [16, 64] if quick else [16, 32, 64, 128, 256]
    return [
        ("flat", "Flat", [""]),
        ("hnsw", "HNSW32", [f"efSearch={e}" for e in efs]),
        ("ivf-pq", f"IVF{nlist},PQ{pq}", [f"nprobe={p}" for p in probes]),
        ("ivf-pq-refine", f"IVF{nlist},PQ{pq},RFlat", refine[:2] if quick else refine),
    ]


@dataclass
class Row:
    data: str  # "synthetic" or what the real vectors are
    n: int
    family: str
    factory: str
    search: str
    build_s: float
    bytes_per_vector: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float


def measure(n: int, dim: int = DIM, queries: int = 1000, timed: int = 200, seed: int = 0,
            quick: bool = False, log=None) -> list[Row]:
    """Every configuration over `n` synthetic clustered vectors (see `clustered_vectors`)."""
    base, qs = clustered_vectors(n, dim, queries, seed)
    return measure_vectors(base, qs, "synthetic", timed=timed, quick=quick, log=log)


def measure_vectors(base: np.ndarray, qs: np.ndarray, data: str, timed: int = 200, quick: bool = False,
                    log=None) -> list[Row]:
    """Build each configuration over `base`; recall@10 of all `qs` against exact search, p50/p95 of
    `timed` one-query searches (how the assistant searches), bytes per vector of the serialised index."""
    import faiss

    n, dim = base.shape
    exact = faiss.IndexFlatIP(dim)
    exact.add(base)
    truth_scores, truth = exact.search(qs, 10)
    del exact
    rows: list[Row] = []
    trained: dict[str, tuple[object, float]] = {}  # IVF-PQ trained once, reused under the refinement
    inner = None
    for family, factory, settings in configurations(n, dim, quick):
        if log:
            log(f"  {data} {n:,} vectors: building {factory}")
        t = time.perf_counter()
        if factory.endswith(",RFlat") and factory[:-len(",RFlat")] in trained:
            empty, train_s = trained[factory[:-len(",RFlat")]]
            inner = faiss.clone_index(empty)  # IndexRefineFlat does not own it: keep a reference while in use
            index = faiss.IndexRefineFlat(inner)
            t -= train_s
        else:
            index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
            if not index.is_trained:
                index.train(base)
                trained[factory] = (faiss.clone_index(index), time.perf_counter() - t)
        index.add(base)
        build_s = time.perf_counter() - t
        size = faiss.serialize_index(index).nbytes
        space = faiss.ParameterSpace()
        for setting in settings:
            if setting:
                space.set_index_parameters(index, setting)
            _, found = index.search(qs, 10)
            found_scores = np.einsum("qd,qkd->qk", qs, base[np.maximum(found, 0)])
            times = []
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)  # see the module docstring
            try:
                for q in qs[:timed]:
                    t = time.perf_counter()
                    index.search(q[None, :], 10)
                    times.append(1000 * (time.perf_counter() - t))
            finally:
                faiss.omp_set_num_threads(threads)
            rows.append(Row(data=data, n=n, family=family, factory=factory, search=setting, build_s=build_s,
                            bytes_per_vector=size / n, p50_ms=float(np.percentile(times, 50)),
                            p95_ms=float(np.percentile(times, 95)),
                            recall_at_10=recall_at_k(found, truth, 10, found_scores, truth_scores)))
        del index
        inner = None
    return rows


def recommend(rows: list[Row], max_p50_ms: float = 20.0, min_recall: float = 0.95) -> Row | None:
    """The approximate setting to recommend for big corpora, or None.

    At the largest synthetic size it must be faster than `max_p50_ms` with recall@10 of at
    least `min_recall`, and reach that recall on the real vectors too when they were
    measured (same family and search setting). Then the fastest: the settings that qualified
    in our runs differed 4x in speed but under 15% in bytes per vector.
    """
    synthetic = [r for r in rows if r.data == "synthetic"]
    if not synthetic:
        return None
    largest = max(r.n for r in synthetic)
    real = {(r.family, r.search): r.recall_at_10 for r in rows if r.data != "synthetic"}
    ok = [r for r in synthetic if r.n == largest and r.family != "flat" and r.p50_ms < max_p50_ms
          and r.recall_at_10 >= min_recall and real.get((r.family, r.search), 1.0) >= min_recall]
    return min(ok, key=lambda r: (r.p50_ms, r.bytes_per_vector)) if ok else None
