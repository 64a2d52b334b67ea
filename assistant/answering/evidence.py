"""Evidence: the retrieved sentences scored against the question, and when to abstain.

Both answerers read a `Retrieval` alone (its passages, query vector, relevance, and the
sentences it carries with their vectors): the extractive one selects quotes from this evidence,
the generative one cites each passage by its best sentence. Neither reads the store.

Score: cosine similarity of the question and sentence vectors (the embedder's, stored at
ingest), plus a small bonus for shared content words and, for "how much" questions, for
sentences that state an amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from assistant.config import DEFAULT_LANGUAGES
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.names import acronyms, in_their_script, names_all, names_like
from assistant.retrieval.relevance import is_junk
from assistant.retrieval.result import Retrieval
from assistant.schema import Answer, Passage
from assistant.store.rows import Sentence, sentence_ids

from .condense import names_nothing
from .figures import asked_keys, counts_of, find_counts, find_quantities
from .wording import FALLBACK, Wording, Wordings

QUANTITY = re.compile(
    r"how (much|many)|amount|total|combien|quel montant|多少|几|金额|сколько|какую сумму|объ[её]м"
    # The other languages of the default `languages`: German, Spanish, Ukrainian, Italian and
    # Portuguese, Polish ("¿Cuánto costaría prohibir el glifosato?" was not read as one).
    # Not "quanto a", "per quanto" ("as for", as French "quant à").
    r"|wie ?viel|cuánt[oa]s?|скільки|(?<!per )\bquant[oa]s?\b(?!\s+(?:a|à|ao|al|alla)\b)|\bile\b",
    re.I,
)
# A question for a time: "when", "what year", in the languages of the default `languages`.
WHEN = re.compile(
    r"\bwhen\b|\b(?:what|which) (?:year|date|day|month)\b|\bquand\b|quelle (?:année|date)"
    r"|en quel mois|\bкогда\b|в каком году|какого числа|\bколи\b|у якому році|якого року"
    r"|什么时候|何时|哪一?年|几月|几号|\bwann\b|welchem (?:jahr|monat|tag)|cuándo"
    r"|qué (?:año|fecha|día)|\bquando\b|em que ano|in che anno|\bkiedy\b|w (?:którym|jakim) roku"
    r"|متى|언제(?!나)|몇 ?년|いつ(?![もか])|何年",
    re.I,
)
# A year of the last four centuries, as a word of its own ("2,000 jobs" is not one).
_YEAR = r"(?<![\d.,])\b(?:1[6-9]|20)\d\d\b(?![.,]\d)"
# A question for a share: its percentages are compared between sources (citations.disagreements).
SHARE = re.compile(
    r"percent|pourcentage|pour cent|процент|відсот|prozent|porcentaje|por ciento|percentual"
    r"|百分|比例|\b(?:what|which) share\b|\bshare of\b|proportion|quelle part|дол[яюи]|частк"
    r"|anteil|cuota",
    re.I,
)


@dataclass(frozen=True, kw_only=True)
class Evidence(Sentence):
    """A candidate quote: one sentence of a source, scored against the question."""

    score: float
    dense: float
    lexical: float

    @classmethod
    def scored(cls, s: Sentence, score: float, dense: float, lexical: float) -> Evidence:
        own = {f.name: getattr(s, f.name) for f in fields(Sentence)}
        return cls(**own, score=score, dense=dense, lexical=lexical)

    @classmethod
    def of_passage(cls, p: Passage) -> Evidence:
        """A whole passage standing in for its sentences (none of them is stored)."""
        return cls(
            id=p.id, source_id=p.source_id, start=p.start, end=p.end, text=p.text,
            language=p.language, side=p.side, voice=p.voice, score=p.score, dense=p.dense,
            lexical=0.0,
        )  # fmt: skip


def score(question: str, retrieval: Retrieval, passages: list[Passage]) -> list[Evidence]:
    """Every stored sentence of the given passages scored against the question; best first."""
    if retrieval.sentences is None:
        raise ValueError(
            "this Retrieval carries no sentences; retrieve with sentences='relevant' or 'all' "
            "(the answerer's `sentences`) to answer from it"
        )
    # Only sentences with a vector (every stored one has one).
    rows: list[Sentence] = [
        retrieval.sentences[i]
        for i in sentence_ids(passages)
        if i in retrieval.sentences and retrieval.sentences[i].vector is not None
    ]
    if not rows:
        return []
    qtok = set(tokenize(question))
    wants_amount = asks_amount(question)
    # A sentence counting the thing the question asks the number of answers it as money does
    # ("Combien d'habitants ?": "Environ 4 500 habitants"); where the question asks how many
    # and nothing else, and a sentence counts the thing, money does not (the money bonus drew
    # the cost sentences to "How many jobs…?").
    keys = count_keys(question)
    only_counts = counts_answer(question, [s.text for s in rows])
    # Asked when, a sentence stating a date or year answers it as an amount answers "how
    # much": the embedder put "We expect the first ships in the spring of 2027" under "The
    # terminal will employ 400 people" for "When will the terminal open?".
    wants_time = asks_time(question)
    sims = np.stack([s.vector for s in rows if s.vector is not None]) @ retrieval.query_vector
    out = []
    for s, sim in zip(rows, sims, strict=True):
        lexical = len(qtok & set(tokenize(s.text))) / len(qtok) if qtok else 0.0
        bonus = 0.04 * lexical
        counts = bool(keys) and bool(counts_of(s.text, keys))
        money = wants_amount and not only_counts and states_money(s.text)
        if counts or money or (wants_time and states_time(s.text)):
            bonus += 0.03
        out.append(Evidence.scored(s, float(sim) + bonus, float(sim), lexical))
    return sorted(out, key=lambda e: -e.score)


def asks_amount(question: str) -> bool:
    """Whether the question asks for an amount ("how much", "combien", "多少", "сколько").

    >>> asks_amount("How much aid has Japan given?"), asks_amount("Who is Kaneko?")
    (True, False)
    >>> [asks_amount(q) for q in ("¿Cuánto costaría?", "Wie viel kostet das?", "Скільки зерна?",
    ...     "Ile kosztuje?", "Quanto custa?", "Quant à la Russie ?", "Quanto à Rússia, o que diz?",
    ...     "Per quanto riguarda la Russia?", "Is it mobile?")]
    [True, True, True, True, True, False, False, False, False]
    """
    return bool(QUANTITY.search(question))


def asks_time(question: str) -> bool:
    """Whether the question asks when ("when", "quand", "когда", "什么时候", "wann", "cuándo").

    >>> [asks_time(q) for q in ("When was the ambassador summoned?", "En quelle année ?",
    ...     "Когда начнётся добыча?", "项目什么时候开始？", "In che anno?", "W jakim roku?",
    ...     "How much aid?", "Whenever?", "Почему никогда не платят?", "いつも高い", "언제나")]
    [True, True, True, True, True, True, False, False, False, False, False]
    """
    return bool(WHEN.search(question))


def states_time(text: str) -> bool:
    """Whether the text states a date: a year, a day or year beside a month's name (as Babel
    names months in the default `languages`), or a CJK or Korean date. A count that reads as
    a year ("2000 рабочих мест") counts too: a small bonus, the sentence's cosine still first.

    >>> [states_time(t) for t in ("On June 9, the minister…", "le 2 mai 2024", "12 марта",
    ...     "2023年5月", "in the spring of 2027", "Im Mai 2024", "Mars 2024 : la loi",
    ...     "about 2,000 jobs", "Japan may send more", "About 12 may lose their jobs.",
    ...     "On the march 3,000 residents walked", "3号机组", "2000 рабочих мест")]
    [True, True, True, True, True, True, True, False, False, False, False, False, True]
    """
    return bool(_dates().search(text))


@cache
def _dates() -> re.Pattern[str]:
    """A year, a month's name beside a number (a day or a year: "may" alone is a verb), or a
    CJK or Korean date; the names from Babel's locale data (CLDR), every form it knows."""
    from babel.dates import get_month_names

    names: set[str] = set()
    for code in DEFAULT_LANGUAGES:
        for context in ("format", "stand-alone"):
            for n in get_month_names("wide", context, code).values():
                # As written, and capitalised as at a sentence's start: not lower-cased, as
                # English "may" and "march" are words too.
                names |= {n, n[:1].upper() + n[1:]}
    # Longest first, so that a name is not matched by one it starts with.
    month = "|".join(sorted((re.escape(n) for n in names if n.isalpha()), key=len, reverse=True))
    return re.compile(
        rf"{_YEAR}|\b\d{{1,2}}\.?\s+(?:{month})\b|\b(?:{month})\s+\d{{1,4}}\b(?![.,]\d)"
        r"|\d{1,4}\s*[年月]|\d{1,2}\s*日|\d{1,2}\s*월"
    )


