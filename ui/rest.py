"""The REST API beside the chat: the Python API's answers over plain HTTP and JSON.

`build_api(holder)` returns a FastAPI app meant to be mounted at `/v1` of the server that
`assistant serve` runs (ui.app.launch mounts it beside the chat, and `/healthz` on the top app):

    POST /v1/ask                  {"question", "history"?, "documents"?}  -> Answer
    POST /v1/retrieve             {"question", "k"?, "history"?, "documents"?} -> [Passage]
    GET  /v1/index                -> IndexInfo
    GET  /v1/documents/{doc_id}   -> Document (the text every offset points into)
    GET  /v1/openapi.json, /v1/docs

Responses are the pydantic models of assistant.types, so the schema carries their field
descriptions. Every error is `{"error": "one line"}`: 422 for a bad request (an empty or
over-long question, `k` out of range, a filter naming no document), 404 for an unknown
document or route, 401 without the login or token, 413 for a body over 1 MB, 503 when too
many questions wait, 500 with a fixed message (the log keeps the traceback). Answers are
computed in worker threads, at most `concurrency` at once, so a slow question never stalls
the event loop; each request asks `holder.get()`, so a rebuilt index is picked up and the old
one answers meanwhile; the `X-Index-Build` header names the build that answered.
Protection (`Access`): HTTP Basic with the `--auth` login and/or `Authorization: Bearer
TOKEN`; CORS headers only for the origins given. Not here: the chat, streaming, uploads,
per-client rate limits, and a limit on chunked bodies without a Content-Length.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import anyio
from fastapi import Depends, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from assistant import Answer, Assistant, IndexInfo, Passage
from assistant.errors import AssistantError, InvalidQuestion, UnknownDocument

from .holder import AssistantHolder, as_holder

log = logging.getLogger(__name__)

CONCURRENCY = 4          # answers computed at once (2 cores here: more threads only queue inside numpy)
MAX_WAITING = 512        # requests waiting for a worker beyond this get 503
MAX_BODY = 1 << 20       # bytes: a question is at most a few thousand characters
MAX_HISTORY = 50         # items in `history` (the assistant reads the last few)
MAX_K = 100
INTERNAL_ERROR = "internal error while answering; the server log has the details"

T = TypeVar("T")


# ------------------------------------------------------------------ request and response models

class AskRequest(BaseModel):
    """A question for `POST /v1/ask`."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="The question, at most `limits.max_question_chars` "
                                                    "characters (2000 by default).",
                          examples=["What does North Korea hope to get from Russia?"])
    history: list[str] = Field(default_factory=list, max_length=MAX_HISTORY,
                               description="Earlier questions of the conversation, oldest first; a follow-up "
                                           "(\"and Japan?\") is searched in their context.")
    documents: list[str] | None = Field(None, min_length=1,
                                        description="Only search and quote these documents (doc_ids from "
                                                    "`GET /v1/index`); every document when left out.")


class RetrieveRequest(BaseModel):
    """A search for `POST /v1/retrieve`: passages only, no answer."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="What to search for, at most `limits.max_question_chars` "
                                                    "characters (2000 by default).")
    k: int | None = Field(None, ge=1, le=MAX_K, description=f"How many passages (1..{MAX_K}); the server's "
                                                            "`retrieval.k` (5 by default) when left out.")
    history: list[str] = Field(default_factory=list, max_length=MAX_HISTORY,
                               description="Earlier questions, oldest first, as for `/v1/ask`.")
    documents: list[str] | None = Field(None, min_length=1,
                                        description="Only search these documents (doc_ids); all when left out.")


class Document(BaseModel):
    """One indexed document's text: every `start`/`end` of a passage or citation indexes into `text`."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(description="The document's id in the index.")
    title: str = Field(description="Its title ('' if none).")
    chars: int = Field(description="Length of `text` in characters (Unicode code points).")
    text: str = Field(description="The text as indexed; `text[start:end]` is every quote's and passage's text.")


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"] = Field(description="Always `ok` when the server answers.")
    build_id: str = Field(description="The index build answering now.")


