"""The HTTP API with real clients against a real server on 127.0.0.1: httpx, gradio_client on the
mounted chat, and a bounded schemathesis run (the openai SDK: test_openai_http.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from assistant import Assistant, Settings

from .conftest import (
    CORPUS,
    REPO,
    Server,
    chat_ask,
    finished_job,
    keyed_assistant,
    spawn,
)


@pytest.fixture()
def writable(tmp_path: Path, embedder) -> Iterator[tuple[str, Assistant]]:  # type: ignore[no-untyped-def]
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with Server(a) as s:
        yield s.url, a


def test_health_search_sources(api: str) -> None:
    with httpx.Client(base_url=api, timeout=60) as c:
        h = c.get("/health").json()
        # Passages of up to 256 embedder tokens: the bundled corpus makes 77.
        assert h["status"] == "ok" and h["sources"] == 5 and h["passages"] > 50
        r = c.post("/v1/search", json={"query": "Où Kaneko a-t-il été blessé ?", "k": 3})
        assert r.status_code == 200
        top = r.json()["results"][0]
        assert top["source_id"] == "000_fa22c8dc189e4776" and {
            "start",
            "end",
            "side",
            "voice",
            "score",
        } <= set(top)
        r = c.post("/v1/search", json={"query": "Japan", "k": 5, "side": ["pro-Ukraine"]})
        assert {x["side"] for x in r.json()["results"]} == {"pro-Ukraine"}
        # A question about someone finds the passage naming them, as the chat's answer does
        # (it lay 0.003 under the bar, ranked below passages on other people).
        r = c.post("/v1/search", json={"query": "Who is Atsuko Higashino?", "k": 3})
        top = r.json()["results"][0]
        assert "Atsuko Higashino" in top["text"] and top["relevance"] >= 0, top
        sources = c.get("/v1/sources").json()
        assert {s["id"] for s in sources} == {p.stem for p in CORPUS.glob("*.txt")}
        one = c.get("/v1/sources/002_9ece5d155ad6878c").json()
        assert one["side"] == "pro-Ukraine" and one["text"].startswith("Putin raised the stakes")
        assert one["detected_languages"] == ["en"]
        assert {lang for s in sources for lang in s["detected_languages"]} == {"en", "fr", "zh"}
        assert c.get("/openapi.json").json()["paths"]["/v1/ask"]


def test_sources_are_listed_a_page_at_a_time(api: str) -> None:
    """An archive of 6,000 short articles listed whole was 2.5 MB a request, and the query
    parameters a client sent to narrow it were ignored without a word."""
    with httpx.Client(base_url=api, timeout=60) as c:
        everything = c.get("/v1/sources").json()
        first = c.get("/v1/sources", params={"limit": 2})
        assert first.status_code == 200 and first.headers["X-Total-Count"] == str(len(everything))
        assert [s["id"] for s in first.json()] == [s["id"] for s in everything[:2]]

        def every_page(response: httpx.Response) -> list[dict]:  # type: ignore[type-arg]
            """Follow the Link header, a reference resolved against the address asked."""
            got = []
            while True:
                got += response.json()
                link = response.headers.get("Link")
                if link is None:
                    return got
                assert link.startswith("<?") and link.endswith('>; rel="next"'), link
                response = c.get(urljoin(str(response.url), link[1 : link.index(">")]))

        assert every_page(first) == everything
        russia = every_page(c.get("/v1/sources", params={"side": "pro-Russia", "limit": 1}))
        assert len(russia) > 1 and {s["side"] for s in russia} == {"pro-Russia"}
        both = c.get("/v1/sources", params=[("side", "pro-Russia"), ("side", "pro-Ukraine")])
        assert {s["side"] for s in both.json()} == {"pro-Russia", "pro-Ukraine"}
        assert c.get("/v1/sources", params={"side": "pro-Russia,pro-Ukraine"}).json() == both.json()
        zh = c.get("/v1/sources", params={"language": "zh"}).json()
        assert zh and all("zh" in s["detected_languages"] + s["languages"] for s in zh)
        assert len(zh) < len(everything)
        for params, status, words in (
            ({"sidee": "pro-Russia"}, 400, "['sidee']; did you mean 'side'?"),
            ({"side": "pro-russia"}, 400, "unknown side filter 'pro-russia'"),
            ({"limit": 0}, 400, "`limit` from 1 to 1000"),
            ({"limit": 5000}, 400, "`limit` from 1 to 1000"),
            ({"offset": -1}, 400, "`offset` ≥ 0"),
            ({"limit": "ten"}, 422, "limit"),
        ):
            r = c.get("/v1/sources", params=params)
            assert r.status_code == status and words in r.json()["error"]["message"], r.text
        past = c.get("/v1/sources", params={"offset": 50})
        assert past.json() == [] and "Link" not in past.headers


def test_ask_json_and_server_sent_events(api: str) -> None:
    with httpx.Client(base_url=api, timeout=60) as c:
        a = c.post("/v1/ask", json={"question": "How much aid has Japan given Ukraine?"}).json()
        assert not a["abstained"] and {"pro-Russia", "pro-Ukraine"} <= {
            x["side"] for x in a["citations"]
        }
        text = c.get(f"/v1/sources/{a['citations'][0]['source_id']}").json()["text"]
        assert (
            text[a["citations"][0]["start"] : a["citations"][0]["end"]]
            == a["citations"][0]["quote"]
        )
        events: list[tuple[str, str]] = []
        with c.stream(
            "POST", "/v1/ask", json={"question": "Où Kaneko a-t-il été blessé ?", "stream": True}
        ) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    events.append((kind, line[6:]))
        kinds = [k for k, _ in events]
        assert kinds[0] == "delta" and kinds[-2:] == ["answer", "done"]
        final = json.loads(events[-2][1])
        assert "".join(json.loads(d)["text"] for k, d in events if k == "delta") == final["answer"]
        assert any("Avdeevka" in x["quote"] for x in final["citations"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("post", "/v1/ask", {"question": "   "}, 400, "empty"),
        ("post", "/v1/ask", {"question": "x" * 5000}, 413, "limit"),
        ("post", "/v1/ask", {"question": "q", "mode": "llm"}, 400, "ASSISTANT_LLM_BASE_URL"),
        ("post", "/v1/search", {"query": "Japan", "mode": "fuzzy"}, 422, "mode"),
        ("post", "/v1/ask", {"question": 5}, 422, "question"),
        # A mistyped filter is named, not dropped (an unfiltered answer would look filtered).
        ("post", "/v1/ask", {"question": "aid", "sidee": ["pro-Russia"]}, 422, "sidee"),
        ("post", "/v1/search", {"query": "aid", "k": 3, "langauge": ["fr"]}, 422, "langauge"),
        # JSON types are strict: a string or a boolean is not read as a number, nor "yes" as true.
        ("post", "/v1/search", {"query": "aid", "k": "3"}, 422, "k"),
        ("post", "/v1/search", {"query": "aid", "k": True}, 422, "k"),
        ("post", "/v1/search", {"query": "aid", "k": 101}, 422, "100"),
        ("post", "/v1/ask", {"question": "aid", "stream": "yes"}, 422, "stream"),
        (
            "post",
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "aid"}], "max_tokens": "300"},
            422,
            "max_tokens",
        ),
        ("post", "/v1/ask", {"question": "aid", "side": ["pro-Mars"]}, 400, "pro-Russia"),
        ("post", "/v1/search", {"query": "aid", "language": ["xx"]}, 400, "unknown language"),
        ("post", "/v1/search", {"query": "aid", "source": ["nope"]}, 400, "unknown source"),
        ("get", "/v1/nowhere", None, 404, "Not Found"),
        ("get", "/v1/jobs/nope", None, 404, "no job"),
        ("get", "/v1/sources?limit=0", None, 400, "its Link header"),
        ("post", "/v1/search", {"query": "aid", "language": "English"}, 200, ""),
        ("get", "/v1/sources/nope", None, 404, "no source"),
        ("get", "/v1/sources/a..b", None, 400, "'..'"),
        (
            "post",
            "/v1/chat/completions",
            {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]},
            400,
            "unknown model",
        ),
    ],
)
def test_errors_are_json_with_the_right_status(
    api: str, method: str, path: str, body, status: int, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    r = httpx.request(method, api + path, json=body, timeout=60)
    assert r.status_code == status, r.text
    if status == 200:  # a language as people write it is the index's code ("English": en)
        assert {h["language"] for h in r.json()["results"]} == {"en"}, r.text
        return
    data = r.json()
    assert set(data) == {"error"} and data["error"]["type"], data  # one shape, 422 included
    assert fragment in data["error"]["message"]
    assert data["error"]["type"] != "SourceNotFound" or "job" not in path


def test_a_body_that_is_not_json_says_how_to_send_it(api: str) -> None:
    """FastAPI said "Input should be a valid dictionary" of a body sent without its content
    type, and "JSON decode error" at a character of a broken one; an upload's field error
    dumped the server's own file object in `details`."""
    plain = httpx.post(api + "/v1/ask", content=b'{"question": "aid"}', timeout=60)
    assert plain.status_code == 422
    assert "Content-Type: application/json" in plain.json()["error"]["message"], plain.text
    broken = httpx.post(
        api + "/v1/ask",
        content=b'{"question": ',
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    message = broken.json()["error"]["message"]
    assert broken.status_code == 422 and "not valid JSON" in message and "e.g." in message
    upload = httpx.post(
        api + "/v1/documents", files={"notfile": ("x.txt", b"text", "text/plain")}, timeout=60
    )
    assert upload.status_code == 422 and "file: Field required" in upload.text, upload.text
    assert (
        "_max_mem_size" not in upload.text and "input" not in upload.json()["error"]["details"][0]
    )


def test_filters_take_one_value_or_comma_separated_ones_as_in_python(api: str) -> None:
    for side in ("pro-Russia", "pro-Russia,pro-Ukraine", ["pro-Russia", "pro-Ukraine"]):
        r = httpx.post(api + "/v1/search", json={"query": "aid", "side": side}, timeout=60)
        assert r.status_code == 200, r.text  # a string was a 422 "Input should be a valid list"
        sides = {h["side"] for h in r.json()["results"]}
        assert sides and sides <= {"pro-Russia", "pro-Ukraine"}
        assert (sides == {"pro-Russia"}) == (side == "pro-Russia")


def test_k_has_the_same_range_on_every_door(api: str) -> None:
    """1–100, as in Python and the CLI (inputs.MAX_K): the API stopped at 50."""
    r = httpx.post(api + "/v1/search", json={"query": "aid", "k": 80}, timeout=60)
    assert r.status_code == 200, r.text
    assert 8 < len(r.json()["results"]) <= 80


def test_search_without_k_returns_the_top_k_setting(index_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """As /v1/ask and Python do (it was 8 whatever the setting)."""
    a = Assistant(Settings.resolve(index_path=index_dir, top_k=3, env={}), embedder=embedder)
    with Server(a) as s:
        found = httpx.post(s.url + "/v1/search", json={"query": "aid"}, timeout=60)
        assert found.status_code == 200 and len(found.json()["results"]) == 3, found.text
        more = httpx.post(s.url + "/v1/search", json={"query": "aid", "k": 5}, timeout=60)
        assert len(more.json()["results"]) == 5


def test_path_traversal_in_source_ids_is_rejected(api: str) -> None:
    for path in ("/v1/sources/..%2F..%2Fetc%2Fpasswd", "/v1/sources/%2E%2E", "/v1/sources/..\\x"):
        r = httpx.get(api + path, timeout=30)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert "root:" not in r.text


def test_oversize_body_is_413(api: str) -> None:
    r = httpx.post(
        api + "/v1/ask",
        content=b"{" + b" " * 400_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]


def test_upload_then_cite_then_delete(writable: tuple[str, Assistant]) -> None:
    url, _ = writable
    with httpx.Client(base_url=url, timeout=120) as c:
        files = {
            "file": (
                "tokyo.txt",
                b"Tokyo delivered 300 snowmobiles to Ukraine in January 2025.",
                "text/plain",
            )
        }
        # The form is the declared fields (sources.DECLARED); a misspelt one is refused by name.
        typo = c.post("/v1/documents", files=files, data={"outlett": "Test Wire"})
        assert typo.status_code == 422 and "outlett" in typo.json()["error"]["message"], typo.text
        r = c.post(
            "/v1/documents",
            files=files,
            data={
                "side": "pro-Ukraine",
                "voice": "independent-media",
                "outlet": "Test Wire",
                "events_date": "2025-01",
            },
        )
        job = finished_job(c, r)
        assert job["state"] == "done" and job["progress"] == 1.0, job
        sid = job["source_id"]
        assert sid == "tokyo"
        a = c.post(
            "/v1/ask", json={"question": "What did Tokyo deliver to Ukraine in January 2025?"}
        ).json()
        assert (
            a["citations"][0]["source_id"] == "tokyo" and a["citations"][0]["outlet"] == "Test Wire"
        )
        assert c.get(f"/v1/sources/{sid}").json()["events_date"] == "2025-01"
        assert c.delete(f"/v1/documents/{sid}").status_code == 204
        assert c.get(f"/v1/sources/{sid}").status_code == 404
        assert c.delete(f"/v1/documents/{sid}").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "data", "status", "fragment"),
    [
        ("../../etc/passwd.txt", b"Japan text here.", {}, 400, "plain name"),
        ("evil.exe", b"MZ\x00\x00", {}, 422, "unsupported type"),
        ("empty.txt", b"", {}, 422, "empty"),
        ("ok.txt", b"Japan text here.", {"side": "pro-Mars"}, 422, "'side'"),
        ("ok.txt", b"Japan text here.", {"id": "../x"}, 422, "'id'"),
    ],
)
def test_bad_uploads_are_rejected_with_the_reason(
    writable: tuple[str, Assistant],
    name: str,
    content: bytes,
    data: dict,
    status: int,
    fragment: str,
) -> None:  # type: ignore[type-arg]
    url, a = writable
    before = {r.source.id for r in a.sources()}
    r = httpx.post(
        url + "/v1/documents",
        files={"file": (name, content, "application/octet-stream")},
        data=data,
        timeout=60,
    )
    assert r.status_code == status, r.text
    assert fragment in r.json()["error"]["message"]
    assert {r.source.id for r in a.sources()} == before, "nothing lost, nothing added"


