"""Attribution accuracy on data/attribution/claims.jsonl, and how it moves with ELSEWHERE_MARGIN.

    python bench/attribution.py [--index DIR] [--out bench/results/attribution.json]

Builds the bundled index in a temporary folder unless --index names one. Prints, for the
shipped margin and a few others (a sensitivity check, not a fit), the share of supported claims
whose chosen quote is the sentence they paraphrase, of unsupported claims flagged, and of
supported claims flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import assistant.answering.claims as claims  # noqa: E402
from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.attribution import load, measure  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", help="an index of data/corpus (default: build one)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "attribution.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="attribution-") as tmp:
        with Assistant(Settings.resolve(index_path=Path(args.index or tmp))) as a:
            a.ensure_index()
            return run(a, args.out)


def run(a: Assistant, path: str) -> int:
    """Every margin measured on `a`'s index, written to `path`."""
    items = load(ROOT / "data" / "attribution" / "claims.jsonl")
    shipped = claims.ELSEWHERE_MARGIN
    out: dict[str, object] = {}
    for m in (shipped, 0.0, 0.01, 0.05, 1.0):  # 1.0: rule 2 off
        claims.ELSEWHERE_MARGIN = m
        r = measure(a, items)
        if m == shipped:
            out["shipped"] = r
        summary = {k: v for k, v in r.items() if k != "rows"}
        out.setdefault("sensitivity", {})[str(m)] = summary  # type: ignore[index]
        print(f"ELSEWHERE_MARGIN={m}: {json.dumps(summary)}")
    claims.ELSEWHERE_MARGIN = shipped
    Path(path).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