class ApiError(BaseModel):
    """Every error response's body."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="What went wrong, in one line.")


# ------------------------------------------------------------------ pure parts

@dataclass(frozen=True)
class Access:
    """Who may call /v1: anyone (both None), the `login` over HTTP Basic, and/or the bearer `token`."""

    login: tuple[str, str] | None = None
    token: str | None = None

    @property
    def required(self) -> bool:
        return self.login is not None or bool(self.token)

    def allows(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value lets the caller in (constant-time comparisons).

        >>> a = Access(("reader", "s3:cret"), "tok")
        >>> a.allows("Basic cmVhZGVyOnMzOmNyZXQ="), a.allows("Bearer tok"), a.allows("Bearer nope"), a.allows(None)
        (True, True, False, False)
        >>> Access().allows(None), Access(token="tok").allows("Basic cmVhZGVyOnMzOmNyZXQ=")
        (True, False)
        """
        if not self.required:
            return True
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token:
            return secrets.compare_digest(value.encode(), self.token.encode())
        if scheme.lower() == "basic" and self.login:
            try:
                user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return bool(sep) and (secrets.compare_digest(user.encode(), self.login[0].encode())
                                  & secrets.compare_digest(password.encode(), self.login[1].encode()))
        return False

    def challenge(self) -> str:
        """The `WWW-Authenticate` header of a 401: Basic when a login is set, else Bearer."""
        return 'Basic realm="assistant", charset="UTF-8"' if self.login else 'Bearer realm="assistant"'


def status_for(exc: AssistantError, in_body: bool) -> int:
    """The HTTP status of a domain error: a doc_id named in a request body is a bad request (422),
    one in the URL is a missing resource (404); other bad input 422; the rest (an index problem) 503.

    >>> status_for(UnknownDocument("x"), in_body=False), status_for(UnknownDocument("x"), in_body=True)
    (404, 422)
    >>> status_for(InvalidQuestion("empty"), in_body=True), status_for(AssistantError("disk"), in_body=True)
    (422, 503)
    """
    if isinstance(exc, UnknownDocument):
        return 422 if in_body else 404
    if isinstance(exc, InvalidQuestion):
        return 422
    return 503


