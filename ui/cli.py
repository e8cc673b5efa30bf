"""`assistant serve`: the chat in the browser, added to the one `assistant` command.

Only stdlib and typer are imported here; gradio and the assistant load inside the command,
so other verbs stay fast. Safe defaults: binds 127.0.0.1; a non-local `--host` without
`--auth` (or ASSISTANT_AUTH) prints a warning and is read-only (no uploads) unless `--uploads`;
`--read-only` turns uploads off anywhere; no share links.
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
        read_only: Optional[bool] = typer.Option(
            None, "--read-only/--uploads",
            help="Whether the page may add and remove documents of the index. Default: uploads on "
                 "127.0.0.1, or with --auth; read-only when serving the network without --auth."),
    ) -> None:
        """Start the chat in the browser (a Gradio app) on http://HOST:PORT."""
        # here, not at the top: `assistant ask` must not pay for plugins
        from assistant.errors import UsageError
        from assistant.options import is_loopback, parse_auth

        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be between 1 and 65535, not {port}")
        if not host.strip():
            raise UsageError("--host must not be empty")
        credentials = parse_auth(auth)
        if index is not None and not index.exists():
            raise UsageError(f"--index {index}: no such folder; build one with: assistant index build PATH... "
                               f"--out {index}")
        exposed = not is_loopback(host) and credentials is None
        if exposed:
            typer.echo(f"warning: serving on {host} without --auth: anyone who can reach this machine can use "
                       "the assistant. Add --auth USER:PASS (or set ASSISTANT_AUTH).", err=True)
        if read_only is None:
            read_only = exposed

        typer.echo("Loading the index…", err=True)
        from assistant import Assistant, Settings

        from ui.app import AssistantHolder, build_app, launch

        holder = AssistantHolder(assistant=Assistant.load(index_dir=index, settings=Settings.from_env()))
        demo = build_app(holder, uploads=not read_only)
        if read_only:
            typer.echo("Read-only: documents cannot be added or removed from the page.", err=True)
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
