"""Vector search that is fair across languages: candidates from every language that could rank,
and cosines measured against each language's baseline (centroids.py).

One shared nearest-neighbour list is not enough in a pool that mixes languages: the rows of
another language than the question's sit lower for their language alone, so the list can miss
the ones that, measured against their own baseline, belong in the top. `nearest` asks Chroma for
a language's own list only when that could change the top (a bound says when), so a corpus of
one language, or a small one the shared list covers whole, costs one query as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# A vector search: (query vector, how many, Chroma where) → [(row id, cosine)], best first.
Search = Callable[[np.ndarray, int, dict[str, Any] | None], list[tuple[str, float]]]


@dataclass
class Hits:
    """What a vector search found: row id → cosine, and the most a row it did not return can
    score, per language (the lowest cosine of the list that covered that language) or overall."""

    cosines: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, float] = field(default_factory=dict)
    bound: float = 0.0

    def bound_of(self, language: str) -> float:
        return self.bounds.get(language, self.bound)


def nearest(
    search: Search,
    query: np.ndarray,
    pool: int,
    where: dict[str, Any] | None,
    baselines: dict[str, float],
    language: Callable[[str], str | None],
    only: Sequence[str] = (),
) -> Hits:
    """The rows nearest the query: the shared `pool` nearest, and, for each language whose rows
    could rank in the top `pool` once measured against its baseline but might be missing from
    that list, that language's own `pool` nearest.

    A row missing from the shared list has a cosine at most that list's lowest, so a language L
    can add to the top only when lowest − baseline(L) beats the `pool`-th best score found.

    Args:
        search: the Chroma query (passages or sentences).
        query: the query vector.
        pool: how many rows a list holds.
        where: the caller's filters as a Chroma where (None for none).
        baselines: language → baseline; empty or one language: one list, as a plain search.
        language: a row's language, or None for a row not to keep (not committed).
        only: the languages the caller's filter allows (empty: all).
    """
    got = search(query, pool, where)
    found = {i: c for i, c in got if language(i) is not None}
    hits = Hits(found, {}, min((c for _, c in got), default=0.0))
    if len(baselines) < 2 or len(got) < pool:  # one language, or every row is in the list
        return hits
    lift = _lifts(baselines)
    scores = sorted(c + lift(language(i) or "") for i, c in found.items())
    kth = scores[-pool] if len(scores) >= pool else float("-inf")
    for lang in baselines:
        if (only and lang not in only) or hits.bound + lift(lang) <= kth:
            continue
        clause = {"language": lang}
        own = search(query, pool, {"$and": [where, clause]} if where else clause)
        found.update((i, c) for i, c in own if language(i) is not None)
        if len(own) == pool:  # else the language's every row is in
            hits.bounds[lang] = min(c for _, c in own)
    return hits


def centred(
    hits: Hits, baselines: dict[str, float], ids: Sequence[str], languages: np.ndarray
) -> np.ndarray:
    """Each id's cosine lifted by how far its language's baseline sits below the highest, so that
    scores stay on the cosine's scale (and with one language are the cosines). An id the search
    did not return gets the most it can score (`Hits.bound_of` its language).

    >>> hits = Hits({"a": 0.9, "b": 0.7}, {"ru": 0.6}, 0.65)
    >>> centred(hits, {"en": 0.5, "ru": 0.3}, ["a", "b", "c", "d"],
    ...         np.array(["en", "ru", "en", "ru"], dtype=object)).round(2).tolist()
    [0.9, 0.9, 0.65, 0.8]
    """
    lift = _lifts(baselines)
    return np.array(
        [
            hits.cosines.get(i, hits.bound_of(lang)) + lift(lang)
            for i, lang in zip(ids, languages, strict=True)
        ],
        np.float64,
    )


def _lifts(baselines: dict[str, float]) -> Callable[[str], float]:
    """Language → how far its baseline sits below the highest (0 for a language without one)."""
    top = max(baselines.values(), default=0.0)
    return lambda language: top - baselines.get(language, top)