# A question for a number of things: their counts are compared between sources, each thing's
# with its own (citations.disagreements). "сколько" and "多少" ask for money too: a count is
# listed only where two sources count the same thing differently.
COUNT = re.compile(
    r"how many|death toll|combien|nombre d[e']|number of|wie ?viele|anzahl|cuánt[oa]s\b|número de"
    r"|\bquant[ie]\b|\bquant[oa]s\b|\bile\b|сколько|скільки|количеств|кількість|число"
    r"|多少|几[个名位架辆艘座台家所条头只件]|数量",
    re.I,
)


def states_money(text: str) -> bool:
    """Whether a sentence states an amount as figures.py reads one: money in any currency it
    knows, or a number scaled to millions or more ("7.6 billion"; a list of dollar words missed
    "48 million euros")."""
    return any(q.money or q.amount >= 1e6 for q in find_quantities(text))


def states_amount(text: str) -> bool:
    """Whether a sentence states an amount: money (states_money) or a number of things."""
    return states_money(text) or bool(find_counts(text))


# The words that ask for a number of things and nothing else: "сколько", "多少", "combien",
# "ile" ask for money as well, and keep money beside the counts.
ONLY_COUNT = re.compile(
    r"how many|death toll|nombre d[e']|number of|wie ?viele|anzahl|cuánt[oa]s\b|número de"
    r"|\bquant[ie]\b|\bquant[oa]s\b|количеств|кількість|число|几[个名位架辆艘座台家所条头只件]|数量",
    re.I,
)


