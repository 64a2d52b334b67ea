"""BM25 over the committed passages, via bm25s (sparse-matrix BM25, fast at 100k+ documents).

The tokenizer is what makes BM25 multilingual: bm25s's default pattern turns a whole Chinese
clause into one token. Here runs of CJK characters go through jieba's search-mode segmenter
(its dictionary ships in the package) and everything else is split on Unicode word characters,
so Cyrillic and accented Latin words survive. Stopwords of the languages bm25s knows are removed,
and words are stemmed (PyStemmer's Snowball: Russian for Cyrillic, English for Latin script).

A large index takes an upload as a delta segment (Bm25Index.extended), as Lucene does: the base's
matrix stays, the rows of replaced or deleted sources are tombstoned, the new rows get a small
bm25s matrix of their own, and each query term's base scores are rescaled to the idf of the rows
now live. So an upload costs the size of the upload, not of the index. Until the segments are
merged (Bm25Index.build, done by the retriever's background thread), two things are as the base
left them: the average passage length in the term-frequency part, and which tokens a language
holds (coverage may count a token only a deleted passage had).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import bm25s
import numpy as np
from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

from assistant.ingest.language import CJK_RANGES

_PIECES = re.compile(rf"([{CJK_RANGES}]+)|([^\W{CJK_RANGES}]+)", re.UNICODE)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    import bm25s.stopwords as sw

    words: set[str] = set()
    for name in (
        "STOPWORDS_EN",
        "STOPWORDS_FRENCH",
        "STOPWORDS_RUSSIAN",
        "STOPWORDS_CHINESE",
        "STOPWORDS_GERMAN",
        "STOPWORDS_SPANISH",
        "STOPWORDS_ITALIAN",
        "STOPWORDS_PORTUGUESE",
    ):
        words.update(getattr(sw, name, ()))
    return frozenset(w.lower() for w in words)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)  # it logs its dictionary load at INFO
    jieba.initialize()
    return jieba


# The key of the tokens of every language in Bm25Index.present (no language code has it).
ANY = "*"
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_local = threading.local()
# An index of at least this many rows takes an upload as a delta segment; a smaller one is built
# again (under a second: bench/results/bm25_refresh.json), so small indexes stay exact.
SEGMENT_FROM = 20_000
# A delta segment, or the base rows tombstoned, past this share of the base: built again.
SEGMENT_SHARE = 0.1


def stem(word: str) -> str:
    """Snowball stem by script: Russian for Cyrillic words, English for the rest.

    Stemming matters most for Russian, whose inflections otherwise split one word into many
    BM25 terms (measured on XQuAD-ru, docs/figures.md). Other Latin-script languages get the English
    stemmer's suffix rules: imperfect, but applied alike to questions and passages.
    PyStemmer objects are not thread-safe, hence one pair per thread.
    """
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        import Stemmer

        stemmers = _local.stemmers = (Stemmer.Stemmer("russian"), Stemmer.Stemmer("english"))
    return stemmers[0 if _CYRILLIC.search(word) else 1].stemWord(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens; CJK runs segmented by jieba.

    >>> tokenize("Où Kaneko a-t-il été blessé ? Украине 日本的军费预算")
    ['où', 'kaneko', 'blessé', 'украин', '日本', '军费', '预算']
    """
    stop = _stopwords()
    out: list[str] = []
    for cjk, word in _PIECES.findall(text.lower()):
        if cjk:
            out.extend(t for t in _jieba().lcut_for_search(cjk) if t not in stop)
        elif word not in stop:
            out.append(stem(word))
    return out


