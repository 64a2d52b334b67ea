"""Whom a follow-up's "he" or "she" points at: the one person its conversation asked about.

"What did she say about water?" after "Who is Carmen Ibarra?" stands on its own by its words
(condense.elliptical: two content words, and a personal pronoun is not a back reference, or
"What did he discover?" would lean on nothing), so it was searched as it is and answered with
a hunger striker's words. Where the latest earlier question naming anyone asked who one person
is, and the pronoun has no name, and no noun after an article, before it in its own question
("Le projet est-il rentable ?", "¿… el proyecto y cuál es su impacto?"), condense writes the
name beside it: "What did she (Carmen Ibarra) say about water?". No offline library resolves
anaphora in these languages, and gender tells no name from another in a closed list, so after
a question naming anything else ("What does Bolivia think?", "How much water will Ostwerk
use?", "Japan" and "Ukraine"), nothing is written.
"""

from __future__ import annotations

import regex

from assistant.ingest.language import ARTICLE_WORDS

# Third-person singular personal and possessive pronouns, per language (lower case), none of
# which is also plural or another word: German "sie" and "ihr", Russian "им" and "ним",
# Spanish "su" and "sus" are "they", "them" or "their" as often ("Was sagen sie zu den
# Arbeitsplätzen?" asks what the sources say), German "sein" is also "to be" ("Wann wird es
# fertig sein?"). Chinese 他 and 她 stand alone (其他 is "other", 他们 "they").
PERSONAL = {
    "en": "he him his himself she her hers herself",
    "fr": "il elle lui son sa ses",
    "ru": "он она его ему него нему нём её ей неё ней ею нею ее нее",
    "uk": "він вона його йому нього нім її їй неї нею",
    "de": "er ihn ihm seine seiner seinem seinen seines",
    "es": "él ella",
}
WORDS = frozenset(w for ws in PERSONAL.values() for w in ws.split())
# Those that also point back, though not at one person: a follow-up holding one asks more of
# its subject (condense.changes_topic: "¿Y sus heridas?").
POINTING = WORDS | frozenset("ним sein ihre ihrer ihrem ihren su sus".split())
# French "il" of an impersonal phrase points at no one ("Combien d'emplois y aura-t-il ?",
# "Il est très probable que le projet soit annulé ?", "Faudra-t-il attendre ?", "Que se
# passe-t-il ?", "Il reste combien d'argent ?"): the verbs that take it, before it or inverted.
_IMPERSONAL_VERBS = (
    r"(?:y\s+a|y\s+aura|y\s+aurait|y\s+avait|faut|faudra|faudrait|fallait|s['’]agit|semble"
    r"|paraît|reste|se\s+passe|se\s+peut|vaut)"
)
_IMPERSONAL = regex.compile(
    rf"\bil\s+{_IMPERSONAL_VERBS}\b|\b{_IMPERSONAL_VERBS}(?:-t)?-il\b"
    r"|\b(?:il\s+est|est-il)\s+(?:\w+\s+){1,2}(?:que|qu['’]|de|d['’])",
    regex.I,
)
# A pronoun as a word of its own: a hyphen or an apostrophe bounds it ("Qu'a-t-elle dit ?").
_PRONOUN = regex.compile(
    r"(?<![\p{L}\p{M}])(?:"
    + "|".join(sorted(WORDS, key=len, reverse=True))
    + r")(?![\p{L}\p{M}])|(?<!其)[他她](?!们)",
    regex.I,
)
# A word, and the article elided onto the next ("l'entreprise"; "d'emplois" is no article).
_WORD = regex.compile(r"[\p{L}\p{M}]+")
_ELIDED = regex.compile(r"(?<![\p{L}\p{M}])l['’]\p{L}", regex.I)
_BEFORE_A_WORD = regex.compile(r"(?<![\p{L}\p{M}'’-])[\p{L}\p{M}]+(?=\s+\p{L})")


def pronoun(text: str) -> regex.Match[str] | None:
    """The text's first personal pronoun for one person, if any.

    >>> [m.group() if (m := pronoun(q)) else None for q in ("What did she say about water?",
    ...     "Qu'a-t-elle dit sur l'eau ?", "Combien d'emplois y aura-t-il ?", "他为什么去乌克兰？",
    ...     "其他国家呢？", "What does it cost?", "Was sagen sie dazu?",
    ...     "Il est très probable que le projet échoue ?", "Est-il vrai que le projet échoue ?",
    ...     "Faudra-t-il attendre ?", "Que se passe-t-il ?", "Est-il possible d'arrêter ?",
    ...     "Il reste combien d'argent ?", "Wann wird es fertig sein?", "Что им обещали?")]
    ['she', 'elle', None, '他', None, None, None, None, None, None, None, None, None, None, None]
    """
    impersonal = [m.span() for m in _IMPERSONAL.finditer(text)]
    for m in _PRONOUN.finditer(text):
        if not any(a <= m.start() < b for a, b in impersonal):
            return m
    return None


def with_referent(text: str, name: str) -> str:
    """The text with `name` written after its first personal pronoun: where a name or an
    article stands before that pronoun, or there is none, or the name is in another script
    (a Latin name in a Chinese question drew English lines in place of the Chinese that
    answer), the text as it is.

    >>> with_referent("What did she say about water?", "Carmen Ibarra")
    'What did she (Carmen Ibarra) say about water?'
    >>> with_referent("Who is Daisaku Kaneko and why does he fight?", "Carmen Ibarra")
    'Who is Daisaku Kaneko and why does he fight?'
    >>> with_referent("Où a-t-il été blessé ?", "Daisaku Kaneko")
    'Où a-t-il (Daisaku Kaneko) été blessé ?'
    >>> [with_referent(q, "Jürgen Albrecht") for q in ("Le projet est-il rentable ?",
    ...     "Et le projet, quand sera-t-il terminé ?", "Quand l'entreprise a-t-elle signé ?",
    ...     "Where is the son?", "Can I ask what he said?")]  # doctest: +NORMALIZE_WHITESPACE
    ['Le projet est-il rentable ?', 'Et le projet, quand sera-t-il terminé ?',
     "Quand l'entreprise a-t-elle signé ?", 'Where is the son?',
     'Can I ask what he (Jürgen Albrecht) said?']
    >>> with_referent("他在国会说了什么？", "Fumio Kishida"), with_referent("他在国会说了什么？", "岸田文雄")
    ('他在国会说了什么？', '他 (岸田文雄)在国会说了什么？')
    """
    m = pronoun(text)
    if m is None or _named_before(text[: m.end()]) or _script(m.group()) != _script(name):
        return text
    return f"{text[: m.end()]} ({name}){text[m.end() :]}"


def _script(text: str) -> str:
    """The script of a text's first letter, of those the pronouns are written in."""
    for script in ("Latin", "Cyrillic", "Han"):
        if regex.match(rf"\P{{L}}*\p{{{script}}}", text):
            return script
    return ""


def _named_before(text: str) -> bool:
    """Whether the text up to and with a pronoun holds the pronoun's own antecedent: a
    capitalised word past its first (but "I" and the pronoun itself), or an article before a
    word ("the company", "l'entreprise", "le projet", "the son": French "son" is no English
    pronoun)."""
    words = _WORD.findall(text)
    named = any(w[:1].isupper() and w != "I" for w in words[1:-1])
    # An article stands before a word, not a verb of its letters before a hyphen ("a-t-il").
    articles = any(m.group().lower() in ARTICLE_WORDS for m in _BEFORE_A_WORD.finditer(text))
    return named or articles or bool(_ELIDED.search(text))
