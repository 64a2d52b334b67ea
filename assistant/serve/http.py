"""The HTTP API (FastAPI), with the Gradio chat mounted at /ui: `assistant serve`.

    GET  /health                      liveness and index size (503 when the store is down)
    POST /v1/ask                      an Answer as JSON, or server-sent events with "stream": true
    POST /v1/search                   ranked passages
    GET  /v1/sources                  every source and its labels
    GET  /v1/sources/{id}             one source: labels and whole text
    POST /v1/documents                upload (multipart: file + manifest fields) → 202, a job [admin]
    GET  /v1/jobs, /v1/jobs/{id}      ingest jobs: state, progress, outcome                  [admin]
    DELETE /v1/jobs/{id}              cancel an unfinished job (nothing of it is indexed)    [admin]
    DELETE /v1/documents/{id}         remove a source                                       [admin]
    POST /v1/chat/completions         OpenAI-compatible chat (streaming and not)
    GET  /v1/models                   OpenAI-compatible model list

Errors are JSON, {"error": {"type": ..., "message": ...}}, with the status their type implies
(429 with Retry-After when the ingest queue is full, ASSISTANT_MAX_JOBS).
Keys (optional): `Authorization: Bearer KEY` or `X-API-Key: KEY`; read keys ask and search,
admin keys also add and delete. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
from types import FrameType
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount

from assistant.core import Assistant
from assistant.errors import ConfigError
from assistant.inputs import check_question

from . import errors, openai_api, routes
from .access import LOGIN_MESSAGE, Keys
from .jobs import Jobs
from .middleware import AdminUploads, Guard, normal_origin


def create_api(assistant: Assistant, mount_ui: bool = True) -> FastAPI:
    """Build the FastAPI app around an Assistant (starts nothing): the routers of
    routes.py and openai_api.py, the error shapes of errors.py, the guard, and the
    chat at /ui."""
    app = FastAPI(
        title="Perspective-aware research assistant",
        version="0.1.0",
        description="Cited answers that say which side and voice each source speaks for.",
    )
    keys, jobs = _served(app, assistant)
    app.state.assistant, app.state.keys, app.state.jobs = assistant, keys, jobs
    # Liveness's own two threads (routes.health_check), one pair per app.
    app.state.health_threads = anyio.CapacityLimiter(2)
    errors.install(app)
    for router in (routes.health, routes.answers, routes.reading, routes.documents):
        app.include_router(router)
    app.include_router(openai_api.router(assistant, routes.require_read, check_question))
    if mount_ui:
        app = _mount_chat(app, assistant, keys, jobs, "/ui")
    return app


def create_chat(assistant: Assistant) -> FastAPI:
    """The web chat alone at / (what `python app.py` serves), behind the same guard and CORS
    rules as the API (starts nothing)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    keys, jobs = _served(app, assistant)
    return _mount_chat(app, assistant, keys, jobs, "/")


def _served(app: FastAPI, assistant: Assistant) -> tuple[Keys, Jobs]:
    """What every served app has: its keys; the guard (middleware.py) and CORS for the configured
    origins only (Starlette's middleware; Gradio leaves CORS to a parent app that configures
    it, and so no longer reflects any Origin with credentials behind a proxy); and an ingest
    queue that starts and stops with the server. Job states a previous run left are settled
    at start-up, not when the app is built; a running ingest gives up at its next batch, so
    SIGTERM stops the server in seconds."""
    keys = Keys.of_settings(assistant.settings)
    jobs = Jobs(assistant)
    origins = tuple(normal_origin(o) for o in assistant.settings.allowed_origins)
    app.add_middleware(
        Guard,
        max_upload=assistant.settings.max_upload_mb * 1024 * 1024,
        origins=origins,
        keys=keys,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        # A page on an allowed site reads how many sources match and where the next page is.
        expose_headers=["X-Total-Count", "Link"],
    )
    app.router.on_startup.append(jobs.start)
    app.router.on_shutdown.append(jobs.stop)
    return keys, jobs


def _mount_chat(app: FastAPI, assistant: Assistant, keys: Keys, jobs: Jobs, path: str) -> FastAPI:
    import gradio as gr

    from assistant.web.app import create_app

    blocks = create_app(assistant, keys=keys, jobs=jobs)
    app = gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        auth=keys.login(),
        auth_message=LOGIN_MESSAGE,
        i18n=blocks.i18n_instance,  # the page's labels in the browser's language
    )
    ui: Any = [r for r in app.routes if isinstance(r, Mount)][-1].app
    ui.add_middleware(AdminUploads, keys=keys, gradio=lambda: ui)
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


# On SIGTERM or Ctrl-C, how long requests in flight get to finish before the server stops
# anyway: a browser's open event stream would otherwise hold a stop indefinitely.
SHUTDOWN_GRACE_S = 5


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
    listenable(host, port)  # before building the index, not minutes after
    assistant.ensure_index()
    run_server(create_api(assistant), host, port, log_level="info", log_config=log_config())


def run_server(app: Any, host: str, port: int, **options: Any) -> None:
    """uvicorn.run with our grace period, ended by SIGTERM (docker stop, systemd, kill) as by
    Ctrl-C. uvicorn shuts down gracefully, then raises the signal again; its default action
    ends the process without exit handlers, which left temporary folders behind (exported
    conversations, a read-only index's copy) and snapshot saves unfinished. Handled as
    SystemExit, they run."""
    import uvicorn

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit)
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=SHUTDOWN_GRACE_S, **options)


def listenable(host: str, port: int) -> None:
    """Say what is wrong, as one error, where the server could not listen: uvicorn takes a port
    past 65535 modulo 65536 (99999 listened on 34463 while it logged 99999), and a port in use
    ended it with its own log lines and exit code 3. Each address the host names is bound and
    let go at once, as asyncio binds it for uvicorn (an IPv6 one for IPv6 alone); a port taken
    between this and uvicorn's own bind is still uvicorn's to report. Port 0 (any free one) is
    not tried."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"a port is 0–65535, got {port}: give another")
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot listen on {host!r} ({exc.strerror}): give an address of this machine as "
            "the host, e.g. 127.0.0.1, or 0.0.0.0 for every interface"
        ) from exc
    for family, kind, proto, _, address in addresses if port else ():
        try:
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is in use (another server?): stop that one, or "
                    "give a free port"
                ) from exc
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}): give an address of this "
                "machine as the host, and a port this user may open (1024 or above without root)"
            ) from exc


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
