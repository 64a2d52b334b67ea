"""The index as one generation of the store left it: what every query reads.

A Snapshot is read once per store generation (`Snapshot.read`) and never changed; the retriever
swaps a new one in with one assignment, so a query that took the old one sees old rows, old BM25
and old centroids together, never a mix (queries take no lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.errors import InvalidRequest
from assistant.ingest.language import UNDETERMINED
from assistant.sources.model import UNKNOWN
from assistant.store.centroids import Centroids, Tally
from assistant.store.chroma import Store
from assistant.store.records import SourceRecord
from assistant.store.rows import parse

from .bm25 import Bm25Index
from .filters import Filters

# A committed passage row as the store gives it: (id, text, metadata).
Row = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Snapshot:
    """The committed sources and passages of one store generation, with their BM25 index,
    sentence owners, side vocabulary and language centroids."""

    generation: str | None
    records: dict[str, SourceRecord]
    rows: dict[str, Row]
    # (source, version) → sentence position → the first passage holding it, so that a
    # sentence hit needs no metadata from Chroma.
    owners: dict[tuple[str, str], dict[int, str]]
    bm25: Bm25Index | None
    # Passage id → its row in `bm25`.
    bm25_rows: dict[str, int]
    # Indexed languages and the sides with committed passages (filters are checked against
    # them on every filtered query: computed once here).
    languages: list[str]
    present: set[str]
    # The declared sides, `unknown` included.
    sides: list[str]
    centroids: Centroids

    @classmethod
    def empty(cls, dim: int) -> Snapshot:
        """Before the first read."""
        return cls(None, {}, {}, {}, None, {}, [], set(), [], Centroids({}, dim))

    @classmethod
    def read(
        cls,
        store: Store,
        generation: str | None,
        dim: int,
        computed: dict[tuple[str, str], list[Tally]],
    ) -> Snapshot:
        """The committed sources and their passages (rows of other versions are left out).

        `computed`: the reader's tallies computed from stored vectors, for sources ingested
        before tallies were kept; kept across reads (read_centroids)."""
        records = store.records()
        committed = {sid: r.version for sid, r in records.items()}
        centroids = read_centroids(store, committed, dim, computed)
        rows = [
            r
            for r in store.iter_passages()
            if committed.get(str(r[2].get("source_id"))) == r[2].get("version")
        ]
        bm25 = Bm25Index.build(rows)
        owners: dict[tuple[str, str], dict[int, str]] = {}
        for pid, _, m in sorted(rows, key=lambda r: -int(r[2].get("n", 0))):
            own = owners.setdefault((str(m["source_id"]), str(m["version"])), {})
            own.update((j, pid) for j in range(int(m["first"]), int(m["last"]) + 1))
        return cls(
            generation=generation,
            records=records,
            rows={r[0]: r for r in rows},
            owners=owners,
            bm25=bm25,
            bm25_rows={pid: i for i, pid in enumerate(bm25.ids)},
            languages=sorted(set(bm25.meta["language"])),
            present=set(bm25.meta["side"].tolist()),
            sides=list(store.recorded_corpus().sides),
            centroids=centroids,
        )

    def side(self, pid: str) -> str:
        """A passage's side (UNKNOWN if it was not committed in this snapshot)."""
        row = self.rows.get(pid)
        return UNKNOWN if row is None else str(row[2].get("side", UNKNOWN))

    def language(self, pid: str) -> str | None:
        """A passage's language, or None if it was not committed in this snapshot."""
        row = self.rows.get(pid)
        return None if row is None else str(row[2].get("language", UNDETERMINED))

    def owner(self, sid: str) -> str | None:
        """The committed passage that holds a sentence (None if not committed)."""
        row = parse(sid)
        return self.owners.get((row.source, row.version), {}).get(row.n)

    def vocabulary(self) -> dict[str, list[str]]:
        """The values each filter accepts, by metadata field: declared sides, indexed
        languages, committed sources."""
        return {
            "side": sorted(self.sides),
            "language": self.languages,
            "source_id": sorted(self.records),
        }

    def check(self, filters: Filters) -> None:
        """An unknown filter value would silently match nothing: name it and the valid ones."""
        for key, values in filters.fields():
            known = self.vocabulary()[key]
            bad = [v for v in values if v not in known]
            if bad:
                raise InvalidRequest(
                    f"unknown {key.removesuffix('_id')} filter {', '.join(map(repr, bad))}; "
                    f"this index has: {', '.join(known) or 'none'}"
                )

    def mask(self, filters: Filters) -> np.ndarray | None:
        """The passages of the BM25 index the filters keep (None: every one)."""
        if self.bm25 is None:
            return None
        mask = None
        for key, vals in filters.fields():
            m = np.isin(self.bm25.meta[key], list(vals))
            mask = m if mask is None else mask & m
        return mask

    def searched(self, filters: Filters) -> list[str]:
        """The declared sides that have committed passages within the filters."""
        if self.bm25 is None or not self.bm25.ids:
            return []
        mask = self.mask(filters)
        present = self.present if mask is None else set(self.bm25.meta["side"][mask].tolist())
        return [side for side in self.sides if side in present]


def read_centroids(
    store: Store,
    committed: dict[str, str],
    dim: int,
    computed: dict[tuple[str, str], list[Tally]],
) -> Centroids:
    """The committed sources' language centroids, from their stored tallies; those of sources
    ingested before tallies were kept are computed from their stored vectors, in one scan, once
    per process (`computed` keeps them, and drops those of versions no longer committed)."""
    stored = store.tallies()
    keys = set(committed.items())
    for key in [key for key in computed if key not in keys]:
        del computed[key]
    missing = {key for key in keys if key not in stored and key not in computed}
    if missing:
        computed.update(store.row_tallies(missing))
    return Centroids({key: stored.get(key) or computed.get(key, []) for key in keys}, dim)
