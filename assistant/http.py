"""The HTTP API (FastAPI), with the Gradio chat mounted at /ui: `assistant serve`.

    GET  /health                      liveness and index size (503 when the store is down)
    POST /v1/ask                      an Answer as JSON, or server-sent events with "stream": true
    POST /v1/search                   ranked passages
    GET  /v1/sources                  every source and its labels
    GET  /v1/sources/{id}             one source: labels and whole text
    POST /v1/documents                upload (multipart: file + manifest fields) → 202, a job [admin]
    GET  /v1/jobs, /v1/jobs/{id}      ingest jobs: state, progress, outcome                  [admin]
    DELETE /v1/documents/{id}         remove a source                                       [admin]
    POST /v1/chat/completions         OpenAI-compatible chat (streaming and not)
    GET  /v1/models                   OpenAI-compatible model list

Errors are JSON, {"error": {"type": ..., "message": ...}}, with the status their type implies.
Keys (optional): `Authorization: Bearer KEY` or `X-API-Key: KEY`; read keys ask and search,
admin keys also add and delete. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import openai_api
from .access import LOGIN_MESSAGE, READ_KEY_REQUIRED, Keys, presented_key
from .core import MAX_QUESTION_CHARS, Assistant, check_question
from .errors import (
    AssistantError,
    BadDocument,
    ConfigError,
    EmbedderMismatch,
    IndexNotBuilt,
    InvalidRequest,
    LLMError,
    ManifestError,
    SourceExists,
    SourceNotFound,
    StoreUnavailable,
    TooLarge,
)
from .guard import Guard, error_body
from .jobs import Job, Jobs
from .schema import Passage
from .sources import DECLARED
from .wire import AnswerOut, SourceOut, SourceText, answer_out, source_out, source_text

STATUS = {  # first match wins: subclasses before their bases
    TooLarge: 413,
    InvalidRequest: 400,
    ConfigError: 400,
    ManifestError: 422,
    BadDocument: 422,
    SourceNotFound: 404,
    IndexNotBuilt: 503,
    StoreUnavailable: 503,
    LLMError: 502,
    EmbedderMismatch: 409,
    SourceExists: 409,
}


# The upload form: the file, the fields a person declares for a document (sources.DECLARED,
# the one list the manifest and the web chat's form read too), and whether to replace. An
# unknown field is refused by name rather than silently dropped.
class UploadParts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: UploadFile = Field(description="the document: txt, md, html or pdf")
    replace: bool = Field(False, description="replace an indexed source with the same id")


if TYPE_CHECKING:
    UploadForm = UploadParts
else:
    UploadForm = create_model(
        "UploadForm",
        __base__=UploadParts,
        **{f.name: (str | None, Field(None, description=f.label)) for f in DECLARED},
    )


class _Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


class Turn(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(description=f"any language, at most {MAX_QUESTION_CHARS} characters")
    history: list[Turn] = Field(default_factory=list, max_length=50)
    mode: Literal["extractive", "llm"] | None = None
    k: int | None = Field(default=None, ge=1, le=50)
    side: list[str] | None = None
    language: list[str] | None = None
    source: list[str] | None = None
    stream: bool = False


class SearchRequest(BaseModel):
    query: str
    k: int = Field(default=8, ge=1, le=50)
    side: list[str] | None = None
    language: list[str] | None = None
    source: list[str] | None = None
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"


class SearchResponse(BaseModel):
    results: list[Passage]


class JobOut(BaseModel):
    """An ingest job: POST /v1/documents answers with one, GET /v1/jobs/{id} follows it."""

    id: str
    filename: str
    source_id: str
    state: Literal["queued", "running", "done", "failed"]
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


def _error(exc: AssistantError) -> JSONResponse:
    status = next((s for t, s in STATUS.items() if isinstance(exc, t)), 500)
    return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=status)


def create_api(assistant: Assistant, mount_ui: bool = True) -> FastAPI:
    """Build the FastAPI app around an Assistant (starts nothing)."""
    settings = assistant.settings
    keys = Keys.of_settings(settings)
    jobs = Jobs(assistant)
    max_upload = settings.max_upload_mb * 1024 * 1024
    app = FastAPI(
        title="Perspective-aware research assistant",
        version="0.1.0",
        description="Cited answers that say which side and voice each source speaks for.",
    )

    @app.exception_handler(AssistantError)
    async def _assistant_error(_: Request, exc: AssistantError) -> JSONResponse:
        return _error(exc)

    app.add_middleware(Guard, max_upload=max_upload)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(x) for x in e.get('loc', ()) if x != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body(
                "ValidationError",
                "; ".join(problems) + " (see /docs for the request schema)",
                details=jsonable_encoder(exc.errors()),
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return JSONResponse(
            error_body(kind, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    def require_read(request: Request) -> None:
        if not keys.admits(request.headers):
            raise _Denied(401, READ_KEY_REQUIRED)

    def require_admin(request: Request) -> None:
        if keys.open:
            return
        if not keys.admin:
            raise _Denied(
                403, "adding and deleting documents needs an admin key (ASSISTANT_ADMIN_KEYS)"
            )
        role = keys.role(presented_key(request.headers))
        if role != "admin":
            status = 403 if role == "read" else 401
            raise _Denied(status, "an admin API key is required for adding and deleting documents")

    @app.exception_handler(_Denied)
    async def _denied(_: Request, exc: _Denied) -> JSONResponse:
        kind = "Unauthorized" if exc.status == 401 else "Forbidden"
        return JSONResponse(error_body(kind, exc.message), status_code=exc.status)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            error_body("InternalError", f"{type(exc).__name__}; see the server log"),
            status_code=500,
        )

    @app.get("/health")
    def health() -> JSONResponse:
        try:
            records = assistant.retriever.records()
            body = {
                "status": "ok",
                "sources": len(records),
                "passages": sum(r.passages for r in records.values()),
                "modes": assistant.modes(),
            }
            return JSONResponse(body)
        except (StoreUnavailable, IndexNotBuilt) as exc:
            return JSONResponse(
                {"status": "unavailable", **error_body(type(exc).__name__, str(exc))},
                status_code=503,
            )

    @app.post(
        "/v1/ask",
        response_model=AnswerOut,
        dependencies=[Depends(require_read)],
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "Answer, or SSE when stream=true",
            }
        },
    )
    def ask(req: AskRequest) -> Any:
        check_question(req.question)
        history = [(t.role, t.content) for t in req.history]
        kwargs: dict[str, Any] = dict(
            mode=req.mode, k=req.k, side=req.side, language=req.language, source=req.source
        )
        if not req.stream:
            return answer_out(assistant.ask(req.question, history or None, **kwargs))
        items = assistant.stream(req.question, history or None, **kwargs)
        first = next(items)  # errors before the first byte still get their status code

        def events() -> Iterator[str]:
            try:
                for item in itertools.chain([first], items):
                    if isinstance(item, str):
                        yield f"event: delta\ndata: {json.dumps({'text': item}, ensure_ascii=False)}\n\n"
                    else:
                        yield f"event: answer\ndata: {answer_out(item).model_dump_json()}\n\n"
            except AssistantError as exc:
                yield f"event: error\ndata: {json.dumps({'type': type(exc).__name__, 'message': str(exc)})}\n\n"
            yield "event: done\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/search", response_model=SearchResponse, dependencies=[Depends(require_read)])
    def search(req: SearchRequest) -> SearchResponse:
        check_question(req.query)
        hits = assistant.search(
            req.query, req.k, side=req.side, language=req.language, source=req.source, mode=req.mode
        )
        return SearchResponse(results=hits)

    @app.get("/v1/sources", response_model=list[SourceOut], dependencies=[Depends(require_read)])
    def sources() -> list[SourceOut]:
        return [source_out(r) for r in assistant.sources()]

    @app.get(
        "/v1/sources/{source_id}", response_model=SourceText, dependencies=[Depends(require_read)]
    )
    def source(source_id: str) -> SourceText:
        return source_text(*assistant.source(source_id))

    @app.post(
        "/v1/documents",
        response_model=JobOut,
        status_code=202,
        dependencies=[Depends(require_admin)],
    )
    def add_document(form: Annotated[UploadForm, File()]) -> JobOut:
        data = form.file.file.read(max_upload + 1)
        if len(data) > max_upload:
            raise TooLarge(
                f"the file is over {settings.max_upload_mb} MiB (ASSISTANT_MAX_UPLOAD_MB)"
            )
        fields = form.model_dump(exclude={"file", "replace"})
        job = jobs.submit(form.file.filename or "", data, fields, form.replace)
        return JobOut.of(job)

    @app.get("/v1/jobs", response_model=list[JobOut], dependencies=[Depends(require_admin)])
    def list_jobs() -> list[JobOut]:
        return [JobOut.of(j) for j in jobs.list()]

    @app.get("/v1/jobs/{job_id}", response_model=JobOut, dependencies=[Depends(require_admin)])
    def get_job(job_id: str) -> JobOut:
        return JobOut.of(jobs.get(job_id))

    @app.delete("/v1/documents/{source_id}", status_code=204, dependencies=[Depends(require_admin)])
    def delete_document(source_id: str) -> Response:
        assistant.delete_document(source_id)
        return Response(status_code=204)

    app.include_router(openai_api.router(assistant, require_read, check_question))

    # A running ingest gives up at its next batch, so that SIGTERM stops the server in seconds.
    app.router.on_shutdown.append(jobs.stop)
    app.state.jobs = jobs
    if mount_ui:
        import gradio as gr

        from .webapp import create_app

        app = gr.mount_gradio_app(
            app,
            create_app(assistant, keys=keys, jobs=jobs),
            path="/ui",
            auth=keys.login(),
            auth_message=LOGIN_MESSAGE,
        )
    return app


class RedactQuery(logging.Filter):
    """Drop query strings from access-log lines: a key pasted into a URL must not be logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            path = args[2]
            if isinstance(path, str):
                args[2] = path.split("?", 1)[0]
                record.args = tuple(args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with query strings removed from the access log."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": RedactQuery}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API and the mounted chat with uvicorn (blocks)."""
    import uvicorn

    assistant.ensure_index()
    uvicorn.run(
        create_api(assistant), host=host, port=port, log_level="info", log_config=log_config()
    )
