"""Vector search that is fair across languages: candidates from every language that could rank,
and cosines measured against each language's baseline (centroids.py).

In a pool that mixes languages the rows of another language than the question's sit lower for
their language alone, so a list of `pool` rows can miss the ones that, measured against their own
baseline, belong in the top. `nearest` reads room for `pool` rows of each language measured (at
most DEEPEST times `pool`) in one shared query, so a corpus of one language costs one query of
`pool` rows, as before. With several languages that list is the one nearest the question moved
to the middle of the languages (Centroids.moved), scored by each row's cosine with the question
itself, with the question's own `pool` nearest: the rows nearest the question are those of its
language, and across a far pair (English and Chinese) or in a large index a list of them holds
no other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# A vector search: (query vector, how many, Chroma where, the vector cosines are measured
# against: None for the query's own) → [(row id, cosine)], nearest the query vector first.
Search = Callable[
    [np.ndarray, int, dict[str, Any] | None, np.ndarray | None], list[tuple[str, float]]
]
# The question moved to the middle of the languages (Centroids.moved), for passages and for
# sentences: None where it cannot be (fewer than two established languages).
Moved = tuple[np.ndarray | None, np.ndarray | None]
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
    # Language → what a row of it that the lists did not return is taken to score, where one
    # was the moved question's (nearest): the lowest cosine of its rows there. An estimate,
    # not a bound (that list ranks by another vector).
    bounds: dict[str, float] = field(default_factory=dict)

    def bound_of(self, language: str) -> float:
        """What a row of this language that no list returned is taken to score."""
        return self.bounds.get(language, self.bound)


def nearest(
    search: Search,
    query: np.ndarray,
    pool: int,
    where: dict[str, Any] | None,
    baselines: dict[str, float],
    rows: dict[str, int],
    moved: np.ndarray | None = None,
    language_of: Callable[[str], str | None] = lambda _: None,
) -> Hits:
    """The rows nearest the query: `pool` of them, or, when several languages are measured
    against their baselines, room for `pool` of each language in one shared list (a language
    of fewer rows needs only those; DEEPEST times `pool` at most), so that rows of a language
    lifted by its baseline are among the candidates.

    One unfiltered list, not one Chroma query per language: a `where` on the language costs
    15–190 ms on a 10,000-passage index (its metadata filter scans), an unfiltered list of 1,000
    rows 10 ms (docs/figures.md, Query latency). Sizing by rows keeps a pool of one language with a few
    passages taken for another (lingua on names) at about `pool`, as before.

    With several languages the list is that of `moved`, the question moved from its language's
    centroid to the middle of the languages' (Centroids.moved), with the question's own `pool`
    nearest rows: the rows nearest the question itself are those of its language, and across
    a far pair a list of them holds no other (docs/figures.md, The first passage no longer
    depends on k). The moved list's rows are scored by their cosine with the question
    (`query`), read from their vectors, and each language's rows that neither list returned
    are taken to score no more than the lowest of its rows in them (`Hits.bounds`: an
    estimate, as the moved list ranks by another vector).

    Args:
        search: the Chroma query (passages or sentences).
        query: the query vector.
        pool: how many rows a list holds per language.
        where: the caller's filters as a Chroma where (None for none).
        baselines: language → baseline; empty or one language: one list, as a plain search.
        rows: language → how many rows the index holds in it (Centroids.counts).
        moved: the query moved to the middle of the languages; None: the query's own list.
        language_of: a row id → its language (None: not known, or not committed).

    >>> seen = []
    >>> _ = nearest(lambda q, n, w, m: seen.append(n) or [], np.zeros(2), 24, None,
    ...             {"en": 0.8, "fr": 0.7, "pl": 0.7}, {"en": 900, "fr": 300, "pl": 1})
    >>> seen
    [49]

    Two English rows are nearer the question than the Russian one; the moved question's list
    of two holds one of each, scored against the question, and the question's own list of one
    adds the nearest:

    >>> rows = {"en1": ([1.0, 0.0], "en"), "en2": ([0.9, 0.1], "en"), "ru1": ([0.6, 0.8], "ru")}
    >>> def search(q, n, w, m):
    ...     got = sorted(rows, key=lambda i: -np.dot(q, rows[i][0]))[:n]
    ...     return [(i, float(np.dot(q if m is None else m, rows[i][0]))) for i in got]
    >>> hits = nearest(search, np.array([1.0, 0.0]), 1, None, {"en": 0.9, "ru": 0.6},
    ...                {"en": 2, "ru": 1}, np.array([0.0, 1.0]), lambda i: rows[i][1])
    >>> hits.cosines, hits.bound, hits.bounds
    ({'en1': 1.0, 'en2': 0.9, 'ru1': 0.6}, 0.6, {'en': 0.9, 'ru': 0.6})
    """
    n = pool
    if len(baselines) > 1:
        room = sum(min(pool, rows.get(lang, pool)) for lang in baselines)
        n = max(pool, min(room, DEEPEST * pool))
    if moved is None or len(baselines) < 2:
        got = search(query, n, where, None)
        return Hits(dict(got), min((c for _, c in got), default=0.0), len(got) < n)
    # The moved question's list, and the question's own `pool` nearest (its language's best,
    # which the moved list can rank lower: en/zh same-language hit@1 0.879 without, 0.897 with).
    merged = {**dict(search(moved, n, where, query)), **dict(search(query, pool, where, None))}
    got = sorted(merged.items(), key=lambda item: -item[1])
    hits = Hits(dict(got), min((c for _, c in got), default=0.0), len(got) < n)
    for i, cosine in got:
        lang = language_of(i)
        if lang is not None:
            hits.bounds[lang] = min(hits.bounds.get(lang, cosine), cosine)
    return hits


def centred(
    hits: Hits, baselines: dict[str, float], ids: Sequence[str], languages: np.ndarray
) -> np.ndarray:
    """Each id's cosine lifted by how far its language's baseline sits below the highest, so that
    scores stay on the cosine's scale (and with one language are the cosines). An id the search
    did not return gets the most it can score (`Hits.bound_of` its language).

    >>> hits = Hits({"a": 0.9, "b": 0.7}, 0.65)
    >>> centred(hits, {"en": 0.5, "ru": 0.3}, ["a", "b", "c", "d"],
    ...         np.array(["en", "ru", "en", "ru"], dtype=object)).round(2).tolist()
    [0.9, 0.9, 0.65, 0.85]

    Where a moved query bounded Russian rows lower (nearest), an unseen one gets that:

    >>> hits.bounds["ru"] = 0.5
    >>> centred(hits, {"en": 0.5, "ru": 0.3}, ["d"], np.array(["ru"], dtype=object)).tolist()
    [0.7]
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
