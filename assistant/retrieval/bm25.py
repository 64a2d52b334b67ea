"""BM25 over the committed passages, via bm25s (sparse-matrix BM25, fast at 100k+ documents).

The tokenizer is what makes BM25 multilingual: bm25s's default pattern turns a whole Chinese
clause into one token. Here runs of CJK characters go through jieba's search-mode segmenter
(its dictionary ships in the package) and everything else is split on Unicode word characters,
so Cyrillic and accented Latin words survive. Stopwords of the languages bm25s knows are removed,
and words are stemmed (PyStemmer's Snowball: Russian for Cyrillic, English for Latin script).
"""

from __future__ import annotations

import re
import threading
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


def _stem(word: str) -> str:
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
            out.append(_stem(word))
    return out


class _Bm25(bm25s.BM25):
    """bm25s, its index built for every row at once with numpy instead of a Python loop per
    row: the same document frequencies, bm25s's own idf and term-frequency scorers and its CSC
    builder, so the same matrix (test_retrieval.py compares them), 4.7× faster at 20k passages
    (bench/results/ingest_reads.json). `build_index_from_ids` is the step bm25s documents as
    the one to override; its helpers are private to bm25s, whose version is pinned for it."""

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
        tokens = np.concatenate([np.asarray(t, np.int64) for t in corpus_token_ids])
        if tokens.size and (tokens.min() < 0 or tokens.max() >= n_vocab):
            # Folded into (row, token) pairs, such an id would count for another pair.
            raise IndexError(f"token ids must be in 0..{n_vocab - 1}")
        # Each (row, token) once, with its count: the term frequencies, row by row.
        pairs, tf = np.unique(
            np.repeat(np.arange(n_docs, dtype=np.int64), lengths) * n_vocab + tokens,
            return_counts=True,
        )
        rows, vocab = np.divmod(pairs, n_vocab)
        df = np.bincount(vocab, minlength=n_vocab)
        idf = np.zeros(n_vocab, dtype=self.dtype)
        held = df > 0
        idf[held] = np.vectorize(_select_idf_scorer(self.idf_method), otypes=[float])(
            df[held], n_docs
        )
        tfc = _select_tfc_scorer(self.method)(
            tf_array=tf.astype(self.dtype),
            l_d=lengths[rows],
            l_avg=lengths.mean(),
            k1=self.k1,
            b=self.b,
            delta=self.delta,
        )
        data, indices, indptr = self._np_csc(
            data=(idf[vocab] * tfc).astype(self.dtype),
            rows=rows.astype(self.int_dtype),
            cols=vocab.astype(self.int_dtype),
            shape=(n_docs, n_vocab),
        )
        return {
            "data": data.astype(self.dtype),
            "indices": indices,
            "indptr": indptr,
            "num_docs": n_docs,
        }


@dataclass
class Bm25Index:
    """A BM25 index over passages, with their metadata as arrays for fast filter masks.

    Each row's tokens are kept as ids of `vocab`, so that the next index (after an upload)
    tokenizes only the rows it has not seen (`build(rows, previous)`); bm25s then indexes the
    ids. The scores are those of an index built from scratch: the same tokens, document
    frequencies and lengths; only the ids' numbering differs.
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

    @classmethod
    def build(
        cls, rows: list[tuple[str, str, dict[str, Any]]], previous: Bm25Index | None = None
    ) -> Bm25Index:
        """The index of `rows`; rows that `previous` holds keep their tokens (not tokenized
        again: a row id names one text of one source version)."""
        if not rows:
            return cls.assembled(rows, None, [], {})
        vocab = dict(previous.vocab) if previous is not None else {}
        known = dict(zip(previous.ids, previous.tokens, strict=True)) if previous else {}
        tokens = [
            known[pid] if pid in known else _token_ids(tokenize(text), vocab)
            for pid, text, _ in rows
        ]
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
        meta = {
            key: np.array([str(r[2].get(key, "")) for r in rows], dtype=object)
            for key in ("source_id", "side", "language", "voice")
        }
        present = {ANY: np.zeros(len(vocab), bool)}
        for lang in dict.fromkeys(meta["language"]):
            held = [t for t, rl in zip(tokens, meta["language"], strict=True) if rl == lang]
            present[lang] = np.zeros(len(vocab), bool)
            present[lang][np.concatenate(held)] = True
            present[ANY] |= present[lang]
        return cls(ids, meta, model, tokens, vocab, present)

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

    def scores(self, query: str, mask: np.ndarray | None) -> np.ndarray | None:
        """The BM25 score of every row for the query (0 where mask is false); None if no tokens.

        Exact for every row, so that fusion can score any candidate, not only the top k.
        """
        if self.model is None:
            return None
        tokens = tokenize(query)
        if not tokens:
            return None
        weight = None if mask is None else mask.astype(np.float32)
        return np.asarray(self.model.get_scores(tokens, weight_mask=weight), np.float32)


def _token_ids(tokens: list[str], vocab: dict[str, int]) -> np.ndarray:
    """The tokens as ids of `vocab`, adding those it lacks."""
    return np.array([vocab.setdefault(t, len(vocab)) for t in tokens], np.int64)


def top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (row, score) with score > 0, best first."""
    k = min(k, len(scores))
    rows = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return [(int(i), float(scores[i])) for i in rows if scores[i] > 0]
