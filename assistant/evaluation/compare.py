"""Compare two evaluation runs: per-metric and per-question differences.

assistant eval-compare runs/a runs/b
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import InvalidRequest

from .metrics import METRICS, SUMMARY_KEYS
from .results import Result


def _load(run: Path) -> tuple[dict[str, Any], dict[str, Result]]:
    try:
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        rows = [
            Result.from_dict(json.loads(line))
            for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
            if line
        ]
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise InvalidRequest(
            f"{run} is not an evaluation run directory ({exc}); make one with `assistant eval`"
        ) from exc
    return summary, {r.id: r for r in rows}


def compare(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Differences b − a for every metric, and the questions whose scores changed."""
    sa, ra = _load(run_a)
    sb, rb = _load(run_b)
    keys = SUMMARY_KEYS
    metrics = {
        k: {
            "a": sa.get(k),
            "b": sb.get(k),
            "diff": None if sa.get(k) is None or sb.get(k) is None else round(sb[k] - sa[k], 4),
        }
        for k in keys
    }
    questions = []
    for qid in sorted(set(ra) & set(rb)):
        changed = {
            k: (ra[qid].scores.get(k), rb[qid].scores.get(k))
            for k in METRICS
            if ra[qid].scores.get(k) != rb[qid].scores.get(k)
        }
        if changed:
            questions.append({"id": qid, "question": ra[qid].question, "changed": changed})
    return {
        "a": str(run_a),
        "b": str(run_b),
        "mode_a": sa.get("mode"),
        "mode_b": sb.get("mode"),
        "metrics": metrics,
        "questions": questions,
        "only_in_a": sorted(set(ra) - set(rb)),
        "only_in_b": sorted(set(rb) - set(ra)),
    }


def format_comparison(c: dict[str, Any]) -> str:
    lines = [
        f"A = {c['a']} ({c['mode_a']})",
        f"B = {c['b']} ({c['mode_b']})",
        "",
        f"{'metric':<22}{'A':>10}{'B':>10}{'B − A':>10}",
    ]
    for k, v in c["metrics"].items():

        def f(x: Any) -> str:
            return "—" if x is None else f"{x:.3f}"

        diff = "—" if v["diff"] is None else f"{v['diff']:+.3f}"
        lines.append(f"{k:<22}{f(v['a']):>10}{f(v['b']):>10}{diff:>10}")
    lines += ["", f"{len(c['questions'])} questions changed:"]
    for q in c["questions"]:
        parts = ", ".join(f"{k} {a} → {b}" for k, (a, b) in q["changed"].items())
        lines.append(f"- {q['id']} {q['question'][:60]}: {parts}")
    return "\n".join(lines)
