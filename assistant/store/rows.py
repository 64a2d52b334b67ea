"""Rows in the store: the one place that writes and reads their ids and their metadata.

A passage is `{source}@{version}#p{i}`, a sentence `{source}@{version}#s{j}`, a language tally
(centroids.py) `{source}@{version}#t{k}`: the id names its source, the text version it was cut
from and its position, so a retry after a kill upserts the same rows, and a sentence hit is
placed in its passage without fetching its metadata.

Each row's metadata carries its source's labels (side, voice; a passage also title, outlet,
author, date) so that a filter is a Chroma `where` and a hit is shown without another read.
`passage_meta` writes it; `passage_of`/`sentence_of` read it back.

A passage row also carries the sentences it is the first to hold, with their vectors (float16),
as two strings (`group_meta`, read back by `group_of`): retrieval scores the sentences of the
passages a question finds from the reader's snapshot, and no sentence is a row of a vector index
of its own (at about eight a passage, those rows were most of the index's memory and of an
ingest's writes: docs/figures.md, Sentence vectors). An index written before keeps its sentence
rows (`{source}@{version}#s{j}` in `<name>-sentences`), read once for the passages that lack a
group (`group_of_rows`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from assistant.ingest.chunking import PassageSpan
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


# The passage metadata keys of its group: "j:start:end" of each sentence, comma-separated, and
# their vectors as float16, little-endian, base64.
GROUP_SPANS, GROUP_VECTORS = "sentences", "sentence_vectors"


@dataclass(frozen=True)
class Group:
    """The sentences a passage is the first to hold (each with letters enough for a vector):
    their positions in the source version and spans in its text, `spans` (k, 3) int32 rows of
    [j, start, end], their vectors as stored, `vectors` (k, dim) float16, and each one's norm
    as float32, `norms` (k,): `unit()` gives them as float32 unit-length rows (a search divides
    each product by the norm instead: Snapshot.scored).
    Held as float16, half of float32's memory (gigabytes at a million passages, in memory or
    in the kept snapshot's mapped file); made float32 for the candidates of a question only."""

    spans: np.ndarray
    vectors: np.ndarray
    norms: np.ndarray

    def __len__(self) -> int:
        return len(self.spans)

    def unit(self) -> np.ndarray:
        return unit_rows(self.vectors, self.norms)


# Every float16's float32 value, by its bits: a lookup is exact, and about twice as fast as
# numpy's float16 cast, which is not vectorised (0.3 against 0.65 ms for a question's
# candidates); at query time that cast cost more than the product itself.
_F32_OF_F16 = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)


