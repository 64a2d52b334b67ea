"""Rows in the store: the one place that writes and reads their ids and their metadata.

A passage is `{source}@{version}#p{i}`, a sentence `{source}@{version}#s{j}`, a language tally
(centroids.py) `{source}@{version}#t{k}`: the id names its source, the text version it was cut
from and its position, so a retry after a kill upserts the same rows, and a sentence hit is
placed in its passage without fetching its metadata.

Each row's metadata carries its source's labels (side, voice; a passage also title, outlet,
author, date) so that a filter is a Chroma `where` and a hit is shown without another read.
`passage_meta`/`sentence_meta` write it; `passage_of`/`sentence_of` read it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from assistant.ingest.chunking import PassageSpan, Span
from assistant.schema import Passage
from assistant.sources.model import UNKNOWN, Source

from .centroids import Kind, Tally


class RowId(NamedTuple):
    source: str
    version: str
    kind: str  # "p" (passage), "s" (sentence) or "t" (tally)
    n: int


def passage_id(source: str, version: str, i: int) -> str:
    return f"{source}@{version}#p{i}"


def sentence_id(source: str, version: str, j: int) -> str:
    return f"{source}@{version}#s{j}"


def tally_id(source: str, version: str, k: int) -> str:
    return f"{source}@{version}#t{k}"


def parse(row_id: str) -> RowId:
    """The parts of a row id. Source ids hold no '@' or '#' (sources/model.check_id).

    >>> parse("002_9ece5d155ad6878c@0f3a#s12")
    RowId(source='002_9ece5d155ad6878c', version='0f3a', kind='s', n=12)
    """
    head, _, position = row_id.rpartition("#")
    source, _, version = head.rpartition("@")
    return RowId(source, version, position[:1], int(position[1:]))


def sentence_ids(passages: list[Passage]) -> list[str]:
    """The ids of every sentence the passages hold, in order, each once."""
    return list(
        dict.fromkeys(
            sentence_id(p.source_id, p.version, j)
            for p in passages
            for j in range(p.first, p.last + 1)
        )
    )


@dataclass(frozen=True)
class Sentence:
    """A stored sentence with its vector: what the answerers quote from."""

    id: str
    source_id: str
    start: int
    end: int
    text: str
    language: str
    side: str
    voice: str
    # The embedder's vector of the text; None for a stand-in that has none.
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


def _labels(source: Source, version: str) -> dict[str, Any]:
    return {"source_id": source.id, "version": version, "side": source.side, "voice": source.voice}


def _shown(source: Source) -> dict[str, Any]:
    """The labels a passage row carries so that a hit is shown without reading its source."""
    return {
        "title": source.title,
        "outlet": source.outlet,
        "author": source.author,
        "date": source.date,
    }


def relabelled(m: dict[str, Any], source: Source) -> dict[str, Any]:
    """A row's metadata after its source's labels changed (its text did not)."""
    new = {"side": source.side, "voice": source.voice, **_shown(source)}
    return {**m, **{k: v for k, v in new.items() if k in m}}


def sentence_meta(source: Source, version: str, j: int, s: Span, passage: int) -> dict[str, Any]:
    """Sentence j's metadata; `passage` is the first passage that holds it."""
    return {
        **_labels(source, version),
        "language": s.language,
        "start": s.start,
        "end": s.end,
        "passage": passage,
        "n": j,
    }


def passage_meta(source: Source, version: str, i: int, p: PassageSpan) -> dict[str, Any]:
    """Passage i's metadata."""
    return {
        **_labels(source, version),
        **_shown(source),
        "language": p.language,
        "start": p.start,
        "end": p.end,
        "first": p.first,
        "last": p.last,
        "tokens": p.tokens,
        "n": i,
    }


def passage_of(
    pid: str,
    text: str,
    m: dict[str, Any],
    score: float = 0.0,
    dense: float = 0.0,
    bm25: float = 0.0,
    relevance: float | None = None,
    at: int | None = None,
) -> Passage:
    """A stored passage row as a Passage, with the scores its retrieval gave it (and for a
    transcript, when it starts in the recording)."""
    return Passage(
        id=pid,
        source_id=m["source_id"],
        text=text,
        start=int(m["start"]),
        end=int(m["end"]),
        language=m.get("language", "und"),
        side=m.get("side", UNKNOWN),
        voice=m.get("voice", UNKNOWN),
        title=m.get("title", ""),
        outlet=m.get("outlet", ""),
        date=m.get("date", ""),
        score=score,
        dense=dense,
        bm25=bm25,
        version=m.get("version", ""),
        first=int(m.get("first", 0)),
        last=int(m.get("last", 0)),
        relevance=relevance,
        at=at,
    )


def sentence_of(sid: str, vector: np.ndarray, m: dict[str, Any], text: str) -> Sentence:
    """A stored sentence row as a Sentence."""
    return Sentence(
        id=sid,
        source_id=m["source_id"],
        start=int(m["start"]),
        end=int(m["end"]),
        text=text,
        language=m.get("language", "und"),
        side=m.get("side", UNKNOWN),
        voice=m.get("voice", UNKNOWN),
        vector=vector,
    )


# A tally row: (id, text, metadata, vector), the shape of every row the store writes.
Row = tuple[str, str, dict[str, Any], np.ndarray]


def tally_rows(source: Source, version: str, parts: list[Tally]) -> list[Row]:
    """A source version's language tallies as rows: the vector is the sum, the metadata the
    kind, language and count."""
    return [
        (
            tally_id(source.id, version, k),
            "",
            # No side or voice: a relabelled source keeps its tallies as they are.
            {
                "source_id": source.id,
                "version": version,
                "kind": t.kind,
                "language": t.language,
                "count": t.count,
            },
            t.total.astype(np.float32),
        )
        for k, t in enumerate(parts)
    ]


def tally_of(m: dict[str, Any], vector: np.ndarray) -> Tally:
    """A stored tally row as a Tally."""
    kind: Kind = "sentence" if m.get("kind") == "sentence" else "passage"
    return Tally(kind, str(m.get("language", "und")), int(m.get("count", 0)), vector)