def counts_answer(question: str, texts: Iterable[str]) -> bool:
    """Whether the counts answer the question and money does not: it asks how many and
    nothing else (ONLY_COUNT), and one of `texts` counts the thing it asks the number of.

    >>> counts_answer("How many jobs will it create?", ["It costs €2bn.", "It creates 3,000 jobs."])
    True
    >>> counts_answer("Сколько помощи дала Япония?", ["Япония отправила 3 пакета помощи."])
    False
    >>> counts_answer("How much will it cost and how many jobs will it create?", ["3,000 jobs."])
    False
    """
    # "And nothing else": the question without its count words asks for no amount ("How much
    # will it cost and how many jobs…?", "Combien coûte l'accueil d'un grand nombre de…").
    if not ONLY_COUNT.search(question) or asks_amount(ONLY_COUNT.sub(" ", question)):
        return False
    keys = count_keys(question)
    return any(counts_of(text, keys) for text in texts)


def count_keys(question: str) -> set[str]:
    """The keys of the thing a question asks the number of (figures.asked_keys); none where it
    does not ask how many, so that no sentence's counts are read for it."""
    return asked_keys(question) if asks_count(question) else set()


def asks_count(question: str) -> bool:
    """Whether the question asks how many of a thing.

    >>> [asks_count(q) for q in ("How many parking spaces were lost?", "Combien de soldats ?",
    ...  "Wieviele Tonnen?", "What is the death toll?", "How much aid?", "Who counts?")]
    [True, True, True, True, False, False]
    """
    return bool(COUNT.search(question))


def asks_share(question: str) -> bool:
    """Whether the question asks for a share or percentage.

    >>> [asks_share(q) for q in ("What share of the grain went to poor countries?",
    ...  "Какая доля зерна ушла бедным странам?", "谷物中有多大比例运往了贫穷国家？",
    ...  "How much aid has Japan given?", "Who shares this view?", "Do they share a border?")]
    [True, True, True, False, False, False]
    """
    return bool(SHARE.search(question))


