"""An ASGI middleware in front of the whole served app (the JSON API and the chat at /ui).

- Body limits that hold whatever the transfer encoding: a declared Content-Length over the limit
  is refused before reading; a body without one (chunked) is read only up to the limit.
- JSON bodies (application/json or application/*+json, in any case) must be UTF-8 without lone
  surrogates (a "\\ud800" escape decodes to one in Python and fails later, deep in the stack),
  without NaN or Infinity (not JSON; they broke the error reply), and not nested so deeply that
  the parser gives up (RecursionError, which was a 500); refused with 400 and the reason.
- Guessing is throttled: after 20 failed keys or passwords from one address within a minute (a
  401 to a request that presented a key, a refused login of the chat), its further guesses get
  429 with Retry-After (access.Failures); valid keys, sessions and keyless requests go on.
- Requests from another site's page: a write (any method but GET/HEAD/OPTIONS) whose Origin is
  neither this server nor an allowed origin (ASSISTANT_ALLOWED_ORIGINS) is refused with 403, so
  no page elsewhere can ask, upload or log in (CSRF) as a visitor; cookies are SameSite=Lax, and
  Secure behind HTTPS. (CORS itself is Starlette's CORSMiddleware, set in http.py.)
- A Content-Security-Policy on every response: no script, image, font or connection to another
  origin, so that a document's remote image or link can never make the browser call out.

Errors use the API's one shape, {"error": {"type", "message"}}.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import cookie_parser

from .access import Failures, Keys, presented_key

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Gradio's page runs inline bootstrap scripts and styles; everything else comes from here.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)


MAX_JSON_BYTES = 256 * 1024
# The chat sends its whole conversation with every message.
MAX_UI_BYTES = 4 * 1024 * 1024


def is_upload(path: str) -> bool:
    """A path that takes a file: the API's, or the chat's (served by the API or `python app.py`)."""
    return path == "/v1/documents" or path.endswith("/gradio_api/upload")


def body_limit(path: str, max_upload: int) -> int:
    """The body limit in bytes for a request path, served by the API or by `python app.py`."""
    if is_upload(path):
        return max_upload + 64 * 1024  # the file and its form fields
    return MAX_JSON_BYTES if path.startswith("/v1/") else MAX_UI_BYTES


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape of the served API: {"error": {"type", "message", ...}}."""
    return {"error": {"type": kind, "message": message, **extra}}


class BodyTooLarge(Exception):
    pass


