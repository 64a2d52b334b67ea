"""What one retrieval returns (`Retrieval`), and the list an answer reads: every relevant side's
best passages side by side (`balanced`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal, Protocol, TypeVar

import numpy as np

from assistant.schema import Passage
from assistant.sources.model import UNKNOWN
from assistant.store.records import SourceRecord
from assistant.store.rows import Sentence

from .filters import Filters

# A side with fewer candidates than this in the shared lists gets a search of its own, and
# this many of each relevant side's passages lead the balanced list (balanced()).
PER_SIDE = 2
# Which passages' sentences a retrieval carries for answering (Retrieval.sentences).
SentenceScope = Literal["none", "relevant", "all"]


@dataclass
class Retrieval:
    """The outcome of one retrieval: ranked passages and what the ranking saw."""

    passages: list[Passage]
    query_vector: np.ndarray
    # The best relevance margin of any passage (relevance.py): < 0 means nothing relevant.
    relevance: float = float("-inf")
    # The nearest sentences as (sentence id, cosine), best first.
    sentence_hits: list[tuple[str, float]] = field(default_factory=list)
    # Milliseconds spent in each step (dense_ms, bm25_ms); answers report them.
    timings: dict[str, float] = field(default_factory=dict)
    # The committed sources and side vocabulary this retrieval saw, so that answering uses the
    # same snapshot without reading the store again.
    records: dict[str, SourceRecord] = field(default_factory=dict)
    sides: list[str] = field(default_factory=list)
    # Every sentence of the passages, with its vector: what an answerer quotes and scores.
    # Filled when asked for (retrieve(..., sentences="relevant" or "all")); None otherwise.
    sentences: dict[str, Sentence] | None = None
    # Each side this retrieval searched (a declared side with committed rows within the
    # filters) → the most relevance any of its passages can have (relevance.py): its best
    # candidate's margin, or, where rows of the side went unseen, the most an unseen one could
    # score. A side the filters left out is not here: it was not searched.
    side_relevance: dict[str, float] = field(default_factory=dict)
    # The filters it searched within, and the declared sides with passages they left out.
    filters: Filters = field(default_factory=Filters)
    sides_not_searched: list[str] = field(default_factory=list)
    # For a question about someone and nothing else, the names it asks about that the
    # candidates write as names, not words (retrieve's `names`, names.proper): what an answer
    # quotes is what names them (extractive.naming).
    names: tuple[str, ...] = ()
    # For a question asking what someone said, searched within the sources naming them
    # (core, speakers.py): their name, and the sources they wrote. An answer quotes those
    # sources' sentences and the others' that name them (extractive.spoken).
    speaker: str = ""
    written_by: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        """The search was restricted to part of the index (a side, language or source filter):
        what it did not find may be in the rest."""
        return bool(self.filters.fields())

    def relevant(self) -> list[Passage]:
        """The passages that clear the calibrated relevance threshold themselves."""
        return [p for p in self.passages if p.relevance is not None and p.relevance >= 0]

    def sides_without_evidence(self) -> list[str]:
        """The declared sides that were searched and have nothing relevant: the only sides of
        which an answer may say that nothing of theirs was found relevant to the question."""
        return [s for s, best in self.side_relevance.items() if best < 0 and s != UNKNOWN]


class Ranked(Protocol):
    """What balanced() reads of a ranked passage (a Passage, or a candidate not yet made one)."""

    @property
    def id(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def relevance(self) -> float | None: ...


R = TypeVar("R", bound=Ranked)


def balanced(passages: list[R], k: int) -> list[R]:
    """The top k with every relevant side side by side: the best PER_SIDE relevant passages
    (those that clear the calibrated threshold themselves) of each side, taken in turn, the
    side with the best passage first; then the rest by score.

    A side is judged by its own passages, not by how far below another side's they score: the
    passage that argues against a claim is worded far from it. A side with nothing relevant
    gets no place it did not earn by score. (Taking every relevant passage in turn, not the
    best two, quoted more of the weaker side on the bundled set for no gain elsewhere: docs/figures.md.)

    Example: relevant sides [A, A, A, B], k=3 → A, B, A (not A, A, A).
    """
    queues: dict[str, list[R]] = {}
    for p in passages:
        if p.relevance is not None and p.relevance >= 0:
            queues.setdefault(p.side, []).append(p)
    turns = list(zip_longest(*queues.values()))[:PER_SIDE]
    first = [p for turn in turns for p in turn if p is not None]
    ids = {p.id for p in first}
    return (first + [p for p in passages if p.id not in ids])[:k]
