"""Claim-level attribution measured on data/attribution/claims.jsonl (answering/claims.py,
evaluation/attribution.py): LLM-style sentences in four languages, each paraphrasing one
sentence of the bundled corpus, and claims their cited passage does not support."""

from __future__ import annotations

from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.attribution import load, measure

from .conftest import REPO

SET = REPO / "data" / "attribution" / "claims.jsonl"


def test_attribution_set_is_what_the_issue_asks_for() -> None:
    items = load(SET)
    good = [i for i in items if i["supported"]]
    assert len(good) >= 40 and len(items) - len(good) >= 10
    from assistant.ingest.language import detect

    languages = {detect(i["claim"], ("en", "fr", "zh", "ru")) for i in good}
    assert languages == {"en", "fr", "zh", "ru"}


def test_quotes_support_their_claims_and_unsupported_claims_are_flagged(
    index_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    result = measure(
        Assistant(Settings.resolve(index_path=index_dir), embedder=embedder), load(SET)
    )
    misses = [r for r in result["rows"] if r["supported"] != (not r["flagged"])]
    assert result["quote_right"] >= 0.9, result
    assert result["unsupported_flagged"] >= 0.9, misses
    assert result["supported_flagged"] <= 0.1, misses