class _Bm25(bm25s.BM25):
    """bm25s, its index built for every row at once with numpy instead of a Python loop per
    row: the same document frequencies, bm25s's own idf and term-frequency scorers and its CSC
    builder, so the same matrix (test_retrieval.py compares them), 4.7× faster at 20k passages
    (bench/results/ingest_reads.json). `build_index_from_ids` is the step bm25s documents as
    the one to override; its helpers are private to bm25s, whose version is pinned for it.

    `stats` (document frequency by token id, document count, average length), when given, are
    the collection's instead of these rows' own: a delta segment's rows are then scored as
    rows of the whole index."""

    stats: tuple[np.ndarray, int, float] | None = None

    def build_index_from_ids(
        self,
        unique_token_ids: list[int],
        corpus_token_ids: list[Any],
        show_progress: bool = True,
        leave_progress: bool = False,
    ) -> dict[str, Any]:
        if self.method in self.methods_requiring_nonoccurrence or not len(corpus_token_ids):
            return dict(
                super().build_index_from_ids(
                    unique_token_ids, corpus_token_ids, show_progress, leave_progress
                )
            )
        self.nonoccurrence_array = None
        n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
        lengths = np.fromiter(map(len, corpus_token_ids), np.int64, n_docs)
        # Each (row, token) once, with its count: the term frequencies, row by row. Found a
        # block of rows at a time, so that the temporaries (every token, folded with its row,
        # and np.unique's sorted copy: over a GB each at a million passages) stay a block's.
        found = [_pairs(corpus_token_ids, lengths, a, n_vocab) for a in range(0, n_docs, BLOCK)]
        rows, vocab, tf = (np.concatenate(part) for part in zip(*found, strict=True))
        del found
        df, n_all, l_avg = np.bincount(vocab, minlength=n_vocab), n_docs, lengths.mean()
        if self.stats is not None:
            df, n_all, l_avg = self.stats
            df = np.pad(df, (0, max(0, n_vocab - len(df))))[:n_vocab]
        idf = np.zeros(n_vocab, dtype=self.dtype)
        held = df > 0
        idf[held] = np.vectorize(_select_idf_scorer(self.idf_method), otypes=[float])(
            df[held], n_all
        )
        tfc = _select_tfc_scorer(self.method)(
            tf_array=tf.astype(self.dtype),
            l_d=lengths[rows],
            l_avg=l_avg,
            k1=self.k1,
            b=self.b,
            delta=self.delta,
        )
        data, indices, indptr = self._np_csc(
            data=(idf[vocab] * tfc).astype(self.dtype),
            rows=rows.astype(self.int_dtype, copy=False),
            cols=vocab.astype(self.int_dtype, copy=False),
            shape=(n_docs, n_vocab),
        )
        return {
            "data": data.astype(self.dtype),
            "indices": indices,
            "indptr": indptr,
            "num_docs": n_docs,
        }


# Rows a block when a matrix is built (_Bm25): its temporaries are a block's.
BLOCK = 65_536