def unit_rows(vectors: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """float16 rows and their norms (`_norms`) as float32 rows of unit length: the values
    that normalising their float32 cast gives, bit for bit. Made ROWS at a time, so that the
    lookup's reads stay in the cache: 20,000 rows in 9 ms instead of 25 (a scan of every
    sentence, nearest_sentences); float32 rows held would take under 1 ms."""
    vectors = np.asarray(vectors, dtype=np.float16)
    out = np.empty(vectors.shape, np.float32)
    for i in range(0, len(vectors), ROWS):
        np.divide(f32(vectors[i : i + ROWS]), norms[i : i + ROWS, None], out=out[i : i + ROWS])
    return out


ROWS = 1024


def _norms(vectors: np.ndarray) -> np.ndarray:
    """float16 rows' norms as float32 (at least 1e-12: a zero row stays zero). float16's
    rounding moves a unit vector's norm by up to about 1e-3, so the rows are normalised again
    when they are scored."""
    return np.maximum(np.linalg.norm(f32(vectors), axis=1), 1e-12)


def f32(vectors: np.ndarray) -> np.ndarray:
    """float16 values as float32, exactly. Every index is in the table: "wrap" skips the bounds
    check, a third of the lookup's time."""
    bits = np.asarray(vectors, dtype=np.float16).view(np.uint16)  # float16's bits, not a cast
    return _F32_OF_F16.take(bits, mode="wrap")


def group_meta(spans: Iterable[tuple[int, int, int]], vectors: np.ndarray) -> dict[str, str]:
    """A group as the two metadata strings its passage row carries.

    >>> m = group_meta([(0, 0, 5), (2, 9, 20)], np.array([[1.0, 0.0], [0.6, 0.8]]))
    >>> m["sentences"]
    '0:0:5,2:9:20'
    >>> g = group_of(m, 2)
    >>> g.spans.tolist(), g.vectors.dtype.name, [[round(float(x), 4) for x in v] for v in g.unit()]
    ([[0, 0, 5], [2, 9, 20]], 'float16', [[1.0, 0.0], [0.6002, 0.7999]])
    """
    packed = np.asarray(vectors, dtype="<f2").tobytes()
    return {
        GROUP_SPANS: ",".join(f"{j}:{a}:{b}" for j, a, b in spans),
        GROUP_VECTORS: base64.b64encode(packed).decode("ascii"),
    }


def group_of(m: dict[str, Any], dim: int) -> Group | None:
    """A passage row's group (None for a row written before groups: group_of_rows)."""
    return groups_of([m], dim)[0]


def groups_of(metas: Sequence[dict[str, Any]], dim: int) -> list[Group | None]:
    """Passage rows' groups (None for a row written before groups: group_of_rows), their
    vectors views of one array: freed together once nothing holds them, which returns the
    memory to the system (arrays of a few kilobytes each, freed among the strings a reader
    keeps, leave holes its heap keeps)."""
    spans = [m.get(GROUP_SPANS) for m in metas]
    packed = [base64.b64decode(str(m.get(GROUP_VECTORS, ""))) for m in metas]
    block = np.frombuffer(b"".join(packed), dtype="<f2").reshape(-1, dim)
    norms = _norms(block)
    ends = np.cumsum([len(b) // (2 * dim) for b in packed]).tolist()
    out: list[Group | None] = []
    for text, a, b in zip(spans, [0, *ends[:-1]], ends, strict=True):
        if text is None:
            out.append(None)
            continue
        rows = [[int(x) for x in part.split(":")] for part in str(text).split(",") if part]
        out.append(Group(np.asarray(rows, dtype=np.int32).reshape(-1, 3), block[a:b], norms[a:b]))
    return out


def without_group(m: dict[str, Any]) -> dict[str, Any]:
    """A passage row's metadata without its group's strings (held as arrays once read)."""
    return {k: v for k, v in m.items() if k not in (GROUP_SPANS, GROUP_VECTORS)}


def group_of_rows(
    rows: Iterable[tuple[dict[str, Any], np.ndarray]], dim: int
) -> dict[tuple[str, str, int], Group]:
    """The groups of passages written before groups, from their sentence rows (metadata,
    vector): (source, version, passage position) → its group."""
    parts: dict[tuple[str, str, int], dict[int, tuple[list[int], np.ndarray]]] = {}
    for m, vector in rows:
        key = (str(m["source_id"]), str(m["version"]), int(m["passage"]))
        j = int(m["n"])  # a row read twice counts once
        parts.setdefault(key, {})[j] = ([j, int(m["start"]), int(m["end"])], vector)
    out = {}
    for key, by_position in parts.items():
        members = sorted(by_position.values(), key=lambda x: x[0][0])
        # Held as a group written since holds them, float16: rounded from the float32 these
        # rows hold, so their cosines move by about 1e-4 from before groups were kept.
        vectors = np.asarray([v for _, v in members], dtype=np.float16).reshape(-1, dim)
        out[key] = Group(
            np.asarray([s for s, _ in members], dtype=np.int32).reshape(-1, 3),
            vectors,
            _norms(vectors),
        )
    return out


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


def sentence_of(
    sid: str, vector: np.ndarray, span: np.ndarray, passage: tuple[str, dict[str, Any]]
) -> Sentence:
    """A sentence of a group as a Sentence: its text is its span of the passage that holds it
    (passage text, metadata), and its language, side and voice are the passage's (a passage
    holds sentences of one language)."""
    text, m = passage
    offset = int(m["start"])
    return Sentence(
        id=sid,
        source_id=m["source_id"],
        start=int(span[1]),
        end=int(span[2]),
        text=text[int(span[1]) - offset : int(span[2]) - offset],
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