def test_upload_over_the_limit_is_413(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    a = Assistant(
        Settings.resolve(index_path=tmp_path / "i", max_upload_mb=1, env={}), embedder=embedder
    )
    with Server(a) as s:
        big = b"Japan. " * 200_000
        r = httpx.post(
            s.url + "/v1/documents", files={"file": ("big.txt", big, "text/plain")}, timeout=60
        )
        assert r.status_code == 413


def test_gradio_client_on_the_mounted_chat(api: str) -> None:
    from gradio_client import Client

    text, panel = chat_ask(Client(api + "/ui/", verbose=False), "日本2024年的军费预算是多少？")
    assert "559" in text and "pro-Ukraine" in panel


def test_api_keys_read_and_admin(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    a = keyed_assistant(tmp_path, embedder)
    with Server(a) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        q = {"query": "Bezpalko"}
        assert c.post("/v1/search", json=q).status_code == 401
        assert (
            c.post("/v1/search", json=q, headers={"Authorization": "Bearer wrong"}).status_code
            == 401
        )
        assert (
            c.post(
                "/v1/search", json=q, headers={"Authorization": "Bearer reader-key-0123456789"}
            ).status_code
            == 200
        )
        assert (
            c.post("/v1/search", json=q, headers={"X-API-Key": "admin-key-0123456789"}).status_code
            == 200
        )
        upload = {"file": ("n.txt", b"Japan sent aid.", "text/plain")}
        r = c.post(
            "/v1/documents", files=upload, headers={"Authorization": "Bearer reader-key-0123456789"}
        )
        assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
        r = c.post(
            "/v1/documents", files=upload, headers={"Authorization": "Bearer admin-key-0123456789"}
        )
        assert finished_job(c, r)["state"] == "done"
        assert c.get(r.json()["status_url"]).status_code == 401  # jobs are an admin matter
        reader = {"Authorization": "Bearer reader-key-0123456789"}
        assert c.delete(r.json()["status_url"], headers=reader).status_code == 403
        assert c.get("/health").status_code == 200  # liveness stays open
        assert "reader-key-0123456789" not in repr(
            a.settings
        ) and "admin-key-0123456789" not in repr(a.settings)


def test_schemathesis_finds_no_server_errors(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A bounded fuzz of every operation: no 5xx, and no document lost that was not deleted."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    assert st, "schemathesis is in the dev extra"
    a = Assistant(Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt", CORPUS / "002_9ece5d155ad6878c.txt"])
    before = set(a.snapshot().records)
    with Server(a) as s:
        proc = subprocess.run(
            [
                st,
                "run",
                f"{s.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "15",
                "--request-timeout",
                "60",
                "--phases",
                "examples,fuzzing",
                "--no-color",
                "--report",
                "har",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stdout[-4000:]
        har = json.loads(next((tmp_path / "report").glob("*.json")).read_text())
        deleted = {
            e["request"]["url"].rsplit("/", 1)[-1]
            for e in har["log"]["entries"]
            if e["request"]["method"] == "DELETE" and e["response"]["status"] == 204
        }
        added = {
            json.loads(e["response"]["content"].get("text") or "{}").get("source_id")
            for e in har["log"]["entries"]
            if e["request"]["method"] == "POST" and e["response"]["status"] == 202
        }
        assert len(har["log"]["entries"]) > 30
        now = set(a.snapshot().records)
        assert before - deleted <= now, "a document disappeared without a DELETE"
        assert now <= (before | added), "a document appeared without an upload"


def test_two_app_processes_share_one_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "004_c6b0d4f86fb433b5.txt", corpus)
    shutil.copy(CORPUS / "sources.toml", corpus)  # declares the sides, "neutral" among them
    env = {
        "ASSISTANT_CHROMA_URL": chroma_server,
        "ASSISTANT_COLLECTION": "shared",
        # Both replicas keep their snapshot (and jobs) in this one local folder.
        "ASSISTANT_INDEX_PATH": str(tmp_path / "local"),
        "ASSISTANT_CORPUS_PATH": str(corpus),
    }
    procs, urls = [], []
    try:
        for _ in range(2):
            proc, url = spawn(["-m", "assistant", "serve"], env)
            procs.append(proc)
            urls.append(url)
        first, second = urls
        files = {
            "file": (
                "osaka.txt",
                b"Osaka shipped 40 field kitchens to Kharkiv in March 2025.",
                "text/plain",
            )
        }
        with httpx.Client(base_url=first, timeout=120) as c:
            r = c.post("/v1/documents", files=files, data={"side": "neutral"})
            assert finished_job(c, r)["state"] == "done"
        a = httpx.post(
            second + "/v1/ask", json={"question": "What did Osaka ship to Kharkiv?"}, timeout=120
        ).json()
        assert a["citations"] and a["citations"][0]["source_id"] == "osaka"
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)


def test_an_uploaded_article_page_is_its_text_with_its_metadata(
    writable: tuple[str, Assistant],
) -> None:
    from .test_loaders import ARTICLE, CLUTTER, article_page

    url, _ = writable
    with httpx.Client(base_url=url, timeout=120) as c:
        page = article_page("ru").encode()
        r = c.post(
            "/v1/documents",
            files={"file": ("vestnik.html", page, "text/html")},
            data={"side": "pro-Russia", "author": "Редакция"},
        )
        assert finished_job(c, r)["state"] == "done"
        source = c.get("/v1/sources/vestnik").json()
    title, _, site, paragraphs = ARTICLE["ru"]
    assert (source["title"], source["outlet"], source["date"]) == (title, site, "2024-03-05")
    assert source["author"] == "Редакция"  # the form's field wins over the page's
    assert source["extracted"] == ["date", "languages", "outlet", "title", "url"]
    assert paragraphs[1] in source["text"]
    assert not any(clutter in source["text"] for clutter in CLUTTER["ru"])