def _pairs(
    corpus: list[Any], lengths: np.ndarray, a: int, n_vocab: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows a..a+BLOCK's (row, token) pairs, each once, in order, with their counts:
    rows, tokens and counts as int32 (a row, a token id and a count all fit)."""
    part = corpus[a : a + BLOCK]
    tokens = np.concatenate([np.asarray(t, np.int64) for t in part])
    if tokens.size and (tokens.min() < 0 or tokens.max() >= n_vocab):
        # Folded into (row, token) pairs, such an id would count for another pair.
        raise IndexError(f"token ids must be in 0..{n_vocab - 1}")
    folded = np.repeat(np.arange(a, a + len(part), dtype=np.int64), lengths[a : a + len(part)])
    folded *= n_vocab
    folded += tokens
    pairs, counts = np.unique(folded, return_counts=True)
    rows, vocab = np.divmod(pairs, n_vocab)
    return rows.astype(np.int32), vocab.astype(np.int32), counts.astype(np.int32)


@dataclass
class Bm25Index:
    """A BM25 index over passages, with their metadata as arrays for fast filter masks.

    Each row's tokens are kept as ids of `vocab`, so that the next index (after an upload)
    tokenizes only the rows it has not seen (`build(rows, previous)`); bm25s then indexes the
    ids. The scores are those of an index built from scratch: the same tokens, document
    frequencies and lengths; only the ids' numbering differs.

    Rows are positions: those of `model` (the base) first, then those of `delta`. A row of the
    base whose source was replaced or deleted stays in place, tombstoned (`live`), until the
    next build.
    """

    ids: list[str]
    meta: dict[str, np.ndarray]
    model: bm25s.BM25 | None
    # Each row's tokens, as ids of `vocab`.
    tokens: list[np.ndarray] = field(default_factory=list)
    # Token → id: this index's own copy, never changed once built (queries read it).
    vocab: dict[str, int] = field(default_factory=dict)
    # Language → which ids of `vocab` its passages hold (ANY → those of any language).
    present: dict[str, np.ndarray] = field(default_factory=dict)
    # Passage id → its position, for live rows.
    row: dict[str, int] = field(default_factory=dict)
    # Each row's length in tokens.
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # The delta segment (rows after the base's), its live rows' document frequencies by token
    # id and their count, and which rows are live (None: all of them, no delta).
    delta: bm25s.BM25 | None = None
    df: np.ndarray | None = None
    n_live: int = 0
    live: np.ndarray | None = None

    @property
    def base(self) -> int:
        """How many rows the base matrix holds."""
        return 0 if self.model is None else int(self.model.scores["num_docs"])

    @property
    def segmented(self) -> bool:
        """Whether it holds a delta segment or tombstones (a build merges them)."""
        return self.live is not None

    @classmethod
    def build(
        cls, rows: list[tuple[str, str, dict[str, Any]]], previous: Bm25Index | None = None
    ) -> Bm25Index:
        """The index of `rows`, one segment; rows that `previous` holds keep their tokens (not
        tokenized again: a row id names one text of one source version)."""
        if not rows:
            return cls.assembled(rows, None, [], {})
        vocab = dict(previous.vocab) if previous is not None else {}
        known = dict(zip(previous.ids, previous.tokens, strict=True)) if previous else {}
        tokens = _tokens_of(rows, known, vocab)
        model = _Bm25()
        # bm25s adds its empty token to the vocabulary it is given: a copy, so ours stays.
        model.index((tokens, dict(vocab)), show_progress=False)
        return cls.assembled(rows, model, tokens, vocab)

    @classmethod
    def assembled(
        cls,
        rows: list[tuple[str, str, dict[str, Any]]],
        model: bm25s.BM25 | None,
        tokens: list[np.ndarray],
        vocab: dict[str, int],
    ) -> Bm25Index:
        """The index of rows whose tokens and bm25s model are at hand (built, or loaded)."""
        ids = [r[0] for r in rows]
        meta = _meta(rows)
        present = _present(tokens, meta["language"], len(vocab), {})
        lengths = np.fromiter(map(len, tokens), np.int64, len(tokens))
        row = {pid: i for i, pid in enumerate(ids)}
        return cls(ids, meta, model, tokens, vocab, present, row, lengths)

    def extended(
        self, new: list[tuple[str, str, dict[str, Any]]], gone: set[str]
    ) -> Bm25Index | None:
        """This index with the rows of the sources `gone` tombstoned and `new` rows added, in a
        delta segment; None when a build is due instead (a small index, or a delta or
        tombstones past SEGMENT_SHARE of the base)."""
        base = self.base
        if self.model is None or base < SEGMENT_FROM:
            return None
        sources = self.meta["source_id"]
        live = np.ones(len(self.ids), bool) if self.live is None else self.live.copy()
        dead = [i for i, sid in enumerate(sources) if sid in gone and live[i]]
        live[dead] = False
        kept = [i for i in range(base, len(self.ids)) if live[i]]
        n_delta = len(kept) + len(new)
        if n_delta > SEGMENT_SHARE * base or base - live[:base].sum() > SEGMENT_SHARE * base:
            return None
        vocab = dict(self.vocab)
        rows = sorted(
            [(self.ids[i], "", _meta_of(self.meta, i)) for i in kept] + new, key=lambda r: r[0]
        )
        known = {self.ids[i]: self.tokens[i] for i in kept}
        delta_tokens = _tokens_of(rows, known, vocab)
        # The live rows' document frequencies: the last ones (the base's, from its matrix: a
        # column's entries are its rows), less the rows tombstoned now, plus the new rows'.
        if self.df is None:
            df = np.diff(np.asarray(self.model.scores["indptr"])).astype(np.int64)
        else:
            df = self.df.copy()
        df = np.pad(df, (0, len(vocab) - len(df)))
        df -= _df([self.tokens[i] for i in dead], len(vocab))
        added = [t for t, r in zip(delta_tokens, rows, strict=True) if r[0] not in known]
        df += _df(added, len(vocab))
        n_live = int(live[:base].sum()) + n_delta
        model = None
        if rows:
            model = _Bm25()
            model.stats = (df, n_live, float(self.lengths[:base].mean()))
            model.index((delta_tokens, dict(vocab)), show_progress=False)

        ids = self.ids[:base] + [r[0] for r in rows]
        delta_meta = _meta(rows)
        meta = {k: np.concatenate([v[:base], delta_meta[k]]) for k, v in self.meta.items()}
        tokens = self.tokens[:base] + delta_tokens
        row = dict(self.row)
        for i in dead + kept:
            row.pop(self.ids[i], None)
        row.update((pid, base + j) for j, (pid, _, _) in enumerate(rows))
        present = _present(delta_tokens, delta_meta["language"], len(vocab), self.present)
        lengths = np.concatenate(
            [self.lengths[:base], np.fromiter(map(len, delta_tokens), np.int64)]
        )
        live = np.concatenate([live[:base], np.ones(len(rows), bool)])
        return Bm25Index(
            ids, meta, self.model, tokens, vocab, present, row, lengths, model, df, n_live, live
        )

    def coverage(self, query: str, language: str | None = None) -> float:
        """Share of the query's tokens that occur in the indexed text, or in the passages of
        one language (0 to 1).

        A Russian question over English passages shares almost no tokens with them, so its BM25
        ranking is noise; retrieval weighs the BM25 list by this share.

        >>> index = Bm25Index.build([("p", "Japan sent trucks", {"language": "en"})])
        >>> index.coverage("Japan sent tanks"), index.coverage("Japan sent tanks", "fr")
        (0.6666666666666666, 0.0)
        """
        tokens = tokenize(query)
        if self.model is None or not tokens:
            return 0.0
        held = self.present.get(ANY if language is None else language)
        if held is None:
            return 0.0
        found = [self.vocab.get(t) for t in tokens]
        return sum(i is not None and bool(held[i]) for i in found) / len(tokens)

    def holding_every_term(self, query: str, ids: Iterable[str]) -> set[str]:
        """The ids among `ids` whose row holds every distinct token of the query, each known
        to the index; tokens as BM25 reads them, stopwords dropped, so "Qui est Kaneko ?" is
        one token (a one-word keyword search too: "осетровых" over a mixed pool ranked the
        one Russian passage holding it tenth; the caller lifts such passages only when few of
        their language's candidates hold the words, fusion.fuse).

        >>> index = Bm25Index.build([(p, t, {"language": "fr"}) for p, t in
        ...     (("a", "un tarif réduit pour les artisans"), ("b", "le tarif des taxis"))])
        >>> index.holding_every_term("tarif réduit artisans", ["a", "b"])
        {'a'}
        """
        wanted = {self.vocab.get(t) for t in tokenize(query)}
        if not wanted or None in wanted:
            return set()
        rows = [(i, r) for i in ids if (r := self.row.get(i)) is not None]
        if not rows:
            return set()
        # All candidates' tokens in one array: each (candidate, wanted token) pair counted once.
        parts = [self.tokens[r] for _, r in rows]
        flat = np.concatenate(parts)
        owner = np.repeat(np.arange(len(parts)), np.fromiter(map(len, parts), np.int64))
        hit = np.isin(flat, np.fromiter(wanted, np.int64))
        width = len(self.vocab) + 1  # a (candidate, token) pair as one number
        pairs = np.unique(owner[hit] * width + flat[hit])
        held = np.bincount(pairs // width, minlength=len(parts))
        return {rows[k][0] for k in np.flatnonzero(held == len(wanted))}

    def scores(self, query: str, mask: np.ndarray | None) -> np.ndarray | None:
        """The BM25 score of every row for the query (0 where mask is false or the row is
        tombstoned); None if no tokens.

        Exact for every row, so that fusion can score any candidate, not only the top k.
        """
        if self.model is None:
            return None
        tokens = tokenize(query)
        if not tokens:
            return None
        if self.live is None:
            weight = None if mask is None else mask.astype(np.float32)
            return np.asarray(self.model.get_scores(tokens, weight_mask=weight), np.float32)
        weight = (self.live if mask is None else self.live & mask).astype(np.float32)
        base, ids = self.base, [self.vocab[t] for t in tokens if t in self.vocab]
        assert self.df is not None  # segmented
        matrix = self.model.scores
        indptr = matrix["indptr"]
        idf = _select_idf_scorer(self.model.idf_method)
        out = np.zeros(len(self.ids), np.float32)
        # The base's columns of the query's terms, each from its idf to the live rows' (the
        # same term frequencies), summed in one pass.
        terms = [(i, int(indptr[i]), int(indptr[i + 1])) for i in ids if i < len(indptr) - 1]
        terms = [(i, s, e) for i, s, e in terms if e > s]  # a column's entries are its rows
        if terms:
            rows = np.concatenate([matrix["indices"][s:e] for _, s, e in terms])
            weights = np.concatenate(
                [
                    matrix["data"][s:e] * (idf(self.df[i], self.n_live) / idf(e - s, base))
                    for i, s, e in terms
                ]
            )
            out[:base] = np.bincount(rows, weights=weights, minlength=base)
        if ids and self.delta is not None:
            out[base:] = self.delta.get_scores_from_ids(ids)
        return out * weight


def _meta(rows: list[tuple[str, str, dict[str, Any]]]) -> dict[str, np.ndarray]:
    """The filterable metadata of rows, as one array per field."""
    return {
        key: np.array([str(r[2].get(key, "")) for r in rows], dtype=object)
        for key in ("source_id", "side", "language", "voice")
    }


def _meta_of(meta: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    return {key: values[i] for key, values in meta.items()}


def _present(
    tokens: list[np.ndarray],
    languages: np.ndarray,
    n_vocab: int,
    previous: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Language → which token ids its rows hold (ANY: any language's), added to `previous`."""
    present = {k: np.pad(v, (0, n_vocab - len(v))) for k, v in previous.items()}
    present.setdefault(ANY, np.zeros(n_vocab, bool))
    for lang in dict.fromkeys(languages):
        held = [t for t, rl in zip(tokens, languages, strict=True) if rl == lang]
        present.setdefault(lang, np.zeros(n_vocab, bool))[np.concatenate(held)] = True
        present[ANY] |= present[lang]
    return present


def _df(tokens: list[np.ndarray], n_vocab: int) -> np.ndarray:
    """How many of the rows hold each token id."""
    if not tokens:
        return np.zeros(n_vocab, np.int64)
    return np.bincount(np.concatenate([np.unique(t) for t in tokens]), minlength=n_vocab)


def _tokens_of(
    rows: list[tuple[str, str, dict[str, Any]]],
    known: dict[str, np.ndarray],
    vocab: dict[str, int],
) -> list[np.ndarray]:
    """Each row's tokens as ids of `vocab`: those `known` by row id as they are, the rest
    tokenized (a row id names one text of one source version)."""
    return [
        known[pid] if pid in known else _token_ids(tokenize(text), vocab) for pid, text, _ in rows
    ]


def _token_ids(tokens: list[str], vocab: dict[str, int]) -> np.ndarray:
    """The tokens as ids of `vocab`, adding those it lacks (int32: a vocabulary is far under
    2**31 words, and every row's ids are held, 0.4 GB at a million passages)."""
    return np.array([vocab.setdefault(t, len(vocab)) for t in tokens], np.int32)


def top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (row, score) with score > 0, best first; of equal scores, the first rows.

    >>> top(np.array([0.0, 2.0, 1.0, 2.0, 0.5], np.float32), 2)
    [(1, 2.0), (3, 2.0)]
    >>> top(np.array([0.0, 1.0, 1.0, 1.0], np.float32), 2)
    [(1, 1.0), (2, 1.0)]
    """
    # Among the rows that hold a word of the question only: at a few hundred thousand rows,
    # partitioning every row's score cost a few milliseconds a question, most of them zeros.
    rows = np.flatnonzero(scores >= _floor(scores, k))
    if k < len(rows):
        values = scores[rows]
        bar = np.partition(values, len(values) - k)[len(values) - k]  # the k-th best score
        above, at = rows[values > bar], rows[values == bar]
        rows = np.concatenate([above, at[: k - len(above)]])  # rows stay in order: ties by row
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return [(int(i), float(scores[i])) for i in rows]


# Every this-many-th row's score is sampled for a floor under the k-th best (_floor).
_SAMPLED = 8


def _floor(scores: np.ndarray, k: int) -> float:
    """A score the k-th best row reaches (the smallest positive score where none is known): at
    1M rows a question's words are in 50,000 to 280,000 of them, and partitioning all their
    scores took 1 ms of top's 2; the k-th best of a sample of rows is reached by k rows of the
    sample, so by the k-th best of all, and few rows reach it (top: 2.0 -> 0.75 ms a question
    at 1M, the same rows; docs/figures.md).

    >>> _floor(np.arange(0, 400_000, dtype=np.float32), 3)
    399976.0
    >>> 0 < _floor(np.array([0.0, 2.0, 1.0], np.float32), 2) < 1e-44  # every positive score
    True
    """
    smallest = float(np.nextafter(np.float32(0), np.float32(1)))
    if k < 1 or len(scores) < 64 * _SAMPLED * k:  # small: the sample would not pay
        return smallest
    sample = scores[::_SAMPLED]
    sample = sample[sample > 0]
    if len(sample) < k:
        return smallest
    return max(float(np.partition(sample, len(sample) - k)[len(sample) - k]), smallest)
