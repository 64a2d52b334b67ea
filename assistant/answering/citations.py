"""Citations: building them from evidence, summarising them by side, finding where sources give
different figures, and which sides an answer may say have no evidence.

Shared by both answerers so that an extractive and an LLM answer carry the same structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.recording import time_at
from assistant.retrieval.result import Retrieval
from assistant.schema import Answer, Citation, SideSummary
from assistant.sources.model import UNKNOWN
from assistant.store.records import SourceRecord

from .evidence import Evidence, asks_count, asks_share
from .figures import find_counts, find_figures, find_shares


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
        at=time_at(record.times, ev.start) if record else None,
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


def disagreements(
    citations: Sequence[Citation], shares: bool = False, counts: bool = False
) -> list[dict[str, Any]]:
    """Money figures that differ between sources: one entry per distinct amount; with `shares`
    (the question asks for a share: evidence.asks_share), percentages too, and with `counts`
    (it asks how many: evidence.asks_count), the numbers of a thing (figures.find_counts:
    "4,000 parking spaces" against "9,500 parking spaces"), each kind compared with itself only.

    Each kind (money in any currency; percentages; the counts of one thing) is listed when at
    least two different amounts of it come from at least two sources.
    Example: [{"figure": "$7.6 billion", "citations": [1], "sources": ["001_…"], "sides": ["pro-Russia"]}, …]
    `as_written` holds each mention as its quote words it, and `qualified` the mentions a word
    bounds or rounds ({"text": "less than €1 billion", "citation": 6}): the figure alone says
    more than they do.
    """
    by_value: dict[tuple[str, str, float], dict[str, Any]] = {}
    for c in citations:
        found = [("$", f, f.display()) for f in find_figures(c.quote)]
        found += [("%", f, f.display()) for f in (find_shares(c.quote) if shares else [])]
        found += [
            ("#" + n.key, n.quantity, n.display()) for n in (find_counts(c.quote) if counts else [])
        ]
        for kind, f, shown in found:
            entry = by_value.setdefault(
                (kind, f.unit, f.amount),
                {
                    "figure": shown,
                    "as_written": [],
                    "qualified": [],
                    "citations": [],
                    "sources": [],
                    "sides": [],
                },
            )
            entry["as_written"].append(f.written)
            if f.qualifier:
                entry["qualified"].append({"text": f.written, "citation": c.n})
            for key, val in (("citations", c.n), ("sources", c.source_id), ("sides", c.side)):
                if val not in entry[key]:
                    entry[key].append(val)
    # Money in any currency is one comparison, as it always was, percentages another, and the
    # counts of each thing one each: a share does not disagree with a dollar amount, nor a
    # number of tanks with a number of soldiers.
    out = []
    for kind in dict.fromkeys(v[0] for v in sorted(by_value, key=_kinds_in_order)):
        entries = [by_value[v] for v in sorted(by_value) if v[0] == kind]
        if len(entries) >= 2 and len({s for e in entries for s in e["sources"]}) >= 2:
            out += entries
    return out


def _kinds_in_order(value: tuple[str, str, float]) -> tuple[int, str]:
    """Money first, then percentages, then counts by what they count."""
    return ({"$": 0, "%": 1}.get(value[0], 2), value[0])


def sides_without_evidence(citations: Sequence[Citation], retrieval: Retrieval) -> list[str]:
    """The sides of which an answer may say that nothing of theirs was found relevant: searched
    (declared, within the filters), nothing relevant found (Retrieval.sides_without_evidence),
    and so not cited. A side the filters left out, or one with relevant passages that are not
    quoted, is not named."""
    cited = {c.side for c in citations}
    return [s for s in retrieval.sides_without_evidence() if s not in cited]


def cited_answer(
    question: str,
    text: str,
    citations: list[Citation],
    retrieval: Retrieval,
    mode: str,
    abstained: bool = False,
    **extra: Any,
) -> Answer:
    """An Answer whose side summaries, disagreements and sides without evidence are derived from
    its citations and its retrieval, the same way whichever answerer wrote the text. `extra`:
    the Answer's other fields (the LLM's unsupported sentences, claims, dropped numbers)."""
    return Answer(
        question=question,
        answer=text,
        citations=citations,
        sides=side_summaries(citations),
        abstained=abstained,
        mode=mode,
        retrieved=retrieval.passages,
        sides_without_evidence=sides_without_evidence(citations, retrieval) if citations else [],
        disagreements=disagreements(citations, asks_share(question), asks_count(question)),
        filters=retrieval.filters.public(),
        **extra,
    )