def validation_message(errors: Sequence[dict]) -> str:
    """One line for pydantic's request errors: each field and what is wrong with it.

    >>> validation_message([{"loc": ("body", "k"), "msg": "Input should be less than or equal to 100"}])
    'k: Input should be less than or equal to 100'
    >>> validation_message([{"loc": ("body",), "msg": "Field required"}, {"loc": ("body", "a", 0), "msg": "bad"}])
    'request body: Field required; a.0: bad'
    """
    parts = []
    for e in list(errors)[:3]:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        parts.append(f"{'.'.join(loc) or 'request body'}: {e.get('msg', 'invalid')}")
    more = len(errors) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class BodyLimit:
    """ASGI middleware: a request whose Content-Length exceeds `limit` bytes gets 413 before it is read."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > self.limit:
                response = JSONResponse({"error": f"the request body is larger than {self.limit} bytes"}, 413)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


# ------------------------------------------------------------------ the app

class _Workers:
    """At most `concurrency` answers at once, in worker threads; beyond `max_waiting` queued, refuse."""

    def __init__(self, concurrency: int, max_waiting: int):
        self.concurrency, self.max_waiting = concurrency, max_waiting
        self.waiting = 0
        self._limiter: anyio.CapacityLimiter | None = None  # made on the event loop, at first use

    async def run(self, fn: Callable[[], T]) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        if self.waiting >= self.max_waiting + self.concurrency:
            raise HTTPException(503, f"the server is busy ({self.waiting} requests waiting); try again shortly",
                                headers={"Retry-After": "1"})
        self.waiting += 1
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self._limiter)
        finally:
            self.waiting -= 1


MCP_HEADERS = ("Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID")  # what an MCP client sends (streamable HTTP)


def build_api(served: AssistantHolder | Assistant, access: Access = Access(), concurrency: int = CONCURRENCY,
              cors: Sequence[str] = (), max_waiting: int = MAX_WAITING) -> FastAPI:
    """The /v1 app (mount it at `/v1`): routes, JSON errors, auth, CORS for `cors` origins only."""
    holder = as_holder(served)
    workers = _Workers(max(1, concurrency), max_waiting)
    errors = {401: {"model": ApiError, "description": "Missing or wrong login or token."},
              422: {"model": ApiError, "description": "Bad request: the message says which field and why."},
              503: {"model": ApiError, "description": "Busy, or the index cannot be read right now."}}

    def check_access(request: Request) -> None:
        if not access.allows(request.headers.get("authorization")):
            raise HTTPException(401, "this API needs the server's login (HTTP Basic) or its bearer token",
                                headers={"WWW-Authenticate": access.challenge()})

    api = FastAPI(
        title="Grounded assistant", version="1",
        description="Answers made only of verified quotes from the indexed documents, with citations. Every "
                    "`quote` equals `GET /v1/documents/{doc_id}` `text[start:end]`.",
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
        dependencies=[Depends(check_access)] if access.required else [],
        responses={401: errors[401]} if access.required else {},
    )
    api.add_middleware(BodyLimit)
    if access.required:
        _declare_security(api, access)
    if cors:
        from fastapi.middleware.cors import CORSMiddleware

        # The MCP endpoint (/v1/mcp, streamable HTTP) sends and returns its session and protocol
        # headers, and a client ends its session with DELETE: browser-based MCP clients need them.
        api.add_middleware(CORSMiddleware, allow_origins=list(cors), allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", *MCP_HEADERS],
                           expose_headers=["X-Index-Build", "Mcp-Session-Id"])

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": validation_message(exc.errors())}, 422)

    async def answer(response: Response, in_body: bool, fn: Callable[[Assistant], T]) -> T:
        """`fn(assistant)` in a worker thread; domain errors become their status, the build a header."""

        def call() -> tuple[T, str]:
            assistant = holder.get()
            return fn(assistant), assistant.index.manifest.build_id

        try:
            result, build = await workers.run(call)
        except AssistantError as exc:
            raise HTTPException(status_for(exc, in_body), str(exc).splitlines()[0]) from None
        except HTTPException:
            raise
        except Exception:  # noqa: BLE001 - the caller gets one line, the log keeps the traceback
            log.exception("internal error in the REST API")
            raise HTTPException(500, INTERNAL_ERROR) from None
        response.headers["X-Index-Build"] = build
        return result

    @api.post("/ask", response_model=Answer, responses={422: errors[422], 503: errors[503]},
              summary="Answer a question with verified, cited quotes (or decline)")
    async def ask(request: AskRequest, response: Response) -> Answer:
        return await answer(response, True, lambda a: a.ask(request.question, request.history, request.documents))

    @api.post("/retrieve", response_model=list[Passage], responses={422: errors[422], 503: errors[503]},
              summary="The passages that best match a question, best first")
    async def retrieve(request: RetrieveRequest, response: Response) -> list[Passage]:
        return await answer(response, True,
                            lambda a: a.retrieve(request.question, request.k, request.history, request.documents))

    @api.get("/index", response_model=IndexInfo, responses={503: errors[503]}, summary="What the served index holds")
    async def index(response: Response) -> IndexInfo:
        return await answer(response, False, lambda a: a.info())

    @api.get("/documents/{doc_id:path}", response_model=Document,
             responses={404: {"model": ApiError, "description": "No such document in the served index."},
                        422: errors[422], 503: errors[503]},
             summary="A document's text: what every offset points into")
    async def document(response: Response,
                       doc_id: str = Path(description="The document's id, as in `IndexInfo.documents`.")) -> Document:
        def read(a: Assistant) -> Document:
            text = a.document_text(doc_id)
            title = next((d.title for d in a.index.manifest.documents if d.doc_id == doc_id), "")
            return Document(doc_id=doc_id, title=title, chars=len(text), text=text)

        return await answer(response, False, read)

    return api


def _declare_security(api: FastAPI, access: Access) -> None:
    """Name the accepted schemes in the OpenAPI schema (the check itself is `Access.allows`, which,
    unlike FastAPI's HTTPBasic, answers every malformed header with the same JSON 401)."""
    schemes = {}
    if access.login:
        schemes["basic"] = {"type": "http", "scheme": "basic", "description": "The `--auth USER:PASS` login."}
    if access.token:
        schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "The token in ASSISTANT_API_TOKEN."}
    plain = api.openapi

    def openapi() -> dict:
        schema = plain()  # FastAPI caches it: the schemes are added once
        schema.setdefault("components", {})["securitySchemes"] = schemes
        schema["security"] = [{name: []} for name in schemes]
        return schema

    api.openapi = openapi


def server_app(api: FastAPI | None = None, served: AssistantHolder | Assistant | None = None) -> FastAPI:
    """The top app a server runs: `GET /healthz` (open, naming the build that `served` answers
    from) and `api` at `/v1`. Mount the chat at `/` after these (ui.app.launch does)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if served is not None:
        holder = as_holder(served)

        @app.get("/healthz", response_model=Health)
        async def healthz() -> Health:
            holder.get()  # a health check also notices a rebuild (reading CURRENT at most once a second)
            return Health(status="ok", build_id=holder.build_id)

    if api is not None:
        app.mount("/v1", api)
    return app
