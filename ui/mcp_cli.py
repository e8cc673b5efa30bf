"""`assistant mcp`: the MCP server over stdio, added to the one `assistant` command.

Only typer is imported here; the `mcp` SDK and the assistant load inside the command (ui.mcp_server),
so other verbs stay fast and a missing `[mcp]` extra is one line, not a missing verb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_cmd(
        index: Optional[Path] = typer.Option(
            None, "--index", "-i", metavar="DIR", envvar="ASSISTANT_INDEX",
            help="Index folder to answer from (default: the bundled article, indexed on first use)."),
    ) -> None:
        """Serve the assistant to an MCP client (an agent, an IDE) over stdio: the tools ask, retrieve,
        list_documents and read_document, and each document as a document://{doc_id} resource."""
        from assistant.errors import UsageError

        try:
            from ui.mcp_server import build_server
        except ImportError as exc:
            raise UsageError(f"the MCP server needs the mcp package ({exc}): "
                             "pip install 'grounded-assistant[mcp]'") from None
        if index is not None and not index.exists():
            raise UsageError(f"--index {index}: no such folder; build one with: assistant index build PATH... "
                             f"--out {index}")
        from assistant import Assistant, Settings

        from ui.holder import AssistantHolder

        holder = AssistantHolder(assistant=Assistant.load(index, Settings.from_env()))
        build_server(holder.get).run("stdio")
