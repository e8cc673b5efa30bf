"""The vector stores side by side: FAISS in the index folder against Milvus Lite, HNSW and IVF.

The same seeded clustered vectors as `bench.scale` (`clustered_vectors`), the same
held-out queries and the same recall@10 against exact inner-product search. Each store is
built and searched through the code the assistant runs (`index.vectors.FaissStore`,
`index.milvus`): build time is everything from vectors in memory to a store answering
(Milvus: insert, flush, index, load), and a query is one `VectorStore.search` call, so
Milvus's figures include its gRPC round trip (Milvus Lite runs its server in-process).
Not here: a Milvus server or cluster (same code, another URI; no server runs on this machine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .scale import DIM, clustered_vectors, nlist_for, recall_at_k


@dataclass
class StoreRow:
    n: int
    store: str  # "faiss" or "milvus-lite"
    index: str  # the --faiss factory string the build takes
    search: str  # the --faiss-params
    build_s: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float


def store_configurations(n: int) -> list[tuple[str, str, str]]:
    """`(store, --faiss, --faiss-params)`: HNSW and IVF in each store, Milvus's at the same settings.

    >>> [c[1] for c in store_configurations(100_000)]
    ['HNSW32', 'IVF256,Flat', 'HNSW32', 'IVF256,Flat']
    """
    ivf = f"IVF{nlist_for(n)},Flat"
    out = []
    for store in ("faiss", "milvus-lite"):
        out += [(store, "HNSW32", "efSearch=128"), (store, ivf, "nprobe=16")]
    return out


def _faiss_store(base: np.ndarray, factory: str, params: str):
    import faiss

    from index.store import _faiss_index
    from index.vectors import FaissStore

    index = _faiss_index(base, factory)
    faiss.ParameterSpace().set_index_parameters(index, params)
    return FaissStore(index, label=factory)


def _milvus_store(base: np.ndarray, factory: str, params: str, db: Path, tag: str):
    from index.milvus import create_build, finish_build
    from index.vectors import parse_store

    store, record = create_build(parse_store(f"milvus-lite:{db}/bench"), tag, base.shape[1], factory, params)
    store.add(np.arange(len(base)), ["synthetic"] * len(base), base)
    finish_build(store, record)
    return store


def measure_stores(n: int, work: Path, queries: int = 200, seed: int = 0, log=None) -> list[StoreRow]:
    """Build every configuration over `n` synthetic vectors; p50/p95 and recall@10 over `queries` one-query searches."""
    import faiss

    base, qs = clustered_vectors(n, DIM, queries, seed)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    truth_scores, truth = exact.search(qs, 10)
    del exact
    rows = []
    for i, (kind, factory, params) in enumerate(store_configurations(n)):
        if log:
            log(f"  {n:,} vectors: building {factory} in {kind}")
        t = time.perf_counter()
        if kind == "faiss":
            store = _faiss_store(base, factory, params)
        else:
            store = _milvus_store(base, factory, params, work / f"stores-{n}.db", f"b{i}")
        build_s = time.perf_counter() - t
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one question at a time, as a server answers (see bench.scale)
        found = np.full((len(qs), 10), -1, dtype=np.int64)
        times = []
        try:
            for j, q in enumerate(qs):
                t = time.perf_counter()
                _, ids = store.search(q, 10)
                times.append(1000 * (time.perf_counter() - t))
                found[j, :len(ids)] = ids
        finally:
            faiss.omp_set_num_threads(threads)
        found_scores = np.einsum("qd,qkd->qk", qs, base[np.maximum(found, 0)])
        rows.append(StoreRow(n=n, store=kind, index=factory, search=params, build_s=build_s,
                             p50_ms=float(np.percentile(times, 50)), p95_ms=float(np.percentile(times, 95)),
                             recall_at_10=recall_at_k(found, truth, 10, found_scores, truth_scores)))
        if kind != "faiss":
            store.client.drop_collection(store.collection)  # the next one needs the disk and memory
        store.close()
        del store
    return rows
