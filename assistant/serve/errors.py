"""The served API's one error shape and the status each error type implies.

Errors are JSON, {"error": {"type": ..., "message": ...}}: the package's own errors (the
AssistantError tree, by STATUS), refused keys (Denied), request validation (422, naming each
field), unknown routes, and anything unexpected (500, with no internals).
"""

from __future__ import annotations

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
