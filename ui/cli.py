"""`assistant serve`: the chat in the browser and the REST API, added to the one `assistant` command.

Only stdlib and typer are imported here; gradio and the assistant load inside the command,
so other verbs stay fast. Safe defaults: binds 127.0.0.1; a non-local `--host` without
`--auth` (or ASSISTANT_AUTH) prints a warning and is read-only (no uploads) unless `--uploads`;
`--read-only` turns uploads off anywhere; no share links; no CORS headers without `--cors`.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        index: Optional[Path] = typer.Option(
            None, "--index", "-i", metavar="DIR", envvar="ASSISTANT_INDEX",
            help="Index folder to answer from (default: the bundled article, indexed on first use)."),
        host: str = typer.Option("127.0.0.1", "--host", metavar="H",
                                 help="Address to bind. 0.0.0.0 exposes the app to your network: use --auth."),
        port: int = typer.Option(7860, "--port", metavar="P", help="Port to listen on."),
        auth: Optional[str] = typer.Option(None, "--auth", metavar="USER:PASS", envvar="ASSISTANT_AUTH",
                                           show_envvar=True,
                                           help="Require this login for the chat and the REST API (HTTP Basic)."),
        cors: List[str] = typer.Option([], "--cors", metavar="ORIGIN",
                                       help="Let web pages from ORIGIN (e.g. https://app.example.com) call the REST "
                                            "API; repeatable. Without it the API sends no CORS headers."),
        api_concurrency: int = typer.Option(4, "--api-concurrency", min=1, max=64, metavar="N",
                                            envvar="ASSISTANT_API_CONCURRENCY",
                                            help="REST answers computed at once; the rest wait."),
        read_only: Optional[bool] = typer.Option(
            None, "--read-only/--uploads",
            help="Whether the page may add and remove documents of the index. Default: uploads on "
                 "127.0.0.1, or with --auth; read-only when serving the network without --auth."),
        store: Optional[str] = typer.Option(None, "--store", metavar="URI", help=(
            "Where the vectors are searched: faiss (the default), milvus-lite:PATH.db or milvus://HOST:PORT/COLLECTION "
            "(token from $ASSISTANT_MILVUS_TOKEN); with --index, where that index's collection is served now.")),
    ) -> None:
        """Start the chat in the browser (a Gradio app), the REST API (/v1) and the MCP server (/v1/mcp)
        on http://HOST:PORT.

        The API also accepts `Authorization: Bearer TOKEN` when ASSISTANT_API_TOKEN is set."""
        # here, not at the top: `assistant ask` must not pay for plugins
        from assistant.errors import UsageError
        from assistant.options import is_loopback, parse_auth, parse_store_option

        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be between 1 and 65535, not {port}")
        if not host.strip():
            raise UsageError("--host must not be empty")
        credentials = parse_auth(auth)
        token = os.environ.get("ASSISTANT_API_TOKEN", "").strip() or None
        for origin in cors:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise UsageError(f"--cors {origin}: give an origin like https://app.example.com (scheme and host, "
                                 "no path), or *")
        store = parse_store_option(store)
        if index is not None and not index.exists():
            raise UsageError(f"--index {index}: no such folder; build one with: assistant index build PATH... "
                               f"--out {index}")
        exposed = not is_loopback(host) and credentials is None
        if exposed:
            typer.echo(f"warning: serving on {host} without --auth: anyone who can reach this machine can use "
                       f"the {'chat' if token else 'assistant'}. Add --auth USER:PASS (or set ASSISTANT_AUTH).",
                       err=True)
        if read_only is None:
            read_only = exposed

        one_thread = not any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
        if one_thread:
            # Answers run side by side in threads; BLAS threads of their own would only fight over the
            # same cores (measured: 32 clients got 3-4x fewer answers per second with them).
            from threadpoolctl import threadpool_limits

            threadpool_limits(1, user_api="blas")
        typer.echo("Loading the index…", err=True)
        from assistant import Assistant, Settings

        from ui.app import AssistantHolder, build_app, launch
        from ui.rest import Access, build_api

        settings = Settings.from_env()
        if one_thread and not os.environ.get("ASSISTANT_ANSWER__JUDGE_THREADS"):
            settings = settings.with_(answer={"judge_threads": 1})  # the int8 judge likewise
        if store is not None:
            settings = settings.with_(index={"store": store})
        holder = AssistantHolder(assistant=Assistant.load(index_dir=index, settings=settings))
        demo = build_app(holder, uploads=not read_only)
        if read_only:
            typer.echo("Read-only: documents cannot be added or removed from the page.", err=True)
        api = build_api(holder, Access(credentials, token), concurrency=api_concurrency, cors=cors)
        try:  # the MCP tools at /v1/mcp, behind the same login or token (with the [mcp] extra)
            from ui.mcp_http import mount_mcp
        except ImportError:
            mount_mcp = None
        if mount_mcp is not None:
            mount_mcp(api, holder, Access(credentials, token), host=host)
        try:
            url = launch(demo, host=host, port=port, auth=credentials, api=api, served=holder)
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port}: {exc}", err=True)
            raise typer.Exit(1) from None
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # `kill`, systemd, docker stop: shut down cleanly
        typer.echo(f"Running on {url}")
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            typer.echo("Stopping.", err=True)
            demo.close(verbose=False)
