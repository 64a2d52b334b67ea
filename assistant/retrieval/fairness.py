"""Vector search that is fair across languages: candidates from every language that could rank,
and cosines measured against each language's baseline (centroids.py).

In a pool that mixes languages the rows of another language than the question's sit lower for
their language alone, so a list of `pool` rows can miss the ones that, measured against their own
baseline, belong in the top. `nearest` reads room for `pool` rows of each language measured (at
most DEEPEST times `pool`) in one shared query, so a corpus of one language costs one query of
`pool` rows, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# A vector search: (query vector, how many, Chroma where) → [(row id, cosine)], best first.
Search = Callable[[np.ndarray, int, dict[str, Any] | None], list[tuple[str, float]]]
# A shared list holds `pool` rows per language, for this many languages at most.
DEEPEST = 4


@dataclass
class Hits:
    """What a vector search found: row id → cosine (best first), and the most a row it did not
    return can score (the lowest cosine of the list)."""

    cosines: dict[str, float] = field(default_factory=dict)
    bound: float = 0.0
    # The list holds every row its filters allow (it came back shorter than asked).
    complete: bool = False


def nearest(
    search: Search,
    query: np.ndarray,
    pool: int,
    where: dict[str, Any] | None,
    baselines: dict[str, float],
    rows: dict[str, int],
) -> Hits:
    """The rows nearest the query: `pool` of them, or, when several languages are measured
    against their baselines, room for `pool` of each language in one shared list (a language
    of fewer rows needs only those; DEEPEST times `pool` at most), so that rows of a language
    lifted by its baseline are among the candidates.

    One unfiltered list, not one Chroma query per language: a `where` on the language costs
    15–190 ms on a 10,000-passage index (its metadata filter scans), an unfiltered list of 1,000
    rows 10 ms (docs/figures.md, Query latency). Sizing by rows keeps a pool of one language with a few
    passages taken for another (lingua on names) at about `pool`, as before.

    Args:
        search: the Chroma query (passages or sentences).
        query: the query vector.
        pool: how many rows a list holds per language.
        where: the caller's filters as a Chroma where (None for none).
        baselines: language → baseline; empty or one language: one list, as a plain search.
        rows: language → how many rows the index holds in it (Centroids.counts).

    >>> seen = []
    >>> _ = nearest(lambda q, n, w: seen.append(n) or [], np.zeros(2), 24, None,
    ...             {"en": 0.8, "fr": 0.7, "pl": 0.7}, {"en": 900, "fr": 300, "pl": 1})
    >>> seen
    [49]
    """
    n = pool
    if len(baselines) > 1:
        room = sum(min(pool, rows.get(lang, pool)) for lang in baselines)
        n = max(pool, min(room, DEEPEST * pool))
    got = search(query, n, where)
    return Hits(dict(got), min((c for _, c in got), default=0.0), len(got) < n)


def centred(
    hits: Hits, baselines: dict[str, float], ids: Sequence[str], languages: np.ndarray
) -> np.ndarray:
    """Each id's cosine lifted by how far its language's baseline sits below the highest, so that
    scores stay on the cosine's scale (and with one language are the cosines). An id the search
    did not return gets the most it can score (`Hits.bound`).

    >>> hits = Hits({"a": 0.9, "b": 0.7}, 0.65)
    >>> centred(hits, {"en": 0.5, "ru": 0.3}, ["a", "b", "c", "d"],
    ...         np.array(["en", "ru", "en", "ru"], dtype=object)).round(2).tolist()
    [0.9, 0.9, 0.65, 0.85]
    """
    lift = _lifts(baselines)
    return np.array(
        [
            hits.cosines.get(i, hits.bound) + lift(lang)
            for i, lang in zip(ids, languages, strict=True)
        ],
        np.float64,
    )


def _lifts(baselines: dict[str, float]) -> Callable[[str], float]:
    """Language → how far its baseline sits below the highest (0 for a language without one)."""
    top = max(baselines.values(), default=0.0)
    return lambda language: top - baselines.get(language, top)
