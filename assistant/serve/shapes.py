"""The shapes every edge sends out: the HTTP API, the MCP server and the OpenAI endpoint.

One definition each, so that a source or an answer reads the same through every door:
`AnswerOut` (an Answer; `retrieved` as ranked source ids), `SourceOut` / `SourceText` (a
source's labels, and its whole text). An answer's text (body, references, cut, export) has its
own owner: answering/text.py.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, Field, create_model

from assistant.errors import InvalidRequest
from assistant.retrieval.filters import Filters
from assistant.schema import Answer, Passage
from assistant.sources.model import Source
from assistant.store.records import SourceRecord

T = TypeVar("T")

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.retrieval.snapshot import Snapshot


def _answer_field(f: dataclasses.Field[Any], hints: dict[str, Any]) -> tuple[Any, Any]:
    if f.name == "retrieved":  # the public form: ranked source ids, not whole passages
        return list[str], Field(
            default_factory=list, description="source ids of the retrieved passages, ranked"
        )
    if f.default is not dataclasses.MISSING:
        return hints[f.name], Field(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return hints[f.name], Field(default_factory=f.default_factory)
    return hints[f.name], ...


# AnswerOut is every field of schema.Answer (one definition: a field added there appears here),
# with `retrieved` as the ranked source ids.
if TYPE_CHECKING:
    AnswerOut = BaseModel
else:
    _hints = typing.get_type_hints(Answer)
    AnswerOut = create_model(
        "AnswerOut", **{f.name: _answer_field(f, _hints) for f in dataclasses.fields(Answer)}
    )


class MarkOut(BaseModel):
    quote: str = Field(description="verbatim: the source's text[start:end]")
    start: int
    end: int
    side: str
    marker: str = Field(description="the declared marker that matched; empty for an LLM's quote")


class SuggestionOut(BaseModel):
    """A side suggested for an unlabelled source, with its evidence; not a label."""

    side: str
    voice: str
    by: str = Field(description="markers, llm:<model>, or markers+llm:<model>")
    evidence: list[MarkOut]
    tally: dict[str, int] = Field(description="marker occurrences per side")


class SourceCounts(BaseModel):
    passages: int
    chars: int
    detected_languages: list[str] = Field(
        default_factory=list,
        description="the languages detected in its indexed passages, the most passages first "
        "(`languages` is what its manifest declares; a sentence too short to detect takes a "
        "single declared language)",
    )


# SourceOut is every field of sources/model.Source (one definition: a field added there appears here)
# and the counts. Lists travel as lists; the suggestion as SuggestionOut.
_SOURCE_FIELD_NOTES = {
    "extracted": "fields filled from the file's own metadata",
    "suggestion": "for an unlabelled source: a suggested side, with evidence",
}


def _source_field(f: dataclasses.Field[Any]) -> tuple[Any, Any]:
    note = _SOURCE_FIELD_NOTES.get(f.name)
    if f.name == "suggestion":
        return SuggestionOut | None, Field(None, description=note)
    if str(f.type).startswith("tuple"):
        return list[str], Field(default_factory=list, description=note)
    return str, Field(description=note) if note else ...


if TYPE_CHECKING:
    SourceOut = SourceCounts
else:
    SourceOut = create_model(
        "SourceOut",
        **{f.name: _source_field(f) for f in dataclasses.fields(Source)},
        **{name: (f.annotation, f) for name, f in SourceCounts.model_fields.items()},
    )


class SourceText(SourceOut):
    text: str
    # A transcript read from captions: [offset, seconds] where each line starts in `text` and
    # when it is said, so that a client can show the text against the recording; [] otherwise.
    times: list[tuple[int, int]] = Field(
        default_factory=list,
        description="for a transcript from captions, [offset, seconds into the recording] of "
        "each line, in text order; empty for other sources",
    )


def answer_out(a: Answer) -> AnswerOut:
    return AnswerOut(**a.to_dict(with_retrieved=False))


def source_out(record: SourceRecord, detected: list[str] | None = None) -> SourceOut:
    return SourceOut(
        **record.source.to_dict(),
        passages=record.passages,
        chars=record.chars,
        detected_languages=detected or [],
    )


def listed(snap: Snapshot, side: Any = None, language: Any = None) -> list[SourceRecord]:
    """The sources of one index generation (Assistant.snapshot()) in id order, of the sides in
    `side` and declaring or holding a language in `language` (each one value, a list, or
    comma-separated; unset: every one): every door's list (Snapshot.listing)."""
    return snap.listing(Filters.of(side, language))


