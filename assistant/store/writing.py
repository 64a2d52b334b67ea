"""One writing process at a time on an embedded index, each write made from what is on disk.

Chroma's embedded index (PersistentClient) is not safe to write from two processes: each keeps
its own vector index in memory and saves it over the other's. Two processes committing sources
to one index at once (`write_sources`, 60 s each) left every collection unreadable ("Error
getting embedding"), with no error while they wrote (docs/RELIABILITY.md). The product then
said "one writing process" and nothing stopped a second: an `assistant ingest` beside another,
or beside a server taking an upload.

A write here holds an exclusive lock on `write.lock` in the index's folder (filelock, as the
kept snapshot's saves do), and a process whose index files changed since its own last write
opens the index afresh first (Store._writing), so that it writes over what the other wrote,
not over what it had in memory. Processes that only read are not held up. A Chroma server
needs none of this: it is the one process that writes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from assistant.errors import StoreUnavailable

LOCK = "write.lock"
# How long a write waits for another process's: one commit (a source, or a bulk load's hundred)
# takes seconds at most, and an ingest lets go between documents.
WAIT_S = 120.0


class WriteLock:
    """The index folder's write lock, re-entrant within a thread (a write that calls another,
    write_sources then bump, takes it once)."""

    def __init__(self, folder: str, wait_s: float = WAIT_S) -> None:
        self.folder, self.wait_s = folder, wait_s
        self._lock: FileLock | None = None
        self._depth = threading.local()

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Hold the lock; yields True to the outermost holder in this thread, which alone
        checks what changed on disk."""
        depth = getattr(self._depth, "n", 0)
        if depth:
            self._depth.n = depth + 1
            try:
                yield False
            finally:
                self._depth.n -= 1
            return
        if self._lock is None:
            os.makedirs(self.folder, exist_ok=True)
            self._lock = FileLock(os.path.join(self.folder, LOCK), timeout=self.wait_s)
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise StoreUnavailable(
                f"another process has been writing the index at {self.folder} for over "
                f"{self.wait_s:.0f} s (an `assistant ingest`, or a server's upload); try again "
                "when it is done, or add the documents through that process; processes that "
                "write at once need a Chroma server (`chroma run`, ASSISTANT_CHROMA_URL)"
            ) from exc
        self._depth.n = 1
        try:
            yield True
        finally:
            self._depth.n = 0
            self._lock.release()
