"""The measurements behind `assistant bench` (see bench/cli.py): its options, parts and run.

Each part runs its measurements in fresh child processes (bench/worker.py for ours,
bench/peer.py for the LangChain peer) and returns plain dicts; `run` collects them with
the machine, the date and the targets. Not here: the figures and tables (bench.report),
the served child and its client (bench.harness). Standard library only at module level.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from eval.metrics import percentile

from .harness import RESULT, AskClient, read_result, serve
from .report import DEFAULT_PARTS, PARTS, SCHEMA, evaluate_targets, machine_info, ratio, summary

ROOT = Path(__file__).resolve().parents[1]
PEER_SCRIPT = Path(__file__).with_name("peer.py")
DEFAULT_DOCS = Path("/usr/share/doc/python3.11/html")
DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (2_000,)


class BenchError(Exception):
    """A part could not be measured; the message says why in one line."""


class PartSkipped(BenchError):
    """A part cannot run on this install (an optional extra is missing); recorded as skipped, not failed."""


@dataclass
class Options:
    quick: bool = False
    parts: tuple[str, ...] = DEFAULT_PARTS  # `store` (Milvus) only when asked for: --parts store
    sizes: tuple[int, ...] = DEFAULT_SIZES
    docs: Path = DEFAULT_DOCS
    docs_files: int = 100
    repeat: int = 5
    rounds: int = 3
    questions: int = 0  # 0: every dev question
    peer: bool = True
    model: str = "default"
    embed_runtime: str = "float32"  # how our build embeds (index.embed_runtime)
    work: Path | None = None
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))

    @classmethod
    def quick_defaults(cls, **kw) -> "Options":
        base = dict(quick=True, parts=PARTS, sizes=QUICK_SIZES, docs_files=3, repeat=1, rounds=1, questions=5)
        base.update({k: v for k, v in kw.items() if v is not None})
        return cls(**base)


# ---------------------------------------------------------------- processes


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def _assistant_cmd() -> list[str]:
    script = Path(sys.executable).with_name("assistant")
    if script.exists():
        return [str(script)]
    found = shutil.which("assistant")
    return [found] if found else [sys.executable, "-c", "from assistant.cli import main; main()"]


def run_child(cmd: list[str], timeout: float | None = None) -> dict:
    """Run a worker or peer script; return the JSON it printed after `BENCH-RESULT `. Its stderr (progress bars) shows."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=_env(), cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{Path(cmd[1] if len(cmd) > 1 else cmd[0]).name} timed out after {timeout:.0f} s") from None
    result = read_result(proc.stdout)
    if result is not None:
        return result
    what = " ".join(cmd[1:3]) if len(cmd) > 2 else cmd[0]
    raise BenchError(f"`{what}` exited with code {proc.returncode} and no result")


def worker(task: str, **args) -> dict:
    return run_child([sys.executable, "-m", "bench.worker", task, json.dumps(args)])


def peer(command: str, **args) -> dict:
    return run_child([sys.executable, str(PEER_SCRIPT), command, json.dumps(args)])


def peer_available() -> str | None:
    """None when the peer's libraries are installed, else why not."""
    import importlib.util

    missing = [m for m in ("langchain_text_splitters", "langchain_huggingface", "langchain_community")
               if importlib.util.find_spec(m) is None]
    return f"peer skipped: {', '.join(missing)} not installed (pip install 'grounded-assistant[bench]')" if missing else None


def model_folder(name: str) -> str:
    from index.embedding import resolve_model

    where, _, _ = resolve_model(name)
    return str(where)


# ---------------------------------------------------------------- shared inputs


