"""Rows in the store: the one place that writes and reads their ids and their metadata.

A passage is `{source}@{version}#p{i}`, a sentence `{source}@{version}#s{j}`, a language tally
(centroids.py) `{source}@{version}#t{k}`: the id names its source, the text version it was cut
from and its position, so a retry after a kill upserts the same rows.

A passage's sentences are stored as one row under the passage's id (`sentence_group`): their
texts, offsets and languages, and their vectors as one float16 array. They are scored only for
the passages a question retrieves, so they need no vector index of their own (chroma.py).

Each row's metadata carries its source's labels (side, voice; a passage also title, outlet,
author, date) so that a filter is a Chroma `where` and a hit is shown without another read.
`passage_meta`/`sentence_group` write it; `passage_of`/`sentences_of` read it back.
"""

from __future__ import annotations

import base64
import json
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


# A row: (id, text, metadata, vector), the shape of every row the store writes.
Row = tuple[str, str, dict[str, Any], np.ndarray]


def sentence_group(
    source: Source, version: str, i: int, sentences: list[tuple[int, Span, np.ndarray]]
) -> Row:
    """Passage i's sentences with vectors, (position j, span, vector) each, as one row: each
    sentence's [j, start, end, language] and the vectors (float16, base64) in the metadata;
    the texts are the passage's own (sentences_of). The row's own vector is a placeholder: it is read by id, never
    searched. float16 keeps a cosine within 1e-3 of float32's, at a quarter of a float32 HNSW
    row's bytes and none of its index."""
    return grouped(passage_id(source.id, version, i), _labels(source, version), sentences)


def grouped(pid: str, labels: dict[str, Any], sentences: list[tuple[int, Span, np.ndarray]]) -> Row:
    """A sentence group row (sentence_group) from a passage id and its source's labels."""
    vectors = np.stack([v for _, _, v in sentences]).astype(F16)
    meta = {
        **{k: labels[k] for k in ("source_id", "version", "side", "voice")},
        "sentences": json.dumps([[j, s.start, s.end, s.language] for j, s, _ in sentences]),
        "vectors": base64.b64encode(vectors.tobytes()).decode("ascii"),
    }
    return pid, "", meta, PLACEHOLDER


# Stored sentence vectors: float16, little-endian whatever the machine.
F16 = np.dtype("<f2")
# The vector of a row that is read by id and never searched: the same for every row (an HNSW of
# 120,000 such rows took the same time per 20,000 rows throughout, measured).
PLACEHOLDER = np.ones(1, np.float32)


def group_vectors(m: dict[str, Any]) -> tuple[list[list[Any]], np.ndarray]:
    """A stored sentence group's [j, start, end, language] per sentence, and their vectors."""
    spans = json.loads(m["sentences"])
    return spans, np.frombuffer(base64.b64decode(m["vectors"]), F16).reshape(len(spans), -1)


def sentences_of(passage: tuple[str, str, dict[str, Any]], m: dict[str, Any]) -> list[Sentence]:
    """A stored sentence group (sentence_group) as its Sentences, their texts cut from the
    passage row (id, text, metadata) that holds them: a passage's text is its source's from
    `start`, so a sentence's offsets place it there."""
    _, text, pm = passage
    spans, vectors = group_vectors(m)
    at = int(pm["start"])
    return [
        Sentence(
            id=sentence_id(m["source_id"], m["version"], j),
            source_id=m["source_id"],
            start=int(start),
            end=int(end),
            text=text[int(start) - at : int(end) - at],
            language=language,
            side=m.get("side", UNKNOWN),
            voice=m.get("voice", UNKNOWN),
            vector=vector.astype(np.float32),
        )
        for (j, start, end, language), vector in zip(spans, vectors, strict=True)
    ]


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
) -> Passage:
    """A stored passage row as a Passage, with the scores its retrieval gave it."""
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
    )


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
