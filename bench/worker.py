"""Our side of `assistant bench`, one measurement per fresh process (`python -m bench.worker`).

Each task reads one JSON argument and prints one `BENCH-RESULT {...}` line on stdout;
progress bars go to stderr. Running each in its own process keeps imports and memory of
one measurement out of the next, and gives the peer (bench/peer.py) the same start.

    python -m bench.worker latency '{"index": DIR, "questions": [{"question": "...", "history": []}]}'
    python -m bench.worker runtimes '{"index": DIR, "questions": [{"question": "...", "history": []}]}'
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


def runtimes(index: str, questions: list[dict], rounds: int = 1, batches: tuple[int, ...] = (1, 2, 4, 8, 16)) -> dict:
    """The question path's two models in each of their runtimes, on the questions' own inputs: the
    judge's pass over the sentences a question brings (int8 and float32: ms, and how far int8 moves
    a probability), the judge's cost per sentence by batch size (int8), and the question's
    embedding (int8 and float32: ms, and the cosine between the two vectors)."""
    import numpy as np

    from assistant import Assistant
    from assistant.api import load_judge
    from index import get_embedder

    a = Assistant.load(index)
    if a.decider.judge is None:
        raise ValueError("the judge is off (answer.judge=none): nothing to time")
    st = a.settings.answer
    judges = {rt: load_judge(st.model_copy(update={"judge_runtime": rt}))[0] for rt in ("int8", "float32")}
    name = a.index.manifest.model.name
    embedders = {rt: get_embedder(name, rt) for rt in ("int8", "float32")}
    inputs = []  # (question as searched, the segments the judge reads)
    for q in questions:
        query = a.resolve(q["question"], q.get("history") or None)
        _, segments = a.decider.judge_inputs(a.retriever.search(query, st.passages))
        if segments:
            inputs.append((query.text, segments))
    for rt in judges:  # warm up: a runtime's first pass pays its set-up (an int8 file built or read)
        judges[rt].judge(*inputs[0])
        embedders[rt].embed_query(inputs[0][0])
    judge_ms: dict[str, list[float]] = {rt: [] for rt in judges}
    embed_ms: dict[str, list[float]] = {rt: [] for rt in embedders}
    moved, cosines = [], []
    for _ in range(rounds):
        for text, segments in inputs:
            probs = {}
            for rt, judge in judges.items():
                t = time.perf_counter()
                probs[rt] = [v.probability for v in judge.judge(text, segments)]
                judge_ms[rt].append(1000 * (time.perf_counter() - t))
            moved += [abs(x - y) for x, y in zip(probs["int8"], probs["float32"])]
            vecs = {}
            for rt, emb in embedders.items():
                t = time.perf_counter()
                vecs[rt] = np.asarray(emb.embed_query(text), dtype=np.float64)
                embed_ms[rt].append(1000 * (time.perf_counter() - t))
            cosines.append(float(vecs["int8"] @ vecs["float32"] / (np.linalg.norm(vecs["int8"]) * np.linalg.norm(vecs["float32"]))))
    pool = [(text, seg) for text, segments in inputs for seg in segments]
    per_sentence: dict[str, list[float]] = {}
    for size in batches:
        times = []
        for i in range(0, len(pool) - size + 1, size):  # one question's text beside `size` sentences
            chunk = pool[i:i + size]
            t = time.perf_counter()
            judges["int8"].judge(chunk[0][0], [seg for _, seg in chunk])
            times.append(1000 * (time.perf_counter() - t) / size)
        per_sentence[str(size)] = times
    return {"questions": len(inputs), "sentences_per_question": st.judge_candidates, "judge_ms": judge_ms,
            "probability_moved": moved, "embed_query_ms": embed_ms, "cosine_int8_to_float32": cosines,
            "judge_ms_per_sentence_by_batch": per_sentence}


def build(files: list[str], out: str, model: str = "default", progress: bool = True,
          embed_runtime: str = "float32") -> dict:
    """Our build of `files`; the model is loaded before the clock starts, as for the peer. `peak_rss_mb`:
    the process's high-water mark (model, build and all)."""
    import resource

    t0 = time.perf_counter()
    from index import BuildSettings, build_index, get_embedder

    embedder = get_embedder(model, build_runtime=embed_runtime)
    embedder.embed(["warm up"])
    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    manifest = build_index(files, out, BuildSettings(model=model, embed_runtime=embed_runtime), embedder=embedder,
                           progress=progress)
    seconds = time.perf_counter() - t1
    return {"startup_s": startup, "build_s": seconds, "documents": manifest.counts["documents"],
            "chunks": manifest.counts["chunks"], "sentences": manifest.counts["sentences"],
            "chars": sum(d.chars for d in manifest.documents), "embed_runtime": embed_runtime,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


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


TASKS = {"latency": latency, "runtimes": runtimes, "build": build, "scale": scale, "real-scale": real_scale, "stores": stores}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    emit(TASKS[argv[1]](**json.loads(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
