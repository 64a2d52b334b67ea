"""Score fusion: a passage's dense evidence (its cosine and its best sentence's, each measured
against its language's baseline) and its BM25 score, in one score on the cosine's scale.
"""

from __future__ import annotations

import numpy as np

from assistant.ingest.language import UNDETERMINED

from .bm25 import top
from .fairness import Hits, centred
from .filters import Filters
from .snapshot import Snapshot


def fuse(
    snap: Snapshot,
    query: str,
    mode: str,
    passages: Hits,
    best_sentence: Hits,
    lexical: dict[str, float],
    base_p: dict[str, float],
    base_s: dict[str, float],
    fair: bool = True,
    held: tuple[str, float] = ("", 0.0),
) -> dict[str, float]:
    """Passage id → fused score, over every passage any list found.

    Dense evidence is the passage's cosine plus its best sentence's, each measured against
    its language's baseline (fairness.centred): both come from one model on one scale, so
    their sum needs no weights, and unlike a rank fusion it keeps how far apart two
    passages are. A passage missing from one dense list gets the most it could score there
    (the lowest cosine of that list, or of its language's rows a moved query read:
    `Hits.bound_of`).

    In hybrid mode, within each language, both evidences are z-scored over that language's
    candidates and BM25's is added in proportion to the share of the query's tokens the
    language's passages know (about 1 in the query's language, near 0 in another, where
    BM25 only matches numbers and names). That hybrid score orders the language's passages,
    and they take the language's dense scores in that order: BM25 reorders a language's
    passages but cannot lift them above another language's, and with one language the
    ranking is the hybrid one. `fair=False` ranks as before fairness (Retriever(fair=False)).
    Measured on XQuAD against rank fusion and in mixed-language pools: docs/figures.md.

    `held`: the question's language and how far its baselines were raised past its centroid's
    (the calibrated same/cross gap, centroids.py). A passage of that language holding every
    word of the question (one word or many) is measured against its centroid alone, when fewer than
    half of the language's dense candidates hold them all: the gap stands
    in for what a same-language cosine gains from the language, and such a passage shows on its
    words that it is on the question (a keyword search, "tarif réduit artisans", ranked the one
    French document holding all three words below English ones that hold none).

    >>> from assistant.retrieval.bm25 import Bm25Index
    >>> from assistant.store.centroids import Centroids
    >>> rows = {i: (i, "", {"language": i[:2]}) for i in ("en1", "en2", "en3", "ru1")}
    >>> bm25 = Bm25Index.build([(i, t, {"language": "en"}) for i, t in
    ...                         (("en1", "x"), ("en2", "Lyon libraries"), ("en3", "y"))])
    >>> snap = Snapshot(None, {}, rows, {}, {}, bm25, {}, [], set(), [], Centroids({}, 2))
    >>> dense = Hits({"en1": 0.86, "en2": 0.84, "en3": 0.80, "ru1": 0.9})
    >>> fused = fuse(snap, "Lyon libraries", "hybrid", dense, Hits(), {"en2": 5.0}, {}, {})
    >>> {i: round(v, 2) for i, v in fused.items()}  # BM25 swaps en1 and en2, nothing else
    {'en1': 0.84, 'en2': 0.86, 'en3': 0.8, 'ru1': 0.9}

    """
    if mode == "bm25":
        return dict(lexical)
    # In id order: ties (the same text under several sources) then resolve the same way
    # whatever order the lists came in, which differs between a snapshot read from the store
    # and one kept on disk.
    ids = sorted({*passages.cosines, *best_sentence.cosines, *lexical})
    langs = np.array([snap.language(i) or UNDETERMINED for i in ids], dtype=object)
    semantic = centred(passages, base_p, ids, langs) + centred(best_sentence, base_s, ids, langs)
    if mode == "dense" or not lexical or snap.bm25 is None:
        return dict(zip(ids, semantic.tolist(), strict=True))
    words = np.array([lexical.get(i, 0.0) for i in ids], np.float64)
    if not fair:  # as before fairness: one standardisation over every candidate
        fused = _z(semantic) + snap.bm25.coverage(query) * _z(words)
        return dict(zip(ids, fused.tolist(), strict=True))
    fused = semantic.copy()
    for lang in dict.fromkeys(langs):
        of = np.flatnonzero(langs == lang)
        hybrid = _z(semantic[of]) + snap.bm25.coverage(query, lang) * _z(words[of])
        # The language keeps its dense scores; BM25 decides which of its passages gets which.
        fused[of[np.argsort(-hybrid, kind="stable")]] = np.sort(semantic[of])[::-1]
    out = dict(zip(ids, fused.tolist(), strict=True))
    own, gap = held
    if gap > 0:
        # Passages with a cosine of their own (not a list's bound), of the question's language.
        mine = [
            i for i, lang in zip(ids, langs, strict=True) if lang == own and i in passages.cosines
        ]
        holding = snap.bm25.holding_every_term(query, mine)
        # Words most of the language's candidates hold (a topical query over a corpus on that
        # topic) tell none of them apart: lifting them all would undo the gap for the language.
        if 2 * len(holding) < len(mine):
            for i in holding:
                out[i] += gap
    return out


def bm25_scores(
    snap: Snapshot, query: str, pool: int, filters: Filters, candidates: list[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """BM25's top `pool` passages (id → score), and the exact score of every candidate."""
    index = snap.bm25
    if index is None:
        return {}, {}
    scores = index.scores(query, snap.mask(filters))
    if scores is None:
        return {}, {}
    exact = {}
    for pid in candidates:
        row = snap.bm25_rows.get(pid)
        if row is not None:
            exact[pid] = float(scores[row])
    return {index.ids[i]: s for i, s in top(scores, pool)}, exact


def _z(x: np.ndarray) -> np.ndarray:
    """Standard scores; all zeros when the values do not vary."""
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)
