"""Whom a question asks about: the names it writes, by their capitals ("Who is Carmen
Ibarra?", asked_about), or typed in one case ("who is carmen ibarra?", asked_about_uncased),
and whether it asks who. Retrieval and the answer find them as written (retrieval/names.py).
"""

from __future__ import annotations

import regex

from assistant.answering.openings import ASKING, QUESTION, after_opening
from assistant.ingest.language import (
    ARTICLE_WORDS,
    HONORIFICS,
    WHO,
    names_among,
    opens_question,
    uncontracted,
)
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.relevance import WORD, is_claim

_HONORIFICS = frozenset(w for ws in HONORIFICS.values() for w in ws.split())
# As BM25 reads them: an honorific in lower case is no word of a question's own ("господин").
_HONORIFIC_TOKENS = frozenset(t for w in _HONORIFICS for t in tokenize(w))
_WHO = frozenset(w for ws in WHO.values() for w in ws.split())


def names_asked(question: str) -> tuple[str, ...]:
    """The names a question asks about, as written (asked_about) or typed in one case
    (asked_about_uncased)."""
    return asked_about(question) or asked_about_uncased(question)


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
    return _name_spans(text, [run for run in runs if run])


def asked_about(question: str) -> tuple[str, ...]:
    """The names a question asks about, as it writes them, where it asks about nothing else:
    its runs of capitalised words past the first, once question words are set aside ("Who
    is Bogdan Bezpalko?", "Qui est Tomás Quispe ?"); none for a question with another word of
    its own ("Where was Kaneko wounded?"), in a script without capitals, or in a title whose
    capitalised words are the more ("A Doping Cheat's Entire Team Should Be Stripped"), nor
    for a claim put to weigh ("The War in Iraq was Worth the Cost": relevance.is_claim), nor
    for words after an article, which describe someone ("Who is the Mining Minister?"), in
    words its sources may translate ("La ministre des Mines").
    Retrieval and the answer find them as written (retrieval/names.py).

    >>> asked_about("Who is Daisaku Kaneko?"), asked_about("Where was Kaneko wounded?")
    (('Daisaku Kaneko',), ())
    >>> asked_about("谁是金子大作？"), asked_about("Кто такой Канеко?")
    ((), ('Канеко',))
    >>> asked_about("Кто такая Кармен Ибарра?"), asked_about("Що таке Уралредмет?")
    (('Кармен Ибарра',), ('Уралредмет',))
    >>> asked_about("A Doping Cheat's Entire Olympic Team Should Be Stripped Of Their Medals")
    ()
    >>> asked_about("The War in Iraq was Worth the Cost"), asked_about("Kaneko?")
    ((), ())
    >>> asked_about("Who is Ursula von der Leyen?"), asked_about("Who is Kim Jong Un?")
    (('Ursula', 'Leyen'), ('Kim Jong Un',))
    >>> asked_about("And Jürgen Albrecht?"), asked_about("And the jobs?")
    (('Jürgen Albrecht',), ())
    >>> asked_about("Why Does Russia Want Ukraine?"), asked_about("WHO IS DAISAKU KANEKO?")
    ((), ())
    >>> asked_about("What Is NATO?"), asked_about("What is NATO?"), asked_about("who is Kaneko")
    ((), ('NATO',), ('Kaneko',))
    >>> asked_about("Who is Atsuko Higashino"), asked_about("and Jürgen Albrecht")
    (('Atsuko Higashino',), ('Jürgen Albrecht',))
    >>> asked_about("Who is the Mining Minister?"), asked_about("Wer ist der Bürgermeister?")
    ((), ())
    >>> asked_about("Who's Carmen Ibarra?"), asked_about("What's Uralredmet?")
    (('Carmen Ibarra',), ('Uralredmet',))
    >>> asked_about("Who is Mr Kaneko?"), asked_about("Qui est le Dr Kaneko ?")
    (('Kaneko',), ('Kaneko',))
    >>> asked_about("¿Quién es el Sr. López?"), asked_about("Кто такой господин Канеко?")
    (('López',), ('Канеко',))
    """
    question = uncontracted(question)  # "Who's Carmen Ibarra?"
    if is_claim(question) and not opens_question(question):
        return ()
    text, written = _written(question)
    names = {t for m in written for t in tokenize(m.group())}
    own = set(tokenize(text)) - ASKING - _HONORIFIC_TOKENS
    if not names or not own <= names or _title(question):
        return ()
    return _name_spans(text, _runs(text, written))


