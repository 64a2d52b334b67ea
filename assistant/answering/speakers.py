"""Whose words a question asks for: "What did Kaneko say about the Japanese media?", "Qu'a dit
Albrecht sur l'emploi ?", "Что говорит Мамани о воде?". The answer searches what it asks of
them ("What did say about the Japanese media?") in the sources that name them or that they
wrote, and says so (core.stream); searched whole, the name outweighed the subject, and the
sentences quoted were those naming the speaker, on anything.

Read by the saying verb right before or after a capitalised name, in the languages the wording
files speak; a question in a script without capitals names no one this way.
"""

from __future__ import annotations

import regex

from assistant.retrieval.names import mentions, names_all

# A name: capitalised words, with the Germanic particles names hold ("Ursula von der Leyen");
# not "de", "du", "del": after the verb they start what is asked ("Que pense Kaneko de Kishida ?").
_NAME = (
    r"(?P<name>\p{Lu}[\p{L}\p{M}’'.-]*"
    r"(?:\s+(?:(?:von|van)\s+(?:der\s+|den\s+)?)?\p{Lu}[\p{L}\p{M}’'.-]*)*)"
)
# Asking what someone says, thinks or wrote, with the name after the verb ("Qu'a dit X",
# "Что сказал X") or between the question word and the verb ("What did X say", "Что X сказал").
_FORMS = [
    r"(?i:(?:and\s+)?what\s+(?:did|does|do|has|have|had)\s+)"
    + _NAME
    + r"\s+(?i:say|said|think|thought|write|written|wrote|claim|argue|tell|told|believe|mean)\b",
    r"(?i:(?:et\s+)?(?:qu['’](?:a|ont|avait)\s+(?:dit|écrit|déclaré|pensé)|que\s+(?:dit|disait|"
    r"pense|pensait|écrit|déclare|a\s+dit|a\s+écrit))\s+)" + _NAME,
    r"(?i:(?:et\s+)?qu['’]est-ce\s+que\s+)" + _NAME + r"\s+(?i:a\s+dit|dit|pense|a\s+écrit)\b",
    r"(?i:(?:а\s+)?что\s+(?:сказал[аи]?|говори[тл][аи]?|говорят|думае[тш]|пише[тш]|писал[аи]?|"
    r"заявил[аи]?)\s+)" + _NAME,
    r"(?i:(?:а\s+)?что\s+)"
    + _NAME
    + r"\s+(?i:сказал[аи]?|говори[тл][аи]?|думает|пишет|писал[аи]?|заявил[аи]?)\b",
    r"(?i:¿?\s*(?:y\s+)?qué\s+(?:dijo|dice|decía|piensa|opina|escribió|ha\s+dicho)\s+)" + _NAME,
    r"(?i:(?:und\s+)?was\s+(?:sagt|sagte|denkt|meint|schreibt|schrieb)\s+)" + _NAME,
]
_ASKING = [regex.compile(r"^\s*" + form) for form in _FORMS]
# Words a form takes for a name that are not one: pronouns ("What did I say", "Was sagt er").
_NOT_NAMES = frozenset(
    "i you he she it we they je tu il elle on nous vous ils elles я ты он она оно мы вы они "
    "ich du er sie es wir ihr yo tú él ella usted nosotros ustedes ellos ellas".split()
)


def speaker(question: str) -> tuple[str, str] | None:
    """The name of the one whose words the question asks for, as written, and the question
    without it (what it asks of them); None where it asks no one's.

    >>> speaker("What did Kaneko say about the Japanese media?")
    ('Kaneko', 'What did say about the Japanese media?')
    >>> speaker("Qu'a dit Jürgen Albrecht sur l'emploi ?")
    ('Jürgen Albrecht', "Qu'a dit sur l'emploi ?")
    >>> speaker("Что Канеко сказал о Японии?"), speaker("Что говорит Лусия Мамани о воде?")
    (('Канеко', 'Что сказал о Японии?'), ('Лусия Мамани', 'Что говорит о воде?'))
    >>> speaker("¿Qué dijo Carmen Ibarra sobre el agua?")
    ('Carmen Ibarra', '¿Qué dijo sobre el agua?')
    >>> speaker("What does Ursula von der Leyen think of Japan?")[0]
    'Ursula von der Leyen'
    >>> speaker("What did she say about water?"), speaker("What does the ministry say?")
    (None, None)
    >>> speaker("Why does Russia call Japan an adversary?"), speaker("岸田文雄说了什么？")
    (None, None)
    >>> speaker("Que pense Kaneko de Kishida ?")[0], speaker("¿Qué piensa Ibarra del Gobierno?")[0]
    ('Kaneko', 'Ibarra')
    >>> speaker("Was hat Japan beschlossen?"), speaker("What did I say about water?")
    (None, None)
    """
    for form in _ASKING:
        found = form.match(question)
        if found and found.group("name").casefold() not in _NOT_NAMES:
            start, end = found.span("name")
            without = question[:start].rstrip() + " " + question[end:].lstrip()
            return found.group("name"), without.strip()
    return None


def spoken_by(searched: str, question: str) -> tuple[str, str] | None:
    """speaker() of the text searched for a question, where the question itself asks for the
    same one's words: a follow-up condensed with the question before it ("What did Kaneko say
    …? And what did Albrecht say?") reads the earlier one, and one asking no one's ("And
    about jobs?") is searched as any follow-up.

    >>> spoken_by("What did Kaneko say about the media? And what did Albrecht say?",
    ...           "And what did Albrecht say?")
    >>> spoken_by("What did Kaneko say about the media?", "What did Kaneko say about the media?")
    ('Kaneko', 'What did say about the media?')
    """
    said = speaker(searched)
    if said is None or searched == question:
        return said
    own = speaker(question)
    return said if own is not None and own[0] == said[0] else None


def names_speaker(text: str, who: str) -> bool:
    """Whether a text names the speaker: as the question writes them, in another spelling or
    script (names.mentions), or by the last word of a name of several ("la ministra Ibarra"
    for "Carmen Ibarra").

    >>> names_speaker("La ministra Ibarra recordó", "Carmen Ibarra")
    True
    >>> names_speaker("Daisaku Kaneko", "Канеко"), names_speaker("Carmen said", "Carmen Ibarra")
    (True, False)
    """
    words = who.split()
    return mentions(text, [who]) or (len(words) > 1 and names_all(text, [words[-1]]))
