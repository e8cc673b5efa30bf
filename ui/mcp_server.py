"""The assistant as an MCP server: `assistant mcp` over stdio, and the same tools at `/v1/mcp` of `assistant serve`.

Built on the official `mcp` SDK (`pip install 'grounded-assistant[mcp]'`). Four tools and one kind of resource:

    ask(question, history?, documents?)        -> Answer: verified quotes with citations, or abstained
    retrieve(question, k?, history?, documents?) -> [Passage], best first
    list_documents()                           -> [DocumentEntry]: doc_id, title, chars, pages
    read_document(doc_id, start?, end?)        -> DocumentSpan: the exact text at those offsets
    document://{doc_id}                        -> the document's text (doc_id percent-encoded)

The tool descriptions tell the calling model how to use the answers: quote, don't paraphrase; when
`abstained`, say the documents don't answer. Errors are MCP (JSON-RPC) errors whose message is the one
line the CLI prints after `error: `: -32602 (invalid params) for bad input, -32603 for an index
problem or a bug (the log keeps the traceback). Only the SDK and the assistant are imported here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote

from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, Resource, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant import Answer, Assistant, Passage
from assistant.errors import AssistantError

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEME = "document://"
MAX_K = 100
INTERNAL = "internal error while answering; the server log has the details"

INSTRUCTIONS = (
    "Answers questions about the indexed documents with verbatim quotes. Every quote and passage is the "
    "document's exact text at [start:end] (read_document returns it). Quote what the tools return word for word "
    "with its doc_id (and page); do not paraphrase it or add facts it does not state. When an answer has "
    "abstained=true, the documents do not answer the question: say so plainly, and do not answer from your own "
    "knowledge as if the documents said it.")

ASK = (
    "Answer a question about the indexed documents with verified quotes, or decline. Returns an Answer: `text` "
    "(the quotes, each followed by its marker [n]), `citations` (each quote with doc_id, section, page and its "
    "character offsets start/end), `abstained`, `confidence` (0..1) and the passages searched. Give the user the "
    "quotes word for word with their citations; never paraphrase them into claims they do not make. If "
    "`abstained` is true, the documents do not answer: tell the user the documents don't say, and do not fill "
    "the gap from your own knowledge; `related` passages are near the topic but do not answer it. For a "
    "follow-up (\"and Japan?\"), pass the earlier questions in `history`, oldest first.")
RETRIEVE = (
    "The passages of the indexed documents that best match a question, best first, with doc_id, section, "
    "page, score, rank and character offsets start/end. Passages are search results, not answers: prefer `ask`, "
    "which checks whether the documents answer. Quote passage text word for word if you use it.")
LIST = "The indexed documents: doc_id (what the other tools take), title, length in characters, pages (0 if none)."
READ = (
    "The exact text of a document, or of its characters [start:end] (offsets as in citations and passages). "
    "Use it to check a quote (text[start:end] equals the quote) or to read around it.")


# The tools' argument types (module level: the SDK reads the annotations of the functions by name).
Question = Annotated[str, Field(description="The question, in plain words.")]
History = Annotated[list[str] | None, Field(description="Earlier questions of the conversation, oldest first, "
                                                        "when this one follows up on them.")]
Documents = Annotated[list[str] | None, Field(description="Only search these doc_ids (from list_documents); "
                                                          "every document when left out.")]
K = Annotated[int | None, Field(description=f"How many passages (1..{MAX_K}); 5 when left out.")]
DocId = Annotated[str, Field(description="The document (from list_documents or a citation).")]
Start = Annotated[int | None, Field(description="First character (0 when left out).")]
End = Annotated[int | None, Field(description="Just past the last character (the document's end when left out).")]


class DocumentEntry(BaseModel):
    """One indexed document, as `list_documents` names it."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(description="The document's id: what ask, retrieve and read_document take.")
    title: str = Field(description="Its title ('' if none).")
    chars: int = Field(description="Length of its text in characters.")
    pages: int = Field(description="Pages of a PDF; 0 for documents without pages.")
    uri: str = Field(description="The document as an MCP resource.")


class DocumentSpan(BaseModel):
    """Characters [start:end] of a document, exactly as indexed."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(description="The document.")
    start: int = Field(description="Offset of the first character.")
    end: int = Field(description="Offset just past the last character.")
    chars: int = Field(description="Length of the whole document in characters.")
    text: str = Field(description="The document's text [start:end].")


def one_line(exc: BaseException) -> str:
    """An error's message as the CLI prints it after `error: ` (its first line).

    >>> one_line(ValueError("the question is empty\\nmore"))
    'the question is empty'
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def as_mcp_error(exc: AssistantError) -> MCPError:
    """A domain error as an MCP error: bad input (a usage error, CLI exit 2) is -32602, the rest -32603."""
    return MCPError(INVALID_PARAMS if exc.exit_code == 2 else INTERNAL_ERROR, one_line(exc))


