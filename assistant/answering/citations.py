"""Citations: building them from evidence, summarising them by side, finding where sources give
different figures, and which sides an answer may say have no evidence.

Shared by both answerers so that an extractive and an LLM answer carry the same structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.ingest.language import CJK
from assistant.recording import time_at
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.result import Retrieval
from assistant.schema import Answer, Citation, SideSummary
from assistant.sources.model import UNKNOWN
from assistant.store.records import SourceRecord

from .evidence import Evidence, asks_count, asks_share
from .figures import Quantity, find_counts, find_figures, find_shares


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
    citations: Sequence[Citation], shares: bool = False, count_question: str = ""
) -> list[dict[str, Any]]:
    """Money figures that differ between sources: one entry per distinct amount; with `shares`
    (the question asks for a share: evidence.asks_share), percentages too, compared with each
    other only; with `count_question` (a question that asks how many: evidence.asks_count), the
    counts of a thing two sources give differently (`counted`).

    Each kind (money in any currency; percentages) is listed when at least two different
    amounts of it come from at least two sources.
    Example: [{"figure": "$7.6 billion", "citations": [1], "sources": ["001_…"], "sides": ["pro-Russia"]}, …]
    `as_written` holds each mention as its quote words it, `mentions` each with the citation it
    is in ({"text": "120 亿美元", "citation": 2}), and `qualified` the mentions a word bounds or
    rounds ({"text": "less than €1 billion", "citation": 6}): the figure alone says more than
    they do.
    """
    by_value: dict[tuple[str, str, float], dict[str, Any]] = {}
    for c in citations:
        found = [("$", f, f.display()) for f in find_figures(c.quote)]
        found += [("%", f, f.display()) for f in (find_shares(c.quote) if shares else [])]
        found += counted(c, count_question) if count_question else []
        for kind, f, shown in found:
            entry = by_value.setdefault(
                (kind, f.unit, f.amount),
                {
                    "figure": shown,
                    "as_written": [],
                    "mentions": [],
                    "qualified": [],
                    "citations": [],
                    "sources": [],
                    "sides": [],
                },
            )
            entry["as_written"].append(f.written)
            entry["mentions"].append({"text": f.written, "citation": c.n})
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
        if kind.startswith("#"):
            listed = _counted_apart(entries)
        else:
            listed = len(entries) >= 2 and len({s for e in entries for s in e["sources"]}) >= 2
        if listed:
            out += entries
    return out


def counted(c: Citation, question: str) -> list[tuple[str, Quantity, str]]:
    """A quote's counts of what the question asks the number of, as (kind, quantity, as
    written). A count whose word the question has (its stem, as BM25 reads words) counts that
    thing ("How many tanks…": "12 tanks", "12 more tanks", "21 танк" for "сколько танков"); where
    the question names none of them (asked in another language), each counts its first word's
    thing."""
    asked = set(tokenize(question)) | {ch for ch in question if CJK.match(ch)}
    asked |= {t[:5] for t in asked}
    out = []
    found = find_counts(c.quote)
    named = [n for n in found if any(k in asked for k in n.keys)]
    for n in named or found:
        key = next((k for k in n.keys if k in asked), n.keys[0])
        # Two words where the question has the second or names neither ("9,500 parking
        # spaces"), one where it names the first alone ("3,000 protesters", not "… marched").
        written = n.longer if n.longer and (n.keys[-1] in asked or not named) else n.written
        q = n.quantity
        out.append(("#" + key, Quantity(written, q.amount, q.unit, q.qualifier), written))
    return out


def _counted_apart(entries: list[dict[str, Any]]) -> bool:
    """Whether two sources count a thing differently: each gives it, and no number is given by
    both (a source that counts 300 arrested among 5,000 marchers does not disagree with one
    that counts 300 arrested)."""
    amounts: dict[str, set[int]] = {}
    for i, e in enumerate(entries):
        for source in e["sources"]:
            amounts.setdefault(source, set()).add(i)
    given = list(amounts.values())
    return any(not (a & b) for j, a in enumerate(given) for b in given[j + 1 :])


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
        disagreements=disagreements(
            citations, asks_share(question), question if asks_count(question) else ""
        ),
        filters=retrieval.filters.public(),
        **extra,
    )
