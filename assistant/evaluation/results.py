"""One question's result: the typed row of results.jsonl, written by the runner and read back by
the report and eval-compare.

A row keeps what the metrics need (ranked retrieved source ids, cited source ids, citations with
offsets, the answer's text), how long it took, and its per-question scores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from assistant.schema import Answer, Citation

from .questions import Question

Scores = dict[str, float | None]


@dataclass
class Result:
    """What the assistant did with one question of the set, and how it scored."""

    id: str
    question: str
    language: str
    answerable: bool
    tags: list[str] = field(default_factory=list)
    answer: str = ""
    abstained: bool = False
    retrieved_sources: list[str] = field(default_factory=list)
    cited_sources: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    unsupported_sentences: list[str] = field(default_factory=list)
    claims: int = 0  # LLM mode: the answer's sentences checked against their citations
    error: str | None = None  # the AssistantError that stopped this question, if one did
    latency_ms: float = 0.0
    scores: Scores = field(default_factory=dict)
    llm_faithfulness: float | None = None  # only when an LLM judged it (kept apart)

    @classmethod
    def asked(cls, q: Question) -> Result:
        return cls(q.id, q.question, q.language, q.answerable, list(q.tags))

    def answered(self, a: Answer) -> None:
        """Record what the answer holds that the metrics read."""
        self.answer, self.abstained = a.answer, a.abstained
        self.retrieved_sources = [p.source_id for p in a.retrieved]
        self.cited_sources = list(dict.fromkeys(c.source_id for c in a.citations))
        self.citations = list(a.citations)
        self.unsupported_sentences = list(a.unsupported_sentences)
        self.claims = len(a.claims)

    def to_dict(self) -> dict[str, Any]:
        """The results.jsonl line; `error` and `llm_faithfulness` only when they are set."""
        out = dataclasses.asdict(self)
        return {k: v for k, v in out.items() if v is not None or k not in OPTIONAL}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        """A results.jsonl line read back; fields it lacks take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        row = cls(**{k: v for k, v in d.items() if k in names})
        row.citations = [Citation(**c) if isinstance(c, dict) else c for c in row.citations]
        return row


OPTIONAL = ("error", "llm_faithfulness")
