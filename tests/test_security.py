"""The served product under attack and under load: every door behind the same keys, uploads that
never overwrite by accident, inert document text, background ingest, strict input. Real servers
on 127.0.0.1, real clients (httpx, the openai SDK, gradio_client); the browser's part of it is in
test_browser.py."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import Assistant, Settings
from assistant.serve.http import create_api

from .conftest import CORPUS, ThreadedServer, chat_ask, finished_job, keyed_assistant, spawn

# One sentence, so that the quote answering the question carries every kind of markup.
HOSTILE = (
    "Japan sent 40 water purifiers ![pixel](http://evil.example/p.png) to Kherson "
    "[click here](javascript:alert(1)) in May 2025 <img src=http://evil.example/i.png> "
    "**bold claim**."
)


@pytest.fixture()
def keyed(tmp_path: Path, embedder) -> Iterator[tuple[str, Assistant]]:  # type: ignore[no-untyped-def]
    a = keyed_assistant(tmp_path, embedder)
    with ThreadedServer(create_api(a, mount_ui=True)) as s:
        yield s.url, a


@pytest.fixture()
def open_server(tmp_path: Path, embedder) -> Iterator[tuple[str, Assistant]]:  # type: ignore[no-untyped-def]
    a = Assistant(Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with ThreadedServer(create_api(a, mount_ui=False)) as s:
        yield s.url, a


# -- 1. the chat behind the keys --------------------------------------------------------------


def test_the_chat_and_its_gradio_api_need_a_key(
    keyed: tuple[str, Assistant], tmp_path: Path
) -> None:
    from gradio_client import Client, handle_file

    url, a = keyed
    # The page and Gradio's own API routes under /ui, without a session.
    assert httpx.get(url + "/ui/config", timeout=30).status_code == 401
    r = httpx.post(url + "/ui/gradio_api/call/ask", json={"data": ["aid"]}, timeout=30)
    assert r.status_code in (401, 403), r.text
    with pytest.raises(Exception, match="(?i)login|auth|401|403"):
        Client(url + "/ui/", verbose=False)
    with pytest.raises(Exception, match="(?i)login|auth|incorrect|401|403"):
        Client(
            url + "/ui/", auth=("admin", "reader-key-0123456789"), verbose=False
        )  # admin needs admin key

    reader = Client(url + "/ui/", auth=("analyst", "reader-key-0123456789"), verbose=False)
    text, _ = chat_ask(reader, "Who is Bezpalko?")
    assert "[1]" in text
    forged = tmp_path / "004_c6b0d4f86fb433b5.txt"
    forged.write_text("Forged text that would replace a bundled source.", encoding="utf-8")
    fields = {"outlet": "Forged", "replace": True}
    # Refused at the file upload itself (403: only admin sessions upload), or at the event.
    with pytest.raises(Exception, match="(?i)admin|403"):
        reader.predict(files=[handle_file(str(forged))], **fields, api_name="/add_documents")
    assert "Forged" not in a.source("004_c6b0d4f86fb433b5")[1]

    admin = Client(url + "/ui/", auth=("admin", "admin-key-0123456789"), verbose=False)
    new = tmp_path / "kherson.txt"
    new.write_text(HOSTILE, encoding="utf-8")
    message, _ = admin.predict(files=[handle_file(str(new))], **fields, api_name="/add_documents")
    assert "✔ kherson.txt: indexed as kherson" in message, message
    r = httpx.get(url + "/ui/", timeout=30)
    assert "content-security-policy" in r.headers


def test_without_keys_the_chat_is_open(open_server: tuple[str, Assistant]) -> None:
    url, _ = open_server
    assert httpx.get(url + "/health", timeout=30).status_code == 200
    assert httpx.post(url + "/v1/search", json={"query": "aid"}, timeout=60).status_code == 200


# -- 2. uploads never overwrite by accident ---------------------------------------------------


def test_unicode_names_get_distinct_readable_ids_and_a_taken_id_is_409(
    open_server: tuple[str, Assistant],
) -> None:
    url, a = open_server
    with httpx.Client(base_url=url, timeout=120) as c:
        ids = []
        for name, text in (
            ("доклад.txt", "Доклад: Япония передала Украине генераторы."),
            ("отчёт.txt", "Отчёт: Япония отправила грузовики в Харьков."),
            ("日本.txt", "日本向乌克兰提供了发电机。"),
        ):
            job = finished_job(c, c.post("/v1/documents", files={"file": (name, text.encode())}))
            assert job["state"] == "done", job
            ids.append(job["source_id"])
        assert ids == ["доклад", "отчёт", "日本"]
        assert {"доклад", "отчёт", "日本"} <= set(a.snapshot().records)

        bundled = "004_c6b0d4f86fb433b5"
        before = a.source(bundled)[1]
        r = c.post("/v1/documents", files={"file": (f"{bundled}.txt", b"Forged text.")})
        assert r.status_code == 409 and "replace" in r.json()["error"]["message"], r.text
        assert a.source(bundled)[1] == before, "nothing overwritten"
        r = c.post("/v1/documents", files={"file": ("доклад.txt", b"Second version.")})
        assert r.status_code == 409
        r = c.post(
            "/v1/documents",
            files={"file": ("доклад.txt", "Вторая версия доклада.".encode())},
            data={"replace": "true"},
        )
        assert finished_job(c, r)["state"] == "done"
        assert "Вторая версия" in a.source("доклад")[1]
        assert c.get("/v1/sources/доклад").status_code == 200


# -- 3. document text is inert ------------------------------------------------------------------


def test_document_markdown_is_escaped_in_answers_and_the_openai_endpoint(
    open_server: tuple[str, Assistant],
) -> None:
    from openai import OpenAI

    url, a = open_server
    with httpx.Client(base_url=url, timeout=120) as c:
        r = c.post("/v1/documents", files={"file": ("kherson.txt", HOSTILE.encode())})
        assert finished_job(c, r)["state"] == "done"
    question = "What did Japan send to Kherson in May 2025?"
    answer = a.ask(question)
    assert answer.citations and answer.citations[0].source_id == "kherson"
    assert "![pixel](" not in answer.answer and not re.search(r"(?<!\\)<img", answer.answer)
    client = OpenAI(base_url=url + "/v1", api_key="unused")
    for text in (
        client.chat.completions.create(
            model="assistant-extractive", messages=[{"role": "user", "content": question}]
        )
        .choices[0]
        .message.content
        or "",
        "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(
                model="assistant-extractive",
                messages=[{"role": "user", "content": question}],
                stream=True,
            )
            if chunk.choices
        ),
    ):
        assert "water purifiers" in text and "\\!\\[pixel\\]" in text, text
        assert "![pixel](" not in text and "[click here](" not in text
        assert not re.search(r"(?<!\\)<img", text) and "**bold claim**" not in text


# -- 4. ingest in the background ----------------------------------------------------------------


def _big_text(paragraphs: int) -> bytes:
    rows = [
        f"Report {i}: the prefecture of Niigata sent {i} generators and {2 * i} heaters to "
        f"the city of Sumy in week {i % 52}, according to the regional office's ledger."
        for i in range(paragraphs)
    ]
    return "\n\n".join(rows).encode()


def test_health_and_asks_answer_while_a_large_document_ingests(
    open_server: tuple[str, Assistant],
) -> None:
    url, a = open_server
    with httpx.Client(base_url=url, timeout=60) as c:
        t = time.perf_counter()
        r = c.post("/v1/documents", files={"file": ("sumy.txt", _big_text(150))})
        assert r.status_code == 202 and time.perf_counter() - t < 10, "answered at once"
        job = r.json()
        seen_running = False
        latencies = []
        deadline = time.monotonic() + 600
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            seen_running |= job["state"] == "running"
            t = time.perf_counter()
            assert c.get("/health").status_code == 200
            ask = c.post("/v1/ask", json={"question": "Who is Bezpalko?"})
            assert ask.status_code == 200 and ask.json()["citations"]
            latencies.append(time.perf_counter() - t)
            job = c.get(job["status_url"]).json()
        assert seen_running and len(latencies) >= 2, (job, latencies)
        assert job["state"] == "done", job
        assert max(latencies) < 15, latencies  # not blocked behind the ingest (it takes longer)
        assert "sumy" in a.snapshot().records


@pytest.mark.slow  # spawns a server twice
def test_sigterm_during_an_ingest_stops_in_seconds_and_commits_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.txt").write_text("Japan sent aid to Ukraine in 2024.", encoding="utf-8")
    env = {"ASSISTANT_INDEX_PATH": str(tmp_path / "idx"), "ASSISTANT_CORPUS_PATH": str(corpus)}
    proc, url = spawn(["-m", "assistant", "serve"], env)
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            r = c.post("/v1/documents", files={"file": ("sumy.txt", _big_text(1500))})
            job = r.json()
            deadline = time.monotonic() + 120
            while job["state"] == "queued" and time.monotonic() < deadline:
                time.sleep(0.1)
                job = c.get(job["status_url"]).json()
            assert job["state"] == "running", job
            time.sleep(1.0)
            t = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
            stopped_in = time.perf_counter() - t
        assert stopped_in < 10, stopped_in
    finally:
        if proc.poll() is None:
            proc.kill()
    proc, url = spawn(["-m", "assistant", "serve"], env)
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            after = c.get(f"/v1/jobs/{job['id']}").json()
            assert after["state"] == "failed" and "upload the file again" in after["message"]
            assert "sumy" not in {s["id"] for s in c.get("/v1/sources").json()}
            hits = c.post("/v1/search", json={"query": "Niigata generators Sumy"}).json()
            assert hits["results"], "the seed document is still searchable"
            assert all(h["source_id"] == "seed" for h in hits["results"]), "nothing half-committed"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- 5. strict input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", b'{"question": "aid \\ud800 Japan"}'),
        ("/v1/search", b'{"query": "aid \\udfff"}'),
        (
            "/v1/chat/completions",
            b'{"model": "assistant-extractive", "messages": [{"role": "user", "content": "\\ud800"}]}',
        ),
        ("/v1/ask", b'{"question": "aid \xff\xfe Japan"}'),
    ],
)
def test_invalid_unicode_is_400_with_the_reason(
    open_server: tuple[str, Assistant], path: str, body: bytes
) -> None:
    url, _ = open_server
    r = httpx.post(url + path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "InvalidRequest"
    assert "Unicode" in r.json()["error"]["message"] or "UTF-8" in r.json()["error"]["message"]


def test_a_chunked_body_cannot_pass_the_limit(open_server: tuple[str, Assistant]) -> None:
    url, a = open_server

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(64):
            yield b"x" * 8192
        yield b'"}'

    r = httpx.post(url + "/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers  # sent chunked
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"], r.text

    def file_chunks() -> Iterator[bytes]:
        boundary = b"--b\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        for _ in range(3 * 1024):
            yield b"Japan. " * 1200
        yield b"\r\n--b--\r\n"

    before = set(a.snapshot().records)
    small = Assistant(
        Settings.resolve(index_path=a.settings.index_path, max_upload_mb=1, env={}),
        embedder=a.embedder,
    )
    with ThreadedServer(create_api(small, mount_ui=False)) as s:
        r = httpx.post(
            s.url + "/v1/documents",
            content=file_chunks(),
            headers={"content-type": "multipart/form-data; boundary=b"},
            timeout=120,
        )
    assert r.status_code == 413, r.text
    assert "ASSISTANT_MAX_UPLOAD_MB=1 MiB: set it higher" in r.json()["error"]["message"]
    assert set(a.snapshot().records) == before


@pytest.mark.parametrize("question", ["???", "🙂🙂🙂", "!!! ...", "\u0000\u0000"])
def test_junk_questions_abstain(open_server: tuple[str, Assistant], question: str) -> None:
    url, _ = open_server
    r = httpx.post(url + "/v1/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["abstained"] is True and r.json()["citations"] == []


def test_the_api_sends_a_content_security_policy(open_server: tuple[str, Assistant]) -> None:
    url, _ = open_server
    csp = httpx.get(url + "/health", timeout=30).headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in csp and "default-src 'self'" in csp


def test_app_py_sends_the_same_policy_and_checks(index_dir: Path) -> None:
    env = {"ASSISTANT_INDEX_PATH": str(index_dir)}
    proc, url = spawn(["app.py", "--host", "127.0.0.1"], env, timeout=120)
    try:
        r = httpx.get(url + "/", timeout=30)
        assert "img-src 'self' data: blob:" in r.headers["content-security-policy"]
        r = httpx.post(
            url + "/gradio_api/call/ask",
            content=b'{"data": ["\\ud800"]}',
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert r.status_code == 400 and "Unicode" in r.json()["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
