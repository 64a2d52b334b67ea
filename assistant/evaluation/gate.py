"""The evaluation gate: minimum scores a run must reach (CI fails below them).

The thresholds file is JSON: {"min": {"hit_at_k": 0.9, ...}, "max": {"latency_p95_ms": 2000}},
and optionally floors for the questions of one tag: {"by_tag": {"mixed-language": {"min": ...}}}.
Keys starting with "_" are comments.
It is read and checked before a run (`read_gate`): a file of another shape, a metric name that
is not one, or a tag no question has would otherwise pass or fail for the wrong reason once
every question had been asked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

from assistant.errors import InvalidRequest

from .metrics import SUMMARY_KEYS

SHAPE = (
    '{"min": {"hit_at_k": 0.9}, "max": {"latency_p95_ms": 2000}, "by_tag": {"TAG": {"min": {…}}}}'
)
BOUNDS = ("min", "max")


def read_gate(path: Path, tags: Collection[str] | None = None) -> dict[str, Any]:
    """The thresholds of a gate file, checked: its shape, its metric names (SUMMARY_KEYS), its
    numbers and, when `tags` (the question set's) is given, its tags."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"{path}: cannot read the thresholds ({exc})") from exc
    _bounds(data, path, "", allowed=(*BOUNDS, "by_tag"))
    by_tag = data.get("by_tag", {})
    if not isinstance(by_tag, dict):
        raise InvalidRequest(f"{path}: 'by_tag' must be an object of tags, as in {SHAPE}")
    for tag, floors in by_tag.items():
        _bounds(floors, path, f"by_tag.{tag}.", allowed=BOUNDS)
        if tags is not None and tag not in tags:
            known = ", ".join(sorted(tags)) or "none"
            raise InvalidRequest(
                f"{path}: no question of the set has the tag {tag!r} (its tags: {known})"
            )
    return data


def _bounds(data: Any, path: Path, where: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise InvalidRequest(f"{path}: {where or 'the file'} must be a JSON object, as in {SHAPE}")
    # A key starting with "_" is a comment ("_comment": JSON has no comments of its own).
    unknown = sorted(k for k in set(data) - set(allowed) if not k.startswith("_"))
    if unknown:
        raise InvalidRequest(
            f"{path}: unknown key(s) {unknown} in {where.rstrip('.') or 'the file'}; "
            f"it takes {list(allowed)}, as in {SHAPE}"
        )
    if not any(b in data for b in BOUNDS) and where:
        raise InvalidRequest(f"{path}: {where.rstrip('.')} holds neither 'min' nor 'max'")
    for bound in BOUNDS:
        limits = data.get(bound, {})
        if not isinstance(limits, dict):
            raise InvalidRequest(f"{path}: {where}{bound} must be an object of metric: number")
        for key, value in limits.items():
            if key not in SUMMARY_KEYS:
                raise InvalidRequest(
                    f"{path}: unknown metric {key!r} in {where}{bound} (known: "
                    f"{', '.join(SUMMARY_KEYS)})"
                )
            # NaN or an infinity (Python's json reads them) is a bound no metric can miss.
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise InvalidRequest(
                    f"{path}: {where}{bound}.{key} must be a number, got {json.dumps(value)}"
                )


def check_gate(summary: dict[str, Any], thresholds: Path | dict[str, Any]) -> list[str]:
    """The metrics that miss their threshold, as readable lines (empty when the run passes)."""
    data = read_gate(thresholds) if isinstance(thresholds, Path) else thresholds
    failures = _misses(summary, data, "")
    for tag, floors in data.get("by_tag", {}).items():
        failures += _misses(summary.get("by_tag", {}).get(tag, {}), floors, f"#{tag} ")
    return failures


def _misses(summary: dict[str, Any], data: dict[str, Any], prefix: str) -> list[str]:
    failures = []
    for bound, word in (("min", "below the threshold"), ("max", "above the limit")):
        for key, limit in data.get(bound, {}).items():
            value = summary.get(key)
            if value is None:
                failures.append(
                    f"{prefix}{key} was not measured in this run (no question it applies "
                    f"to), so it cannot meet the {bound} of {limit}"
                )
            elif value < limit if bound == "min" else value > limit:
                failures.append(f"{prefix}{key} = {value} is {word} {limit}")
    return failures
