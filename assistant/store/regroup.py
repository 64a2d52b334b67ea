"""An index written before sentence groups, converted in place: its sentences were rows of an
HNSW index of their own (`<name>-sentences`, one row per sentence); they become one group row
per passage (rows.sentence_group) with the vectors they have, nothing re-embedded, and that
collection is dropped. One-way: a release before sentence groups cannot read the result.

Safe when several processes open the same old index at once: rows are upserted by id, and a
process that finds the old collection gone midway (another one finished first) stops there.
It holds the old rows in memory while it works: about 2 KB a sentence.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from assistant.ingest.chunking import Span

from .rows import Row, grouped, parse

# Where an index written before sentence groups keeps one HNSW row per sentence.
OLD_SENTENCES = "-sentences"
PAGE = 5000


def regroup(
    client: Any,
    name: str,
    passages: Callable[[], Iterable[tuple[str, str, dict[str, Any]]]],
    write: Callable[[list[Row]], None],
) -> int:
    """Convert the old sentence rows of collection prefix `name` on a Chroma client; `passages`
    lists the passage rows (id, text, metadata), `write` upserts group rows. Returns the groups
    written: 0 when there was nothing to convert, or another process converted it meanwhile."""
    old_name = name + OLD_SENTENCES
    try:
        old = client.get_collection(old_name, embedding_function=None)
    except Exception:  # no such collection: nothing to convert
        return 0
    print(
        f"converting the index's sentence vectors to one row per passage ({old.count()} "
        "sentences; once, nothing re-embedded)",
        file=sys.stderr,
    )
    try:
        groups = _groups(_old_rows(old), passages())
        write(groups)
        client.delete_collection(old_name)
    except Exception:
        if old_name in {c.name for c in client.list_collections()}:
            raise
        return 0  # another process converted it first
    return len(groups)


def _old_rows(old: Any) -> dict[tuple[str, str], dict[int, tuple[str, dict[str, Any], Any]]]:
    """(source, version) → sentence position → (text, metadata, vector)."""
    found: dict[tuple[str, str], dict[int, tuple[str, dict[str, Any], Any]]] = {}
    offset = 0
    while True:
        got = old.get(include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset)
        if not got["ids"]:
            return found
        for i, d, m, e in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            row = parse(i)
            found.setdefault((row.source, row.version), {})[row.n] = (d, m, np.asarray(e))
        offset += len(got["ids"])


def _groups(
    found: dict[tuple[str, str], dict[int, tuple[str, dict[str, Any], Any]]],
    passages: Iterable[tuple[str, str, dict[str, Any]]],
) -> list[Row]:
    """One group row per passage that holds any of the found sentences."""
    groups = []
    for pid, _, m in passages:
        of = found.get((str(m["source_id"]), str(m["version"])), {})
        members = []
        for j in range(int(m["first"]), int(m["last"]) + 1):
            if j in of:
                text, sm, vector = of[j]
                span = Span(int(sm["start"]), int(sm["end"]), text, sm.get("language", "und"))
                members.append((j, span, vector))
        if members:
            groups.append(grouped(pid, m, members))
    return groups
