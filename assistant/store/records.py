"""A committed source's record: its labels, the version it commits and bookkeeping, and how the
sources collection stores it (flat metadata)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from assistant.recording import Times
from assistant.sources.model import Source


@dataclass(frozen=True)
class SourceRecord:
    """A committed source: its labels, version and bookkeeping."""

    source: Source
    version: str
    path: str
    chars: int
    passages: int
    ingested_at: float
    # A transcript's (offset, seconds into the recording) at each line; () for other texts.
    times: Times = ()


def record_meta(r: SourceRecord) -> dict[str, Any]:
    return {
        **r.source.to_flat(),
        "version": r.version,
        "path": r.path,
        "chars": r.chars,
        "passages": r.passages,
        "ingested_at": r.ingested_at,
        # None for a source without times: Chroma merges a record's metadata when it is written
        # again, and None takes the key out (a transcript replaced by a text keeps no times),
        # and stamp() leaves it out, so that the other sources' stamps stay as they were.
        "times": _times_meta(r.times) or None,
    }


def record_of(source_id: str, m: dict[str, Any]) -> SourceRecord:
    src = Source.from_flat(source_id, m)
    return SourceRecord(
        source=src,
        version=str(m.get("version", "")),
        path=str(m.get("path", "")),
        chars=int(m.get("chars", 0)),
        passages=int(m.get("passages", 0)),
        ingested_at=float(m.get("ingested_at", time.time())),
        times=_times_of(m.get("times")),
    )


def stamp(r: SourceRecord) -> str:
    """A short fingerprint of everything a record stores: readers list the stamps (a cheap
    read) to find which records changed, instead of reading every record's metadata."""
    # Floats to the millisecond: Chroma keeps a float's last digits only approximately
    # (1796356202.5916119 comes back as 1796356202.591612), and a stamp must match the record
    # read back, not the one written.
    meta = {
        k: round(v, 3) if isinstance(v, float) else v
        for k, v in record_meta(r).items()
        if v is not None
    }
    flat = json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(flat.encode("utf-8")).hexdigest()[:20]


def _times_meta(times: Times) -> str:
    """A transcript's times as flat metadata: "offset:seconds" pairs, space-separated (about
    16 KB for an hour of automatic captions)."""
    return " ".join(f"{o}:{s}" for o, s in times)


def _times_of(raw: object) -> Times:
    out = []
    for pair in str(raw or "").split():
        o, _, s = pair.partition(":")
        if o.isdigit() and s.isdigit():
            out.append((int(o), int(s)))
    return tuple(out)
