"""The typed, JSON-serialisable results: Passage (a search hit), Citation, SideSummary, Answer.

Plain dataclasses with `to_dict()`: the CLI prints them, the HTTP API returns them, the
evaluation stores them. Field names are the public contract (docs/usage.md, docs/embedding.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from assistant.recording import clock
from assistant.sources.model import side_label, speaker, voice_label


@dataclass(frozen=True)
class Passage:
    """A retrieved passage with its source labels. text == source_text[start:end]."""

    id: str
    source_id: str
    text: str
    start: int
    end: int
    language: str
    side: str
    voice: str
    title: str
    outlet: str
    date: str
    score: float
    dense: float = 0.0
    bm25: float = 0.0
    version: str = ""
    first: int = 0
    last: int = 0
    # Passage cosine minus the calibrated threshold of its language pair (relevance.py);
    # ≥ 0 means relevant. For a passage in the question's language under that bar, its nearest
    # sentence's margin where that one outdoes every relevant passage's and either no passage
    # in that language clears the bar or, asked a question, it is the nearest sentence of all
    # (hybrid._by_sentence). None when the passage was found by BM25 or a sentence alone,
    # unless it names the person a question asks about (at the bar, 0: hybrid._naming).
    relevance: float | None = None
    # Seconds into the recording where the passage starts, for a source read from captions
    # (ingest/captions.py); None for other sources.
    at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def who(self) -> str:
        return speaker(self.outlet, "", self.title, self.source_id)

    def when(self) -> str:
        """'at 12:04' for a passage of a recording's captions, '' otherwise."""
        return said_when(self.at)


def said_when(at: int | None) -> str:
    return f"at {clock(at)}" if at is not None else ""


@dataclass(frozen=True)
class Citation:
    """One numbered piece of evidence: a verbatim quote and who says it, from which side."""

    n: int
    source_id: str
    title: str
    outlet: str
    author: str
    side: str
    voice: str
    language: str
    date: str
    quote: str
    start: int
    end: int
    score: float
    url: str = ""
    perspective: str = ""
    # The side suggested for an unlabelled source (suggest.py); side stays "unknown".
    suggested_side: str = ""
    # Seconds into the recording where the quote is said, for a source read from captions
    # (.vtt, .srt: ingest/captions.py); None for other sources.
    at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def when(self) -> str:
        """'at 12:04' for a quote from a recording's captions, '' otherwise."""
        return said_when(self.at)

    def side_shown(self) -> str:
        """'pro-Russia', or 'unknown, suggested pro-Russia': a suggestion is called one."""
        return side_label(self.side, self.suggested_side)

    def voice_shown(self) -> str:
        """'government-official', or 'voice unknown' (sources.model.voice_label)."""
        return voice_label(self.voice)

    def label(self) -> str:
        return f"{self.who()} — {self.side_shown()}, {self.voice_shown()}"

    def who(self) -> str:
        return speaker(self.outlet, self.author, self.title, self.source_id)


@dataclass(frozen=True)
class SideSummary:
    """What one side's cited sources contribute to an answer."""

    side: str
    citations: list[int]
    sources: list[str]
    figures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Claim:
    """One sentence of an LLM's answer: the [n] it cites, and whether they support it.

    `quotes` holds, per cited n, the sentence of passage n that best supports this sentence:
    {"n", "quote", "start", "end", "cosine"} (offsets in the source's whole text)."""

    text: str
    citations: list[int]
    supported: bool
    why: str = ""  # why it is flagged; "" when supported
    quotes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Answer:
    """An answer: Markdown with [n] markers, the citations they point at, and how it was made."""

    question: str
    answer: str
    citations: list[Citation]
    sides: list[SideSummary]
    abstained: bool
    mode: str
    standalone_question: str = ""
    sides_without_evidence: list[str] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    unsupported_sentences: list[str] = field(default_factory=list)
    # LLM mode: every sentence of the answer with its support (answering/claims.py).
    claims: list[Claim] = field(default_factory=list)
    dropped_citations: list[int] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # What the search was restricted to (side, language, source → values; empty: the whole
    # index): an answer quoting one side alone says whether that was asked for.
    filters: dict[str, list[str]] = field(default_factory=dict)
    # The language the answer's own words follow (answering/wording.py): the question's as
    # detected, the one configured where only one is and none is detected, "und" otherwise.
    question_language: str = ""

    def to_dict(self, with_retrieved: bool = True) -> dict[str, Any]:
        """Everything; with_retrieved=False gives the public form (CLI, HTTP, evaluation),
        where `retrieved` is the ranked list of the retrieved passages' source ids."""
        d = dataclasses.asdict(self)
        if not with_retrieved:
            d["retrieved"] = [p.source_id for p in self.retrieved]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Answer:
        """The Answer that to_dict() gave, either form (the public one's `retrieved`, source
        ids only, comes back empty). Fields it does not know are refused by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"not fields of an Answer: {unknown}")
        retrieved = [Passage(**p) for p in d.get("retrieved", []) if isinstance(p, dict)]
        return cls(
            **{
                **d,
                "citations": [Citation(**c) for c in d.get("citations", [])],
                "sides": [SideSummary(**x) for x in d.get("sides", [])],
                "claims": [Claim(**c) for c in d.get("claims", [])],
                "retrieved": retrieved,
            }
        )
