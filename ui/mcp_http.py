"""The MCP server over streamable HTTP at `/v1/mcp` of `assistant serve`, behind the REST API's auth.

`mount_mcp(api, holder, access, host)` adds the route to the /v1 app that ui.rest.build_api made, so the
MCP endpoint shares its port, its body limit and its login or bearer token (`Access`): a client without
them gets the REST API's 401 `{"error": ...}`. The SDK's session manager needs a running task group; a
mounted app's lifespan never runs, so the manager is started on the server's event loop at the first
request and lives as long as the server.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .holder import AssistantHolder
from .mcp_server import build_server
from .rest import Access

log = logging.getLogger(__name__)

PATH = "/mcp"  # under /v1


class McpEndpoint:
    """ASGI app: the access check, then the SDK's streamable HTTP session manager."""

    def __init__(self, holder: AssistantHolder, access: Access, host: str):
        server = build_server(holder.get)
        server.streamable_http_app(host=host)  # makes the session manager (with DNS-rebinding checks on loopback)
        self.manager = server.session_manager
        self.access = access
        self._started: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        if not self.access.allows(authorization):
            response = JSONResponse({"error": "this API needs the server's login (HTTP Basic) or its bearer token"},
                                    401, headers={"WWW-Authenticate": self.access.challenge()})
            return await response(scope, receive, send)
        await self._start()
        await self.manager.handle_request(scope, receive, send)

    async def _start(self) -> None:
        if self._started is None:  # no await between the check and the set: one start per server
            self._started = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(self._started), name="mcp-sessions")
        await self._started.wait()

    async def _run(self, started: asyncio.Event) -> None:
        try:
            async with self.manager.run():
                started.set()
                await asyncio.Event().wait()  # until the server's loop stops
        except Exception:  # noqa: BLE001 - logged; requests waiting on `started` would hang otherwise
            log.exception("the MCP session manager stopped")
            started.set()


def mount_mcp(api: FastAPI, holder: AssistantHolder, access: Access, host: str = "127.0.0.1") -> str:
    """Serve the MCP tools at `/v1/mcp` of `api` (the app mounted at /v1); returns the path under /v1."""
    api.router.routes.append(Route(PATH, endpoint=McpEndpoint(holder, access, host), methods=["GET", "POST", "DELETE"]))
    return PATH
