"""Processes on one embedded index: reads share it, a write holds it alone, each from the files.

Chroma's embedded index (PersistentClient) is not safe across processes: each keeps its own
vector index in memory, brings it up to date from the log when it reads (and saves it), and
saves it over what another process saved. Measured with this product's own calls:
- two processes committing sources at once (`write_sources`, 20–60 s) left every collection
  unreadable ("Error getting embedding"), with no error while they wrote: six runs of six;
- one process committing while two others searched: the writer died, and the passages' vector
  index (`link_lists.bin`) grew to 13 GB in a minute until the disk was full, as a bulk load
  beside a profiling reader had once done at 400k passages (docs/figures.md).
The product then said "one writing process" and nothing stopped a second, nor a reader beside
one: an `assistant ingest` while `assistant serve` runs, which docs/RELIABILITY.md supported.

Here every Chroma call on an embedded index holds `write.lock` in the index's folder: shared
for a read, alone for a write (fcntl's flock; where there is none, alone for both); the threads
of one process share their process's hold. A call whose index files another process changed
since this one's last call opens the index afresh first (Store._fresh), so that nothing it
holds in memory is saved over what the other wrote. A Chroma server needs none of this: it is
the one process that reads and writes its files.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.errors import StoreUnavailable

if sys.platform == "win32":  # no shared lock there: reads take it alone too
    import msvcrt
else:
    import fcntl

LOCK = "write.lock"
# How long a call waits for another process's write (or a write for the reads under way): one
# commit (a source, or a bulk load's hundred) takes seconds at most, and an ingest lets go
# between documents.
WAIT_S = 120.0
# How often a waiting call tries the lock again.
POLL_S = 0.005


class IndexLock:
    """The index folder's lock, for the threads of one process: reads share it, a write holds
    it alone (threads of this process waiting to write go before new reads), and a call made
    inside another of the same thread takes nothing more."""

    def __init__(self, folder: str, wait_s: float = WAIT_S) -> None:
        self.folder, self.wait_s = folder, wait_s
        self._fd: int | None = None
        self._state = threading.Condition()
        self._reading = 0  # this process's threads inside a read
        self._writing = False  # a thread of this process inside a write
        self._queued = 0  # threads of this process waiting to write
        self._mine = threading.local()  # this thread's depth, and whether it writes

    @contextmanager
    def reading(self) -> Iterator[bool]:
        """Hold the lock shared; yields True to the outermost call in this thread."""
        if getattr(self._mine, "depth", 0):
            yield from self._nested()
            return
        with self._state:
            while self._writing or self._queued:
                self._state.wait()
            if self._reading == 0:
                self._take(shared=True)
            self._reading += 1
        self._mine.depth = 1
        try:
            yield True
        finally:
            self._mine.depth = 0
            with self._state:
                self._reading -= 1
                if self._reading == 0:
                    self._give()
                    self._state.notify_all()

    @contextmanager
    def writing(self) -> Iterator[bool]:
        """Hold the lock alone; yields True to the outermost call in this thread."""
        if getattr(self._mine, "depth", 0):
            if not getattr(self._mine, "writes", False):
                raise RuntimeError("a write inside a read of the same thread: make it outside")
            yield from self._nested()
            return
        with self._state:
            self._queued += 1
            try:
                while self._writing or self._reading:
                    self._state.wait()
                self._take(shared=False)
                self._writing = True
            finally:
                self._queued -= 1
                self._state.notify_all()
        self._mine.depth, self._mine.writes = 1, True
        try:
            yield True
        finally:
            self._mine.depth, self._mine.writes = 0, False
            with self._state:
                self._writing = False
                self._give()
                self._state.notify_all()

    def _nested(self) -> Iterator[bool]:
        self._mine.depth += 1
        try:
            yield False
        finally:
            self._mine.depth -= 1

    def _take(self, shared: bool) -> None:
        """The lock file's lock, waiting up to wait_s for other processes'."""
        if self._fd is None:
            try:
                os.makedirs(self.folder, exist_ok=True)
                self._fd = os.open(os.path.join(self.folder, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # a folder this process cannot write: no other can write it either
                self._fd = -1
        if self._fd < 0:
            return
        deadline = time.monotonic() + self.wait_s
        while not self._tried(shared):
            if time.monotonic() > deadline:
                raise StoreUnavailable(
                    f"another process has been writing the index at {self.folder} for over "
                    f"{self.wait_s:.0f} s, or reading it while this one waits to write (an "
                    "`assistant ingest`, or a server); try again when it is done, or add the "
                    "documents through that process; processes that write and serve at once "
                    "need a Chroma server (`chroma run`, ASSISTANT_CHROMA_URL)"
                )
            time.sleep(POLL_S)

    def _tried(self, shared: bool) -> bool:
        assert self._fd is not None
        try:
            if sys.platform == "win32":
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
            else:
                fcntl.flock(self._fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _give(self) -> None:
        assert self._fd is not None
        if self._fd < 0:
            return
        if sys.platform == "win32":
            msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
