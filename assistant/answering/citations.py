"""Citations: building them from evidence, summarising them by side, finding where sources give
different figures, and which sides an answer may say have no evidence.

Shared by both answerers so that an extractive and an LLM answer carry the same structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any, NamedTuple

from assistant.recording import time_at
from assistant.retrieval.result import Retrieval
from assistant.schema import Answer, Citation, SideSummary
from assistant.sources.model import UNKNOWN
from assistant.store.records import SourceRecord

from .evidence import Evidence, asks_amount, asks_count, asks_share, counts_answer
from .figures import (
    Quantity,
    asked_keys,
    find_counts,
    find_figures,
    find_quantities,
    find_shares,
)
from .text import oneline


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


class Mention(NamedTuple):
    """A figure in a quote: its kind ("$" money, "%" a share, "#" and a key: a count of one
    thing), the quantity and the figure it is listed as."""

    kind: str
    quantity: Quantity
    figure: str


def disagreements(
    citations: Sequence[Citation],
    shares: bool = False,
    count_question: str = "",
    amount_question: bool = False,
) -> list[dict[str, Any]]:
    """Figures that differ between sources: one entry per distinct amount. Money (any
    currency, one comparison), listed when at least two amounts of it come from at least two
    sources, unless the counts answer the question instead (evidence.counts_answer); with
    `shares` (the question asks for a share: evidence.asks_share), percentages, the same way
    and apart; with `count_question` (a question that asks how many:
    evidence.asks_count), the counts of each thing, listed where two sources give it and share
    no number for it (`counted`, `_counted_apart`). With `amount_question` (it asks how much:
    evidence.asks_amount), money is not listed where the best-scored quote states a number
    of millions or more and no money: "How much water will the project use each year?",
    answered by "1,2 Millionen Kubikmetern pro Jahr", listed the investments and a fund of
    the other quotes as the sources' disagreement.

    Example: [{"figure": "$7.6 billion", "citations": [1], "sources": ["001_…"], "sides": ["pro-Russia"]}, …]
    `as_written` holds each mention as its quote words it, `mentions` each with the citation it
    is in ({"text": "120 亿美元", "citation": 2}), and `qualified` the mentions a word bounds or
    rounds ({"text": "less than €1 billion", "citation": 6}): the figure alone says more than
    they do.
    """
    counts = counted(citations, count_question) if count_question else {}
    # Asked how many of a thing some quote counts ("How many jobs…?": "3,000 jobs"), the money
    # in the quotes answers another question: costs were listed as the sources' disagreement.
    money = not counts_answer(count_question, [c.quote for c in citations])
    if money and amount_question and citations:
        # Years and small numbers ("Since 2022, …", "3 packages") say nothing of the kind.
        best = find_quantities(max(citations, key=lambda c: c.score).quote)
        money = any(q.money for q in best) or not any(q.amount >= 1e6 for q in best)
    by_value: dict[tuple[str, str, float], dict[str, Any]] = {}
    for c in citations:
        found = [Mention("$", f, f.display()) for f in (find_figures(c.quote) if money else [])]
        found += [Mention("%", f, f.display()) for f in (find_shares(c.quote) if shares else [])]
        found += counts.get(c.n, [])
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
    in_order = sorted(by_value, key=lambda v: (_rank(v[0]), v))
    for kind, values in groupby(in_order, key=lambda v: v[0]):
        entries = [by_value[v] for v in values]
        if kind.startswith("#"):
            listed = _counted_apart(entries)
        else:
            listed = len(entries) >= 2 and len({s for e in entries for s in e["sources"]}) >= 2
        if listed:
            out += entries
    return out


def counted(citations: Sequence[Citation], question: str) -> dict[int, list[Mention]]:
    """Each quote's counts of what the question asks the number of (citation n → mentions),
    one mention per thing and number. A count whose thing the question names (a word's stem,
    as BM25 reads words) counts that thing, the last word it shares with the question ("How
    many parking spaces…": "4,000 parking spaces" and "9,500 spaces" are both of "spaces");
    where the question names none in any quote (asked in another language), each counts its
    first word's thing."""
    asked = asked_keys(question)
    found = {c.n: find_counts(c.quote) for c in citations}
    named = any(k in asked for counts in found.values() for n in counts for k in n.keys)
    out: dict[int, list[Mention]] = {}
    for number, counts in found.items():
        mine: dict[tuple[str, float], Mention] = {}
        for n in counts:
            keys = [k for k in n.keys if k in asked]
            if named and not keys:
                continue
            # Two words where the question has the second or names no thing, one where it
            # names the first alone ("3,000 protesters", not "… marched").
            written = oneline(
                n.longer if n.longer and (n.keys[-1] in asked or not named) else n.written
            )
            q = n.quantity
            kind = "#" + (keys[-1] if keys else n.keys[0])
            mine.setdefault(
                (kind, q.amount),
                Mention(kind, Quantity(written, q.amount, q.unit, q.qualifier), written),
            )
        out[number] = list(mine.values())
    return out


def _counted_apart(entries: list[dict[str, Any]]) -> bool:
    """Whether two sources count a thing differently: each gives it, and no number is given by
    both (a source that counts 300 arrested among 5,000 marchers does not disagree with one
    that counts 300 arrested)."""
    numbers_of: dict[str, set[int]] = {}  # a source → the entries (numbers) it gives
    for i, e in enumerate(entries):
        for source in e["sources"]:
            numbers_of.setdefault(source, set()).add(i)
    given = list(numbers_of.values())
    return any(not (a & b) for j, a in enumerate(given) for b in given[j + 1 :])


def _rank(kind: str) -> int:
    """Money first, then percentages, then counts (by what they count)."""
    return {"$": 0, "%": 1}.get(kind, 2)


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
            citations,
            asks_share(question),
            question if asks_count(question) else "",
            asks_amount(question),
        ),
        filters=retrieval.filters.public(),
        **extra,
    )
