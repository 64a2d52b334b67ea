"""A committed source's record: its labels, the version it commits and bookkeeping, and how the
sources collection stores it (flat metadata)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

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


def record_meta(r: SourceRecord) -> dict[str, Any]:
    return {
        **r.source.to_flat(),
        "version": r.version,
        "path": r.path,
        "chars": r.chars,
        "passages": r.passages,
        "ingested_at": r.ingested_at,
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
    )
