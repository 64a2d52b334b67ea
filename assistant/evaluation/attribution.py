"""Attribution accuracy: does each LLM-style claim get the quote that supports it, and is a claim
its cited passage does not support flagged?

An attribution set is JSON Lines, one claim per line:

    {"source": "004_…", "sentence": "<a sentence of that source, as written>",
     "claim": "<an answer sentence that paraphrases or quotes it>", "supported": true}
    {"source": "…", "sentence": "…", "claim": "<a claim that passage does not support>",
     "supported": false, "kind": "figure" | "other passage" | "invented"}

For each item the passage holding `sentence` is retrieved (the sentence as the query, within its
source), the claim is written as an answer citing it (`claim [n]`), and the answer's claims are
attributed exactly as in LLM mode (answering/claims.py). A supported item is right when the
chosen quote is that sentence (their spans overlap by at least half the shorter one); an
unsupported item is right when the claim is flagged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from assistant.answering.claims import attribute_retrieval
from assistant.core import Assistant
from assistant.errors import InvalidRequest
from assistant.retrieval.filters import Filters


def load(path: Path) -> list[dict[str, Any]]:
    items = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        missing = {"source", "sentence", "claim", "supported"} - set(item)
        if missing:
            raise InvalidRequest(
                f"{path}:{i} lacks {sorted(missing)}; see assistant/evaluation/attribution.py"
            )
        items.append(item)
    return items


def locate(text: str, sentence: str) -> tuple[int, int]:
    """The span of a sentence in a source's text, whatever the line breaks between its words."""
    pattern = r"\s*".join(re.escape(w) for w in sentence.split())
    m = re.search(pattern, text)
    if m is None:
        raise InvalidRequest(f"sentence not found in its source: {sentence[:80]!r}")
    return m.start(), m.end()


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared >= 0.5 * min(a[1] - a[0], b[1] - b[0])


def measure(assistant: Assistant, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-item results and the rates: quote right (supported items), flagged (unsupported
    items), and falsely flagged (supported items)."""
    rows = []
    for item in items:
        _, text = assistant.source(item["source"])
        span = locate(text, item["sentence"])
        retrieval = assistant.retriever.retrieve(
            item["sentence"], 8, Filters.of(None, None, [item["source"]]), sentences="all"
        )
        n = next(
            (
                i
                for i, p in enumerate(retrieval.passages, 1)
                if p.source_id == item["source"] and _overlap((p.start, p.end), span)
            ),
            None,
        )
        if n is None:
            raise InvalidRequest(f"no passage holds {item['sentence'][:60]!r}; is it indexed?")
        claims, _ = attribute_retrieval(
            f"{item['claim']} [{n}]", retrieval, assistant.embedder.queries,
            assistant.retriever.detection_languages(), assistant.retriever.nearest_sentences,
            assistant.thresholds.sentence,
        )  # fmt: skip
        claim = claims[0]
        quote = claim.quotes[0] if claim.quotes else None
        rows.append(
            {
                "claim": item["claim"],
                "supported": bool(item["supported"]),
                "kind": item.get("kind", ""),
                "flagged": not claim.supported,
                "why": claim.why,
                "quote_right": quote is not None and _overlap((quote["start"], quote["end"]), span),
                "quote": (quote or {}).get("quote", ""),
                "cosine": (quote or {}).get("cosine"),
            }
        )
    good = [r for r in rows if r["supported"]]
    bad = [r for r in rows if not r["supported"]]

    def rate(xs: list[bool]) -> float:
        return round(sum(xs) / len(xs), 3) if xs else 0.0

    return {
        "claims": len(rows),
        "supported_claims": len(good),
        "unsupported_claims": len(bad),
        "quote_right": rate([r["quote_right"] for r in good]),
        "unsupported_flagged": rate([r["flagged"] for r in bad]),
        "supported_flagged": rate([r["flagged"] for r in good]),
        "flagged_by_kind": {
            k: rate([r["flagged"] for r in bad if r["kind"] == k])
            for k in sorted({r["kind"] for r in bad})
        },
        "rows": rows,
    }