class Context:
    """What several parts share, made on first use: the article index, the peer's store, the docs index."""

    def __init__(self, opts: Options, work: Path):
        self.opts = opts
        self.work = work
        self.notes: list[str] = []
        self._article_index: Path | None = None
        self._peer_store: Path | None = None
        self.docs_index: Path | None = None
        self.peer_skip = None if opts.peer else "peer skipped: --no-peer"
        if self.peer_skip is None:
            self.peer_skip = peer_available()
        if self.peer_skip:
            self.notes.append(self.peer_skip)

    @property
    def article(self) -> Path:
        from assistant.settings import DEFAULT_DOCUMENT

        return Path(DEFAULT_DOCUMENT)

    def article_index(self) -> Path:
        if self._article_index is None:
            out = self.work / "article-index"
            self.opts.log(f"building our index of the bundled article -> {out}")
            cmd = _assistant_cmd() + ["index", "build", str(self.article), "--out", str(out), "--model", self.opts.model]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
            if proc.returncode != 0:
                raise BenchError(f"assistant index build failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
            self._article_index = out
        return self._article_index

    def peer_store(self) -> Path:
        if self._peer_store is None:
            out = self.work / "peer-article"
            self.opts.log(f"building the peer's store of the bundled article -> {out}")
            peer("build", files=[str(self.article)], out=str(out), model=model_folder("default"), progress=False)
            self._peer_store = out
        return self._peer_store

    def questions(self) -> list[dict]:
        from eval.schema import load_items

        items = load_items(split="dev")
        if self.opts.questions:
            items = items[:self.opts.questions]
        return [{"question": it.question, "history": list(it.history)} for it in items]


# ---------------------------------------------------------------- parts


def part_latency(ctx: Context) -> dict:
    qs = ctx.questions()
    index = ctx.article_index()
    ctx.opts.log(f"latency: ours, {len(qs)} dev questions x {ctx.opts.rounds} rounds")
    ours = worker("latency", index=str(index), questions=qs, rounds=ctx.opts.rounds)
    out: dict = {"questions": len(qs), "rounds": ctx.opts.rounds,
                 "ours": {k: summary(ours[k]) for k in ("retrieve_ms", "ask_ms", "embed_query_ms")},
                 "torch_imported_by_questions": ours["torch_imported"]}
    out["peer"] = None
    if not ctx.peer_skip:
        ctx.opts.log("latency: peer similarity_search, same questions")
        theirs = peer("latency", store=str(ctx.peer_store()), model=model_folder("default"),
                      questions=[q["question"] for q in qs], rounds=ctx.opts.rounds, k=5)
        out["peer"] = {k: summary(theirs[k]) for k in ("search_ms", "embed_query_ms")}
        peer_p50 = out["peer"]["search_ms"]["p50"]
        out["ratio_ask_p50_to_peer_search_p50"] = ratio(out["ours"]["ask_ms"]["p50"], peer_p50)
        out["ratio_retrieve_p50_to_peer_search_p50"] = ratio(out["ours"]["retrieve_ms"]["p50"], peer_p50)
    return out


def part_runtimes(ctx: Context) -> dict:
    """The judge and the question's embedding, int8 beside float32, on the dev questions' own inputs
    (`bench.worker.runtimes`): what `answer.judge_runtime` and `retrieval.query_runtime` choose between."""
    qs = ctx.questions()
    ctx.opts.log(f"runtimes: the judge and the query embedding in int8 and float32, {len(qs)} dev questions")
    got = worker("runtimes", index=str(ctx.article_index()), questions=qs, rounds=ctx.opts.rounds)
    moved, cos = sorted(got["probability_moved"]), sorted(got["cosine_int8_to_float32"])
    return {"questions": got["questions"], "sentences_per_question": got["sentences_per_question"],
            "judge_ms": {rt: summary(v) for rt, v in got["judge_ms"].items()},
            "embed_query_ms": {rt: summary(v) for rt, v in got["embed_query_ms"].items()},
            "probability_moved": {"max": moved[-1] if moved else None, "p95": percentile(moved, 95) if moved else None},
            "cosine_int8_to_float32": {"min": cos[0] if cos else None, "p50": percentile(cos, 50) if cos else None},
            "judge_ms_per_sentence_by_batch": {b: summary(v) for b, v in got["judge_ms_per_sentence_by_batch"].items()}}


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    return time.perf_counter() - t, proc


def part_cold(ctx: Context) -> dict:
    from statistics import median

    question = ctx.questions()[0]["question"]
    index = ctx.article_index()
    ours_cmd = _assistant_cmd() + ["ask", question, "--json", "--index", str(index)]
    peer_cmd = None
    if not ctx.peer_skip:
        peer_cmd = [sys.executable, str(PEER_SCRIPT), "cold", str(ctx.peer_store()), model_folder("default"), question]
    ours_s, peer_s, answers = [], [], set()
    n = ctx.opts.repeat
    ctx.opts.log(f"cold start: 1 untimed + {n} timed fresh processes each, alternating")
    for i in range(n + 1):
        seconds, proc = _timed(ours_cmd)
        if proc.returncode != 0:
            raise BenchError(f"assistant ask exited {proc.returncode}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        answers.add(json.loads(proc.stdout)["text"])
        if i:
            ours_s.append(seconds)
        if peer_cmd:
            seconds, proc = _timed(peer_cmd)
            if proc.returncode != 0 or RESULT not in proc.stdout:
                raise BenchError(f"peer cold script exited {proc.returncode}: "
                                 f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
            if i:
                peer_s.append(seconds)
    out = {"question": question, "command": " ".join(["assistant"] + ours_cmd[1:]),
           "ours": {"runs": len(ours_s), "median_s": median(ours_s), "all_s": ours_s,
                    "same_answer_every_run": len(answers) == 1},
           "peer": {"runs": len(peer_s), "median_s": median(peer_s), "all_s": peer_s} if peer_s else None}
    out["ratio"] = ratio(out["ours"]["median_s"], out["peer"]["median_s"]) if peer_s else None
    return out


def _quick_corpus(work: Path, article: Path) -> list[Path]:
    """Three small HTML pages cut from the bundled article, so quick mode needs no installed docs."""
    folder = work / "quick-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = [p.strip() for p in article.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    import html

    files = []
    for i in range(3):
        part = paragraphs[i::3]
        body = "\n".join(f"<p>{html.escape(p)}</p>" for p in part)
        path = folder / f"page-{i}.html"
        path.write_text(f"<html><head><title>Part {i + 1}</title></head><body><h1>Part {i + 1}</h1>\n{body}\n"
                        "</body></html>\n", encoding="utf-8")
        files.append(path)
    return files


def part_build(ctx: Context) -> dict:
    opts = ctx.opts
    if opts.quick:
        files = _quick_corpus(ctx.work, ctx.article)
        corpus = "three small HTML pages cut from the bundled article (quick mode)"
    else:
        if not opts.docs.exists():
            raise BenchError(f"{opts.docs} not found: install Debian's python3.11-doc (`make bench-docs` as root, or apt-get install python3.11-doc) "
                             "or pass --docs")
        files = sorted(opts.docs.rglob("*.html"))
        total = len(files)
        if opts.docs_files:
            files = files[:opts.docs_files]
        corpus = f"{opts.docs}: first {len(files)} of {total} HTML files in sorted order"
    out_dir = ctx.work / "docs-index"
    opts.log(f"build: ours on {len(files)} files -> {out_dir}")
    ours = worker("build", files=[str(f) for f in files], out=str(out_dir), model=opts.model,
                  embed_runtime=opts.embed_runtime)
    ctx.docs_index = out_dir
    for r in (ours,):
        r["chars_per_s"] = r["chars"] / r["build_s"]
        r["chunks_per_s"] = r["chunks"] / r["build_s"]
        r["sentences_per_s"] = r["sentences"] / r["build_s"]
    result = {"corpus": corpus, "files": len(files), "ours": ours, "peer": None,
              "peer_settings": {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": 1000, "chunk_overlap": 200,
                                "embeddings": "HuggingFaceEmbeddings (bundled all-MiniLM-L6-v2)",
                                "store": "langchain_community FAISS (save_local)",
                                "text": "our loader's text of each file (same characters for both)"}}
    if not ctx.peer_skip:
        opts.log(f"build: peer on the same {len(files)} files")
        theirs = peer("build", files=[str(f) for f in files], out=str(ctx.work / "peer-docs"),
                      model=model_folder("default"), progress=True)
        theirs["chars_per_s"] = theirs["chars"] / theirs["build_s"]
        theirs["chunks_per_s"] = theirs["chunks"] / theirs["build_s"]
        result["peer"] = theirs
        result["ratio_chars_per_s"] = ratio(ours["chars_per_s"], theirs["chars_per_s"])
    from .upload import upload_to_answer

    try:  # a person's wait: a report uploaded through the page, then a question on its last page
        result["upload"] = upload_to_answer(ctx.article_index(), ctx.work / "upload", _env(),
                                            pages=3 if opts.quick else 100, log=opts.log)
    except Exception as exc:  # noqa: BLE001 - recorded in one line; the build figures above stand
        result["upload"] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        opts.log(f"build: upload to first answer failed: {result['upload']['error']}")
    return result


def part_scale(ctx: Context) -> dict:
    from .scale import Row, recommend

    rows: list[dict] = []
    for n in ctx.opts.sizes:
        ctx.opts.log(f"scale: {n:,} synthetic vectors (Flat, HNSW32, IVF-PQ, IVF-PQ+refine)")
        timed = 50 if ctx.opts.quick else 200
        queries = 100 if ctx.opts.quick else 1000
        rows += worker("scale", n=n, quick=ctx.opts.quick, queries=queries, timed=timed)["rows"]
    if ctx.docs_index is not None and not ctx.opts.quick:
        ctx.opts.log("scale: the same configurations over the real sentence vectors of the docs index")
        rows += worker("real-scale", index=str(ctx.docs_index))["rows"]
    rec = recommend([Row(**r) for r in rows])
    return {"sizes": list(ctx.opts.sizes), "rows": rows,
            "generator": "clustered_vectors: groups of ~100 unit vectors around random centres, anisotropic spectrum "
                         "(axis j has sd (j+1)^-0.5 in a random basis), noise 0.7 x centre size, seed 0; "
                         "1000 held-out queries from the same groups; recall@10 against exact inner-product search, "
                         "ties with the 10th score count as hits",
            "recommended": None if rec is None else {"factory": rec.factory, "search": rec.search, "n": rec.n,
                                                     "p50_ms": rec.p50_ms, "recall_at_10": rec.recall_at_10,
                                                     "bytes_per_vector": rec.bytes_per_vector}}


def part_store(ctx: Context) -> dict:
    import importlib.util

    missing = [m for m in ("pymilvus", "milvus_lite") if importlib.util.find_spec(m) is None]
    if missing:
        raise PartSkipped(f"{', '.join(missing)} not installed (pip install 'grounded-assistant[milvus]')")
    rows: list[dict] = []
    for n in ctx.opts.sizes:
        ctx.opts.log(f"store: {n:,} synthetic vectors, FAISS and Milvus Lite (HNSW32, IVF)")
        rows += worker("stores", n=n, work=str(ctx.work), queries=50 if ctx.opts.quick else 200)["rows"]
    return {"sizes": list(ctx.opts.sizes), "rows": rows,
            "how": "bench.stores: the scale part's clustered vectors; build = vectors in memory to a store answering; "
                   "one VectorStore.search per query (Milvus Lite: in-process gRPC); recall@10 against exact search"}


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def serve_memory(index: Path, questions: list[str], log, timeout: float = 240) -> dict:
    """Start `assistant serve`, wait until it answers, ask `questions`, and report its peak memory."""
    import psutil

    peak = [0]
    stop = threading.Event()

    def sample(pid: int) -> None:
        try:
            root = psutil.Process(pid)
            while not stop.is_set():
                with contextlib.suppress(psutil.Error):
                    tree = [root] + root.children(recursive=True)
                    peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree))
                time.sleep(0.05)
        except psutil.Error:
            pass

    t0 = time.perf_counter()
    try:
        with serve(index, env=_env(), ready_timeout=timeout) as server:
            ready_s = time.perf_counter() - t0
            sampler = threading.Thread(target=sample, args=(server.process.pid,), daemon=True)
            sampler.start()  # what startup took is in the kernel's high-water mark below
            try:
                client = AskClient(server.url)
                answered = 0
                for q in questions:
                    client.ask(q, timeout=60)
                    answered += 1
                time.sleep(0.3)
                children = []
                with contextlib.suppress(psutil.Error):
                    children = psutil.Process(server.process.pid).children(recursive=True)
                hwm_kb = _hwm_kb(server.process.pid) + sum(_hwm_kb(c.pid) for c in children)
            finally:
                stop.set()
                sampler.join(2)
    except RuntimeError as exc:  # the server did not start
        raise BenchError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a failed question is this part's failure, in one line
        raise BenchError(f"/ask failed: {type(exc).__name__}: {str(exc)[:120]}") from None
    sampled_mb = peak[0] / 1024 / 1024
    return {"ready_s": ready_s, "questions": answered, "sampled_peak_mb": sampled_mb, "hwm_mb": hwm_kb / 1024,
            "peak_mb": max(sampled_mb, hwm_kb / 1024)}


def part_memory(ctx: Context) -> dict:
    qs = [q["question"] for q in ctx.questions()[:5]]
    targets = {"bundled article": ctx.article_index()}
    if ctx.docs_index is not None and not ctx.opts.quick:
        targets["Python docs index"] = ctx.docs_index
    elif not ctx.opts.quick:
        ctx.notes.append("memory: no Python docs index (run the build part) - measured the article only")
    out = {}
    for label, index in targets.items():
        ctx.opts.log(f"memory: assistant serve on the {label}, {len(qs)} questions")
        out[label] = serve_memory(index, qs, ctx.opts.log)
    return {"serve": out, "how": "peak of the process tree's summed RSS sampled every 50 ms, or the kernel's "
                                 "high-water mark (VmHWM), whichever is larger"}


PART_FUNCS = {"latency": part_latency, "runtimes": part_runtimes, "cold": part_cold, "build": part_build, "scale": part_scale,
              "memory": part_memory, "store": part_store}


# ---------------------------------------------------------------- the run


def run(opts: Options) -> dict:
    """Run the selected parts; a part that fails is recorded with its reason and the rest still run."""
    own_work = opts.work is None
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-")) if own_work else Path(opts.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict = {
        "schema": SCHEMA, "tool": "assistant bench",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": opts.quick, "machine": machine_info(),
        "settings": {"parts": list(opts.parts), "scale_sizes": list(opts.sizes), "docs": str(opts.docs),
                     "docs_files": opts.docs_files, "cold_repeats": opts.repeat, "latency_rounds": opts.rounds,
                     "questions": opts.questions or "all dev", "model": opts.model, "embed_runtime": opts.embed_runtime,
                     "peer": opts.peer},
        "parts": {}, "targets": [], "notes": [],
    }
    ctx = Context(opts, work)
    try:
        for part in PARTS:
            if part not in opts.parts:
                results["parts"][part] = {"status": "skipped", "reason": "not selected (--parts)"}
                continue
            t = time.perf_counter()
            try:
                data = PART_FUNCS[part](ctx)
                results["parts"][part] = {"status": "ok", "seconds": time.perf_counter() - t, **data}
            except PartSkipped as exc:
                results["parts"][part] = {"status": "skipped", "reason": str(exc)}
                opts.log(f"{part}: skipped: {exc}")
            except BenchError as exc:
                results["parts"][part] = {"status": "error", "seconds": time.perf_counter() - t, "error": str(exc)}
                opts.log(f"{part}: error: {exc}")
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = time.perf_counter() - started
    results["targets"] = evaluate_targets(results)
    results["notes"] = ctx.notes + [
        "Ratios are ours / peer from the same run; absolute figures vary with the machine's load.",
        "Peer: LangChain RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) + HuggingFaceEmbeddings "
        "(same bundled all-MiniLM-L6-v2 folder) + langchain_community FAISS; its save_local pickles the docstore "
        "and load_local needs allow_dangerous_deserialization=True. Both sides embed the same text "
        "(our loader's text of each file).",
        "Ours embeds one vector per distinct sentence (with its section title) and answers with verified quotes; "
        "the peer embeds 1000-character chunks and only retrieves.",
    ]
    return results
