"""The question-set format (JSONL, one object per line):

    {"id": "q01", "question": "Où Kaneko a-t-il été blessé ?", "language": "fr",
     "expected_sources": ["000_fa22c8dc189e4776"], "expected_facts": [["Avdeevka"]],
     "expected_sides": ["pro-Russia"], "answerable": true, "reference_answer": "…"}

`expected_facts` is a list of facts; each fact is a list of acceptable strings, any of which
counts (matched case-insensitively in the answer). `reference_answer`, `tags` and
`related_sources` are optional. `related_sources` are sources that answer the question too,
without being required of an answer: the same debate or story in another language, say. One
retrieved or cited counts as relevant (hit@k, MRR, citation precision, side balance); recall
asks for the expected sources alone. Without it, a corpus that tells one story in two
languages would score the assistant down for finding it in the other one.
A malformed line is an error naming the file, the line and the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InvalidRequest
from assistant.ingest.language import country_hint, language_code
from assistant.inputs import closest, composed, did_you_mean, hinted

REQUIRED = {
    "id": str,
    "question": str,
    "language": str,
    "expected_sources": list,
    "expected_facts": list,
    "expected_sides": list,
    "answerable": bool,
}
OPTIONAL = {"reference_answer": str, "tags": list, "related_sources": list}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    language: str
    expected_sources: list[str]
    expected_facts: list[list[str]]
    expected_sides: list[str]
    answerable: bool
    reference_answer: str = ""
    tags: list[str] = field(default_factory=list)
    related_sources: list[str] = field(default_factory=list)

    @property
    def relevant_sources(self) -> list[str]:
        """The sources whose retrieval or citation counts as relevant: expected, then related."""
        return [*self.expected_sources, *self.related_sources]


def parse_line(line: str, where: str) -> Question:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise InvalidRequest(f"{where}: each line must be a JSON object")
    fields = [*REQUIRED, *OPTIONAL]
    unknown = sorted(set(data) - set(fields))
    for key, kind in REQUIRED.items():
        if key not in data:
            # A misspelt name is an unknown field and a missing one: say both.
            typo = closest(key, unknown)
            raise InvalidRequest(
                f"{where}: field {key!r} is missing"
                + (f" (the line has {typo!r}: rename it {key!r})" if typo else "")
            )
        if not isinstance(data[key], kind):
            raise InvalidRequest(f"{where}: field {key!r} must be a {kind.__name__}")
    for key, kind in OPTIONAL.items():
        if key in data and not isinstance(data[key], kind):
            raise InvalidRequest(f"{where}: field {key!r} must be a {kind.__name__}")
    if unknown:
        hints = ", ".join(hinted(k, fields) for k in unknown)
        raise InvalidRequest(f"{where}: unknown field(s) {hints}; known: {fields}")
    if not data["question"].strip():
        raise InvalidRequest(f"{where}: field 'question' is empty")
    facts = data["expected_facts"]
    if not all(
        isinstance(f, list) and f and all(isinstance(x, str) and x for x in f) for f in facts
    ):
        raise InvalidRequest(
            f"{where}: field 'expected_facts' must be a list of non-empty lists of strings, "
            'e.g. [["55.9 billion", "559 亿"]]'
        )
    for key in ("expected_sources", "expected_sides", "related_sources", "tags"):
        if not all(isinstance(x, str) for x in data.get(key, [])):
            raise InvalidRequest(f"{where}: field {key!r} must be a list of strings")
    code = language_code(data["language"])
    if code is None:
        raise InvalidRequest(
            f"{where}: field 'language' is {data['language']!r}, not a language; "
            + (
                country_hint(data["language"])
                or "write its ISO 639-1 code, such as 'en', 'fr', 'zh' or 'ru'"
            )
        )
    data["language"] = code  # "English" and "en-GB" are one column of the report with "en"
    if any(not t.strip() for t in data.get("tags", [])):
        raise InvalidRequest(f"{where}: field 'tags' holds an empty tag")
    both = set(data["expected_sources"]) & set(data.get("related_sources", []))
    if both:
        raise InvalidRequest(
            f"{where}: {sorted(both)} are both expected and related; a source is one or the other"
        )
    return Question(**data)


def load_questions(path: Path) -> list[Question]:
    """Read and validate a question set.

    Args:
        path: a .jsonl file.
    """
    try:
        # utf-8-sig: a byte-order mark, which some editors write, is not part of the JSON.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        at = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InvalidRequest(
            f"{path} line {at}: not UTF-8 text ({exc.reason}); save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise InvalidRequest(f"{path}: cannot read the question set ({exc})") from exc
    lines = text.splitlines()
    if text.lstrip().startswith("["):
        raise InvalidRequest(
            f"{path}: a JSON array; a question set is JSON Lines, one question object per line "
            "(e.g. `jq -c '.[]' set.json > set.jsonl`)"
        )
    out: list[Question] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        q = parse_line(line, f"{path} line {n}")
        if q.id in seen:
            raise InvalidRequest(f"{path} line {n}: field 'id' {q.id!r} is used twice")
        seen.add(q.id)
        out.append(q)
    if not out:
        raise InvalidRequest(f"{path}: no questions in the file")
    return out


def unknown_references(questions: Sequence[Question], assistant: Any) -> list[str]:
    """What a question names that the index lacks: a source id of `expected_sources` or
    `related_sources` not indexed, a side of `expected_sides` the corpus does not declare.
    Each would score zero without a word (a file name for an id, "pro-russia" for
    "pro-Russia"); each note gives the likely meant name."""
    ids = [r.source.id for r in assistant.sources()]
    sides = list(assistant.sides())
    composed_sides = {composed(s) for s in sides}  # a side in another Unicode form scores (runner)
    notes = []
    for q in questions:
        for field_name, names, known in (
            ("expected_sources", q.expected_sources, ids),
            ("related_sources", q.related_sources, ids),
            ("expected_sides", q.expected_sides, sides),
        ):
            for name in names:
                if name not in known and not (
                    field_name == "expected_sides" and composed(name) in composed_sides
                ):
                    hint = did_you_mean(name, known)
                    hint = f"; {hint}" if hint else ""
                    what = "side" if field_name == "expected_sides" else "source"
                    notes.append(
                        f"question {q.id}: {field_name} names {name!r}, no {what} of the index{hint}"
                    )
    return notes
