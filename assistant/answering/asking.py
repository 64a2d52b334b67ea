"""Whom a question asks about where its case tells nothing, and whether it asks who: a
question typed in lower case or in capitals ("who is carmen ibarra?") next to condense's
asked_about, which reads a question's names by their capitals.
"""

from __future__ import annotations

import regex

from assistant.answering.condense import ASKING, after_opening, asked_about, name_spans
from assistant.ingest.language import WHO, opens_question, uncontracted
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.relevance import WORD, is_claim

_WHO = frozenset(w for ws in WHO.values() for w in ws.split())


def names_asked(question: str) -> tuple[str, ...]:
    """The names a question asks about, as written (asked_about) or typed in one case
    (asked_about_uncased)."""
    return asked_about(question) or asked_about_uncased(question)


def asks_who(question: str) -> bool:
    """Whether a question opens with a word asking who, past a follow-up's continuation
    ("Who is the Military Show?", "Et qui est Kaneko ?", "кто такой …").

    >>> asks_who("Who is the Military Show?"), asks_who("And who said it?"), asks_who("Why?")
    (True, True, False)
    """
    first = WORD.findall(after_opening(uncontracted(question).strip().lower()))[:1]
    return bool(first) and first[0] in _WHO


def asked_about_uncased(question: str) -> tuple[str, ...]:
    """For a question asking who someone is, typed without capitals or all in them, where case
    tells no name from a word ("who is carmen ibarra?", "WHO IS TOMÁS QUISPE?"; both were
    answered with lines on flamingos and herders): the runs of its own words, in lower case,
    that may name them. Retrieval keeps them where no candidate passage writes one of their
    words in lower case (names.proper: "who is right" asks about no one). Another question
    ("what does russia want") is read as it is.

    >>> asked_about_uncased("who is carmen ibarra?"), asked_about_uncased("WHO IS TOMÁS QUISPE?")
    (('carmen ibarra',), ('tomás quispe',))
    >>> asked_about_uncased("who is the mining minister"), asked_about_uncased("Who is Kaneko?")
    ((), ())
    >>> asked_about_uncased("and who is jürgen albrecht?"), asked_about_uncased("谁是金子大作？")
    (('jürgen albrecht',), ())
    >>> asked_about_uncased("what does russia want"), asked_about_uncased("кто такой канеко")
    ((), ('канеко',))
    >>> asked_about_uncased("who won the election?"), asked_about_uncased("wer ist jonas krüger")
    ((), ('jonas krüger',))
    >>> asked_about_uncased("who's carmen ibarra"), asks_who("Who's Carmen Ibarra?")
    (('carmen ibarra',), True)
    """
    question = uncontracted(question)  # "who's carmen ibarra"
    if is_claim(question) and not opens_question(question):
        return ()
    text = question.strip()
    cased = [ch for ch in text if ch.lower() != ch.upper()]
    if not cased or (any(ch.isupper() for ch in cased) and any(ch.islower() for ch in cased)):
        return ()
    text = after_opening(text.lower())
    # "who is …", "qui est …", "кто такой …": the question word and another word of asking
    # or a stopword ("who won?" asks who did something).
    first = WORD.findall(text)[:2]
    if not asks_who(text) or len(first) < 2 or set(tokenize(first[1])) - ASKING:
        return ()
    runs: list[list[regex.Match[str]]] = []
    for m in WORD.finditer(text):
        if not set(tokenize(m.group())) - ASKING:  # a question word or a stopword
            if runs and runs[-1]:
                runs.append([])
            continue
        if not runs:
            runs.append([])
        runs[-1].append(m)
    return name_spans(text, [run for run in runs if run])
