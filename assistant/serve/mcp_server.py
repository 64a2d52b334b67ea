"""The assistant as a Model Context Protocol server: `assistant mcp` (the `mcp` extra).

Built on the official `mcp` SDK (MCPServer). Agent hosts (desktop assistants, IDEs, agent
frameworks) start it over stdio, or reach it over streamable HTTP with `--http HOST:PORT`, where
it sits behind the same keys as the HTTP API (`Authorization: Bearer KEY`; a read key is enough).

Tools, each with structured output (the same JSON shapes as the HTTP API, `shapes.py`):
    ask(question, side?, language?, source?, mode?)   an answer: verbatim quotes, citations with
                                                      side and voice, each side's summary
    search(query, k?, side?, language?, source?, mode?)  ranked passages with their labels
    list_sources(side?, language?, offset?, limit?)  the sources and their labels, a page at a
                                                      time (total, next_offset)
    get_source(source_id)                             one source's labels and whole text
Resources: `source://{source_id}`, each source's whole text (citation offsets point into it);
`resources/list` lists the sources indexed now, a page at a time (nextCursor).
Errors (an unknown filter value, an empty question) come back as tool errors whose text says
the fix, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from pydantic import Field

from assistant.config import AnswerMode
from assistant.core import Assistant
from assistant.errors import AssistantError, ConfigError, SourceNotFound
from assistant.inputs import MAX_K
from assistant.retrieval.hybrid import SearchMode
from assistant.schema import Passage

from .access import READ_KEY_REQUIRED, Keys
from .shapes import (
    PAGE,
    PAGE_MOST,
    AnswerOut,
    SourcePage,
    SourceText,
    answer_out,
    paged,
    source_text,
    sources_page,
)

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS, ListResourcesResult, PaginatedRequestParams, Resource
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ConfigError("the MCP server needs the mcp SDK: pip install -e '.[mcp]'") from exc

T = TypeVar("T")
INSTRUCTIONS = (
    "A research assistant over a collection of documents from opposing sides of a conflict or "
    "debate, in several languages. Ask in any language; evidence comes back verbatim in the "
    "language it was written, each quote labelled with who says it and from which side and "
    "voice. Report each side's claims as that side's claims, never as fact; where sources "
    "disagree on figures, say so."
)
Filter = Annotated[
    list[str] | str | None,
    Field(
        description="keep only these values: a list, or one or several comma-separated "
        "(list_sources shows them)"
    ),
]


class AssistantMCP(MCPServer[Any]):
    """MCPServer whose resource list is the index's sources at the time of asking."""

    def __init__(self, assistant: Assistant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assistant = assistant
        # Sources a `resources/list` page holds.
        self.resource_page = PAGE

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        """A call naming an argument its tool does not take is refused, naming it and the
        ones it takes: the SDK's argument model drops it, so a host's model that wrote
        "sidee" got an unfiltered answer that looked filtered (the JSON API refuses it too)."""
        schema = next((t.input_schema for t in await self.list_tools() if t.name == name), None)
        if schema is not None:
            takes = list(schema.get("properties", {}))
            unknown = sorted(set(arguments or {}) - set(takes))
            if unknown:
                raise ToolError(
                    f"InvalidRequest: {name} takes no argument(s) {unknown}; it takes {takes}"
                )
        return await super().call_tool(name, arguments, context)

    async def _handle_list_resources(
        self, ctx: Any, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        """`resources/list` a page of `resource_page` sources at a time, the protocol's way:
        the cursor is where the page starts, `nextCursor` where the next one does (an archive
        of 6,000 sources listed whole was megabytes a call)."""
        cursor = (params.cursor if params is not None else None) or "0"
        # ASCII digits only: "²" is a digit to str.isdigit and not to int().
        if not (cursor.isascii() and cursor.isdigit()):
            raise MCPError(
                INVALID_PARAMS, f"not a cursor: {cursor!r}; pass the nextCursor a page gave"
            )
        records = await anyio.to_thread.run_sync(self.assistant.sources)
        page, following = paged(records, int(cursor), self.resource_page)
        return ListResourcesResult(
            resources=[
                Resource(
                    uri=f"source://{r.source.id}",
                    name=r.source.id,
                    title=r.source.title or r.source.id,
                    description=f"{r.source.label()}; {r.source.date or 'undated'}; "
                    f"{', '.join(r.source.languages)}",
                    mime_type="text/plain",
                )
                for r in page
            ],
            next_cursor=None if following is None else str(following),
        )


async def _call(fn: Callable[[], T]) -> T:
    """Run blocking work off the event loop; our errors become tool errors that say the fix."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except AssistantError as exc:
        raise ToolError(f"{type(exc).__name__}: {exc}") from exc


def create_server(assistant: Assistant) -> AssistantMCP:
    mcp = AssistantMCP(
        assistant,
        name="perspective-assistant",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        log_level="WARNING",
    )

    @mcp.tool(structured_output=True)
    async def ask(
        question: Annotated[str, Field(description="any language")],
        side: Filter = None,
        language: Filter = None,
        source: Filter = None,
        mode: AnswerMode | None = None,
    ) -> AnswerOut:
        """Answer with verbatim, cited quotes; each citation says who says it (outlet,
        author, date, language) and from which side and voice; `sides` summarises each side,
        `sides_without_evidence` names the sides searched (within the filters) with nothing
        relevant."""
        return await _call(
            lambda: answer_out(
                assistant.ask(question, mode=mode, side=side, language=language, source=source)
            )
        )

    @mcp.tool(structured_output=True)
    async def search(
        query: Annotated[str, Field(description="words or a question, any language")],
        k: Annotated[
            int | None, Field(ge=1, le=MAX_K, description="how many (default: the top_k setting)")
        ] = None,
        side: Filter = None,
        language: Filter = None,
        source: Filter = None,
        mode: SearchMode = "hybrid",
    ) -> list[Passage]:
        """Ranked passages with their source labels; `text` is exactly the source's text
        between `start` and `end`."""
        return await _call(
            lambda: assistant.search(
                query, k, side=side, language=language, source=source, mode=mode
            )
        )

    @mcp.tool(structured_output=True)
    async def list_sources(
        side: Filter = None,
        language: Filter = None,
        offset: Annotated[int, Field(ge=0, description="how many matching sources to skip")] = 0,
        limit: Annotated[
            int, Field(ge=1, le=PAGE_MOST, description=f"how many to return (default {PAGE})")
        ] = PAGE,
    ) -> SourcePage:
        """The indexed sources with their labels (side, voice, outlet, author, date,
        languages declared and detected_languages found in the text), in id order, a page at
        a time: `total` says how many match, `next_offset` where the next page starts."""
        return await _call(
            lambda: sources_page(assistant.snapshot(), side, language, offset, limit)
        )

    @mcp.tool(structured_output=True)
    async def get_source(
        source_id: Annotated[str, Field(description="an id from list_sources")],
    ) -> SourceText:
        """One source's labels and whole text (citation offsets point into it)."""
        return await _call(lambda: source_text(assistant, source_id))

    @mcp.resource("source://{source_id}", mime_type="text/plain")
    async def source_resource(source_id: str) -> str:
        """A source's whole text."""
        # Raised as the SDK's resource errors, whose message reaches the client; anything
        # else becomes "Error creating resource from template" and a traceback in the log.
        try:
            return (await anyio.to_thread.run_sync(assistant.source, source_id))[1]
        except SourceNotFound as exc:
            raise ResourceNotFoundError(f"{type(exc).__name__}: {exc}") from exc
        except AssistantError as exc:
            raise ResourceError(f"{type(exc).__name__}: {exc}") from exc

    return mcp


class RequireKey:
    """ASGI middleware: with keys configured, every request needs a read or admin key."""

    def __init__(self, app: Any, keys: Keys) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from starlette.datastructures import Headers

        if scope["type"] == "http" and not self.keys.admits(Headers(scope=scope)):
            from starlette.responses import JSONResponse

            from .middleware import error_body

            response = JSONResponse(
                error_body("Unauthorized", READ_KEY_REQUIRED),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def http_app(assistant: Assistant, host: str = "127.0.0.1") -> Any:
    """The streamable-HTTP MCP app at /mcp, behind the assistant's keys."""
    app = create_server(assistant).streamable_http_app(host=host)
    return RequireKey(app, Keys.of_settings(assistant.settings))


def serve(assistant: Assistant, http: str | None = None) -> None:
    """stdio by default; `http="HOST:PORT"` for streamable HTTP at http://HOST:PORT/mcp."""
    if not http:
        create_server(assistant).run("stdio")
        return
    host, _, port = http.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--http wants HOST:PORT, e.g. 127.0.0.1:8765; got {http!r}")
    from assistant.serve.http import listenable, run_server

    listenable(host, int(port))
    run_server(http_app(assistant, host), host, int(port), log_level="warning")
