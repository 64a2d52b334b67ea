"""What a failing Chroma call means to the person running the command: a full disk, a Chroma
server that is down, or an index that cannot be read, each with its remedy (StoreUnavailable).
"""

from __future__ import annotations

import errno

from assistant.errors import StoreUnavailable

# The remedies a write or read failure names.
FREE_SPACE = (
    "Free space and re-run `assistant ingest`; sources whose writing failed were not committed "
    "and are not searchable"
)
REBUILD = (
    "rebuild it with `assistant ingest data/corpus` into a new directory (`--index NEW`) and "
    "keep this one until the new one works"
)
# Words of SQLite's and the OS's errors when a write is refused for lack of space.
NO_SPACE = ("disk is full", "disk i/o", "no space", "file too large")


def written_elsewhere(exc: Exception) -> bool:
    """Chroma's error when an embedded index was written by another process after this one
    opened it: its in-memory vector index lacks rows the shared SQLite file already holds."""
    return "error finding id" in str(exc).lower()


def explained(exc: Exception, path: str, url: str | None = None) -> StoreUnavailable:
    """The StoreUnavailable to raise for a Chroma failure at `path` (or the server at `url`).

    >>> str(explained(OSError(errno.ENOSPC, "No space left on device"), "idx"))[:54]
    'the index at idx could not be written: the disk is ful'
    """
    text, where = f"{type(exc).__name__}: {exc}", url or path
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG)) or any(
        marker in text.lower() for marker in NO_SPACE
    ):
        return StoreUnavailable(
            f"the index at {where} could not be written: the disk is full or a file-size "
            f"limit was hit ({text}). {FREE_SPACE}"
        )
    if "error in compaction" in text.lower():
        # Chroma applies new rows to its segments after writing its log ("compaction"). A full
        # disk fails that step with Chroma's own error, naming no OS error; so can a damaged
        # index. Both remedies, the likelier first.
        return StoreUnavailable(
            f"the index at {where} could not be written: Chroma could not apply its log "
            f"({text}), as when the disk is full or a file-size limit is hit. {FREE_SPACE}. "
            f"If space was not short, the index may be damaged: {REBUILD}"
        )
    if written_elsewhere(exc) and not url:
        return StoreUnavailable(
            f"the index at {path} was changed by another process while this one had it open "
            f"({text}), and reopening it did not help. An embedded index has one writing "
            "process: add documents through this one (an upload, POST /v1/documents), or "
            "restart it after an `assistant ingest`; for several processes, run a Chroma "
            "server (`chroma run`) and point each at it (ASSISTANT_CHROMA_URL)"
        )
    if url:
        return StoreUnavailable(
            f"the Chroma server at {url} is not answering ({type(exc).__name__}); "
            "check that `chroma run` is up, then retry"
        )
    return StoreUnavailable(
        f"the index at {path} cannot be read ({text}); if it is damaged, {REBUILD}"
    )
