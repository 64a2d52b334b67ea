"""Metrics as pure functions: each takes plain values and returns a number (or None where the
metric does not apply, so that averages skip it). Definitions, in the order of summary.json:

Where a question names related sources (questions.py), the runner passes expected ∪ related as
the "expected" of hit_at_k, mrr, citation_precision and side_balance; recall gets the expected
alone.

- hit_at_k: 1 if an expected source is among the first k distinct retrieved sources, else 0.
- mrr: 1 / rank of the first expected source among distinct retrieved sources (0 if absent).
- citation_precision: |cited ∩ expected| / |cited| over distinct source ids (None if nothing cited).
- citation_recall: |cited ∩ expected| / |expected|.
- quote_validity: share of citations whose quote equals source_text[start:end].
- fact_recall: share of expected facts with at least one acceptable string in the answer.
- side_coverage: share of expected sides among the sides of the cited sources.
- side_balance: for a question with two or more expected sides, 1 if the answer cites every
  expected side from one of the expected sources, else 0 (None with fewer than two).
- abstention_accuracy: 1 if (unanswerable and abstained) or (answerable and not abstained).
- wrong_abstention_rate: 1 if an answerable question was refused, else 0.
- unsupported_claim_rate: LLM mode: the share of the answer's sentences flagged unsupported
  (answering/claims.py); None for an extractive answer, which makes no claim of its own.
- latency p50/p95: percentiles of the per-question total time.

Answerable-only metrics return None for unanswerable questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# The deterministic metrics, in the order summary.json, the CLI and the reports list them.
METRICS = (
    "hit_at_k",
    "mrr",
    "citation_precision",
    "citation_recall",
    "quote_validity",
    "fact_recall",
    "side_coverage",
    "side_balance",
    "abstention_accuracy",
    "wrong_abstention_rate",
    "unsupported_claim_rate",
)
SUMMARY_KEYS = (*METRICS, "latency_p50_ms", "latency_p95_ms")
# What each one measures, in a line: the reports carry it, so that a report read alone says
# what its figures are (docs/evaluation.md, Metrics, says the same at more length).
MEANINGS = {
    "hit_at_k": "1 if an expected or related source is among the first k distinct retrieved sources",
    "mrr": "1 / rank of the first expected or related source among the retrieved (0 if none)",
    "citation_precision": "share of the cited sources that are expected or related",
    "citation_recall": "share of the expected sources that are cited",
    "quote_validity": "share of citations whose quote is the source's text at its offsets",
    "fact_recall": "share of the expected facts found in the answer",
    "side_coverage": "share of the expected sides among the cited sources' sides",
    "side_balance": "questions with two or more expected sides: 1 if every one is cited",
    "abstention_accuracy": "unanswerable questions refused and answerable ones answered",
    "wrong_abstention_rate": "share of the answerable questions refused",
    "unsupported_claim_rate": "LLM mode: share of the answer's sentences no citation supports",
    "latency_p50_ms": "median time to answer a question, in milliseconds",
    "latency_p95_ms": "95th percentile of that time",
}


def distinct(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def hit_at_k(retrieved: Sequence[str], expected: Sequence[str], k: int) -> float | None:
    """
    >>> hit_at_k(["a", "a", "b", "c"], ["c"], 2), hit_at_k(["a", "b", "c"], ["c"], 3)
    (0.0, 1.0)
    """
    if not expected:
        return None
    return 1.0 if set(distinct(retrieved)[:k]) & set(expected) else 0.0


def reciprocal_rank(retrieved: Sequence[str], expected: Sequence[str]) -> float | None:
    """
    >>> reciprocal_rank(["a", "a", "b", "c"], ["c"])
    0.3333333333333333
    """
    if not expected:
        return None
    for rank, sid in enumerate(distinct(retrieved), start=1):
        if sid in expected:
            return 1.0 / rank
    return 0.0


def citation_precision(cited: Sequence[str], expected: Sequence[str]) -> float | None:
    """
    >>> citation_precision(["a", "b", "b"], ["a", "c"])
    0.5
    """
    c = set(cited)
    if not c or not expected:
        return None
    return len(c & set(expected)) / len(c)


def citation_recall(cited: Sequence[str], expected: Sequence[str]) -> float | None:
    """
    >>> citation_recall(["a", "b"], ["a", "c", "d", "e"])
    0.25
    """
    if not expected:
        return None
    return len(set(cited) & set(expected)) / len(set(expected))


def quote_validity(quotes: Sequence[tuple[str, str, int, int]]) -> float | None:
    """Quotes as (quote, source_text, start, end).

    >>> quote_validity([("abc", "xabcx", 1, 4), ("abd", "xabcx", 1, 4)])
    0.5
    """
    if not quotes:
        return None
    return sum(text[a:b] == q for q, text, a, b in quotes) / len(quotes)


def fact_recall(answer: str, facts: Sequence[Sequence[str]]) -> float | None:
    """
    >>> fact_recall("Japan gave $7.6 BILLION", [["7.6 billion"], ["10 billion", "12 billion"]])
    0.5
    """
    if not facts:
        return None
    low = answer.lower()
    return sum(any(alt.lower() in low for alt in fact) for fact in facts) / len(facts)


def side_coverage(cited_sides: Sequence[str], expected: Sequence[str]) -> float | None:
    """
    >>> side_coverage(["pro-Russia", "pro-Russia"], ["pro-Russia", "pro-Ukraine"])
    0.5
    """
    if not expected:
        return None
    return len(set(cited_sides) & set(expected)) / len(set(expected))


def side_balance(
    cited: Sequence[tuple[str, str]], expected_sources: Sequence[str], expected_sides: Sequence[str]
) -> float | None:
    """Citations as (source id, side): is every expected side cited from an expected source?

    >>> side_balance([("a", "for"), ("b", "against")], ["a", "b"], ["for", "against"])
    1.0
    >>> side_balance([("a", "for"), ("z", "against")], ["a", "b"], ["for", "against"])
    0.0
    >>> side_balance([("a", "for")], ["a"], ["for"]) is None
    True
    """
    if len(set(expected_sides)) < 2:
        return None
    found = {side for sid, side in cited if sid in expected_sources}
    return 1.0 if set(expected_sides) <= found else 0.0


def unsupported_claim_rate(unsupported: int, claims: int) -> float | None:
    """Flagged sentences / checked sentences (None when none was checked)."""
    return unsupported / claims if claims else None


def abstention_correct(answerable: bool, abstained: bool) -> float:
    """
    >>> abstention_correct(False, True), abstention_correct(True, True)
    (1.0, 0.0)
    """
    return 1.0 if answerable != abstained else 0.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """Percentile with numpy's default (linear) interpolation.

    >>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95)
    (25.0, 38.5)
    """
    if not values:
        return None
    return float(np.percentile(values, p))


def mean(values: Iterable[float | None]) -> float | None:
    """Average of the values that apply.

    >>> mean([1.0, None, 0.0])
    0.5
    """
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None
