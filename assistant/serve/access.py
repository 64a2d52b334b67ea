"""Who may do what: one access model for the JSON API and the web chat.

Keys come from settings (ASSISTANT_API_KEYS, ASSISTANT_ADMIN_KEYS). With none configured, every
door is open to whoever can reach the server. With keys, read keys ask and search, admin keys
also add and delete documents. Keys are compared in constant time, against every key, so that
timing reveals neither which key nor how much of one matched.

The web chat uses Gradio's own login (a form, then an HttpOnly session cookie that also covers
Gradio's API routes under /ui): the password is a key; the user name `admin` asks for the admin
role and is accepted only with an admin key; any other name gets the read role.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from assistant.config import Settings

Role = Literal["read", "admin"]
ADMIN_USER = "admin"
READ_KEY_REQUIRED = "a valid API key is required: send 'Authorization: Bearer KEY'"
LOGIN_MESSAGE = (
    "This server needs an API key. Password: your key. User name: admin (with an admin key) to "
    "add and delete documents, any other name to ask."
)


@dataclass(frozen=True)
class Keys:
    read: tuple[bytes, ...] = ()
    admin: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, read: list[str] | tuple[str, ...], admin: list[str] | tuple[str, ...]) -> Keys:
        return cls(tuple(k.encode() for k in read), tuple(k.encode() for k in admin))

    @classmethod
    def of_settings(cls, settings: Settings) -> Keys:
        """The keys ASSISTANT_API_KEYS and ASSISTANT_ADMIN_KEYS configure."""
        return cls.of(settings.api_keys, settings.admin_keys)

    @property
    def open(self) -> bool:
        """No keys configured: anyone who can reach the server may do anything."""
        return not self.read and not self.admin

    def role(self, key: str | bytes | None) -> Role | None:
        """The role a key grants, or None for a missing or unknown key."""
        raw = key.encode() if isinstance(key, str) else (key or b"")
        is_admin = _match(raw, self.admin)
        is_read = _match(raw, self.read)
        return "admin" if is_admin else "read" if is_read else None

    def admits(self, headers: Mapping[str, str]) -> bool:
        """Whether a request may read (ask, search, sources): no keys are configured, or its
        headers present a read or admin key."""
        return self.open or self.role(presented_key(headers)) is not None

    def login(self) -> Callable[[str, str], bool] | None:
        """Gradio's `auth` callable (None when open): user `admin` needs an admin key."""
        if self.open:
            return None

        def check(username: str, password: str) -> bool:
            role = self.role(password)
            return role == "admin" if username == ADMIN_USER else role is not None

        return check

    def session_is_admin(self, username: str | None) -> bool:
        """Whether a Gradio session may add documents: anyone when open, else the user name
        `admin` (which the login accepts only with an admin key)."""
        return self.open or username == ADMIN_USER


class Failures:
    """Failed key or password attempts per client, to throttle guessing.

    A client (its address) with `limit` failures within the last `window` seconds has its
    further guesses refused until the oldest failure is `window` seconds old (middleware.py decides
    what is a guess: a login, or a key that is not valid); state is per process, in memory,
    and bounded.
    """

    def __init__(self, limit: int = 20, window: float = 60.0, clients: int = 10_000) -> None:
        self.limit, self.window, self.clients = limit, window, clients
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds this client must wait (0: it may try)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = [t for t in self._seen.get(client, []) if now - t < self.window]
            if times:
                self._seen[client] = times
            else:
                self._seen.pop(client, None)
            if len(times) < self.limit:
                return 0
            return max(1, int(self.window - (now - times[0])) + 1)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if client not in self._seen and len(self._seen) >= self.clients:
                self._seen.pop(next(iter(self._seen)))  # the longest-known client goes first
            self._seen.setdefault(client, []).append(now)
            del self._seen[client][: -self.limit]


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request presents: `Authorization: Bearer KEY` or `X-API-Key: KEY`
    (header names are matched case-insensitively by the mapping given)."""
    auth = headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else headers.get("x-api-key", "")
    return key or None


def _match(key: bytes, keys: tuple[bytes, ...]) -> bool:
    found = False
    for k in keys:
        found |= hmac.compare_digest(key, k)
    return found and bool(key)
