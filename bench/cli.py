"""`assistant bench`: speed and scale, ours beside the recipe most users would write instead.

One command runs every measurement in one process tree on one machine, prints a table,
and writes JSON and Markdown with ratios beside absolute figures (machines are noisy;
ratios from one run are what to compare). Parts:

1. latency  warm `retrieve` and `ask` p50/p95 over the dev eval questions on the bundled
            article, against the peer's `similarity_search` on the same questions;
2. cold     a fresh `assistant ask Q --json --index DIR` against a fresh peer script that
            loads its saved store and searches (one untimed run each first, for the page cache);
3. build    our build of real HTML files (Debian's python3.11-doc, first N pages in sorted
            order) against the peer's on the same files and the same extracted text, with both
            builds' peak RSS; then a 100-page PDF uploaded through the served page and a question
            on its last page, timed from the upload's start to the answer (bench/upload.py);
4. scale    FAISS Flat / HNSW / IVF-PQ over synthetic clustered vectors (and the real
            sentence vectors of part 3): query p50, recall@10, bytes per vector, build time;
5. memory   peak resident memory of `assistant serve` on the article and the docs index;
6. store    FAISS beside Milvus Lite (HNSW and IVF) on the same vectors: build time, p50/p95,
            recall@10 (`--parts store`; needs the milvus extra, skipped without it).

The peer (bench/peer.py) is LangChain's RecursiveCharacterTextSplitter + HuggingFace
embeddings over the same bundled MiniLM + LangChain's FAISS store, from the `bench` extra.
Every measurement runs in a fresh child process (bench/worker.py for ours).
`--quick` shrinks everything to seconds for CI and needs neither the Python docs nor
big memory; it checks that the command works and the output is well formed, not the numbers.

Only the standard library and typer are imported at module level (bench.run is both).
Mistakes in the options are `UsageError`s: one line, exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .report import DEFAULT_PARTS, PARTS
from .run import DEFAULT_DOCS


def _parse_sizes(text: str) -> tuple[int, ...]:
    from index.errors import UsageError

    try:
        sizes = tuple(int(float(x)) for x in text.replace("_", "").split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--scale takes sizes like 100000,1000000, not {text!r}") from None
    if not sizes or min(sizes) < 1000:
        raise UsageError("--scale sizes must be at least 1000")
    return sizes


def _parse_parts(text: str) -> tuple[str, ...]:
    from index.errors import UsageError

    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise UsageError(f"--parts takes some of {','.join(PARTS)}; unknown: {','.join(unknown) or '(none)'}")
    return parts


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        quick: bool = typer.Option(False, "--quick", help="Tiny sizes, seconds not minutes: checks the command works (CI)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="DIR", help="Write DIR/bench.json and DIR/bench.md."),
        json_out: Optional[Path] = typer.Option(None, "--json", metavar="FILE", help="Write the results as JSON."),
        markdown: Optional[Path] = typer.Option(None, "--markdown", metavar="FILE", help="Write the report as Markdown."),
        parts: Optional[str] = typer.Option(None, "--parts", help=f"Which parts to run, comma-separated, of {','.join(PARTS)} (default: {','.join(DEFAULT_PARTS)}; --quick: all)."),
        scale: Optional[str] = typer.Option(None, "--scale", metavar="N,N", help="Scale sizes (default 100000,1000000; quick 2000)."),
        docs: Path = typer.Option(DEFAULT_DOCS, "--docs", metavar="DIR", help="HTML corpus for the build part (python3.11-doc)."),
        docs_files: Optional[int] = typer.Option(None, "--docs-files", min=0, help="First N files in sorted order (0: all; default 100)."),
        repeat: Optional[int] = typer.Option(None, "--repeat", min=1, help="Cold-start repetitions (default 5)."),
        rounds: Optional[int] = typer.Option(None, "--rounds", min=1, help="Passes over the questions for latency (default 3)."),
        questions: Optional[int] = typer.Option(None, "--questions", min=0, help="Use the first N dev questions (0: all)."),
        with_peer: bool = typer.Option(True, "--peer/--no-peer", help="Measure the LangChain peer (needs the bench extra)."),
        model: str = typer.Option("default", "--model", help="Our embedding model (the peer always uses the bundled MiniLM)."),
        embed_runtime: Optional[str] = typer.Option(None, "--embed-runtime", help="How our build embeds: float32 (the default, the model's own vectors) or int8 (index.embed_runtime)."),
        work: Optional[Path] = typer.Option(None, "--work", metavar="DIR", help="Keep indexes and stores here (default: a temporary folder)."),
        readme: Optional[Path] = typer.Option(None, "--readme", metavar="FILE", help="Merge this run's parts into FILE's <!-- bench-figures:start/end --> block (other parts keep their earlier run's figures, dated; the runs are kept in docs/bench.json beside FILE)."),
        from_json: Optional[Path] = typer.Option(None, "--from", metavar="FILE", help="Report an earlier run's bench.json instead of running."),
    ) -> None:
        """Measure speed, cold start, build throughput, FAISS scale and memory, beside the LangChain recipe."""
        from index.errors import UsageError  # here, not at the top: `assistant ask` must not pay for plugins

        from .report import check_results, render_markdown, render_table, update_readme
        from .run import Options, run

        if embed_runtime not in (None, "float32", "int8"):
            raise UsageError(f"--embed-runtime takes float32 or int8, not {embed_runtime!r}")
        if readme is not None and quick:
            raise UsageError("--readme takes a full run's figures, not --quick")
        if readme is not None and not readme.is_file():
            raise UsageError(f"cannot update {readme}: no such file")

        if from_json is not None:
            try:
                results = json.loads(from_json.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read {from_json}: {exc}") from None
            if check_results(results) or results.get("quick") and readme is not None:
                raise UsageError(f"{from_json} is not a full bench run's results")
        else:
            kw = dict(parts=_parse_parts(parts) if parts is not None else None, sizes=_parse_sizes(scale) if scale else None, docs=docs,
                      docs_files=docs_files, repeat=repeat, rounds=rounds, questions=questions, peer=with_peer,
                      model=model, embed_runtime=embed_runtime, work=work)
            if quick:
                opts = Options.quick_defaults(**kw)
            else:
                opts = Options(**{k: v for k, v in kw.items() if v is not None})
            results = run(opts)
        typer.echo(render_table(results))
        targets = []
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            targets += [(out / "bench.json", "json"), (out / "bench.md", "md")]
        if json_out is not None:
            targets.append((json_out, "json"))
        if markdown is not None:
            targets.append((markdown, "md"))
        for path, kind in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(results, indent=2, ensure_ascii=False) if kind == "json" else render_markdown(results)
            path.write_text(text + ("\n" if kind == "json" else ""), encoding="utf-8")
            typer.echo(f"wrote {path}", err=True)
        if readme is not None:
            try:
                update_readme(results, readme)
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot update {readme}: {exc}") from None
            typer.echo(f"updated {readme}", err=True)
        problems = check_results(results)
        failed = [p for p, info in results["parts"].items() if info.get("status") == "error"]
        if problems or failed:
            typer.echo("error: " + "; ".join(problems + [f"part {p} failed" for p in failed]), err=True)
            raise typer.Exit(1)
