"""Citations: building them from evidence, summarising them by side, finding where sources give
different figures, and verifying the [n] markers of a generated answer.

Shared by both answerers so that an extractive and an LLM answer carry the same structure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..retrieval import Retrieval
from ..schema import Citation, SideSummary
from ..sources import UNKNOWN
from ..store import SourceRecord
from .evidence import Evidence
from .figures import find_figures


def make_citation(n: int, ev: Evidence, record: SourceRecord | None) -> Citation:
    s = record.source if record else None
    return Citation(
        n=n,
        source_id=ev.source_id,
        title=s.title if s else "",
        outlet=s.outlet if s else "",
        author=s.author if s else "",
        side=ev.side,
        voice=ev.voice,
        language=ev.language,
        date=s.date if s else "",
        quote=ev.text,
        start=ev.start,
        end=ev.end,
        score=round(ev.score, 4),
        url=s.url if s else "",
        perspective=s.perspective if s else "",
        # The side shown is the row's (ev.side); the record may lag a relabel made by another
        # process, so a suggestion is tied to the side the citation shows, not the record's.
        suggested_side=s.suggested_side if s and ev.side == UNKNOWN else "",
    )


def side_summaries(citations: Sequence[Citation]) -> list[SideSummary]:
    """One summary per side, in order of first citation."""
    out: dict[str, SideSummary] = {}
    for c in citations:
        summary = out.setdefault(c.side, SideSummary(c.side, [], [], []))
        summary.citations.append(c.n)
        if c.source_id not in summary.sources:
            summary.sources.append(c.source_id)
        for f in find_figures(c.quote):
            if f.display() not in summary.figures:
                summary.figures.append(f.display())
    return list(out.values())


def disagreements(citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """Money figures that differ between sources: one entry per distinct amount.

    Returns [] unless at least two different amounts come from at least two sources.
    Example: [{"figure": "$7.6 billion", "citations": [1], "sources": ["001_…"], "sides": ["pro-Russia"]}, …]
    """
    by_value: dict[float, dict[str, Any]] = {}
    for c in citations:
        for f in find_figures(c.quote):
            entry = by_value.setdefault(
                f.usd,
                {
                    "figure": f.display(),
                    "as_written": [],
                    "citations": [],
                    "sources": [],
                    "sides": [],
                },
            )
            entry["as_written"].append(f.text)
            for key, val in (("citations", c.n), ("sources", c.source_id), ("sides", c.side)):
                if val not in entry[key]:
                    entry[key].append(val)
    sources = {s for e in by_value.values() for s in e["sources"]}
    if len(by_value) < 2 or len(sources) < 2:
        return []
    return [by_value[v] for v in sorted(by_value)]


def sides_without_evidence(citations: Sequence[Citation], retrieval: Retrieval) -> list[str]:
    """The sides of which an answer may say that no source addresses the question: searched
    (declared, within the filters), nothing relevant found (Retrieval.sides_without_evidence),
    and so not cited. A side the filters left out, or one with relevant passages that are not
    quoted, is not named."""
    cited = {c.side for c in citations}
    return [s for s in retrieval.sides_without_evidence() if s not in cited]


_MARKER = re.compile(r"\[(\d{1,3})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _digits(text: str) -> set[str]:
    """Numbers as digit strings: "4,000,000" and "4000000" match; "7.6" is "76"."""
    return {re.sub(r"\D", "", n) for n in _NUMBER.findall(text)}


def figures_missing(sentence: str, passages: Sequence[str]) -> bool:
    """Whether the sentence states a number that none of its cited passages contains.

    Money amounts also match across languages by value ("$55.9 billion" ≈ "559 亿美元").

    >>> figures_missing("Japan gave $7.6 billion [1]", ["aid totaling $7.6 billion"])
    False
    >>> figures_missing("Japan gave $13 billion [1]", ["aid totaling $7.6 billion"])
    True
    """
    claim = _MARKER.sub("", sentence)
    numbers = _digits(claim)
    if not numbers:
        return False
    have = set().union(*(_digits(p) for p in passages)) if passages else set()
    values = {f.usd for p in passages for f in find_figures(p)}
    money = {f.usd for f in find_figures(claim)}
    money_digits = {d for f in find_figures(claim) for d in _digits(f.text)}
    for n in numbers:
        if n in have:
            continue
        if n in money_digits and money <= values:
            continue
        return True
    return False


def verify_markers(
    text: str, citations: Sequence[Citation], passages: dict[int, str] | None = None
) -> tuple[str, list[Citation], list[int], list[str]]:
    """Check a generated answer's [n] markers against the numbered passages it was given.

    Returns (text with bad markers removed, citations actually used, dropped marker numbers,
    unsupported sentences). A sentence is unsupported when it has no valid marker, or (when
    `passages` maps n to the passage text) states a number none of its cited passages holds,
    the way small models borrow figures from unrelated sentences. Citations keep their numbers.
    """
    valid = {c.n: c for c in citations}
    dropped: list[int] = []

    def keep(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n in valid:
            return m.group(0)
        if n not in dropped:
            dropped.append(n)
        return ""

    clean = _MARKER.sub(keep, text)
    used = sorted({int(n) for n in _MARKER.findall(clean)})
    unsupported = []
    for sentence in _SENTENCE_END.split(clean):
        s = sentence.strip()
        # Headings, list bullets without words and very short fragments are not claims.
        if len(re.sub(r"[\W\d_]+", "", s)) < 6 or s.startswith("#"):
            continue
        cited = [int(n) for n in _MARKER.findall(s)]
        if not cited:
            unsupported.append(s)
        elif passages is not None and figures_missing(s, [passages.get(n, "") for n in cited]):
            unsupported.append(s)
    return clean, [valid[n] for n in used], dropped, unsupported
