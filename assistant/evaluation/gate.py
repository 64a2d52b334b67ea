"""The evaluation gate: minimum scores a run must reach (CI fails below them).

The thresholds file is JSON: {"min": {"hit_at_k": 0.9, ...}, "max": {"latency_p95_ms": 2000}},
and optionally floors for the questions of one tag: {"by_tag": {"mixed-language": {"min": ...}}}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import InvalidRequest


def check_gate(summary: dict[str, Any], thresholds: Path) -> list[str]:
    """The metrics that miss their threshold, as readable lines (empty when the run passes)."""
    try:
        data = json.loads(thresholds.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"{thresholds}: cannot read the thresholds ({exc})") from exc
    failures = _misses(summary, data, "")
    for tag, floors in data.get("by_tag", {}).items():
        failures += _misses(summary.get("by_tag", {}).get(tag, {}), floors, f"#{tag} ")
    return failures


def _misses(summary: dict[str, Any], data: dict[str, Any], prefix: str) -> list[str]:
    failures = []
    for key, low in data.get("min", {}).items():
        value = summary.get(key)
        if value is None or value < low:
            failures.append(f"{prefix}{key} = {value} is below the threshold {low}")
    for key, high in data.get("max", {}).items():
        value = summary.get(key)
        if value is None or value > high:
            failures.append(f"{prefix}{key} = {value} is above the limit {high}")
    return failures
