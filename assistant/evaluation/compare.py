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
    def refused(what: str) -> InvalidRequest:
        return InvalidRequest(
            f"{run} is not an evaluation run directory ({what}); make one with `assistant eval`"
        )

    try:
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        lines = (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refused(str(exc)) from exc
    if not isinstance(summary, dict):
        raise refused("summary.json is not a JSON object")
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            rows.append(Result.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise refused(f"results.jsonl line {n}: {exc}") from exc
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
        "runs": {
            side: {key: s.get(key) for key in ("mode", "k", "questions", "errors")}
            for side, s in (("a", sa), ("b", sb))
        },
        # The same id asking another question: its differences are not the assistant's.
        "reworded": [
            {"id": qid, "a": ra[qid].question, "b": rb[qid].question}
            for qid in sorted(set(ra) & set(rb))
            if ra[qid].question != rb[qid].question
        ],
        "metrics": metrics,
        "questions": questions,
        "only_in_a": sorted(set(ra) - set(rb)),
        "only_in_b": sorted(set(rb) - set(ra)),
    }


def format_comparison(c: dict[str, Any]) -> str:
    def run(side: str) -> str:
        r = c["runs"][side]
        return f"{r['mode']}, k = {r['k']}, {r['questions']} questions, {r['errors']} errors"

    lines = [f"A = {c['a']} ({run('a')})", f"B = {c['b']} ({run('b')})", ""]
    for side in ("a", "b"):
        only = c[f"only_in_{side}"]
        if only:
            lines.append(
                f"Only in {side.upper()}: {len(only)} question(s) ({', '.join(only[:10])}"
                f"{', …' if len(only) > 10 else ''}); the metrics cover different questions."
            )
    for q in c["reworded"]:
        lines.append(f"Reworded between the runs: {q['id']} ({q['a'][:40]!r} → {q['b'][:40]!r})")
    if lines[-1]:
        lines.append("")
    lines += [
        f"{'metric':<22}{'A':>10}{'B':>10}{'B − A':>10}",
    ]
    for k, v in c["metrics"].items():

        def f(x: Any) -> str:
            return "—" if x is None else f"{x:.3f}"

        diff = "—" if v["diff"] is None else f"{v['diff']:+.3f}"
        lines.append(f"{k:<22}{f(v['a']):>10}{f(v['b']):>10}{diff:>10}")
    n = len(c["questions"])
    lines += ["", f"{n} question{'' if n == 1 else 's'} changed{':' if n else '.'}"]

    def g(x: Any) -> str:
        return "—" if x is None else f"{x:.3g}"

    for q in c["questions"]:
        parts = ", ".join(f"{k} {g(a)} → {g(b)}" for k, (a, b) in q["changed"].items())
        lines.append(f"- {q['id']} {q['question'][:60]}: {parts}")
    return "\n".join(lines)