def lone_surrogate(value: Any) -> str | None:
    """The JSON path of the first string holding a lone surrogate, or None.

    >>> lone_surrogate({"q": ["ok", "a\\ud800b"]})
    'q[1]'
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return path or "(body)"
        elif isinstance(v, dict):
            stack.extend((f"{path}.{k}" if path else str(k), x) for k, x in v.items())
            stack.extend(("(a key)", k) for k in v)
        elif isinstance(v, list):
            stack.extend((f"{path}[{i}]", x) for i, x in enumerate(v))
    return None


class Guard:
    """Wraps an ASGI app; uploads may be `max_upload` bytes (body_limit gives every limit)."""

    def __init__(
        self,
        app: ASGIApp,
        max_upload: int,
        failures: Failures | None = None,
        origins: tuple[str, ...] = (),
        keys: Keys | None = None,
    ) -> None:
        self.app, self.max_upload = app, max_upload
        self.failures = failures or Failures()
        self.origins = {normal_origin(o) for o in origins}
        self.keys = keys or Keys()

    def limit(self, path: str) -> int:
        return body_limit(path, self.max_upload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send_with_csp = _with_policy(send, _https(scope))
        path: str = scope.get("path", "")
        client = (scope.get("client") or ("unknown", 0))[0]
        login = path.rstrip("/").endswith("/login")
        presented = presented_key({k.decode("latin-1"): v.decode("latin-1")
                                   for k, v in scope.get("headers", [])})  # fmt: skip
        refusal = self._refusal(scope, client, login, presented)
        if refusal is not None:
            await _error(send_with_csp, *refusal)
            return

        async def send_counting(message: Message) -> None:
            # Counted: a wrong key (a 401 to a request that presented one) or a refused login;
            # a missing key is no guess.
            if message["type"] == "http.response.start" and (
                (message["status"] == 401 and presented is not None)
                or (login and message["status"] >= 400)
            ):
                self.failures.failed(client)
            await send_with_csp(message)

        await self._checked_body(scope, receive, send_with_csp, send_counting, self.limit(path))

    def _refusal(
        self, scope: Scope, client: str, login: bool, presented: str | None
    ) -> tuple[int, str, str, int | None] | None:
        """(status, kind, message, retry after) for a request refused before it is read:
        a guesser held back, or a write from another site; None for one that goes on."""
        # Only guesses are held back: a login, or a key that is not valid. A valid key, a
        # session and a request with no key go on as usual, so one guesser behind a shared
        # address (a proxy, a NAT) does not lock the others out.
        wait = self.failures.retry_after(client)
        if wait and (login or (presented is not None and self.keys.role(presented) is None)):
            return (
                429, "TooManyFailures",
                f"too many failed keys or passwords from this address; try again in {wait} s",
                wait,
            )  # fmt: skip
        origin = _origin(scope)
        if (
            origin is not None
            and scope.get("method") not in ("GET", "HEAD", "OPTIONS")
            and origin not in self.origins
            and not _same_origin(origin, scope)
        ):
            # A page of another site sending a write (an ask, an upload, a login: CSRF) is
            # refused whatever it carries; browsers always send Origin with such requests.
            return (
                403, "CrossSiteRequest",
                f"requests from another site ({origin}) may not change anything here; to allow "
                "that site, list it in ASSISTANT_ALLOWED_ORIGINS. If that is this server behind a "
                "proxy, have the proxy pass the Host header (nginx: proxy_set_header Host $host)",
                None,
            )  # fmt: skip
        return None

    def _upload_mb(self, scope: Scope) -> int | None:
        """The upload limit in MiB for an upload's path (the setting its 413 names), else None."""
        return self.max_upload // 2**20 if is_upload(str(scope.get("path", ""))) else None

    async def _checked_body(
        self, scope: Scope, receive: Receive, refuse: Send, forward: Send, limit: int
    ) -> None:
        """Pass the request on to the app, its responses sent through `forward`, if its body is
        within `limit` and, when JSON, well formed; else answer 413 or 400 through `refuse`."""
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _error(
                refuse, 413, "TooLarge", _too_large(int(length), limit, self._upload_mb(scope))
            )
            return
        is_json = _is_json(headers.get(b"content-type", b""))
        has_body = scope.get("method") in ("POST", "PUT", "PATCH")
        if not (has_body and (is_json or not length.isdigit())):
            await self.app(scope, receive, forward)
            return
        # A JSON body (KiB) is read to be checked; a body without Content-Length (chunked) is
        # read up to the limit, since nothing else bounds it. Then replayed to the app. (A
        # declared length is enforced by the HTTP server's framing.)
        try:
            body = await _read(receive, limit)
        except BodyTooLarge:
            await _error(refuse, 413, "TooLarge", _too_large(None, limit, self._upload_mb(scope)))
            return
        problem = _json_problem(body) if is_json else None
        if problem:
            await _error(refuse, 400, "InvalidRequest", problem)
            return
        await self.app(scope, _replay(body, receive), forward)


def _with_policy(send: Send, secure: bool) -> Send:
    """`send` with the content security policy and nosniff added to every response, and its
    cookies made SameSite (and Secure behind HTTPS)."""

    async def send_with_csp(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k, _same_site(v, secure) if k.lower() == b"set-cookie" else v)
                for k, v in message.get("headers", [])
            ]
            headers.append((b"content-security-policy", CSP.encode()))
            headers.append((b"x-content-type-options", b"nosniff"))
            message["headers"] = headers
        await send(message)

    return send_with_csp


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return str(v.decode("latin-1"))
    return None


def normal_origin(origin: str) -> str:
    """scheme://host[:port], lower case, without a trailing slash or the scheme's default port.

    >>> normal_origin("HTTPS://R.example.org:443/"), normal_origin("http://x:8000")
    ('https://r.example.org', 'http://x:8000')
    """
    o = origin.strip().lower().rstrip("/")
    for scheme, port in (("https://", ":443"), ("http://", ":80")):
        if o.startswith(scheme) and o.endswith(port):
            return o[: -len(port)]
    return o


def _origin(scope: Scope) -> str | None:
    origin = _header(scope, b"origin")
    return normal_origin(origin) if origin else None


