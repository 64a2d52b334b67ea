"""Another site's page gets nothing from a keyed server behind a proxy: no credentialed access
(CORS, the login form, the chat's API) and no cookie sent over plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from assistant import Assistant, Settings
from assistant.serve.http import create_api

from .conftest import CORPUS, ThreadedServer, refused

EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def keyed_ui(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    settings = Settings.resolve(
        index_path=tmp_path_factory.mktemp("keyed") / "idx", api_keys="reader-key-0123456789",
        allowed_origins="https://friend.example", env={},
    )  # fmt: skip
    a = Assistant(settings, embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with ThreadedServer(create_api(a, mount_ui=True)) as s:
        yield s.url


def test_another_site_gets_no_credentialed_access_behind_a_proxy(keyed_ui: str) -> None:
    """As behind a reverse proxy (Host not localhost): Gradio used to reflect any Origin with
    credentials. Now only the configured origins get CORS, and no other site's page may write."""
    proxied = {"Host": "research.example.org"}
    with httpx.Client() as c:
        login = c.post(
            keyed_ui + "/ui/login", data={"username": "a", "password": "reader-key-0123456789"}
        )
        assert login.status_code == 200
        cookies = login.headers.get_list("set-cookie")
        assert cookies and all("samesite=lax" in x.lower() for x in cookies), cookies
        r = c.get(keyed_ui + "/ui/config", headers={**proxied, "Origin": EVIL})
        assert r.status_code == 200  # a same-site read of one's own session still works
        # No Access-Control-Allow-Origin: the browser keeps the reply from the other site.
        assert "access-control-allow-origin" not in r.headers
        join = c.post(
            keyed_ui + "/ui/gradio_api/queue/join",
            json={"data": ["aid"], "fn_index": 0, "session_hash": "x"},
            headers={**proxied, "Origin": EVIL},
        )
        refused(join, (403,), "another site", "ASSISTANT_ALLOWED_ORIGINS")
        ask = c.post(keyed_ui + "/v1/ask", json={"question": "aid"},
                     headers={"Origin": EVIL, "Authorization": "Bearer reader-key-0123456789"})  # fmt: skip
        refused(ask, (403,), "another site")
    # Login CSRF: another site's form logging a visitor in as someone else.
    forged = httpx.post(keyed_ui + "/ui/login", headers={"Origin": EVIL},
                        data={"username": "a", "password": "reader-key-0123456789"})  # fmt: skip
    refused(forged, (403,), "another site")
    # The configured origin gets credentialed CORS; another gets none.
    for origin, allowed in (("https://friend.example", True), (EVIL, False)):
        pre = httpx.options(
            keyed_ui + "/v1/ask",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type"},
        )  # fmt: skip
        assert (pre.headers.get("access-control-allow-origin") == origin) is allowed, pre.headers
    ok = httpx.post(keyed_ui + "/v1/ask", json={"question": "Who is Bezpalko?"},
                    headers={"Origin": "https://friend.example",
                             "Authorization": "Bearer reader-key-0123456789"}, timeout=60)  # fmt: skip
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-credentials"] == "true"


def test_cookies_are_secure_behind_https(keyed_ui: str) -> None:
    r = httpx.post(keyed_ui + "/ui/login", headers={"X-Forwarded-Proto": "https"},
                   data={"username": "a", "password": "reader-key-0123456789"})  # fmt: skip
    cookies = r.headers.get_list("set-cookie")
    assert cookies and all("; secure" in x.lower() for x in cookies), cookies