class Why(NamedTuple):
    """Why an answer is not attempted: a key of the wording (prompts/wording/) and its fields."""

    key: str
    values: Mapping[str, str | float] = MappingProxyType({})

    def widens(self) -> bool:
        """Whether widening the filters could find an answer (not for a question with no
        words, nor where the reason already says to)."""
        return self.key not in ("why_junk", "why_nothing", "why_context")


def abstention(question: str, retrieval: Retrieval) -> Why | None:
    """Why no answer should be attempted (junk, or nothing relevant retrieved), or None.

    Quoting unrelated text, or handing it to a model to misread, is worse than saying the
    sources do not answer."""
    if is_junk(question):
        return Why("why_junk")
    if names_nothing(question):  # a follow-up asked alone ("Et quand ?")
        return Why("why_context")
    if retrieval.relevance == float("-inf"):  # not one passage was scored
        return Why("why_nothing")
    if retrieval.relevance < 0:
        return Why("why_short", {"short": -retrieval.relevance})
    return None


def unnamed(retrieval: Retrieval, language: str) -> Why | None:
    """For a question about someone (Retrieval.names): why_unnamed where no relevant passage
    names them, in any spelling, though every one is in the names' script, which would write
    them alike. Both answerers refuse then, before quoting or asking a model: "Who is Jonas
    Krüger?" was answered with "Sergiy Korsunsky, the Ambassador…". Passages in another
    script may write them otherwise ("Канеко"), and those in another language alone may
    translate an acronym ("NATO": "l'OTAN", names.acronyms): extractive.naming reads their
    sentences.

    >>> def P(text, language="en"):
    ...     return Passage("p", "s", text, 0, len(text), language, "x", "", "", "", "", 0.5,
    ...         relevance=0.1)
    >>> def R(*passages, names=("Jonas Krüger",)):
    ...     return Retrieval(list(passages), None, 0.1, names=names)
    >>> unnamed(R(P("Sergiy Korsunsky, the Ambassador")), "en").key
    'why_unnamed'
    >>> [unnamed(r, "en") for r in (R(P("Jonas Krüger, MP")), R(P("Die NATO", "de"),
    ...     names=("NATO",)), R(P("Korsunsky"), P("Канеко", "ru")), R(P("Korsunsky"), names=()))]
    [None, None, None, None]
    >>> unnamed(R(P("Daisaku Kaneko, un ressortissant japonais", "fr")), "en").key
    'why_unnamed'
    """
    names, relevant = retrieval.names, retrieval.relevant()
    if not names or (acronyms(names) and not any(p.language == language for p in relevant)):
        return None
    for p in relevant:
        if names_all(p.text, names) or names_like(p.text, names):
            return None
        if not in_their_script(p.text, names):
            return None
    return why_unnamed(names)


def why_unnamed(names: Sequence[str]) -> Why:
    """The reason an answer gives for not answering a question about `names`: no relevant
    passage names them."""
    return Why("why_unnamed", {"names": ", ".join(names)})


def no_answer(filtered: bool, wording: Wording) -> str:
    """The sentence that says the sources searched do not answer. Under filters only part of
    the index was searched: saying the indexed sources do not answer would be untrue where a
    source the filters left out does (the LLM is told this one then)."""
    return wording.text("no_answer_filtered" if filtered else "no_answer")


def says_no_answer(text: str, wording: Wording) -> bool:
    """Whether an answer's text says that the sources searched do not answer (an LLM's, told to
    say exactly no_answer(), in the question's language; or in English)."""
    said = text.lower()
    english = Wordings.bundled().of(FALLBACK)
    return any(
        no_answer(filtered, w).lower().rstrip(".。") in said
        for w in (wording, english)
        for filtered in (False, True)
    )


def abstain(question: str, retrieval: Retrieval, why: Why, mode: str, wording: Wording) -> Answer:
    """The answer that says the indexed sources (within the filters) do not answer, and why,
    in the question's language (`wording`)."""
    filtered = retrieval.filtered
    reason = wording.text(why.key, **why.values)
    if filtered and why.widens():
        reason += wording.text("why_widen")
    return Answer(
        question=question,
        answer=wording.text("because", no_answer=no_answer(filtered, wording), why=reason),
        citations=[],
        sides=[],
        abstained=True,
        mode=mode,
        retrieved=retrieval.passages,
        filters=retrieval.filters.public(),
    )
