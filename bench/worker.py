"""Our side of `assistant bench`, one measurement per fresh process (`python -m bench.worker`).

Each task reads one JSON argument and prints one `BENCH-RESULT {...}` line on stdout;
progress bars go to stderr. Running each in its own process keeps imports and memory of
one measurement out of the next, and gives the peer (bench/peer.py) the same start.

    python -m bench.worker latency '{"index": DIR, "questions": [{"question": "...", "history": []}]}'
    python -m bench.worker build '{"files": [...], "out": DIR, "model": "default"}'
    python -m bench.worker scale '{"n": 100000, "quick": false}'
    python -m bench.worker real-scale '{"index": DIR}'
    python -m bench.worker stores '{"n": 100000, "work": DIR}'
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

from .harness import emit


def latency(index: str, questions: list[dict], rounds: int = 1, k: int = 5) -> dict:
    """Per-question `retrieve`, `ask` and query-embedding times (ms) on a warm assistant."""
    from assistant import Assistant

    a = Assistant.load(index)
    a.ask(questions[0]["question"])  # warm up: first query pays one-off set-up
    retrieve, ask, embed = [], [], []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            a.retrieve(q["question"], k)
            retrieve.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            a.ask(q["question"], history=q.get("history") or None)
            ask.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            a.embedder.embed_query(q["question"])
            embed.append(1000 * (time.perf_counter() - t))
    return {"retrieve_ms": retrieve, "ask_ms": ask, "embed_query_ms": embed,
            "torch_imported": "torch" in sys.modules}  # False: questions took the numpy path (index.fastbert)


def build(files: list[str], out: str, model: str = "default", progress: bool = True) -> dict:
    """Our build of `files`; the model is loaded before the clock starts, as for the peer."""
    t0 = time.perf_counter()
    from index import BuildSettings, build_index, get_embedder

    embedder = get_embedder(model)
    embedder.embed(["warm up"])
    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    manifest = build_index(files, out, BuildSettings(model=model), embedder=embedder, progress=progress)
    seconds = time.perf_counter() - t1
    return {"startup_s": startup, "build_s": seconds, "documents": manifest.counts["documents"],
            "chunks": manifest.counts["chunks"], "sentences": manifest.counts["sentences"],
            "chars": sum(d.chars for d in manifest.documents)}


def scale(n: int, quick: bool = False, queries: int = 1000, timed: int = 200) -> dict:
    from .scale import measure

    rows = measure(n, queries=queries, timed=timed, quick=quick, log=lambda m: print(m, file=sys.stderr, flush=True))
    return {"rows": [asdict(r) for r in rows]}


def real_scale(index: str, queries: int = 1000, timed: int = 200, quick: bool = False) -> dict:
    """The same configurations over an index's real sentence vectors; `queries` of them held out as questions."""
    import numpy as np

    from index.store import read_manifest

    from .scale import measure_vectors

    build_dir, manifest = read_manifest(index)
    vectors = np.load(build_dir / "embeddings.npy", allow_pickle=False)
    order = np.random.default_rng(0).permutation(len(vectors))
    queries = min(queries, len(vectors) // 10)
    label = f"real: {manifest.counts['documents']} Python docs pages, MiniLM sentence vectors"
    rows = measure_vectors(vectors[order[queries:]], vectors[order[:queries]], label, timed=timed, quick=quick,
                           log=lambda m: print(m, file=sys.stderr, flush=True))
    return {"rows": [asdict(r) for r in rows]}


def stores(n: int, work: str, queries: int = 200) -> dict:
    """FAISS and Milvus Lite, HNSW and IVF, over `n` synthetic vectors (bench.stores)."""
    from pathlib import Path

    from .stores import measure_stores

    rows = measure_stores(n, Path(work), queries=queries, log=lambda m: print(m, file=sys.stderr, flush=True))
    return {"rows": [asdict(r) for r in rows]}


TASKS = {"latency": latency, "build": build, "scale": scale, "real-scale": real_scale, "stores": stores}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    emit(TASKS[argv[1]](**json.loads(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