def capitalised(question: str) -> list[str]:
    """The capitalised words a question writes past its first (but "I"), whatever they name:
    "Ostwerk" in "What does the Ostwerk CEO think?".

    >>> capitalised("What does the Ostwerk CEO think?"), capitalised("Can I ask why?")
    (['Ostwerk', 'CEO'], [])
    """
    return [m.group() for m in _written(uncontracted(question))[1] if m.group() != "I"]


def _written(question: str) -> tuple[str, list[regex.Match[str]]]:
    """The question (past a follow-up's continuation) and its capitalised words past the
    first (language.names_among)."""
    text = question.strip()
    after = after_opening(text.lower())
    if len(after) < len(text) == len(text.lower()):
        # A follow-up's continuation ("And Jürgen Albrecht?") is no word of a name; every
        # capitalised word after it is one.
        text = text[len(text) - len(after) :]
        return text, [m for m in WORD.finditer(text) if m.group()[:1].isupper()]
    return text, names_among(list(WORD.finditer(text)))


def _runs(text: str, written: list[regex.Match[str]]) -> list[list[regex.Match[str]]]:
    """The capitalised words grouped into names: one while only spaces stand between its
    words ("Kim Jong Un")."""
    runs: list[list[regex.Match[str]]] = []
    for m in written:
        if runs and text[runs[-1][-1].end() : m.start()].isspace():
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def _name_spans(text: str, runs: list[list[regex.Match[str]]]) -> tuple[str, ...]:
    """Each run as the text writes it, without the honorifics it opens with ("Mr Kaneko" is
    "Kaneko": its sources write "Daisaku Kaneko"; a run of honorifics alone is none); none
    where an article stands before the first ("the Mining Minister" describes someone, in
    words its sources may translate; "le Dr Kaneko" names him). The first run's only: an
    article inside a name is a particle of it ("Ursula von der Leyen")."""
    out: list[str] = []
    for run in runs:
        while run and run[0].group().lower().rstrip(".") in _HONORIFICS:
            run = run[1:]
        if run:
            if not out and ARTICLE_WORDS & {w.lower().strip("'’") for w in _before(text, run[0])}:
                return ()
            out.append(text[run[0].start() : run[-1].end()])
    return tuple(out)


def _before(text: str, word: regex.Match[str]) -> list[str]:
    """The word before a word of the text, if any."""
    return WORD.findall(text[: word.start()])[-1:]


def _title(question: str) -> bool:
    """Whether a question is written as a title or a shout, every word capitalised after a
    question word: "Why Does Russia Want Ukraine?", "WHO IS DAISAKU KANEKO?" (a follow-up's
    "And Jürgen Albrecht?" is not).

    >>> _title("Why Does Russia Want Ukraine?"), _title("Who is Kim Jong Un?")
    (True, False)
    """
    words = WORD.findall(question)
    return (
        len(words) > 1
        and words[0].lower() in QUESTION
        and all(w[:1].isupper() for w in words if w[:1].isalpha())
    )


# "谁是岸田文雄？", "请问岸田文雄是谁呢？": Chinese has no capitals to tell a name by, but this
# frame holds one and nothing else.
_CHINESE_WHO = regex.compile(
    r"^\s*(?:请问)?(?:谁是|誰是)(\p{Han}{2,12})\s*[？?]?\s*$"
    r"|^\s*(?:请问)?(\p{Han}{2,12}?)是(?:谁|誰|什么人)呢?\s*[？?]?\s*$"
)


def asked_about_chinese(question: str) -> str | None:
    """Whom a Chinese question asking who someone is asks about, as written; retrieval does
    not read Chinese names (retrieval/names.py), so only the pronoun rule takes it.

    >>> asked_about_chinese("谁是岸田文雄？"), asked_about_chinese("请问金子大作是谁呢?")
    ('岸田文雄', '金子大作')
    >>> asked_about_chinese("谁是日本首相，他说了什么？"), asked_about_chinese("Who is Kaneko?")
    (None, None)
    """
    m = _CHINESE_WHO.match(question)
    return (m.group(1) or m.group(2)) if m else None


def asks_who(question: str) -> bool:
    """Whether a question opens with a word asking who, past a follow-up's continuation
    ("Who is the Military Show?", "Et qui est Kaneko ?", "кто такой …").

    >>> asks_who("Who is the Military Show?"), asks_who("And who said it?"), asks_who("Why?")
    (True, True, False)
    """
    first = WORD.findall(after_opening(uncontracted(question).strip().lower()))[:1]
    return bool(first) and first[0] in _WHO