def arguments_message(exc: ValidationError) -> str:
    """One line for arguments that fail a tool's schema.

    >>> from pydantic import TypeAdapter
    >>> try:
    ...     TypeAdapter(int).validate_python("x")
    ... except ValidationError as e:
    ...     print(arguments_message(e))
    Input should be a valid integer, unable to parse string as an integer
    """
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(x) for x in e.get("loc", ()))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", "invalid"))
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def span(text: str, doc_id: str, start: int | None, end: int | None) -> DocumentSpan:
    """`text[start:end]` with the bounds checked (no negative or reversed offsets).

    >>> span("hello world", "d", 6, None).text
    'world'
    >>> span("hello", "d", 4, 2)
    Traceback (most recent call last):
    ...
    mcp.shared.exceptions.MCPError: start 4 is after end 2
    """
    n = len(text)
    start = 0 if start is None else start
    end = n if end is None else end
    for name, value in (("start", start), ("end", end)):
        if not 0 <= value <= n:
            raise MCPError(INVALID_PARAMS, f"{name} must be between 0 and {n} (the document's length), not {value}")
    if start > end:
        raise MCPError(INVALID_PARAMS, f"start {start} is after end {end}")
    return DocumentSpan(doc_id=doc_id, start=start, end=end, chars=n, text=text[start:end])


def document_uri(doc_id: str) -> str:
    """The resource URI of a document (`document://` and the doc_id, percent-encoded).

    >>> document_uri("notes/a b.md")
    'document://notes%2Fa%20b.md'
    """
    return SCHEME + quote(doc_id, safe="")


class GroundedServer(MCPServer):
    """MCPServer whose tool failures are one-line MCP errors and whose resources are the served documents."""

    def __init__(self, get: Callable[[], Assistant], **kw: Any):
        super().__init__(**kw)
        self._get = get

    async def call_tool(self, name, arguments, context=None):  # noqa: ANN001 - the SDK's signature
        try:
            return await super().call_tool(name, arguments, context)
        except MCPError:
            raise
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise MCPError(INVALID_PARAMS, f"{name}: {arguments_message(cause)}") from None
            if cause is None and str(exc).startswith("Unknown tool"):
                known = ", ".join(t.name for t in self._tool_manager.list_tools())
                raise MCPError(INVALID_PARAMS, f"no tool {name!r}; the tools are {known}") from None
            log.error("MCP tool %s failed", name, exc_info=cause or exc)
            raise MCPError(INTERNAL_ERROR, INTERNAL) from None

    async def list_resources(self):  # noqa: ANN201
        assistant = self._get()
        return [Resource(uri=document_uri(d.doc_id), name=d.doc_id, title=d.title or d.doc_id,
                         description=f"The indexed text of {d.doc_id} ({d.chars} characters); quotes and passages "
                                     "index into it by [start:end].", mime_type="text/plain")
                for d in assistant.index.manifest.documents]

    async def read_resource(self, uri, context=None):  # noqa: ANN001, ANN201
        uri = str(uri)
        if not uri.startswith(SCHEME):
            return await super().read_resource(uri, context)
        doc_id = unquote(uri[len(SCHEME):])
        try:
            text = self._get().document_text(doc_id)
        except AssistantError as exc:
            raise ResourceNotFoundError(one_line(exc)) from None
        return [ReadResourceContents(content=text, mime_type="text/plain")]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("grounded-assistant")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return ""


def build_server(served: "Assistant | Callable[[], Assistant]") -> GroundedServer:
    """The MCP server over an assistant, or over `served()` asked at every call (a holder's `get`, so a
    rebuilt index is picked up)."""
    get = served if callable(served) and not isinstance(served, Assistant) else (lambda: served)
    server = GroundedServer(get, name="grounded-assistant", title="Grounded assistant", instructions=INSTRUCTIONS,
                            version=_version(), log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    def run(fn: Callable[[Assistant], T]) -> T:
        try:
            return fn(get())
        except AssistantError as exc:
            raise as_mcp_error(exc) from None

    @server.tool(description=ASK, annotations=read_only)
    def ask(question: Question, history: History = None, documents: Documents = None) -> Answer:
        return run(lambda a: a.ask(question, history, documents))

    @server.tool(description=RETRIEVE, annotations=read_only)
    def retrieve(question: Question, k: K = None, history: History = None,
                 documents: Documents = None) -> list[Passage]:
        if k is not None and not 1 <= k <= MAX_K:
            raise MCPError(INVALID_PARAMS, f"k must be between 1 and {MAX_K}, not {k}")
        return run(lambda a: a.retrieve(question, k, history, documents))

    @server.tool(description=LIST, annotations=read_only)
    def list_documents() -> list[DocumentEntry]:
        return run(lambda a: [DocumentEntry(doc_id=d.doc_id, title=d.title, chars=d.chars, pages=d.pages or 0,
                                            uri=document_uri(d.doc_id)) for d in a.index.manifest.documents])

    @server.tool(description=READ, annotations=read_only)
    def read_document(doc_id: DocId, start: Start = None, end: End = None) -> DocumentSpan:
        return run(lambda a: span(a.document_text(doc_id), doc_id, start, end))

    @server.resource("document://{doc_id}", name="document", mime_type="text/plain",
                     description="An indexed document's text; the doc_id percent-encoded (`/` as %2F).")
    def document(doc_id: str) -> str:  # reading goes through GroundedServer.read_resource; listed for discovery
        return run(lambda a: a.document_text(doc_id))

    return server
