"""The API's routes, by concern: answers (ask, search), documents (sources, uploads, jobs,
deletion) and health. Each route reaches the Assistant, its keys and its jobs through the app's
state (dependencies below), so routers are plain module-level objects.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import anyio
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from assistant.answering.text import export
from assistant.config import AnswerMode
from assistant.core import Assistant
from assistant.errors import (
    AssistantError,
    ConfigError,
    IndexNotBuilt,
    InvalidRequest,
    StoreUnavailable,
    TooLarge,
)
from assistant.ingest.loaders import READABLE
from assistant.inputs import MAX_K, MAX_QUESTION_CHARS, check_question, did_you_mean
from assistant.retrieval.hybrid import SearchMode
from assistant.schema import Passage
from assistant.sources.model import DECLARED

from .access import READ_KEY_REQUIRED, Keys, presented_key
from .errors import Denied
from .jobs import UNFINISHED, Job, Jobs
from .middleware import error_body
from .shapes import (
    PAGE,
    PAGE_MOST,
    AnswerOut,
    SourceOut,
    SourceText,
    answer_out,
    source_text,
    sources_page,
)

# -- what routes depend on ----------------------------------------------------------------------


def assistant_of(request: Request) -> Assistant:
    """The Assistant the app was assembled with (http.create_api puts it in app.state)."""
    return cast(Assistant, request.app.state.assistant)


def jobs_of(request: Request) -> Jobs:
    """The ingest queue shared by the API and the mounted web chat."""
    return cast(Jobs, request.app.state.jobs)


def require_read(request: Request) -> None:
    keys: Keys = request.app.state.keys
    if not keys.admits(request.headers):
        raise Denied(401, READ_KEY_REQUIRED)


def require_admin(request: Request) -> None:
    keys: Keys = request.app.state.keys
    if keys.open:
        return
    if not keys.admin:
        raise Denied(403, "adding and deleting documents needs an admin key (ASSISTANT_ADMIN_KEYS)")
    role = keys.role(presented_key(request.headers))
    if role != "admin":
        status = 403 if role == "read" else 401
        raise Denied(status, "an admin API key is required for adding and deleting documents")


AssistantDep = Annotated[Assistant, Depends(assistant_of)]
JobsDep = Annotated[Jobs, Depends(jobs_of)]

# -- request and response models ------------------------------------------------------------------


# The upload form: the file, the fields a person declares for a document (sources/model.DECLARED,
# the one list the manifest and the web chat's form read too), and whether to replace. An
# unknown field is refused by name rather than silently dropped.
class UploadParts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: UploadFile = Field(description=f"the document: {READABLE}")
    replace: bool = Field(False, description="replace an indexed source with the same id")


if TYPE_CHECKING:
    UploadForm = UploadParts
else:
    UploadForm = create_model(
        "UploadForm",
        __base__=UploadParts,
        **{f.name: (str | None, Field(None, description=f.label)) for f in DECLARED},
    )


# A filter: a list of values, or one value or several comma-separated, as in the Python API
# (Filters.of).
FilterValues = list[str] | str | None


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant", "system"]
    content: str


class AskRequest(BaseModel):
    # A mistyped field ("sidee") is a 422 that names it, not an answer without its filter.
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description=f"any language, at most {MAX_QUESTION_CHARS} characters")
    # Any number (the body's size bounds it): the latest turns are used (condense.KEPT_TURNS).
    history: list[Turn] = Field(default_factory=list)
    mode: AnswerMode | None = None
    # Strict, as a JSON API should be: "3" or true for k, "yes" for stream, are refused with
    # the field named, not read as 3 or True.
    k: int | None = Field(default=None, ge=1, le=MAX_K, strict=True)
    side: FilterValues = None
    language: FilterValues = None
    source: FilterValues = None
    stream: bool = Field(default=False, strict=True)
    format: Literal["json", "markdown"] | None = Field(
        default=None,
        description="json (the structured answer) or markdown (the answer with its references, "
        "as text/markdown); by default, what the Accept header prefers, else json",
    )


def wants_markdown(accept: str) -> bool:
    """Whether an Accept header prefers text/markdown to JSON (q-values honoured; */* is JSON).

    >>> wants_markdown("text/markdown"), wants_markdown("application/json, text/markdown;q=0.5")
    (True, False)
    >>> wants_markdown("text/markdown;q=0.9, application/json;q=0.1"), wants_markdown("*/*")
    (True, False)
    """
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            best[media.lower()] = float(q)
        except ValueError:
            continue
    json_q = max(best.get("application/json", 0.0), best.get("*/*", 0.0))
    return best.get("text/markdown", 0.0) > json_q


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    # None: the top_k setting, as on /v1/ask and in Python.
    k: int | None = Field(default=None, ge=1, le=MAX_K, strict=True)
    side: FilterValues = None
    language: FilterValues = None
    source: FilterValues = None
    mode: SearchMode = "hybrid"


class SearchResponse(BaseModel):
    results: list[Passage]


class JobOut(BaseModel):
    """An ingest job: POST /v1/documents answers with one, GET /v1/jobs/{id} follows it."""

    id: str
    filename: str
    source_id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"] = Field(
        description="queued (being read, or waiting for the embedder), running (marker scan, "
        "splitting, language detection, embedding), then done, failed or cancelled"
    )
    done: int = Field(description="texts embedded so far")
    total: int = Field(description="texts to embed (known once the job runs)")
    progress: float
    message: str
    error: dict[str, str] | None = None
    created: float
    finished: float | None = None
    status_url: str

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(**job.to_dict(), status_url=f"/v1/jobs/{job.id}")


# -- routes -------------------------------------------------------------------------------------

health = APIRouter()
answers = APIRouter(prefix="/v1", dependencies=[Depends(require_read)])
reading = APIRouter(prefix="/v1", dependencies=[Depends(require_read)])
documents = APIRouter(prefix="/v1", dependencies=[Depends(require_admin)])


@health.get("/health")
async def health_check(request: Request) -> JSONResponse:
    # Liveness must not queue behind the asks that fill the shared thread pool (40 threads,
    # under load all busy embedding): it runs in two threads of the app's own (http.py). The
    # route and its state lookup are async for the same reason (FastAPI runs sync ones there).
    assistant, limiter = assistant_of(request), request.app.state.health_threads
    return await anyio.to_thread.run_sync(_health, assistant, limiter=limiter)


def _health(assistant: Assistant) -> JSONResponse:
    try:
        records = assistant.snapshot().records
        body = {
            "status": "ok",
            "sources": len(records),
            "passages": sum(r.passages for r in records.values()),
            "modes": assistant.modes(),
        }
        return JSONResponse(body)
    except (StoreUnavailable, IndexNotBuilt, ConfigError) as exc:
        # Not ready to answer, for a reason an operator fixes (the store, the index, settings).
        return JSONResponse(
            {"status": "unavailable", **error_body(type(exc).__name__, str(exc))},
            status_code=503,
        )


@answers.post(
    "/ask",
    response_model=AnswerOut,
    responses={
        200: {
            "content": {"text/event-stream": {}, "text/markdown": {}},
            "description": "Answer; SSE when stream=true; Markdown with references when "
            "format=markdown or Accept: text/markdown",
        }
    },
)
def ask(req: AskRequest, request: Request, assistant: AssistantDep) -> Any:
    check_question(req.question)
    markdown = req.format == "markdown" or (
        req.format is None and wants_markdown(request.headers.get("accept", ""))
    )
    if markdown and req.stream:
        raise InvalidRequest(
            "the Markdown export is sent whole: drop stream, or ask for JSON (format json)"
        )
    history = [(t.role, t.content) for t in req.history]
    kwargs: dict[str, Any] = dict(
        mode=req.mode, k=req.k, side=req.side, language=req.language, source=req.source
    )
    if markdown:
        answer = assistant.ask(req.question, history or None, **kwargs)
        return Response(
            export([answer]), media_type="text/markdown; charset=utf-8", headers={"Vary": "Accept"}
        )
    if not req.stream:
        return answer_out(assistant.ask(req.question, history or None, **kwargs))
    items = assistant.stream(req.question, history or None, **kwargs)
    first = next(items)  # errors before the first byte still get their status code
    return StreamingResponse(
        _events(itertools.chain([first], items)), media_type="text/event-stream"
    )


def _events(items: Iterator[Any]) -> Iterator[str]:
    """An answer stream as server-sent events: delta…, answer, done (error if it breaks)."""
    try:
        for item in items:
            if isinstance(item, str):
                yield f"event: delta\ndata: {json.dumps({'text': item}, ensure_ascii=False)}\n\n"
            else:
                yield f"event: answer\ndata: {answer_out(item).model_dump_json()}\n\n"
    except AssistantError as exc:
        yield f"event: error\ndata: {json.dumps({'type': type(exc).__name__, 'message': str(exc)})}\n\n"
    yield "event: done\ndata: {}\n\n"


@answers.post("/search", response_model=SearchResponse)
def search(req: SearchRequest, assistant: AssistantDep) -> SearchResponse:
    check_question(req.query)
    hits = assistant.search(
        req.query, req.k, side=req.side, language=req.language, source=req.source, mode=req.mode
    )
    return SearchResponse(results=hits)


ListFilter = Annotated[
    list[str] | None,
    Query(description="keep only these values: repeated, or one or several comma-separated"),
]


@reading.get("/sources", response_model=list[SourceOut])
def sources(
    request: Request,
    response: Response,
    assistant: AssistantDep,
    side: ListFilter = None,
    language: ListFilter = None,
    offset: Annotated[int, Query(description="how many matching sources to skip")] = 0,
    limit: Annotated[int, Query(description=f"how many to return, 1 to {PAGE_MOST}")] = PAGE,
) -> list[SourceOut]:
    """The sources in id order, a page at a time: `X-Total-Count` says how many match the
    filters, and `Link: <…>; rel="next"` gives the next page's address while there is one."""
    takes = ("side", "language", "offset", "limit")
    unknown = sorted(set(request.query_params) - set(takes))
    if unknown:  # a misspelt filter would otherwise list every source as if filtered
        hint = " ".join(filter(None, (did_you_mean(u, takes) for u in unknown)))
        raise InvalidRequest(
            f"GET /v1/sources takes no parameter(s) {unknown}; {hint + ' ' if hint else ''}"
            f"it takes {', '.join(takes)}"
        )
    page = sources_page(
        assistant.snapshot(),
        ",".join(side) if side else None,
        ",".join(language) if language else None,
        offset,
        limit,
    )
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_offset is not None:
        # A query-only reference, resolved against the address the client used: right behind
        # a proxy that serves the API under a prefix of its own, or another host.
        following = request.url.include_query_params(offset=page.next_offset, limit=limit)
        response.headers["Link"] = f'<?{following.query}>; rel="next"'
    return page.sources


@reading.get("/sources/{source_id}", response_model=SourceText)
def source(source_id: str, assistant: AssistantDep) -> SourceText:
    return source_text(assistant, source_id)


async def one_file(request: Request) -> None:
    """Refuse a multipart body with several `file` parts: one would be dropped unseen.
    (Starlette keeps the parsed form for the route's own parameters.)"""
    form = await request.form()
    if len(form.getlist("file")) > 1:
        raise InvalidRequest("send one file per request (this one has several `file` parts)")
    for key in form:
        if key != "file" and len(form.getlist(key)) > 1:
            raise InvalidRequest(f"the field {key!r} is sent more than once; send it once")


@documents.post(
    "/documents", response_model=JobOut, status_code=202, dependencies=[Depends(one_file)]
)
def add_document(
    form: Annotated[UploadForm, File()], assistant: AssistantDep, jobs: JobsDep
) -> JobOut:
    limit_mb = assistant.settings.max_upload_mb
    data = form.file.file.read(limit_mb * 1024 * 1024 + 1)
    if len(data) > limit_mb * 1024 * 1024:
        raise TooLarge(f"the file is over {limit_mb} MiB (ASSISTANT_MAX_UPLOAD_MB)")
    fields = form.model_dump(exclude={"file", "replace"})
    job = jobs.submit(form.file.filename or "", data, fields, form.replace)
    return JobOut.of(job)


@documents.get("/jobs", response_model=list[JobOut])
def list_jobs(jobs: JobsDep) -> list[JobOut]:
    return [JobOut.of(j) for j in jobs.list()]


@documents.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, jobs: JobsDep) -> JobOut:
    return JobOut.of(jobs.get(job_id))


@documents.delete(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses={202: {"description": "still stopping: follow it with GET /v1/jobs/{id}"}},
)
def cancel_job(job_id: str, jobs: JobsDep, response: Response) -> JobOut:
    """Cancel an unfinished ingest job: 200 with the job once it has stopped (state cancelled,
    or done when its commit came first), 202 while it is still stopping, 409 for a finished
    job."""
    job = jobs.cancel(job_id)
    if job.state in UNFINISHED:
        response.status_code = 202
    return JobOut.of(job)


@documents.delete("/documents/{source_id}", status_code=204)
def delete_document(source_id: str, assistant: AssistantDep) -> Response:
    assistant.delete_document(source_id)
    return Response(status_code=204)
