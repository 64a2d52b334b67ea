"""BM25 over the committed passages, via bm25s (sparse-matrix BM25, fast at 100k+ documents).

The tokenizer is what makes BM25 multilingual: bm25s's default pattern turns a whole Chinese
clause into one token. Here runs of CJK characters go through jieba's search-mode segmenter
(its dictionary ships in the package) and everything else is split on Unicode word characters,
so Cyrillic and accented Latin words survive. Stopwords of the languages bm25s knows are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import bm25s
import numpy as np

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_PIECES = re.compile(rf"([{_CJK}]+)|([^\W{_CJK}]+)", re.UNICODE)


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


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; CJK runs segmented by jieba.

    >>> tokenize("Où Kaneko a-t-il été blessé ? 日本的军费预算")
    ['où', 'kaneko', 'blessé', '日本', '军费', '预算']
    """
    stop = _stopwords()
    out: list[str] = []
    for cjk, word in _PIECES.findall(text.lower()):
        if cjk:
            out.extend(t for t in _jieba().lcut_for_search(cjk) if t not in stop)
        elif word not in stop:
            out.append(word)
    return out


@dataclass
class Bm25Index:
    """A BM25 index over passages, with their metadata as arrays for fast filter masks."""

    ids: list[str]
    meta: dict[str, np.ndarray]
    model: bm25s.BM25 | None

    @classmethod
    def build(cls, rows: list[tuple[str, str, dict[str, Any]]]) -> Bm25Index:
        ids = [r[0] for r in rows]
        meta = {
            key: np.array([str(r[2].get(key, "")) for r in rows], dtype=object)
            for key in ("source_id", "side", "language", "voice")
        }
        if not rows:
            return cls(ids, meta, None)
        corpus = [tokenize(r[1]) for r in rows]
        model = bm25s.BM25()
        model.index(corpus, show_progress=False)
        return cls(ids, meta, model)

    def search(self, query: str, k: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """Top-k (row, score) with score > 0, only among rows where mask is true."""
        if self.model is None or k <= 0:
            return []
        tokens = tokenize(query)
        if not tokens:
            return []
        k = min(k, len(self.ids))
        weight = None if mask is None else mask.astype(np.float32)
        docs, scores = self.model.retrieve(
            [tokens], k=k, show_progress=False, weight_mask=weight, n_threads=0
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
