"""The served API's one error shape and the status each error type implies.

Errors are JSON, {"error": {"type": ..., "message": ...}}: the package's own errors (the
AssistantError tree, by STATUS), refused keys (Denied), request validation (422, naming each
field), unknown routes, and anything unexpected (500, with no internals).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    AssistantError,
    BadDocument,
    Busy,
    ConfigError,
    EmbedderMismatch,
    IndexNotBuilt,
    InvalidRequest,
    JobFinished,
    JobNotFound,
    LLMError,
    ManifestError,
    SourceExists,
    SourceNotFound,
    StoreUnavailable,
    TooLarge,
)

from .middleware import error_body

STATUS = {  # first match wins: subclasses before their bases
    TooLarge: 413,
    InvalidRequest: 400,
    ConfigError: 400,
    ManifestError: 422,
    BadDocument: 422,
    SourceNotFound: 404,
    JobNotFound: 404,
    IndexNotBuilt: 503,
    StoreUnavailable: 503,
    LLMError: 502,
    EmbedderMismatch: 409,
    SourceExists: 409,
    JobFinished: 409,
    Busy: 429,
}


class Denied(Exception):
    """A request without the key its route needs: 401 (no or unknown key) or 403 (too weak)."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def error_response(exc: AssistantError) -> JSONResponse:
    status = next((s for t, s in STATUS.items() if isinstance(exc, t)), 500)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    return JSONResponse(
        error_body(type(exc).__name__, str(exc)), status_code=status, headers=headers
    )


def install(app: FastAPI) -> None:
    """Give every error the app can meet its JSON shape and status."""

    @app.exception_handler(AssistantError)
    async def _assistant_error(_: Request, exc: AssistantError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(e, request.headers.get("content-type", "")) for e in exc.errors()]
        return JSONResponse(
            error_body(
                "ValidationError",
                "; ".join(dict.fromkeys(problems)) + " (see /docs for the request schema)",
                # Where and what, not the input: an upload's input is the server's own file
                # object, and a body may hold what its sender would not have logged.
                details=[
                    {k: jsonable_encoder(e[k]) for k in ("type", "loc", "msg") if k in e}
                    for e in exc.errors()
                ],
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

    @app.exception_handler(Denied)
    async def _denied(_: Request, exc: Denied) -> JSONResponse:
        kind = "Unauthorized" if exc.status == 401 else "Forbidden"
        return JSONResponse(error_body(kind, exc.message), status_code=exc.status)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            error_body("InternalError", f"{type(exc).__name__}; see the server log"),
            status_code=500,
        )


def _problem(error: Any, content_type: str) -> str:
    """One validation error as its sender can fix it: a body that is not JSON says so (FastAPI
    reads a body sent without `Content-Type: application/json` as text, and says only that it
    is not a dictionary; a broken one as "JSON decode error" at a character)."""
    where = ".".join(str(x) for x in error.get("loc", ()) if x != "body") or "body"
    kind = error.get("type", "")
    if kind == "json_invalid":
        at = error.get("loc", ("body", "?"))[-1]
        return (
            f"the body is not valid JSON (at character {at}: {error.get('ctx', {}).get('error')}); "
            'send one JSON object, e.g. {"question": "…"}'
        )
    if (
        where == "body"
        and kind in ("model_attributes_type", "dict_type")
        and "json" not in content_type.lower()
    ):
        return (
            "the body was not read as JSON: send it with the header "
            f"Content-Type: application/json (it came as {content_type or 'no content type'!r})"
        )
    return f"{where}: {error.get('msg')}"
