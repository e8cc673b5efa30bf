"""`assistant serve`: the chat in the browser, added to the one `assistant` command.

Only stdlib and typer are imported here; gradio and the assistant load inside the command,
so other verbs stay fast. Safe defaults: binds 127.0.0.1; a non-local `--host` without
`--auth` (or ASSISTANT_AUTH) prints a warning; no share links.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Optional

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
                                           show_envvar=True, help="Require this login to use the app."),
        store: Optional[str] = typer.Option(None, "--store", metavar="URI", help=(
            "Where the vectors are searched: faiss (the default), milvus-lite:PATH.db or milvus://HOST:PORT/COLLECTION "
            "(token from $ASSISTANT_MILVUS_TOKEN); with --index, where that index's collection is served now.")),
    ) -> None:
        """Start the chat in the browser (a Gradio app) on http://HOST:PORT."""
        # here, not at the top: `assistant ask` must not pay for plugins
        from assistant.errors import UsageError
        from assistant.options import is_loopback, parse_auth, parse_store_option

        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be between 1 and 65535, not {port}")
        if not host.strip():
            raise UsageError("--host must not be empty")
        credentials = parse_auth(auth)
        store = parse_store_option(store)
        if index is not None and not index.exists():
            raise UsageError(f"--index {index}: no such folder; build one with: assistant index build PATH... "
                               f"--out {index}")
        if not is_loopback(host) and credentials is None:
            typer.echo(f"warning: serving on {host} without --auth: anyone who can reach this machine can use "
                       "the assistant. Add --auth USER:PASS (or set ASSISTANT_AUTH).", err=True)

        typer.echo("Loading the index…", err=True)
        from assistant import Assistant, Settings

        from ui.app import AssistantHolder, build_app, launch

        settings = Settings.from_env()
        if store is not None:
            settings = settings.with_(index={"store": store})
        holder = AssistantHolder(assistant=Assistant.load(index_dir=index, settings=settings))
        demo = build_app(holder)
        try:
            url = launch(demo, host=host, port=port, auth=credentials)
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
