"""Processes on one embedded index: reads share it, a write holds it alone, each from the files.

Chroma's embedded index (PersistentClient) is not safe across processes: each keeps its own
vector index in memory, brings it up to date from the log when it reads (and saves it), and
saves it over what another process saved. Measured with this product's own calls:
- two processes committing sources at once (`write_sources`, 20–60 s) left every collection
  unreadable ("Error getting embedding"), with no error while they wrote: six runs of six;
- one process committing while two others searched: a process died within 15 s, and in a
  minute the passages' vector index (`link_lists.bin`) grew to 13 GB until the disk was full,
  as a bulk load beside a profiling reader had once done at 400k passages (docs/figures.md).
The product then said "one writing process" and nothing stopped a second, nor a reader beside
one: an `assistant ingest` while `assistant serve` runs, which docs/RELIABILITY.md supported.

Here a process holds `write.lock` in the index's folder while any of its threads reads rows
(shared with other processes) or writes them (alone): fcntl's flock, where there is one; on
Windows alone for both. Its threads share what it holds: a read goes on beside this process's
own write, and a write waits for this process's reads under way (new ones wait behind it).
When a process takes the lock it first checks whether another changed the index's files since
it last held it; then it takes the lock alone, even to read, and its Store opens the index
afresh (Store._taken), so that nothing it holds in memory is saved over what the other wrote.
A Chroma server needs none of this: it is the one process that reads and writes its files.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assistant.errors import StoreUnavailable

if sys.platform == "win32":  # no shared lock there: reads take it alone too
    import msvcrt
else:
    import fcntl

LOCK = "write.lock"
# How long a call waits for the lock: for another process's commit (a source, or a bulk load's
# hundred, seconds at 1M passages), or for other processes' reads to pause; an ingest lets go
# between documents.
WAIT_S = 120.0
# How often a waiting call tries again.
POLL_S = 0.005


class IndexLock:
    """The index folder's lock for the threads of one process (above). `stale()` says whether
    another process changed the index since this one last held it (a read then takes the lock
    alone); `taken(alone)` runs once the process has it, `given()` as it lets go."""

    def __init__(
        self,
        folder: str,
        stale: Callable[[], bool] = lambda: False,
        taken: Callable[[], None] = lambda: None,
        given: Callable[[], None] = lambda: None,
        wait_s: float = WAIT_S,
    ) -> None:
        self.folder, self.wait_s = folder, wait_s
        self._stale, self._taken, self._given = stale, taken, given
        self._fd: int | None = None
        self._state = threading.Condition()
        self._held = 0  # 0: nothing, 1: shared, 2: alone (what this process holds)
        self._inside = 0  # this process's threads inside a read or a write
        self._queued = 0  # this process's threads waiting to write
        self._mine = threading.local()  # this thread's depth, and whether it writes

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the lock to read rows (shared, or as this process already holds it)."""
        with self._entered(alone=False):
            yield

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lock alone to write rows."""
        with self._entered(alone=True):
            yield

    @contextmanager
    def _entered(self, alone: bool) -> Iterator[None]:
        depth = getattr(self._mine, "depth", 0)
        if depth:  # a call inside this thread's own read or write
            if alone and not self._mine.writes:
                raise RuntimeError("a write inside a read of the same thread: make it outside")
            self._mine.depth = depth + 1
            try:
                yield
            finally:
                self._mine.depth = depth
            return
        self._enter(alone)
        self._mine.depth, self._mine.writes = 1, alone
        try:
            yield
        finally:
            self._mine.depth, self._mine.writes = 0, False
            self._leave()

    def _enter(self, alone: bool) -> None:
        deadline = time.monotonic() + self.wait_s
        with self._state:
            self._queued += alone
            try:
                while not self._covered(alone):
                    if time.monotonic() > deadline:
                        raise StoreUnavailable(
                            f"another process has been writing the index at {self.folder} for "
                            f"over {self.wait_s:.0f} s, or reading it without a pause while "
                            "this one waits to write (an `assistant ingest`, or a server); try "
                            "again when it is done, or add the documents through that process; "
                            "processes that write and serve at once need a Chroma server "
                            "(`chroma run`, ASSISTANT_CHROMA_URL)"
                        )
                    self._state.wait(POLL_S)
                self._inside += 1
            finally:
                self._queued -= alone

    def _covered(self, alone: bool) -> bool:
        """Whether what this process holds (or takes now, without waiting) covers the call."""
        if self._held == 2 or (self._held == 1 and not alone and not self._queued):
            return True
        if self._held or (self._queued and not alone):  # a write waits for reads to end
            return False
        alone = alone or self._stale()
        if not self._tried(shared=not alone):
            return False
        self._held = 2 if alone else 1
        try:
            self._taken()
        except BaseException:
            self._give()
            raise
        return True

    def _leave(self) -> None:
        with self._state:
            self._inside -= 1
            if self._inside == 0:
                try:
                    self._given()
                finally:
                    self._give()
                    self._state.notify_all()

    def _tried(self, shared: bool) -> bool:
        if self._fd is None:
            self._fd = _opened(os.path.join(self.folder, LOCK))
        if self._fd < 0:
            return True  # no lock to take (_opened)
        try:
            if sys.platform == "win32":
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
            else:
                fcntl.flock(self._fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    @property
    def held(self) -> bool:
        """Whether this process holds the lock now (shared or alone)."""
        return bool(self._held)

    def close(self) -> None:
        """Let go of the lock file (a lock held for one call, not a Store's life): only when
        no thread is inside or waiting, or the lock would stop excluding anyone."""
        with self._state:
            if self._inside or self._queued:
                raise RuntimeError("the index lock is closed while a thread holds or awaits it")
            self._give()
            if self._fd is not None and self._fd >= 0:
                os.close(self._fd)
            self._fd = None

    def _give(self) -> None:
        held, self._held = self._held, 0
        if not held or self._fd is None or self._fd < 0:
            return
        if sys.platform == "win32":
            msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _opened(path: str) -> int:
    """The lock file, opened (made, writable by whoever may write the index, where it is not
    there yet); -1 where it can be neither made nor opened: a folder nobody here may write,
    whose index this process then reads from a private copy (client.writable_copy)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError:
        return -1
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):  # flock needs no write access
        try:
            return os.open(path, flags, 0o666)
        except OSError:
            continue
    return -1
