"""Vector search that is fair across languages: candidates from every language that could rank,
and cosines measured against each language's baseline (centroids.py).

In a pool that mixes languages the rows of another language than the question's sit lower for
their language alone, so a list of `pool` rows can miss the ones that, measured against their own
baseline, belong in the top. `nearest` reads room for `pool` rows of each language measured (at
most DEEPEST times `pool`) in one shared query, so a corpus of one language costs one query of
`pool` rows, as before. With several languages that list is the one nearest the question moved
to the middle of the languages (Centroids.moved), its cosines read as the question's
(MovedQuery.cosine), with the question's own `pool` nearest, both in one Chroma call: the rows
nearest the question are those of its language, and across a far pair (English and Chinese) or
in a large index a list of them holds no other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.store.centroids import MovedQuery

# A vector search, one Chroma call: (query vectors, how many, Chroma where) → for each vector,
# [(row id, cosine)], nearest first.
Search = Callable[[Sequence[np.ndarray], int, dict[str, Any] | None], list[list[tuple[str, float]]]]
# The question moved to the middle of the languages (Centroids.moved), for passages and for
# sentences: None where it cannot be (fewer than two established languages).
Moved = tuple[MovedQuery | None, MovedQuery | None]
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
    # Rows past the list, from the same search gone `depth` rows deep (nearest): whose
    # sentences may count (Retriever._best_sentences), not candidates themselves.
    beyond: list[str] = field(default_factory=list)

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
    moved: MovedQuery | None = None,
    language_of: Callable[[str], str | None] = lambda _: None,
    depth: int = 0,
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
    depends on k). Both lists come from one Chroma call, distances only. The moved list's rows
    are scored by their cosine with the question (`query`) as MovedQuery.cosine reads it from
    their cosine with the moved vector, by their language's mean: reading the rows' vectors
    doubled the call's cost (docs/figures.md, The moved list without the rows' vectors). The
    question's own list's cosines are exact and stand where both lists hold a row. Each
    language's rows that neither list returned are taken to score no more than the lowest of
    its rows in them (`Hits.bounds`: an estimate, as the moved list ranks by another vector).

    Args:
        search: the vector search, of one or more vectors (Chroma's, for passages; over the
            candidate passages' sentences in memory, for sentences: Retriever._best_sentences).
        query: the query vector.
        pool: how many rows a list holds per language.
        where: the caller's filters as a Chroma where (None for none).
        baselines: language → baseline; empty or one language: one list, as a plain search.
        rows: language → how many rows the index holds in it (Centroids.counts).
        moved: the query moved to the middle of the languages; None: the query's own list.
        language_of: a row id → its language (None: not known, or not committed).
        depth: search this many rows deep, in the same call, and give the rows past the list
            in `Hits.beyond` (the list is what a search of its own depth gives, up to the
            approximate index's order).

    >>> seen = []
    >>> _ = nearest(lambda qs, n, w: seen.append(n) or [[]], np.zeros(2), 24, None,
    ...             {"en": 0.8, "fr": 0.7, "pl": 0.7}, {"en": 900, "fr": 300, "pl": 1})
    >>> seen
    [49]

    Two English rows are nearer the question than the Russian one; the moved question's list
    of two holds one of each, its cosines read as the question's from each language's mean
    (English [0.95, 0.05], Russian [0.6, 0.8]: δ·μ is -0.9 and 0.2), and the question's own
    list of one adds the nearest. en2's exact cosine is 0.9: it sits off its language's mean
    along δ, and that is the estimate's error:

    >>> rows = {"en1": ([1.0, 0.0], "en"), "en2": ([0.9, 0.1], "en"), "ru1": ([0.6, 0.8], "ru")}
    >>> def search(qs, n, w):
    ...     return [[(i, float(np.dot(q, rows[i][0])))
    ...              for i in sorted(rows, key=lambda i: -np.dot(q, rows[i][0]))[:n]] for q in qs]
    >>> moved = MovedQuery(np.array([0.0, 1.0]), 1.0, {"en": -0.9, "ru": 0.2}, 0.0)
    >>> hits = nearest(search, np.array([1.0, 0.0]), 1, None, {"en": 0.9, "ru": 0.6},
    ...                {"en": 2, "ru": 1}, moved, lambda i: rows[i][1])
    >>> {i: round(c, 2) for i, c in hits.cosines.items()}, round(hits.bounds["ru"], 2)
    ({'en2': 1.0, 'en1': 1.0, 'ru1': 0.6}, 0.6)
    """
    n = pool
    if len(baselines) > 1:
        room = sum(min(pool, rows.get(lang, pool)) for lang in baselines)
        n = max(pool, min(room, DEEPEST * pool))
    if moved is None or len(baselines) < 2:
        every = search([query], max(n, depth), where)[0]
        got = every[:n]
        return Hits(
            dict(got), min((c for _, c in got), default=0.0), len(got) < n,
            beyond=[i for i, _ in every[n:]],
        )  # fmt: skip
    # The moved question's list, and the question's own nearest (its language's best, which the
    # moved list can rank lower: en/zh same-language hit@1 0.879 without, 0.897 with), in one
    # call. The moved list's cosines are read as the question's (MovedQuery.cosine); the
    # question's own list's are exact, and stand where both hold a row.
    far_all, near_all = search([moved.vector, query], max(n, depth), where)
    far, near = far_all[:n], near_all[:pool]
    langs = {i: language_of(i) for i, _ in (*far, *near)}
    merged = {i: moved.cosine(c, langs[i]) for i, c in far}
    merged.update(near)
    got = sorted(merged.items(), key=lambda item: -item[1])
    hits = Hits(dict(got), min((c for _, c in got), default=0.0), len(got) < n)
    hits.beyond = [i for i in dict.fromkeys(i for i, _ in (*far_all, *near_all)) if i not in merged]
    for i, cosine in got:
        lang = langs[i]
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
    lift, cosines = _lifts(baselines), hits.cosines
    return np.array(
        [
            (cosines[i] if i in cosines else hits.bound_of(lang)) + lift(lang)
            for i, lang in zip(ids, languages, strict=True)
        ],
        np.float64,
    )


def _lifts(baselines: dict[str, float]) -> Callable[[str], float]:
    """Language → how far its baseline sits below the highest (0 for a language without one)."""
    top = max(baselines.values(), default=0.0)
    return lambda language: top - baselines.get(language, top)