def sources_out(snap: Snapshot, side: Any = None, language: Any = None) -> list[SourceOut]:
    """`listed`'s sources with their labels, counts and detected languages."""
    found = snap.source_languages
    return [source_out(r, found.get(r.source.id)) for r in listed(snap, side, language)]


# A page of a source listing holds this many by default and at most PAGE_MOST: an archive of
# 6,000 short articles listed whole was 2.5 MB over HTTP and 5.7 MB to an MCP host, per call.
PAGE = 100
PAGE_MOST = 1000


class SourcePage(BaseModel):
    """One page of the sources matching a listing's filters, in id order."""

    sources: list[SourceOut]
    total: int = Field(description="how many sources match the filters, on every page")
    next_offset: int | None = Field(
        description="the offset of the next page (pass it as `offset`); null on the last page"
    )


def sources_page(
    snap: Snapshot, side: Any = None, language: Any = None, offset: int = 0, limit: int = PAGE
) -> SourcePage:
    """`sources_out`'s list, `limit` of it from `offset`.

    Raises:
        InvalidRequest: an offset below 0, a limit outside 1..PAGE_MOST, an unknown filter value.
    """
    if offset < 0 or not 1 <= limit <= PAGE_MOST:
        raise InvalidRequest(
            f"a page is `offset` ≥ 0 and `limit` from 1 to {PAGE_MOST} (got offset {offset}, "
            f"limit {limit}); the next page starts where the last one says (HTTP: its Link header; MCP: "
            "its next_offset)"
        )
    records, found = listed(snap, side, language), snap.source_languages
    page, following = paged(records, offset, limit)
    return SourcePage(
        # Only the page's sources are shaped: 6,000 of them cost 0.28 s a request.
        sources=[source_out(r, found.get(r.source.id)) for r in page],
        total=len(records),
        next_offset=following,
    )


def paged(items: Sequence[T], offset: int, limit: int) -> tuple[Sequence[T], int | None]:
    """`limit` items from `offset`, and where the next page starts (None: this is the last).

    >>> paged("abcde", 2, 2), paged("abcde", 4, 2), paged("abcde", 9, 2)
    (('cd', 4), ('e', None), ('', None))
    """
    end = offset + limit
    return items[offset:end], (end if end < len(items) else None)


def source_text(assistant: Assistant, source_id: str) -> SourceText:
    """One source's labels, counts, detected languages and whole text."""
    snap = assistant.snapshot()  # one read: the record and its languages from the same index
    record, text = assistant.source(source_id, snap)
    detected = snap.source_languages.get(source_id)
    return SourceText(
        **source_out(record, detected).model_dump(), text=text, times=list(record.times)
    )


def passage_metadata(p: Passage, record: SourceRecord | None) -> dict[str, Any]:
    """Who says a passage and from which side: the metadata framework documents carry.

    Flat str/float values, as LlamaIndex nodes, LangChain documents and vector stores expect.
    `start`/`end` are the passage's character offsets in the source's whole text.
    """
    s = record.source if record else None
    return {
        "source_id": p.source_id,
        "passage_id": p.id,
        "title": p.title,
        "outlet": p.outlet,
        "author": s.author if s else "",
        "date": p.date,
        "language": p.language,
        "side": p.side,
        "suggested_side": s.suggested_side if s else "",
        "voice": p.voice,
        "url": s.url if s else "",
        "perspective": s.perspective if s else "",
        "start": p.start,
        "end": p.end,
        "score": p.score,
        # The calibrated margin (≥ 0: relevant; relevance.py); None when found by BM25 or a
        # sentence alone. The score ranks; this says whether a passage is on the question.
        "relevance": p.relevance,
        # A transcript's passage: seconds into the recording where it starts (captions.py).
        **({"at": p.at} if p.at is not None else {}),
    }
