"""Hybrid retrieval: three kinds of evidence about each passage fused into one score, filtered
by side, language and source, and balanced across sides.

1. Passage vectors (Chroma): each passage embedded whole. Its context is what a question
   matches, across languages above all.
2. Best sentence (Chroma): the nearest sentences; a passage counts its best one. Sharp on a
   question that one sentence answers.
3. BM25 over passages (lexical.py): names, numbers, rare words.

Fusion (`Retriever._fuse`): the two cosines are added (one model, one scale); in hybrid mode that
sum and BM25 are standardised over the candidates and BM25 is weighted by the share of the
query's tokens the index knows. Measured on XQuAD (README, bench/xquad.py): the sum beats
reciprocal-rank fusion of the same lists in every direction, because rank fusion throws away how
far apart two passages are, and its flat top let a weak cross-lingual BM25 list reorder them.
Balance: when the relevant pool holds passages from several sides, the final k keeps the best
passages of every side present, so one prolific side cannot crowd the other out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from .embedders import Embedder
from .errors import InvalidRequest
from .filters import Filters
from .lexical import Bm25Index, top
from .relevance import CROSS_LANGUAGE, SAME_LANGUAGE, margin
from .rows import Sentence, parse, passage_of, sentence_ids
from .schema import Passage
from .sources import UNKNOWN
from .store import SourceRecord, Store

# How passages are ranked: fused (the default), vectors alone, or BM25 alone.
SearchMode = Literal["hybrid", "dense", "bm25"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)
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

    def relevant(self) -> list[Passage]:
        """The passages that clear the calibrated relevance threshold themselves."""
        return [p for p in self.passages if p.relevance is not None and p.relevance >= 0]


class Retriever:
    """Searches one store; caches BM25 and the committed-source list until the store changes.

    Every query first reads the store's generation marker (one small Chroma read, ~1 ms), so a
    document added by another process on the same Chroma server is searchable at once.
    `refresh_interval` > 0 trades that for fewer reads.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        refresh_interval: float = 0.0,
        thresholds: tuple[float, float] = (SAME_LANGUAGE, CROSS_LANGUAGE),
    ) -> None:
        """
        Args:
            store: the collections to search.
            embedder: the one the store was built with.
            refresh_interval: seconds between reads of the store's generation marker.
            thresholds: calibrated relevance thresholds (same language, cross-language).
        """
        self.store, self.embedder = store, embedder
        self.thresholds = thresholds
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
        self._checked_embedder = False

    # -- cache ------------------------------------------------------------------------------

    def records(self) -> dict[str, SourceRecord]:
        self.refresh()
        return self._records

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
            self._bm25 = Bm25Index.build(rows)
            self._bm25_rows = {pid: i for i, pid in enumerate(self._bm25.ids)}
            # Filter values are checked against this on every filtered query: computed once here.
            self._languages = sorted(set(self._bm25.meta["language"]))
            self._rows = {r[0]: r for r in rows}
            # (source, version) → sentence position → the first passage holding it, so that a
            # sentence hit needs no metadata from Chroma.
            owners: dict[tuple[str, str], dict[int, str]] = {}
            for pid, _, m in sorted(rows, key=lambda r: -int(r[2].get("n", 0))):
                own = owners.setdefault((str(m["source_id"]), str(m["version"])), {})
                own.update((j, pid) for j in range(int(m["first"]), int(m["last"]) + 1))
            self._owners = owners
            self._records = records
            self._sides = list({**self.store.corpus_info()["sides"], UNKNOWN: ""})
            self._generation = gen

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
        query_language: str = "und",
        sentences: SentenceScope = "none",
    ) -> Retrieval:
        """Rank passages for a query.

        Args:
            query: the question or search words, any language.
            k: how many passages to return.
            filters: sides, languages and sources to keep.
            mode: "hybrid" (default), "dense" or "bm25".
            balance: keep the best passages of every side present in the relevant pool.
            query_language: the query's language, for the relevance margins.
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
        pool = max(3 * k, 24)
        with _timed(timings, "embed_ms"):
            qv = (
                self.embedder.queries([query])[0]
                if mode != "bm25"
                else np.zeros(self.embedder.dim, np.float32)
            )
        dense: dict[str, float] = {}
        best_sentence: dict[str, float] = {}
        hits: list[tuple[str, float]] = []
        if mode != "bm25":
            with _timed(timings, "dense_ms"):
                dense = {
                    pid: sim
                    for pid, sim in self.store.query_passages(qv, pool, filters.where())
                    if pid in self._rows  # committed when the cache was built
                }
                best_sentence, hits = self._sentences(qv, pool, filters)
        lexical: dict[str, float] = {}
        if mode != "dense":
            with _timed(timings, "bm25_ms"):
                lexical = self._lexical(query, pool, filters, [*dense, *best_sentence])
        fused = self._fuse(query, mode, dense, best_sentence, lexical)
        relevance = {
            pid: margin(
                cos, query_language, self._rows[pid][2].get("language", "und"), *self.thresholds
            )
            for pid, cos in dense.items()
        }
        passages = self._ranked(fused, pool, dense, best_sentence, lexical, relevance)
        chosen = balanced(passages, k) if balance else passages[:k]
        found = Retrieval(
            chosen,
            qv,
            max(relevance.values(), default=float("-inf")),
            hits,
            timings,
            self._records,
            self._sides,
        )
        if sentences != "none":
            with _timed(timings, "sentences_ms"):
                of = chosen if sentences == "all" else found.relevant()
                found.sentences = self.store.sentences(sentence_ids(of))
        return found

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

    def _sentences(
        self, qv: np.ndarray, pool: int, filters: Filters
    ) -> tuple[dict[str, float], list[tuple[str, float]]]:
        """Passage id → its best sentence's similarity, and the sentence hits; committed only."""
        best: dict[str, float] = {}
        hits = []
        for sid, sim in self.store.query_sentences(qv, pool, filters.where()):
            row = parse(sid)
            pid = self._owners.get((row.source, row.version), {}).get(row.n)
            if pid is None:  # not committed when the cache was built
                continue
            hits.append((sid, sim))
            if sim > best.get(pid, -1.0):
                best[pid] = sim
        return best, hits

    def _fuse(
        self,
        query: str,
        mode: str,
        dense: dict[str, float],
        best_sentence: dict[str, float],
        lexical: dict[str, float],
    ) -> dict[str, float]:
        """Passage id → fused score, over every passage any list found.

        Dense evidence is the passage's cosine plus its best sentence's: both come from one
        model on one scale, so their sum needs no weights, and unlike a rank fusion it keeps how
        far apart two passages are. A passage missing from one dense list gets that list's
        lowest cosine (its own is no higher). In hybrid mode both evidences are z-scored over the
        candidates and BM25 counts in proportion to the share of the query's tokens the
        index knows (about 1 in the same language, near 0 across languages, where BM25 only
        matches numbers and names). Measured on XQuAD against rank fusion: README.
        """
        if mode == "bm25":
            return dict(lexical)
        floor_p = min(dense.values(), default=0.0)
        floor_s = min(best_sentence.values(), default=0.0)
        ids = list(dict.fromkeys([*dense, *best_sentence, *lexical]))
        semantic = np.array(
            [dense.get(i, floor_p) + best_sentence.get(i, floor_s) for i in ids], np.float64
        )
        if mode == "dense" or not lexical or self._bm25 is None:
            return dict(zip(ids, semantic.tolist(), strict=True))
        words = np.array([lexical.get(i, 0.0) for i in ids], np.float64)
        fused = _z(semantic) + self._bm25.coverage(query) * _z(words)
        return dict(zip(ids, fused.tolist(), strict=True))

    def _lexical(
        self, query: str, pool: int, filters: Filters, candidates: list[str]
    ) -> dict[str, float]:
        """Passage id → BM25 score: the top `pool`, and the exact score of every candidate."""
        index = self._bm25
        if index is None:
            return {}
        mask = None
        for key, vals in filters.fields():
            m = np.isin(index.meta[key], list(vals))
            mask = m if mask is None else mask & m
        scores = index.scores(query, mask)
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


def balanced(passages: list[Passage], k: int, per_side: int = 2) -> list[Passage]:
    """Top k by fused score, but with the best `per_side` passages of each side in the pool.

    Example: pool sides [A, A, A, A, B], k=3 → A, A, B (not A, A, A).
    """
    pool = passages[: 3 * k]
    reserved: list[Passage] = []
    for side in dict.fromkeys(p.side for p in pool):
        reserved.extend([p for p in pool if p.side == side][:per_side])
    reserved = sorted(reserved, key=lambda p: -p.score)[:k]
    ids = {p.id for p in reserved}
    rest = [p for p in passages if p.id not in ids][: max(0, k - len(reserved))]
    return sorted(reserved + rest, key=lambda p: -p.score)
