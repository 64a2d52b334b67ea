"""Suggested-side accuracy, each labelled source left out in turn (evaluation/suggestions.py).

    .venv/bin/python bench/suggestions.py            # writes bench/results/suggestions.json

Markers only: no LLM runs here. Pass --llm-base-url/--llm-model to score an LLM's proposals
too (any OpenAI-compatible server).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.answering.generative import make_llm
from assistant.config import REPO_ROOT
from assistant.evaluation.suggestions import leave_one_out

SETS = {
    "bundled": REPO_ROOT / "data" / "corpus",
    "contested": REPO_ROOT / "data" / "contested" / "corpus",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--llm-base-url")
    p.add_argument("--llm-model", default="default")
    p.add_argument("--out", default=str(REPO_ROOT / "bench" / "results" / "suggestions.json"))
    args = p.parse_args()
    llm = make_llm(args.llm_base_url, args.llm_model, None, 120) if args.llm_base_url else None
    results = {
        name: leave_one_out(folder, llm, REPO_ROOT / "prompts") for name, folder in SETS.items()
    }
    for name, r in results.items():
        n = len(r["sources"])
        print(
            f"{name:<10} {n:>3} sources: {r['correct']} correct, {r['wrong']} wrong, "
            f"{r['none']} no suggestion"
        )
        for row in r["sources"]:
            if row["outcome"] != "none":
                quotes = ", ".join(f"“{e['quote']}”" for e in row["evidence"][:4])
                print(
                    f"  {row['id']}: {row['side']} → {row['suggested']} ({row['outcome']}) {quotes}"
                )
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
