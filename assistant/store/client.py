"""Opening Chroma: embedded at a directory or a server at a URL, and a read-only index read
from a private copy. Every failure is a StoreUnavailable that says the fix."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from typing import Any
from urllib.parse import urlparse

from assistant.errors import StoreUnavailable


def server_address(url: str) -> tuple[str, int, bool]:
    """A Chroma server URL's host, port (Chroma's 8000 when none is given, 443 for https) and
    whether it is https. A URL with a path (a reverse proxy's prefix) is given whole as the
    host, as Chroma's client takes it, with the port made explicit.

    >>> server_address("localhost:8001"), server_address("https://proxy.example/chroma/")
    (('localhost', 8001, False), ('https://proxy.example:443/chroma', 443, True))
    """
    u = urlparse(url if "://" in url else f"http://{url}")
    if u.scheme not in ("http", "https"):
        raise StoreUnavailable(
            f"ASSISTANT_CHROMA_URL {url!r}: a Chroma server is reached over http:// or "
            f"https://, not {u.scheme}://; e.g. http://127.0.0.1:8001"
        )
    try:
        given = u.port
    except ValueError:
        given = -1
    if u.username is not None:  # not echoed: it may hold a password
        raise StoreUnavailable(
            "ASSISTANT_CHROMA_URL holds a user name, which Chroma's client does not send; give "
            "the server's address alone, e.g. http://127.0.0.1:8001"
        )
    if not u.hostname or given == -1:
        what = (
            "has no host" if not u.hostname else "has a port that is not a number from 0 to 65535"
        )
        raise StoreUnavailable(f"ASSISTANT_CHROMA_URL {url!r} {what}; e.g. http://127.0.0.1:8001")
    https = u.scheme == "https"
    port = given if given is not None else (443 if https else 8000)
    host = f"[{u.hostname}]" if ":" in u.hostname else u.hostname  # IPv6, as a URL writes it
    path = u.path.rstrip("/")
    if path:
        return f"{u.scheme}://{host}:{port}{path}", port, https
    return host, port, https


def connect(path: str, url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    host, port, https = server_address(url) if url else ("", 0, False)
    try:
        if url:
            return chromadb.HttpClient(host=host, port=port, ssl=https, settings=chroma_settings)
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except StoreUnavailable:
        raise
    except Exception as exc:  # chromadb raises bare ValueError/ConnectionError/RuntimeError here
        where = f"the Chroma server at {url}" if url else f"the index at {path}"
        fix = (
            "start it with `chroma run --path DIR --host 127.0.0.1 --port PORT`"
            + ("; a server `chroma run` started speaks http://, not https://" if https else "")
            if url
            else "check that this process may read and write it; if it is damaged, rebuild it "
            "with `assistant ingest data/corpus` into a new directory (`--index NEW`; nothing "
            "is deleted for you)"
        )
        raise StoreUnavailable(f"cannot open {where} ({type(exc).__name__}: {exc}); {fix}") from exc


def read_only_directory(path: str) -> bool:
    """An existing index directory this process may not write (a read-only mount, say)."""
    return os.path.isdir(path) and not os.access(path, os.W_OK)


def writable_copy(path: str) -> str:
    """A private copy of a read-only index to read from: Chroma's SQLite writes even to open a
    database (its journal), so a read-only directory cannot be opened in place."""
    folder = tempfile.mkdtemp(prefix="assistant-readonly-index-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a snapshot for this process
    copy = os.path.join(folder, "index")
    shutil.copytree(path, copy, ignore=shutil.ignore_patterns("jobs"))
    print(
        f"note: the index at {path} is read-only; reading a snapshot of it at {copy} "
        "(documents cannot be added or deleted; later changes by another writer are not seen)",
        file=sys.stderr,
    )
    return copy
