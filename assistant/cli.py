"""The `assistant` command: index, retrieve, ask (here), and serve, eval, bench, load, judge (plugins).

User mistakes and index problems print one line, `error: ...`, and exit 1 (failure) or
2 (usage); nothing prints a traceback unless ASSISTANT_DEBUG=1. A verb reports a usage
mistake by raising `UsageError`. `--json` prints the same pydantic payload the Python API
returns. `serve`, `eval`, `bench`, `load` and `judge` come from the `ui`, `eval`, `bench` and
`train` packages through the `assistant.commands` entry points, so this package never imports them.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from index.errors import AssistantError, UsageError

from .options import STORE_HELP, parse_store_option

DEFAULT_OUT = Path("assistant-index")


class _Group(TyperGroup):
    """Turns domain errors into one line and an exit code, for every verb including plugins."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            if os.environ.get("ASSISTANT_DEBUG"):
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:  # `assistant ask ... | head`: the reader left, which is fine
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - a bug still gets one readable line
            if os.environ.get("ASSISTANT_DEBUG"):
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            typer.echo(f"error: internal error ({type(exc).__name__}: {first}); "
                       "set ASSISTANT_DEBUG=1 to see the traceback", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(cls=_Group, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Answers questions about documents with verified, cited quotes.")
index_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Build and inspect indexes.")
app.add_typer(index_app, name="index")

IndexOpt = typer.Option(None, "--index", "-i", help="Index folder (default: $ASSISTANT_INDEX, else the bundled article).",
                        envvar="ASSISTANT_INDEX", show_envvar=False)
JsonOpt = typer.Option(False, "--json", help="Print the JSON payload instead of text.")
StoreOpt = typer.Option(None, "--store", help=STORE_HELP + " With --index: where that index's collection is served now.")


def page_label(page: int | None) -> str:
    """Where in a PDF a passage or quote is, as shown after its document: `page_label(4) -> ', p. 4'`; '' without pages."""
    return f", p. {page}" if page else ""


def _settings(store: Optional[str] = None):
    """Settings from the environment, with `--store` (checked here: a bad value is a usage error)."""
    from .settings import Settings

    settings = Settings.from_env()
    store = parse_store_option(store)
    return settings if store is None else settings.with_(index={"store": store})


def _open(index: Optional[Path], store: Optional[str] = None):
    from .api import Assistant

    return Assistant.load(index, _settings(store))


@index_app.command("build")
def index_build(
    paths: List[Path] = typer.Argument(..., help="Files (.txt, .md, .html, .pdf, .docx) or folders to index."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Index folder to write (replaced atomically)."),
    model: Optional[str] = typer.Option(None, "--model", help="Embedding model: 'default' (bundled MiniLM), a hub name, a local folder, or 'hashing'."),
    faiss: Optional[str] = typer.Option(None, "--faiss", help="FAISS factory string, e.g. Flat (default), HNSW32, IVF1024,PQ48,RFlat."),
    faiss_params: Optional[str] = typer.Option(None, "--faiss-params", help="FAISS search parameters kept with the index, e.g. efSearch=128 or nprobe=64,k_factor_rf=32."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP + " Milvus takes --faiss Flat, HNSWn or IVFn,Flat."),
    as_json: bool = JsonOpt,
) -> None:
    """Index documents into a folder; unchanged documents are not embedded again."""
    build = _settings(store).index.build()
    changes = {k: v for k, v in {"model": model, "faiss": faiss, "faiss_params": faiss_params}.items() if v}
    if changes:
        build = build.model_copy(update=changes)
    manifest = _build(paths, out, build)
    _report_build(manifest, out, as_json)


def _build(paths, out: Path, build):
    from index import build_index

    try:
        return build_index(paths, out, build, on_problem=lambda p: typer.echo(f"skipped: {p}", err=True))
    except ValueError as exc:  # an invalid FAISS string is a usage error
        raise UsageError(f"--faiss / --faiss-params / --store: {exc}") from None


def _report_build(manifest, out: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(manifest.model_dump_json(indent=2))
        return
    c = manifest.counts
    typer.echo(f"indexed {c['documents']} document(s): {c['chunks']} chunks, {c['sentences']} sentences "
               f"({c['embedded']} embedded, {c['reused']} reused), skipped {c['skipped']} -> {out}")
    if manifest.store is not None:
        typer.echo(f"vectors in {manifest.store.spec().text()} (collection {manifest.store.collection}, "
                   f"alias {manifest.store.alias})")
    if out != DEFAULT_OUT or not os.environ.get("ASSISTANT_INDEX"):
        typer.echo(f'ask with: assistant ask "your question" --index {out}')


@index_app.command("move")
def index_move(
    folder: Path = typer.Argument(..., help="An index folder built before."),
    store: str = typer.Option(..., "--store", help=STORE_HELP),
    as_json: bool = JsonOpt,
) -> None:
    """Move an index's vectors to another store (e.g. Milvus), rebuilding it from its recorded sources
    with its model and settings; unchanged documents reuse their vectors, nothing is embedded again."""
    from index.store import read_manifest

    _, m = read_manifest(folder)
    if not m.sources:
        raise UsageError(f"{folder} does not record its sources; rebuild it with assistant index build PATH... "
                         f"--out {folder} --store {store}")
    build = _settings(store).index.build().model_copy(update={
        "model": m.model.name, "chunker": m.chunker, "embed_section": m.embed_section, "faiss": m.faiss,
        "faiss_params": m.faiss_params})
    _report_build(_build(m.sources, folder, build), folder, as_json)


@index_app.command("info")
def index_info_cmd(
    folder: Optional[Path] = typer.Argument(None, help="Index folder (default: the bundled article's index)."),
    store: Optional[str] = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show what an index holds, where its vectors are searched, and whether it is stale."""
    from index import load_index, stale_reasons

    from .api import Assistant, index_age, index_info

    settings = _settings(store)
    if folder is None:
        loaded = Assistant.load(None, settings).index
    else:
        loaded = load_index(folder, store=settings.index.store or None)
    info = index_info(loaded, stale_reasons(loaded.manifest))
    if as_json:
        typer.echo(info.model_dump_json(indent=2))
        return
    typer.echo(f"index     {info.folder} (build {info.build_id}, {index_age(info.created_at)} old)")
    typer.echo(f"model     {info.model} ({info.dim} dims, weights {info.model_fingerprint[:12]})")
    typer.echo(f"faiss     {info.faiss}")
    typer.echo(f"store     {info.store}")
    typer.echo(f"content   {len(info.documents)} document(s), {info.chunks} chunks, {info.sentences} sentences")
    for d in info.documents[:20]:
        pages = f", {d['pages']} pages" if d.get("pages") else ""
        typer.echo(f"  {d['doc_id']}  {d['chars']} chars{pages}, {d['chunks']} chunks  {d['title'][:60]}")
    if len(info.documents) > 20:
        typer.echo(f"  ... and {len(info.documents) - 20} more")
    typer.echo("status    " + ("stale: " + "; ".join(info.stale) if info.stale else "fresh"))


@app.command("retrieve")
def retrieve_cmd(
    question: str = typer.Argument(..., help="The question."),
    index: Optional[Path] = IndexOpt,
    store: Optional[str] = StoreOpt,
    k: int = typer.Option(5, "-k", min=1, max=100, help="How many passages."),
    history: List[str] = typer.Option([], "--after", help="An earlier question this one follows up (repeatable, oldest first)."),
    as_json: bool = JsonOpt,
) -> None:
    """Show the passages that best match a question."""
    passages = _open(index, store).retrieve(question, k, history=history)
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in passages], indent=2, ensure_ascii=False))
        return
    for p in passages:
        where = f"{p.doc_id}{page_label(p.page)} [{p.start}:{p.end}]"
        typer.echo(typer.style(f"{p.rank}. {p.section or '(no section)'}", bold=True) + f"  {where}  score {p.score:.3f}")
        typer.echo("   " + p.text.replace("\n", "\n   "))


@app.command("ask")
def ask_cmd(
    question: str = typer.Argument(..., help="The question."),
    index: Optional[Path] = IndexOpt,
    store: Optional[str] = StoreOpt,
    history: List[str] = typer.Option([], "--after", help="An earlier question this one follows up (repeatable, oldest first)."),
    as_json: bool = JsonOpt,
) -> None:
    """Answer with verified quotes and their sources, or say the document doesn't say."""
    answer = _open(index, store).ask(question, history=history)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.text)
    typer.echo()
    if answer.abstained:
        if answer.related:
            typer.echo(typer.style("Related passages (they do not answer it):", bold=True))
            for p in answer.related:
                typer.echo(f"  - {p.section or '(no section)'}  {p.doc_id}{page_label(p.page)} [{p.start}:{p.end}]")
        return
    typer.echo(typer.style("Sources:", bold=True))
    shown = set()
    for c in answer.citations:
        if c.n in shown:
            continue
        shown.add(c.n)
        spans = ", ".join(f"[{x.start}:{x.end}]" for x in answer.citations if x.n == c.n)
        typer.echo(f"  [{c.n}] {c.section or '(no section)'}  {c.doc_id}{page_label(c.page)} {spans}")


def _load_plugins() -> None:
    for ep in sorted(entry_points(group="assistant.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # an optional part not installed: its verb is simply absent
            if os.environ.get("ASSISTANT_DEBUG"):
                print(f"plugin {ep.name} not loaded: {exc}", file=sys.stderr)
            continue
        register(app)


_load_plugins()


def main() -> None:
    """The console script: usage errors too become one line (`error: ...`, exit 2)."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(1) from None
    except typer.TyperException as exc:  # a usage error: bad option, missing argument, unknown verb
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"error: {' '.join(message.split())} (see assistant --help)", err=True)
        raise SystemExit(getattr(exc, "exit_code", 2)) from None
    raise SystemExit(code if isinstance(code, int) else 0)
