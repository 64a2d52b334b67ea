"""What an upload costs BM25 as the index grows: the index built again (what every refresh did
before segments) against the upload taken as a delta segment, and what the segments change in
the ranking before they are merged.

    python bench/bm25_refresh.py [--passages 20000 100000 1000000] [--data XQUAD_DIR] [--out FILE]

Rows are XQuAD paragraphs (English and Russian), tokenized once by the real tokenizer and
varied per row (each keeps a seeded 80% of its paragraph's tokens), so that a million rows
take minutes, with document frequencies that are not all multiples of one count. Sources are
ten rows each. At each size:
- **build**: Bm25Index.build over every row (tokens at hand, as a refresh has them): the cost
  of a refresh before segments, and of the merge now (done by the reader's saver thread);
- **upload**: one source's ten rows tombstoned (as when it is replaced or deleted) and twenty
  new rows of two new sources, taken as a delta segment (Bm25Index.extended), then a second
  upload on top of the first;
- **query**: BM25 scores of every row for XQuAD questions, one segment against the segments,
  interleaved question by question;
- **agreement**: for the same questions, the top 10 of the segments against the top 10 of
  the merged index (exact by construction): the share of identical top-10 lists, mean
  overlap, the share whose ten best scores agree within 0.1% (rows tied in score may swap, as
  ties break by position), and the largest relative score difference in the merged top 10.
The process's peak RSS is reported with each size (sizes run smallest first). Every size takes
the upload as a delta segment, below SEGMENT_FROM too (where the reader builds again instead), so
that the two costs are side by side at each size.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.retrieval import bm25  # noqa: E402
from assistant.retrieval.bm25 import Bm25Index  # noqa: E402

XQUAD = ROOT / "data" / "xquad"
KEEP = 0.8


def paragraphs_and_questions(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(language, paragraph) pairs and every question, English and Russian."""
    texts: list[tuple[str, str]] = []
    questions: list[str] = []
    for lang in ("en", "ru"):
        data = json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        for art in data["data"]:
            for p in art["paragraphs"]:
                texts.append((lang, p["context"]))
                questions.extend(q["question"] for q in p["qas"])
    return texts, questions


def rows_of(
    n: int, texts: list[tuple[str, str]], seed: Bm25Index, start: int = 0, tag: str = "s"
) -> tuple[list[tuple[str, str, dict[str, Any]]], list[np.ndarray]]:
    """n varied rows (and their tokens, ids of `seed`'s vocabulary), ten per source."""
    rng = np.random.default_rng(start)
    rows, tokens = [], []
    for k in range(start, start + n):
        j = k % len(texts)
        base = seed.tokens[j]
        kept = base[rng.random(len(base)) < KEEP] if len(base) > 3 else base
        sid = f"{tag}{k // 10:07d}"
        meta = {"source_id": sid, "language": texts[j][0], "side": ("a", "b")[k % 2]}
        rows.append((f"{sid}:v1:{k % 10:03d}", "", meta))
        tokens.append(kept)
    return rows, tokens


def with_tokens(
    rows: list[tuple[str, str, dict[str, Any]]], tokens: list[np.ndarray], seed: Bm25Index
) -> Bm25Index:
    """A one-row-per-id 'previous' index whose tokens `build` and `extended` reuse."""
    return Bm25Index(
        [r[0] for r in rows], {}, None, tokens, dict(seed.vocab), {}, {}, np.zeros(0, np.int64)
    )


def top(scores: np.ndarray, k: int = 10) -> list[int]:
    rows = np.argpartition(-scores, k)[:k]
    return [int(i) for i in rows[np.argsort(-scores[rows], kind="stable")] if scores[i] > 0]


def measure(n: int, texts: list[tuple[str, str]], questions: list[str], seed: Bm25Index) -> dict:
    rows, tokens = rows_of(n, texts, seed)
    t = time.perf_counter()
    index = Bm25Index.build(rows, with_tokens(rows, tokens, seed))
    build_s = time.perf_counter() - t

    # Upload k: source k's rows tombstoned and two new sources' rows added (what replacing a
    # source costs: its old rows out, its new ones in); their texts are paragraphs, tokenized
    # in the upload as a refresh tokenizes the rows it reads.
    def upload(index: Bm25Index, k: int) -> tuple[Bm25Index | None, float]:
        new, _ = rows_of(20, texts, seed, start=n + 1000 * k, tag="u")
        new = [
            (pid.replace(":v1:", ":v2:") if j < 10 else pid, texts[(k + j) % len(texts)][1], m)
            for j, (pid, _, m) in enumerate(new)
        ]
        t = time.perf_counter()
        out = index.extended(new, {f"s{k:07d}"})
        return out, time.perf_counter() - t

    first, upload_s = upload(index, 0)
    assert first is not None, "an index this small is built again, not segmented"
    second, upload2_s = upload(first, 1)
    assert second is not None
    live_rows = sorted(
        (pid, "", {k: v[i] for k, v in second.meta.items()}) for pid, i in second.row.items()
    )
    t = time.perf_counter()
    merged = Bm25Index.build(live_rows, second)
    merge_s = time.perf_counter() - t

    asked = questions[:: max(1, len(questions) // 200)][:200]
    times: dict[str, list[float]] = {"one segment": [], "segments": []}
    same, scores_same, overlap, worst = 0, 0, [], 0.0
    for q in asked:
        t = time.perf_counter()
        sm = merged.scores(q, None)
        times["one segment"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        ss = second.scores(q, None)
        times["segments"].append((time.perf_counter() - t) * 1000)
        if sm is None or ss is None:
            continue
        tm = [merged.ids[i] for i in top(sm)]
        ts = [second.ids[i] for i in top(ss)]
        same += tm == ts
        # Rows tied in score may swap between the two orders (ties break by row position).
        scores_same += np.allclose(np.sort(sm)[-10:], np.sort(ss)[-10:], rtol=1e-3)
        overlap.append(len(set(tm) & set(ts)) / max(1, len(tm)))
        for pid in tm:
            a, b = float(ss[second.row[pid]]), float(sm[merged.row[pid]])
            worst = max(worst, abs(a - b) / b)
    return {
        "passages": n,
        "build_s": round(build_s, 3),
        "upload_delta_s": round(upload_s, 3),
        "second_upload_delta_s": round(upload2_s, 3),
        "build_over_upload": round(build_s / upload_s, 1),
        "merge_s": round(merge_s, 3),
        "query_p50_ms_one_segment": round(float(np.median(times["one segment"])), 2),
        "query_p50_ms_segments": round(float(np.median(times["segments"])), 2),
        "questions": len(asked),
        "top10_identical": round(same / len(asked), 3),
        "top10_scores_identical_within_0.1pct": round(scores_same / len(asked), 3),
        "top10_overlap_mean": round(float(np.mean(overlap)), 4),
        "top10_max_relative_score_difference": round(worst, 4),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    ap.add_argument("--data", default=str(XQUAD), help="XQuAD's folder")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bm25_refresh.json"))
    args = ap.parse_args()
    texts, questions = paragraphs_and_questions(Path(args.data))
    bm25.SEGMENT_FROM = 0
    # Every paragraph tokenized once, for real; rows reuse those ids.
    seed = Bm25Index.build(
        [(f"p{i:05d}", t, {"language": lang}) for i, (lang, t) in enumerate(texts)]
    )
    out = []
    for n in sorted(args.passages):
        result = measure(n, texts, questions, seed)
        print(json.dumps(result), flush=True)
        out.append(result)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
