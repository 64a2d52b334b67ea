"""BM25's delta segments through a sequence of uploads, replacements, relabellings and
deletions: after each, the live rows' document frequencies are exactly those of the rows, every
live row and only those is found, tombstoned rows never score (filtered or not), and the scores
are a build from scratch's within what the base's average length allows; merged, they are that
build's exactly."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from assistant.retrieval import bm25
from assistant.retrieval.bm25 import Bm25Index

WORDS = "japan aid ukraine russia tank war money loan trucks sanction energy gas oil price".split()
QUERIES = ("japan aid", "tank war money", "gas oil price ukraine", "sanction")
Row = tuple[str, str, dict[str, Any]]


def test_segments_follow_every_change_and_merge_to_a_build_from_scratch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bm25, "SEGMENT_FROM", 0)
    monkeypatch.setattr(bm25, "SEGMENT_SHARE", 100.0)
    rng = random.Random(0)

    def doc(sid: str, version: str, n: int, lang: str = "en") -> list[Row]:
        return [
            (
                f"{sid}:{version}:{i:03d}",
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))),
                {"source_id": sid, "side": "a", "language": lang},
            )
            for i in range(n)
        ]

    rows = {r[0]: r for s in range(6) for r in doc(f"s{s}", "v1", 4)}
    index = Bm25Index.build(sorted(rows.values()))

    def relabel(sid: str) -> list[Row]:
        return [(p, r[1], {**r[2], "side": "b"}) for p, r in sorted(rows.items()) if p[:3] == sid]

    steps: list[tuple[str, Any, set[str]]] = [
        ("a new source", lambda: doc("s6", "v1", 3, "fr"), {"s6"}),
        ("a base source replaced", lambda: doc("s1", "v2", 5), {"s1"}),
        ("a base source relabelled", lambda: relabel("s2"), {"s2"}),
        ("a delta source deleted", lambda: [], {"s6"}),
        ("it comes back", lambda: doc("s6", "v2", 2), {"s6"}),
        ("a base source deleted", lambda: [], {"s3"}),
        ("a delta source replaced", lambda: doc("s1", "v3", 2), {"s1"}),
    ]
    for what, make, gone in steps:
        new = make()
        for pid in [p for p, r in rows.items() if r[2]["source_id"] in gone]:
            del rows[pid]
        rows.update((r[0], r) for r in new)
        extended = index.extended(new, gone)
        assert extended is not None and extended.model is index.model, what  # base kept
        index = extended
        scratch = Bm25Index.build(sorted(rows.values()))

        assert index.live is not None and index.df is not None
        assert set(index.row) == set(rows) and index.n_live == len(rows), what
        held = np.zeros(len(index.vocab), np.int64)
        for i in index.row.values():
            held[np.unique(index.tokens[i])] += 1
        assert np.array_equal(index.df, held), what
        for pid, i in index.row.items():
            assert index.ids[i] == pid and index.live[i], what
            assert index.meta["side"][i] == rows[pid][2]["side"], what
        # One matrix over the live rows with the same statistics (the base's average length):
        # the segments' scores are its scores; a build from scratch differs by that length.
        order = sorted(rows)
        same = bm25._Bm25()
        same.stats = (held, len(rows), float(index.lengths[: index.base].mean()))
        same.index(([index.tokens[index.row[p]] for p in order], dict(index.vocab)))
        side_b = np.array([s == "b" for s in index.meta["side"]])
        for query in QUERIES:
            ours, theirs = index.scores(query, None), scratch.scores(query, None)
            assert ours is not None and theirs is not None
            assert not ours[~index.live].any(), (what, query)
            mine = np.array([ours[index.row[p]] for p in order])
            expected = same.get_scores(bm25.tokenize(query))
            assert np.allclose(mine, expected, rtol=1e-5, atol=1e-6), (what, query)
            assert np.allclose(mine, theirs, rtol=0.1), (what, query)
            filtered = index.scores(query, side_b)
            assert filtered is not None and not filtered[~(side_b & index.live)].any()

    merged = Bm25Index.build(sorted(rows.values()), index)
    assert not merged.segmented
    for query in QUERIES:
        a, b = merged.scores(query, None), scratch.scores(query, None)
        assert a is not None and b is not None and np.array_equal(a, b)


def test_a_small_index_or_a_large_change_is_built_again(monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[Row] = [(f"s{i}:v1:000", "japan aid", {"source_id": f"s{i}"}) for i in range(20)]
    index = Bm25Index.build(rows)
    new: list[Row] = [("t:v1:000", "war", {"source_id": "t"})]
    assert index.extended(new, {"t"}) is None  # under SEGMENT_FROM rows: exact, built again
    monkeypatch.setattr(bm25, "SEGMENT_FROM", 0)
    assert index.extended(new, {"t"}) is not None  # 1 row in 20: a delta
    assert index.extended(new, {f"s{i}" for i in range(3)}) is None  # 3 of 20 tombstoned
    many: list[Row] = [(f"t{i}:v1:000", "war", {"source_id": f"t{i}"}) for i in range(3)]
    assert index.extended(many, {f"t{i}" for i in range(3)}) is None  # a delta of 3 in 20