def _same_origin(origin: str, scope: Scope) -> bool:
    """Whether Origin names this server: its host (as the client or a proxy gave it).

    >>> _same_origin("https://r.example.org", {"headers": [(b"host", b"r.example.org")]})
    True
    >>> _same_origin("https://evil.example", {"headers": [(b"host", b"r.example.org")]})
    False
    """
    host = (_header(scope, b"x-forwarded-host") or _header(scope, b"host") or "").split(",")[0]
    scheme = origin.split("://", 1)[0]
    return bool(host.strip()) and origin == normal_origin(f"{scheme}://{host.strip()}")


def _https(scope: Scope) -> bool:
    proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
    return scope.get("scheme") == "https" or proto == "https"


def _same_site(cookie: bytes, secure: bool) -> bytes:
    """A cookie no other site's page can send: SameSite=Lax (Gradio sets None on one), and
    Secure when the request came over HTTPS.

    >>> _same_site(b"a=1; Path=/; SameSite=none", True)
    b'a=1; Path=/; SameSite=Lax; Secure'
    """
    parts = [p.strip() for p in cookie.split(b";")]
    parts = parts[:1] + [p for p in parts[1:] if not p.lower().startswith(b"samesite")]
    parts.append(b"SameSite=Lax")
    if secure and not any(p.lower() == b"secure" for p in parts):
        parts.append(b"Secure")
    return b"; ".join(parts)


class AdminUploads:
    """Gradio's file-upload route (`…/gradio_api/upload`) for admin sessions only, when keys are
    set: a reader's session may ask, not park files in Gradio's temp directory.

    The session's user is Gradio's own (its login cookie names a token in the Gradio app's
    `tokens`); `gradio` returns that app once it exists (after launch or mount)."""

    def __init__(self, app: ASGIApp, keys: Keys, gradio: Callable[[], Any]) -> None:
        self.app, self.keys, self.gradio = app, keys, gradio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and path.rstrip("/").endswith("/gradio_api/upload")
            and not self.keys.session_is_admin(self._user(scope))
        ):
            await _error(
                send, 403, "Denied",
                "only an admin session may upload files (log in as `admin` with an admin key)",
            )  # fmt: skip
            return
        await self.app(scope, receive, send)

    def _user(self, scope: Scope) -> str | None:
        ui = self.gradio()
        if ui is None:
            return None
        # Starlette's parser, as Gradio reads its own cookie: lenient with other apps' cookies.
        cookies = cookie_parser(_header(scope, b"cookie") or "")
        for name in (f"access-token-{ui.cookie_id}", f"access-token-unsecure-{ui.cookie_id}"):
            if name in cookies:
                user = ui.tokens.get(cookies[name])
                return str(user) if user is not None else None
        return None


def _too_large(size: int | None, limit: int, upload_mb: int | None = None) -> str:
    """The 413's message; for an upload (`upload_mb`: its limit), the setting that raises it.

    >>> _too_large(3_000_000, 2_162_688, 2).split("; ")[2]
    'an upload may be ASSISTANT_MAX_UPLOAD_MB=2 MiB: set it higher on the server, or split the file'
    """
    what = f"is {size} bytes" if size is not None else "is over the limit"
    message = f"the request body {what}; the limit here is {limit} bytes"
    if upload_mb is not None:
        message += (
            f"; an upload may be ASSISTANT_MAX_UPLOAD_MB={upload_mb} MiB: set it higher on the "
            "server, or split the file"
        )
    return message


def _is_json(content_type: bytes) -> bool:
    """What FastAPI reads as JSON: application/json and application/*+json, in any case.

    >>> _is_json(b"Application/JSON; charset=utf-8"), _is_json(b"application/vnd.api+json")
    (True, True)
    """
    kind = content_type.split(b";")[0].strip().lower()
    return kind == b"application/json" or (
        kind.startswith(b"application/") and kind.endswith(b"+json")
    )


class _NotJson(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON (JSON has no NaN or Infinity); send a number or null")


def _json_problem(body: bytes) -> str | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not valid UTF-8 (byte {exc.start}); send UTF-8 JSON"
    try:
        value = json.loads(text, parse_constant=_constant)
    except _NotJson as exc:
        return str(exc)
    except RecursionError:
        return "the JSON nests too deeply (Python's parser gives up); no request here needs that"
    except ValueError:
        return None  # the app reports malformed JSON with its position
    where = lone_surrogate(value)
    if where:
        return (
            f"the JSON string at {where} holds invalid Unicode (a lone surrogate escape such "
            "as \\ud800); send well-formed UTF-8 text"
        )
    return None


async def _read(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _error(
    send: Send, status: int, kind: str, message: str, retry_after: int | None = None
) -> None:
    body = json.dumps(error_body(kind, message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
